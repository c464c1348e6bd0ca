//! Tests of [`CertifiedKey`]: what `write` writes, `load` reads back, for every key algorithm
//! and key format; pairs that do not belong together are refused.

use std::path::Path;

use super::*;
use crate::{ClientCert, KeyAlgorithm, KeyFormat, RootCa};

/// Every key algorithm this build can generate. The `match` stops compiling when a variant is
/// added, so that the round trips below cover it.
fn algorithms() -> Vec<KeyAlgorithm> {
    let all = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
    ];
    for a in all {
        match a {
            KeyAlgorithm::Rsa2048
            | KeyAlgorithm::Rsa3072
            | KeyAlgorithm::Rsa4096
            | KeyAlgorithm::EcdsaP256
            | KeyAlgorithm::EcdsaP384 => {}
        }
    }
    all.into_iter()
        .filter(|a| cfg!(feature = "ecdsa") || a.rsa_bits().is_some())
        .collect()
}

fn ca() -> &'static crate::Issuer {
    static CA: std::sync::OnceLock<crate::Issuer> = std::sync::OnceLock::new();
    CA.get_or_init(|| RootCa::new().self_sign().unwrap())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn write_then_load_round_trips_every_algorithm_and_key_format() {
    let dir = tempfile::tempdir().unwrap();
    for algorithm in algorithms() {
        let pair = ClientCert::new()
            .key_algorithm(algorithm)
            .issue(ca())
            .unwrap();
        let traditional = if algorithm.rsa_bits().is_some() {
            "RSA PRIVATE KEY"
        } else {
            "EC PRIVATE KEY"
        };
        for (format, label) in [
            (KeyFormat::Traditional, traditional),
            (KeyFormat::Pkcs8, "PRIVATE KEY"),
        ] {
            let stem = format!("{algorithm}-{format:?}");
            let options = WriteOptions::new().key_format(format);
            let files = pair.write(dir.path(), &stem, &options).unwrap();
            assert_eq!(files.key, dir.path().join(format!("{stem}.key")));
            assert_eq!(files.cert, dir.path().join(format!("{stem}.cert")));
            assert!(
                read(&files.key).starts_with(&format!("-----BEGIN {label}-----")),
                "{stem}"
            );
            let loaded = CertifiedKey::load(dir.path(), &stem).unwrap();
            assert_eq!(loaded.certificate(), pair.certificate(), "{stem}");
            assert!(loaded.private_key() == pair.private_key(), "{stem}");
            assert_eq!(loaded.private_key().algorithm(), Some(algorithm));
        }
    }
}

#[cfg(feature = "encrypted-keys")]
#[test]
fn encrypted_keys_round_trip_with_their_passphrase_only() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::new("correct horse").unwrap();
    let wrong = Passphrase::new("wrong horse").unwrap();
    for algorithm in algorithms() {
        let pair = ClientCert::new()
            .key_algorithm(algorithm)
            .issue(ca())
            .unwrap();
        let stem = algorithm.to_string();
        let options = WriteOptions::new().encrypt_key(pass.clone());
        let files = pair.write(dir.path(), &stem, &options).unwrap();
        assert!(read(&files.key).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let loaded = CertifiedKey::load_encrypted(dir.path(), &stem, &pass).unwrap();
        assert_eq!(loaded.certificate(), pair.certificate());
        assert!(loaded.private_key() == pair.private_key());
        // Without the passphrase: refused, naming the key file.
        let e = CertifiedKey::load(dir.path(), &stem).unwrap_err();
        assert!(
            matches!(&e, Error::EncryptedKey { path: Some(p), .. } if *p == files.key),
            "{e:?}"
        );
        let e = CertifiedKey::load_encrypted(dir.path(), &stem, &wrong).unwrap_err();
        assert!(
            matches!(&e, Error::KeyDecryption { path: Some(p), .. } if *p == files.key),
            "{e:?}"
        );
        // The texts too.
        let from_pem =
            CertifiedKey::from_encrypted_pem(&read(&files.cert), &read(&files.key), &pass).unwrap();
        assert_eq!(from_pem.certificate(), pair.certificate());
    }
    // `load_encrypted` reads an unencrypted key as `load` does.
    let pair = ClientCert::new().issue(ca()).unwrap();
    pair.write(dir.path(), "plain", &WriteOptions::new())
        .unwrap();
    let loaded = CertifiedKey::load_encrypted(dir.path(), "plain", &pass).unwrap();
    assert!(loaded.private_key() == pair.private_key());
}

