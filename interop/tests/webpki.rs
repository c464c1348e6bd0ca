//! rustls-webpki, an independent strict verifier, accepts the certificates for their TLS
//! usages and IP names, and rejects them for what they are not for.

mod common;

use std::net::IpAddr;

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

static ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] =
    &[webpki::ring::RSA_PKCS1_2048_8192_SHA256];

fn now() -> UnixTime {
    UnixTime::now()
}

fn verify(root: &[u8], leaf: &[u8], usage: KeyUsage) -> Result<(), webpki::Error> {
    let root = CertificateDer::from(root);
    let anchor = anchor_from_trusted_cert(&root)?;
    let leaf = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf)?;
    ee.verify_for_usage(ALGS, &[anchor], &[], now(), usage, None, None)
        .map(drop)
}

fn name_ok(leaf: &[u8], ip: &str) -> Result<(), webpki::Error> {
    let leaf = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf)?;
    let ip: IpAddr = ip.parse().unwrap();
    ee.verify_is_valid_for_subject_name(&ServerName::IpAddress(ip.into()))
}

#[test]
fn node_certificate_is_a_server_and_a_client() {
    let set = common::set();
    let root = &set.ca.certificate().to_der();
    let node = &set.node.certificate().to_der();
    verify(root, node, KeyUsage::server_auth()).expect("serverAuth");
    verify(root, node, KeyUsage::client_auth()).expect("clientAuth (etcd peers)");
    name_ok(node, "127.0.0.1").expect("127.0.0.1 SAN");
    name_ok(node, "192.168.10.11").expect("node IP SAN");
    assert!(
        name_ok(node, "192.168.10.12").is_err(),
        "other IPs do not match"
    );
}

#[test]
fn client_certificate_is_only_a_client() {
    let set = common::set();
    let root = &set.ca.certificate().to_der();
    for client in [&set.client, &set.alice] {
        let der = &client.certificate().to_der();
        verify(root, der, KeyUsage::client_auth()).expect("clientAuth");
        let err = verify(root, der, KeyUsage::server_auth()).unwrap_err();
        assert!(
            format!("{err:?}").contains("RequiredEkuNotFound"),
            "{err:?}"
        );
    }
}

#[test]
fn a_certificate_from_another_ca_is_rejected() {
    let set = common::set();
    let other = etcd_pki::RootCa::new()
        .common_name("Other CA".parse().unwrap())
        .self_sign()
        .unwrap();
    let err = verify(
        &other.certificate().to_der(),
        &set.node.certificate().to_der(),
        KeyUsage::server_auth(),
    )
    .unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    // An impostor CA with the very same name but another key: the signature gives it away.
    let impostor = etcd_pki::RootCa::new().self_sign().unwrap();
    let err = verify(
        &impostor.certificate().to_der(),
        &set.node.certificate().to_der(),
        KeyUsage::server_auth(),
    )
    .unwrap_err();
    assert!(
        format!("{err:?}").contains("InvalidSignatureForPublicKey"),
        "{err:?}"
    );
}

#[test]
fn ipv6_and_dns_names_match() {
    let set = common::set();
    let node = etcd_pki::ServerCert::new("fd00::11".parse().unwrap())
        .dns_name("etcd-1.cluster.local".parse().unwrap())
        .issue(&set.ca)
        .unwrap();
    let der = &node.certificate().to_der();
    verify(&set.ca.certificate().to_der(), der, KeyUsage::server_auth()).unwrap();
    name_ok(der, "fd00::11").unwrap();
    let leaf = CertificateDer::from(node.certificate());
    let ee = EndEntityCert::try_from(&leaf).unwrap();
    ee.verify_is_valid_for_subject_name(&ServerName::try_from("etcd-1.cluster.local").unwrap())
        .unwrap();
    assert!(
        ee.verify_is_valid_for_subject_name(&ServerName::try_from("etcd-2.cluster.local").unwrap())
            .is_err()
    );
}
