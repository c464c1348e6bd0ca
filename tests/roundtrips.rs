//! Round trips a downstream tool needs: DER and PEM of certificates and requests, a request
//! written with its key, an encrypted CA key given as text.

mod common;

use etcd_pki::CertificateRequest;
use etcd_pki::{Certificate, Error, KeyAlgorithm, PrivateKey, ServerCert, WriteOptions};

#[test]
fn certificates_round_trip_through_der_and_pem() {
    let cert = common::set().node.certificate();
    let der = cert.to_der();
    assert_eq!(&Certificate::from_der(&der).unwrap(), cert);
    let pem = cert.to_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    assert_eq!(&Certificate::from_pem(&pem).unwrap(), cert);
}

#[test]
fn requests_round_trip_through_der_and_pem() {
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
    let csr = ServerCert::new("10.0.0.7".parse().unwrap())
        .request(&key)
        .unwrap();
    let der = csr.to_der();
    let parsed = CertificateRequest::from_der(&der).unwrap();
    assert_eq!(parsed, csr);
    assert_eq!(parsed.to_der(), der);
    let pem = csr.to_pem().unwrap();
    assert!(
        pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"),
        "{pem}"
    );
    assert_eq!(CertificateRequest::from_pem(&pem).unwrap(), csr);
    assert_eq!(parsed.to_pem().unwrap(), pem);
}

#[test]
fn a_damaged_certificate_error_does_not_repeat_its_cause() {
    let der = common::set().node.certificate().to_der();
    let e = Certificate::from_der(&der[..der.len() - 1]).unwrap_err();
    assert!(matches!(e, Error::InvalidCertificate { .. }), "{e:?}");
    let source = std::error::Error::source(&e)
        .expect("the parser's error")
        .to_string();
    assert!(!e.to_string().contains(&source), "{e} / {source}");
}

#[test]
fn a_request_is_written_with_its_key_as_written_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
    let csr = ServerCert::new("10.0.0.8".parse().unwrap())
        .request(&key)
        .unwrap();
    let files = csr
        .write(dir.path(), "10.0.0.8", &key, &WriteOptions::new())
        .unwrap();
    assert_eq!(files.key, dir.path().join("10.0.0.8.key"));
    assert_eq!(files.cert, dir.path().join("10.0.0.8.csr"));
    assert_eq!(CertificateRequest::load(&files.cert).unwrap(), csr);
    let loaded = PrivateKey::from_pem(&std::fs::read_to_string(&files.key).unwrap()).unwrap();
    assert!(loaded == key);
    // Not twice.
    let e = csr
        .write(dir.path(), "10.0.0.8", &key, &WriteOptions::new())
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
}

#[test]
fn a_request_is_not_written_with_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
    let other = common::set().node.private_key();
    let csr = ServerCert::new("10.0.0.9".parse().unwrap())
        .request(&key)
        .unwrap();
    let e = csr
        .write(dir.path(), "n", other, &WriteOptions::new())
        .unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[cfg(feature = "encrypted-keys")]
#[test]
fn an_encrypted_ca_key_is_read_from_text_with_its_passphrase_only() {
    use etcd_pki::{Issuer, Passphrase};
    let ca = &common::set().ca;
    let pass = Passphrase::new("root secret").unwrap();
    let cert_pem = ca.certificate().to_pem().unwrap();
    let key_pem = ca
        .certified_key()
        .private_key()
        .to_encrypted_pem(&pass)
        .unwrap();
    let loaded = Issuer::from_encrypted_pem(&cert_pem, &key_pem, &pass).unwrap();
    assert_eq!(loaded.certificate(), ca.certificate());
    assert!(loaded.certified_key().private_key() == ca.certified_key().private_key());
    // It signs as the original does.
    let node = ServerCert::new("10.0.0.10".parse().unwrap())
        .issue(&loaded)
        .unwrap();
    assert_eq!(node.certificate().issuer(), ca.certificate().subject());

    let wrong = Passphrase::new("not it").unwrap();
    let e = Issuer::from_encrypted_pem(&cert_pem, &key_pem, &wrong).unwrap_err();
    assert!(
        matches!(e, Error::KeyDecryption { path: None, .. }),
        "{e:?}"
    );
    // Without a passphrase, the encrypted key is refused as such.
    let e = Issuer::from_pem(&cert_pem, &key_pem).unwrap_err();
    assert!(matches!(e, Error::EncryptedKey { .. }), "{e:?}");
    // An unencrypted key is read as `from_pem` reads it.
    let plain = ca
        .certified_key()
        .private_key()
        .to_pem(etcd_pki::KeyFormat::Pkcs8)
        .unwrap();
    let loaded = Issuer::from_encrypted_pem(&cert_pem, &plain, &wrong).unwrap();
    assert_eq!(loaded.certificate(), ca.certificate());
    // The key of another CA is refused as with the files.
    let other = common::set()
        .node
        .private_key()
        .to_encrypted_pem(&pass)
        .unwrap();
    let e = Issuer::from_encrypted_pem(&cert_pem, &other, &pass).unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e:?}");
}
