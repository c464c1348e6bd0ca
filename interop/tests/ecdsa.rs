//! ECDSA P-256 and P-384 keys for all three roles: correct profiles, accepted by webpki and
//! openssl (strict), loadable as a CA in both PEM formats, and mixable with RSA.

mod common;

use der::Decode;
use etcd_pki::{ClientCert, Issuer, KeyAlgorithm, KeyFormat, RootCa, ServerCert};
use rustls_pki_types::{CertificateDer, ServerName};
use tempfile::TempDir;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";

fn sig_oid(der: &[u8]) -> String {
    x509_cert::Certificate::from_der(der)
        .unwrap()
        .signature_algorithm()
        .oid
        .to_string()
}

fn key_usage(der: &[u8]) -> KeyUsage {
    x509_cert::Certificate::from_der(der)
        .unwrap()
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .unwrap()
        .unwrap()
        .1
}

fn webpki_verify(root: &[u8], leaf: &[u8], usage: webpki::KeyUsage) {
    common::webpki_verify(root, leaf, usage, None).unwrap();
}

#[test]
fn ecdsa_sets_verify() {
    for (alg, oid) in [
        (KeyAlgorithm::EcdsaP256, ECDSA_SHA256),
        (KeyAlgorithm::EcdsaP384, ECDSA_SHA384),
    ] {
        let ca = RootCa::new().key_algorithm(alg).self_sign().unwrap();
        let node = ServerCert::new("10.0.0.1".parse().unwrap())
            .key_algorithm(alg)
            .issue(&ca)
            .unwrap();
        let client = ClientCert::new().key_algorithm(alg).issue(&ca).unwrap();
        assert_eq!(sig_oid(&ca.certificate().to_der()), oid);
        assert_eq!(sig_oid(&node.certificate().to_der()), oid);
        // No keyEncipherment for EC keys (RFC 8813).
        assert_eq!(
            key_usage(&node.certificate().to_der()).0,
            flagset::FlagSet::from(KeyUsages::DigitalSignature)
        );
        let root = &ca.certificate().to_der();
        webpki_verify(
            root,
            &node.certificate().to_der(),
            webpki::KeyUsage::server_auth(),
        );
        webpki_verify(
            root,
            &node.certificate().to_der(),
            webpki::KeyUsage::client_auth(),
        );
        webpki_verify(
            root,
            &client.certificate().to_der(),
            webpki::KeyUsage::client_auth(),
        );
        let leaf = CertificateDer::from(node.certificate());
        webpki::EndEntityCert::try_from(&leaf)
            .unwrap()
            .verify_is_valid_for_subject_name(&ServerName::IpAddress(
                "10.0.0.1".parse::<std::net::IpAddr>().unwrap().into(),
            ))
            .unwrap();

        let dir = TempDir::new().unwrap();
        let d = dir.path();
        common::put(d, "root.cert", &ca.certificate().to_pem().unwrap());
        common::put(d, "node.cert", &node.certificate().to_pem().unwrap());
        common::put(
            d,
            "node.key",
            &node.private_key().to_pem(KeyFormat::Traditional).unwrap(),
        );
        common::assert_strict_server(d, "root.cert", "node.cert", "10.0.0.1");
        common::openssl_ok(&["ec", "-check", "-noout", "-in", "node.key"], d);

        // The CA reloads from both key formats and keeps issuing.
        for format in [KeyFormat::Traditional, KeyFormat::Pkcs8] {
            let key = ca.certified_key().private_key().to_pem(format).unwrap();
            let again = Issuer::from_pem(&ca.certificate().to_pem().unwrap(), &key).unwrap();
            let leaf = ClientCert::new().issue(&again).unwrap();
            webpki_verify(
                root,
                &leaf.certificate().to_der(),
                webpki::KeyUsage::client_auth(),
            );
        }
    }
}

#[test]
fn rsa_and_ecdsa_mix() {
    let set = common::set();
    // An RSA root issuing an ECDSA node certificate, and an ECDSA root issuing RSA.
    let node = ServerCert::new("10.0.0.2".parse().unwrap())
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&set.ca)
        .unwrap();
    assert_eq!(
        sig_oid(&node.certificate().to_der()),
        "1.2.840.113549.1.1.11"
    );
    webpki_verify(
        &set.ca.certificate().to_der(),
        &node.certificate().to_der(),
        webpki::KeyUsage::server_auth(),
    );
    let ec_ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP384)
        .self_sign()
        .unwrap();
    let client = ClientCert::new().issue(&ec_ca).unwrap();
    assert_eq!(
        key_usage(&client.certificate().to_der()).0,
        KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
    );
    webpki_verify(
        &ec_ca.certificate().to_der(),
        &client.certificate().to_der(),
        webpki::KeyUsage::client_auth(),
    );
}

#[test]
fn openssl_made_ec_keys_load() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    common::openssl_ok(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "sec1.key",
        ],
        d,
    );
    common::openssl_ok(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "p8.key",
        ],
        d,
    );
    common::openssl_ok(
        &[
            "ecparam",
            "-name",
            "secp521r1",
            "-genkey",
            "-noout",
            "-out",
            "p521.key",
        ],
        d,
    );
    let read = |n: &str| std::fs::read_to_string(d.join(n)).unwrap();
    assert_eq!(
        etcd_pki::PrivateKey::from_pem(&read("sec1.key"))
            .unwrap()
            .algorithm(),
        Some(KeyAlgorithm::EcdsaP256)
    );
    assert_eq!(
        etcd_pki::PrivateKey::from_pem(&read("p8.key"))
            .unwrap()
            .algorithm(),
        Some(KeyAlgorithm::EcdsaP384)
    );
    let err = etcd_pki::PrivateKey::from_pem(&read("p521.key")).unwrap_err();
    assert!(matches!(err, etcd_pki::Error::Unsupported { .. }), "{err}");
}
