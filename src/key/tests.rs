//! Unit tests of the key module: generation, both formats, encrypted keys, the messages of
//! the errors.

use rsa::traits::PublicKeyParts;

use super::*;
#[cfg(feature = "encrypted-keys")]
use crate::passphrase::Passphrase;

fn test_key() -> PrivateKey {
    use std::sync::OnceLock;
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap())
        .clone()
}

#[test]
fn pkcs8_der_round_trips() {
    let key = test_key();
    let der = key.to_pkcs8_der().unwrap();
    let back = PrivateKey::from_pkcs8_der(&der).unwrap();
    assert_eq!(
        back.public_key_der().unwrap(),
        key.public_key_der().unwrap()
    );
    assert_eq!(*back.to_pkcs8_der().unwrap(), *der);
    let e = PrivateKey::from_pkcs8_der(&der[..der.len() - 1]).unwrap_err();
    assert!(matches!(e, Error::InvalidKey { .. }), "{e}");
}

#[test]
fn generated_key_has_requested_size() {
    let key = test_key();
    assert_eq!(key.bits(), 2048);
    assert_eq!(key.describe(), "RSA-2048");
}

#[test]
fn pem_round_trips_in_both_formats() {
    let key = test_key();
    let pkcs1 = key.to_pem(KeyFormat::Traditional).unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    let pkcs8 = key.to_pem(KeyFormat::Pkcs8).unwrap();
    assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(PrivateKey::from_pem(&pkcs1).unwrap() == key);
    assert!(PrivateKey::from_pem(&pkcs8).unwrap() == key);
}

#[test]
#[allow(irrefutable_let_patterns, reason = "without ECDSA every key is RSA")]
fn debug_shows_no_key_material() {
    let key = test_key();
    let debug = format!("{key:?}");
    assert_eq!(debug, "PrivateKey(RSA-2048)");
    let Inner::Rsa(rsa) = &key.inner else {
        panic!("an RSA key")
    };
    let n = format!("{:x}", rsa.n());
    assert!(!debug.to_lowercase().contains(&n[..16]));
}

#[test]
fn wrong_pem_label_is_named() {
    let err =
        PrivateKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap_err();
    assert!(matches!(err, Error::InvalidPem { .. }), "{err}");
    assert!(err.to_string().contains("CERTIFICATE"), "{err}");
}

#[test]
fn encrypted_keys_get_a_conversion_hint() {
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    let err = PrivateKey::from_pem(legacy).unwrap_err();
    assert!(matches!(err, Error::EncryptedKey { .. }));
    assert!(err.to_string().contains("openssl rsa"));
}

#[test]
#[cfg(feature = "encrypted-keys")]
fn encrypted_pkcs8_round_trip() {
    let key = test_key();
    let pass = Passphrase::new("s3cret").unwrap();
    let pem = key.to_encrypted_pem(&pass).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    assert!(PrivateKey::from_encrypted_pem(&pem, &pass).unwrap() == key);
    let err = PrivateKey::from_pem(&pem).unwrap_err();
    assert!(matches!(err, Error::EncryptedKey { .. }), "{err}");
    let wrong = Passphrase::new("S3cret").unwrap();
    let err = PrivateKey::from_encrypted_pem(&pem, &wrong).unwrap_err();
    assert!(matches!(err, Error::KeyDecryption { .. }), "{err}");
    // A plain key given with a passphrase is read as it is.
    let plain = key.to_pem(KeyFormat::Traditional).unwrap();
    assert!(PrivateKey::from_encrypted_pem(&plain, &pass).unwrap() == key);
}

#[test]
#[cfg(not(feature = "ecdsa"))]
fn ecdsa_keys_are_refused_without_the_feature() {
    let err = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("`ecdsa` feature"), "{err}");
    // An openssl P-256 key (SEC1) and its PKCS#8 form are refused the same way.
    let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIOznrA2kaK0g5dmMcROEb6IfX4mRoE/i56PHnMQKoxXEoAoGCCqGSM49\nAwEHoUQDQgAEqFCFjc/sql+K4YpaCAWlcjhWDf5qTNjg0iLHZvH9GcdzjhpN3Dls\n4bEfSXxQEPprvFuC2AgwSOgypunK5NEq+w==\n-----END EC PRIVATE KEY-----\n";
    let err = PrivateKey::from_pem(sec1).unwrap_err();
    assert!(err.to_string().contains("`ecdsa` feature"), "{err}");
}

