//! No error's message repeats its cause: `Display` says what went wrong in etcd-pki's words,
//! `source()` carries the underlying error, and a report that prints the whole chain (as the
//! example CLIs do) shows each text once. The errors here are made through the public API, the
//! way a caller meets them.
#![cfg(all(feature = "plan", feature = "ecdsa", feature = "encrypted-keys"))]

use std::error::Error as _;
use std::path::Path;

use etcd_pki::{
    Certificate, CertificateRequest, ClusterPlan, Error, Issuer, Passphrase, PrivateKey,
};

/// `e`'s message against every error of its source chain (the causes are other libraries'
/// errors, whose own chains are theirs).
fn check_chain(e: &Error) {
    let text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let cause_text = c.to_string();
        assert!(
            !cause_text.is_empty() && !text.contains(&cause_text),
            "{text:?} repeats its cause {cause_text:?}"
        );
        cause = c.source();
    }
}

fn errors() -> Vec<Error> {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let key = PrivateKey::generate(etcd_pki::KeyAlgorithm::EcdsaP256).unwrap();
    let pass = Passphrase::new("right horse battery").unwrap();
    let wrong = Passphrase::new("wrong horse battery").unwrap();
    let encrypted = key.to_encrypted_pem(&pass).unwrap();
    let garbage_key = "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n";
    let garbage_cert = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
    let garbage_csr =
        "-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n";
    vec![
        Certificate::load(&missing).unwrap_err(),
        Certificate::load(dir.path()).unwrap_err(),
        Certificate::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err(),
        Certificate::from_pem(garbage_cert).unwrap_err(),
        PrivateKey::from_pem(garbage_key).unwrap_err(),
        PrivateKey::from_encrypted_pem(&encrypted, &wrong).unwrap_err(),
        CertificateRequest::from_der(&[0x30, 0x00]).unwrap_err(),
        CertificateRequest::from_pem(garbage_csr).unwrap_err(),
        CertificateRequest::load(&missing).unwrap_err(),
        Issuer::load(&missing, Path::new("k")).unwrap_err(),
        ClusterPlan::from_toml("members = 1").unwrap_err(),
        ClusterPlan::from_toml("[[members]]\nname = \"n1\"\nip = \"not an ip\"\n").unwrap_err(),
        Passphrase::from_file(&missing).unwrap_err(),
    ]
}

#[test]
fn no_message_repeats_its_cause() {
    let errors = errors();
    let with_cause = errors.iter().filter(|e| e.source().is_some()).count();
    // Not a vacuous check: most of these errors do carry a cause.
    assert!(
        with_cause >= 6,
        "{with_cause} of {} carry a cause",
        errors.len()
    );
    for e in &errors {
        check_chain(e);
    }
}