#[test]
fn a_written_root_loads_as_a_pair_and_as_an_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let files = ca()
        .write(dir.path(), "root", &WriteOptions::new())
        .unwrap();
    let pair = CertifiedKey::load(dir.path(), "root").unwrap();
    assert_eq!(pair.certificate(), ca().certificate());
    let issuer = crate::Issuer::load(&files.cert, &files.key).unwrap();
    assert_eq!(issuer.certificate(), ca().certificate());
}

#[test]
fn a_mismatched_pair_is_refused_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = ClientCert::new().issue(ca()).unwrap();
    let b = ClientCert::new().issue(ca()).unwrap();
    let files = a.write(dir.path(), "a", &WriteOptions::new()).unwrap();
    let b_key = b.private_key().to_pem(KeyFormat::Pkcs8).unwrap();
    std::fs::write(&files.key, b_key.as_bytes()).unwrap();
    let e = CertifiedKey::load(dir.path(), "a").unwrap_err();
    match &e {
        Error::KeyMismatch {
            key_path: Some(k),
            cert_path: Some(c),
        } => assert_eq!((k, c), (&files.key, &files.cert)),
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains(&files.key.display().to_string()),
        "{e}"
    );
    // From the texts and from parsed values alike.
    let e = CertifiedKey::from_pem(&read(&files.cert), &b_key).unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e:?}");
    let e = CertifiedKey::new(a.certificate().clone(), b.private_key().clone()).unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e:?}");
    // Another algorithm altogether.
    if cfg!(feature = "ecdsa") {
        let ec = ClientCert::new()
            .key_algorithm(KeyAlgorithm::EcdsaP256)
            .issue(ca())
            .unwrap();
        let e = CertifiedKey::new(a.certificate().clone(), ec.private_key().clone()).unwrap_err();
        assert!(matches!(e, Error::KeyMismatch { .. }), "{e:?}");
    }
}

#[test]
fn into_parts_and_new_round_trip() {
    let pair = ClientCert::new().issue(ca()).unwrap();
    let (cert, key) = pair.clone().into_parts();
    assert_eq!(&cert, pair.certificate());
    assert!(&key == pair.private_key());
    let again = CertifiedKey::new(cert, key).unwrap();
    assert_eq!(again.certificate(), pair.certificate());
    assert!(again.private_key() == pair.private_key());
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pair = ClientCert::new().issue(ca()).unwrap();
    let files = pair.write(dir.path(), "c", &WriteOptions::new()).unwrap();
    // A key where the certificate should be.
    std::fs::copy(&files.key, &files.cert).unwrap();
    let e = CertifiedKey::load(dir.path(), "c").unwrap_err();
    assert!(
        matches!(&e, Error::InvalidPem { path: Some(p), .. } if *p == files.cert),
        "{e:?}"
    );
    // A missing key.
    std::fs::remove_file(&files.key).unwrap();
    let e = CertifiedKey::load(dir.path(), "c").unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, .. } if *path == files.key),
        "{e:?}"
    );
    // A damaged key.
    std::fs::write(
        &files.key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    pair.certificate()
        .write(dir.path(), "c.cert", &WriteOptions::new().overwrite(true))
        .unwrap();
    let e = CertifiedKey::load(dir.path(), "c").unwrap_err();
    assert!(
        matches!(&e, Error::InvalidKey { path: Some(p), .. } if *p == files.key),
        "{e:?}"
    );
}