#[test]
fn algorithm_parses_from_cli_names() {
    assert_eq!(
        "rsa3072".parse::<KeyAlgorithm>().unwrap(),
        KeyAlgorithm::Rsa3072
    );
    assert_eq!(
        "P256".parse::<KeyAlgorithm>().unwrap(),
        KeyAlgorithm::EcdsaP256
    );
    assert!("dsa".parse::<KeyAlgorithm>().is_err());
    assert_eq!(KeyAlgorithm::default().to_string(), "rsa2048");
    for alg in [KeyAlgorithm::EcdsaP384, KeyAlgorithm::Rsa4096] {
        assert_eq!(alg.to_string().parse::<KeyAlgorithm>().unwrap(), alg);
    }
}

#[test]
#[cfg(feature = "ecdsa")]
fn ecdsa_keys_round_trip_in_both_formats() {
    for (alg, label, bits) in [
        (KeyAlgorithm::EcdsaP256, "ECDSA-P256", 256),
        (KeyAlgorithm::EcdsaP384, "ECDSA-P384", 384),
    ] {
        let key = PrivateKey::generate(alg).unwrap();
        assert_eq!(key.algorithm(), Some(alg));
        assert_eq!(key.bits(), bits);
        assert_eq!(format!("{key:?}"), format!("PrivateKey({label})"));
        let sec1 = key.to_pem(KeyFormat::Traditional).unwrap();
        assert!(
            sec1.starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
            "{label}"
        );
        let pkcs8 = key.to_pem(KeyFormat::Pkcs8).unwrap();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(PrivateKey::from_pem(&sec1).unwrap() == key);
        assert!(PrivateKey::from_pem(&pkcs8).unwrap() == key);
        assert!(key.matches_spki(&key.public_key_der().unwrap()));
        assert!(!test_key().matches_spki(&key.public_key_der().unwrap()));
    }
}

/// A PEM block of `der` under `label`.
fn pem_of(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
}

/// The DER inside a PEM text.
fn der_of(pem: &str) -> Vec<u8> {
    pem_rfc7468::decode_vec(pem.as_bytes()).unwrap().1
}

/// A DER PKCS#8 `PrivateKeyInfo` of the given `AlgorithmIdentifier` contents and key bytes.
fn pkcs8(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut body = vec![
        0x02,
        0x01,
        0x00,
        0x30,
        u8::try_from(algorithm.len()).unwrap(),
    ];
    body.extend(algorithm);
    body.extend([0x04, u8::try_from(key.len()).unwrap()]);
    body.extend(key);
    let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
    der.extend(body);
    der
}

