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