/// OID `rsaEncryption` and a NULL parameter, as DER.
const RSA_ALGORITHM: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// OID `id-ecPublicKey` and the named curve of OID `curve` (DER contents), as DER.
fn ec_algorithm(curve: &[u8]) -> Vec<u8> {
    let mut out = vec![0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    if !curve.is_empty() {
        out.extend([0x06, u8::try_from(curve.len()).unwrap()]);
        out.extend(curve);
    }
    out
}

/// Every error that reading a key (or checking a public key) can produce: the message says
/// what is wrong in its own words, and the parser's error, when there is one, is the source —
/// never both (a chain report would print it twice).
#[test]
fn key_errors_do_not_repeat_their_cause() {
    let rsa = test_key();
    let pkcs1 = der_of(&rsa.to_pem(KeyFormat::Traditional).unwrap());
    let pkcs8_der = rsa.to_pkcs8_der().unwrap();
    // (what, the error, whether a parser's error must be its source)
    let mut cases: Vec<(&str, Error, bool)> = vec![
        ("garbage", PrivateKey::from_pem("hello").unwrap_err(), false),
        (
            "wrong label",
            PrivateKey::from_pem(&pem_of("CERTIFICATE", &pkcs1)).unwrap_err(),
            false,
        ),
        (
            "PKCS#1 garbage",
            PrivateKey::from_pem(&pem_of("RSA PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x05]))
                .unwrap_err(),
            true,
        ),
        (
            "PKCS#1 truncated",
            PrivateKey::from_pem(&pem_of("RSA PRIVATE KEY", &pkcs1[..pkcs1.len() / 2]))
                .unwrap_err(),
            true,
        ),
        (
            "PKCS#8 truncated",
            PrivateKey::from_pem(&pem_of("PRIVATE KEY", &pkcs8_der[..pkcs8_der.len() / 2]))
                .unwrap_err(),
            true,
        ),
        (
            "PKCS#8 RSA key garbage",
            PrivateKey::from_pem(&pem_of("PRIVATE KEY", &pkcs8(RSA_ALGORITHM, &[1, 2, 3])))
                .unwrap_err(),
            true,
        ),
        (
            "PKCS#8 Ed25519",
            PrivateKey::from_pem(&pem_of(
                "PRIVATE KEY",
                &pkcs8(&[0x06, 0x03, 0x2b, 0x65, 0x70], &[0x04, 0x20, 0x11]),
            ))
            .unwrap_err(),
            false,
        ),
        (
            "legacy encryption",
            PrivateKey::from_pem(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            )
            .unwrap_err(),
            false,
        ),
        (
            "public key garbage",
            PrivateKey::check_public_key(&[0x30, 0x03, 0x02, 0x01]).unwrap_err(),
            true,
        ),
        (
            "RSA public key garbage",
            PrivateKey::check_public_key(&{
                let mut spki = vec![0x30, 0x13, 0x30, 0x0d];
                spki.extend(RSA_ALGORITHM);
                spki.extend([0x03, 0x02, 0x00, 0x30]);
                spki
            })
            .unwrap_err(),
            true,
        ),
    ];
    // An RSA key whose numbers do not belong together.
    let mut inconsistent =
        rsa::pkcs1::RsaPrivateKey::<der::asn1::UintRef<'_>>::from_der(&pkcs1).unwrap();
    let other = der_of(
        &PrivateKey::generate(KeyAlgorithm::Rsa2048)
            .unwrap()
            .to_pem(KeyFormat::Traditional)
            .unwrap(),
    );
    let other = rsa::pkcs1::RsaPrivateKey::<der::asn1::UintRef<'_>>::from_der(&other).unwrap();
    inconsistent.private_exponent = other.private_exponent;
    let inconsistent = der::Encode::to_der(&inconsistent).unwrap();
    cases.push((
        "inconsistent RSA key",
        PrivateKey::from_pem(&pem_of("RSA PRIVATE KEY", &inconsistent)).unwrap_err(),
        true,
    ));
    let p256_oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    #[cfg(not(feature = "ecdsa"))]
    cases.push((
        "PKCS#8 P-256 without ECDSA support",
        PrivateKey::from_pem(&pem_of(
            "PRIVATE KEY",
            &pkcs8(&ec_algorithm(&p256_oid), &[1]),
        ))
        .unwrap_err(),
        false,
    ));
    #[cfg(feature = "ecdsa")]
    {
        let ec = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let sec1 = der_of(&ec.to_pem(KeyFormat::Traditional).unwrap());
        cases.extend([
            (
                "SEC1 truncated",
                PrivateKey::from_pem(&pem_of("EC PRIVATE KEY", &sec1[..sec1.len() / 2]))
                    .unwrap_err(),
                true,
            ),
            (
                "PKCS#8 P-256 key garbage",
                PrivateKey::from_pem(&pem_of(
                    "PRIVATE KEY",
                    &pkcs8(&ec_algorithm(&p256_oid), &[1]),
                ))
                .unwrap_err(),
                true,
            ),
            (
                "PKCS#8 EC key without a curve",
                PrivateKey::from_pem(&pem_of("PRIVATE KEY", &pkcs8(&ec_algorithm(&[]), &[1])))
                    .unwrap_err(),
                true,
            ),
            (
                "PKCS#8 secp256k1",
                PrivateKey::from_pem(&pem_of(
                    "PRIVATE KEY",
                    &pkcs8(&ec_algorithm(&[0x2b, 0x81, 0x04, 0x00, 0x0a]), &[1]),
                ))
                .unwrap_err(),
                false,
            ),
        ]);
    }
    #[cfg(feature = "encrypted-keys")]
    {
        let pass = Passphrase::new("s3cret").unwrap();
        let encrypted = rsa.to_encrypted_pem(&pass).unwrap();
        let wrong = Passphrase::new("S3cret").unwrap();
        cases.extend([
            (
                "wrong passphrase",
                PrivateKey::from_encrypted_pem(&encrypted, &wrong).unwrap_err(),
                true,
            ),
            (
                "encrypted, no passphrase",
                PrivateKey::from_pem(&encrypted).unwrap_err(),
                false,
            ),
            (
                "encrypted PKCS#8 garbage",
                PrivateKey::from_encrypted_pem(
                    &pem_of("ENCRYPTED PRIVATE KEY", &[0x30, 0x00]),
                    &pass,
                )
                .unwrap_err(),
                true,
            ),
        ]);
    }
    let mut failures = Vec::new();
    for (what, e, wants_source) in &cases {
        let text = e.to_string();
        let mut source = std::error::Error::source(e);
        if source.is_some() != *wants_source {
            failures.push(format!(
                "{what}: source {source:?}, expected one: {wants_source}"
            ));
        }
        while let Some(s) = source {
            if text.contains(&s.to_string()) {
                failures.push(format!(
                    "{what}: {text:?} repeats its cause {:?}",
                    s.to_string()
                ));
            }
            source = s.source();
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
