//! The CSR flow: a node's key never leaves it; the CA signs only what its policy allows, with
//! its own profile whatever the request asks for; renewal keeps key, names and role.

mod common;

use std::net::IpAddr;

use etcd_pki::{CertificateRequest, RequestPolicy, Role};
use etcd_pki::{ClientCert, Error, KeyAlgorithm, PrivateKey, RootCa, ServerCert};
use tempfile::TempDir;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn webpki_ok(root: &[u8], leaf: &[u8], usage: webpki::KeyUsage, name: Option<IpAddr>) {
    common::webpki_verify(root, leaf, usage, name).unwrap();
}

#[test]
fn node_request_signed_with_the_node_profile() {
    let set = common::set();
    for alg in [KeyAlgorithm::Rsa2048, KeyAlgorithm::EcdsaP256] {
        let key = PrivateKey::generate(alg).unwrap();
        let csr = ServerCert::new(ip("10.1.0.1"))
            .dns_name("etcd-1.local".parse().unwrap())
            .request(&key)
            .unwrap();
        // Through PEM, as it travels.
        let csr = CertificateRequest::from_pem(&csr.to_pem().unwrap()).unwrap();
        assert_eq!(
            csr.ip_addresses().unwrap(),
            [ip("127.0.0.1"), ip("10.1.0.1")]
        );
        let policy =
            RequestPolicy::for_node(ip("10.1.0.1")).allow_dns_name("etcd-1.local".parse().unwrap());
        let cert = set.ca.sign_request(&csr, Role::Node, &policy).unwrap();
        assert!(cert.is_server_auth() && cert.is_client_auth() && !cert.is_ca());
        assert_eq!(cert.dns_names(), ["etcd-1.local"]);
        let root = &set.ca.certificate().to_der();
        webpki_ok(
            root,
            &cert.to_der(),
            webpki::KeyUsage::server_auth(),
            Some(ip("10.1.0.1")),
        );
        webpki_ok(root, &cert.to_der(), webpki::KeyUsage::client_auth(), None);
        // The certificate is for the node's own key.
        assert_eq!(
            cert.public_key_der().unwrap(),
            key.public_key_der().unwrap()
        );
    }
}

#[test]
fn the_policy_decides_names() {
    let set = common::set();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = ServerCert::new(ip("10.1.0.2")).request(&key).unwrap();
    // Another node's policy: its IP is not allowed.
    let err = set
        .ca
        .sign_request(&csr, Role::Node, &RequestPolicy::for_node(ip("10.1.0.3")))
        .unwrap_err();
    assert!(
        matches!(&err, Error::IpAddressNotAllowed { ip: asked, allowed }
            if *asked == ip("10.1.0.2") && allowed.contains(&ip("10.1.0.3"))),
        "{err}"
    );
    assert!(err.to_string().contains("IP address 10.1.0.2"), "{err}");
    // A DNS name not allowed.
    let csr = ServerCert::new(ip("10.1.0.2"))
        .dns_name("evil.example".parse().unwrap())
        .request(&key)
        .unwrap();
    let err = set
        .ca
        .sign_request(&csr, Role::Node, &RequestPolicy::for_node(ip("10.1.0.2")))
        .unwrap_err();
    assert!(
        matches!(&err, Error::DnsNameNotAllowed { name, .. } if name == "evil.example"),
        "{err}"
    );
    assert!(err.to_string().contains("DNS name evil.example"), "{err}");
    // A client asking to be root when only alice is allowed.
    let csr = ClientCert::new()
        .common_name("root".parse().unwrap())
        .request(&key)
        .unwrap();
    let alice = RequestPolicy::for_client(Some("alice".parse().unwrap()));
    let err = set.ca.sign_request(&csr, Role::Client, &alice).unwrap_err();
    assert!(
        matches!(&err, Error::CommonNameNotAllowed { name, role: Role::Client } if name == "root"),
        "{err}"
    );
    assert!(err.to_string().contains("common name \"root\""), "{err}");
    let csr = ClientCert::new()
        .common_name("alice".parse().unwrap())
        .request(&key)
        .unwrap();
    let cert = set.ca.sign_request(&csr, Role::Client, &alice).unwrap();
    assert_eq!(cert.common_name().as_deref(), Some("alice"));
    assert!(cert.is_client_auth() && !cert.is_server_auth());
    // A node request without any name.
    let csr = ClientCert::new().request(&key).unwrap();
    let err = set
        .ca
        .sign_request(&csr, Role::Node, &RequestPolicy::new())
        .unwrap_err();
    assert!(
        matches!(err, Error::NoSubjectAltName { role: Role::Node }),
        "{err}"
    );
    assert!(err.to_string().contains("at least one IP address"), "{err}");
}

#[test]
fn a_tampered_request_is_refused() {
    let set = common::set();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let der = ServerCert::new(ip("10.1.0.4"))
        .request(&key)
        .unwrap()
        .to_der();
    // Change one byte of the requested IP address (10.1.0.4 -> 10.1.0.5) without re-signing.
    let pos = der.windows(4).position(|w| w == [10, 1, 0, 4]).unwrap();
    let mut bad = der.clone();
    bad[pos + 3] = 5;
    let csr = CertificateRequest::from_der(&bad).unwrap();
    let err = set
        .ca
        .sign_request(&csr, Role::Node, &RequestPolicy::for_node(ip("10.1.0.5")))
        .unwrap_err();
    assert!(
        matches!(err, Error::RequestSignatureInvalid { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );
}

#[test]
fn an_openssl_request_gets_our_profile_not_its_wishes() {
    let set = common::set();
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    // A request asking to be a CA with keyCertSign, plus a challenge password.
    common::openssl_ok(
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "n.key",
            "-out",
            "n.csr",
            "-subj",
            "/CN=node",
            "-addext",
            "subjectAltName=IP:10.1.0.6",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
        d,
    );
    let csr =
        CertificateRequest::from_pem(&std::fs::read_to_string(d.join("n.csr")).unwrap()).unwrap();
    let policy = RequestPolicy::for_node(ip("10.1.0.6")).allow_common_name("node".parse().unwrap());
    let cert = set.ca.sign_request(&csr, Role::Node, &policy).unwrap();
    assert!(!cert.is_ca(), "the request's CA:TRUE is ignored");
    common::put(d, "root.cert", &set.ca.certificate().to_pem().unwrap());
    common::put(d, "n.cert", &cert.to_pem().unwrap());
    let text = common::openssl_ok(&["x509", "-noout", "-text", "-in", "n.cert"], d);
    assert!(
        text.contains("CA:FALSE") && text.contains("Digital Signature, Key Encipherment"),
        "{text}"
    );
    assert!(!text.contains("Certificate Sign"), "{text}");
    common::assert_strict_server(d, "root.cert", "n.cert", "10.1.0.6");
}

#[test]
fn renewal_keeps_key_names_and_role() {
    let set = common::set();
    let renewed = set.ca.renew(set.node.certificate(), 400).unwrap();
    let old = set.node.certificate();
    assert_eq!(renewed.subject(), old.subject());
    assert_eq!(renewed.ip_addresses(), old.ip_addresses());
    assert_ne!(renewed.serial_hex(), old.serial_hex());
    assert!(renewed.is_server_auth() && renewed.is_client_auth());
    assert_eq!(
        renewed.public_key_der().unwrap(),
        old.public_key_der().unwrap()
    );
    webpki_ok(
        &set.ca.certificate().to_der(),
        &renewed.to_der(),
        webpki::KeyUsage::server_auth(),
        Some(set.node_ip),
    );
    let client = set.ca.renew(set.alice.certificate(), 10).unwrap();
    assert!(client.is_client_auth() && !client.is_server_auth());
    assert_eq!(client.common_name().as_deref(), Some("alice"));
    // A certificate of another CA is not renewed by this one.
    let other = RootCa::new().self_sign().unwrap();
    let err = other.renew(set.node.certificate(), 10).unwrap_err();
    assert!(err.to_string().contains("not issued by this CA"), "{err}");
}

#[test]
fn a_node_certificate_always_carries_the_names_its_policy_requires() {
    // A request that asks only for 127.0.0.1, signed for node 10.0.0.5: the CA's profile puts
    // in 10.0.0.5 (and 127.0.0.1), as the peers will check; the request decides nothing else.
    let set = common::set();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = ServerCert::new(ip("127.0.0.1")).request(&key).unwrap();
    assert_eq!(csr.ip_addresses().unwrap(), [ip("127.0.0.1")]);
    let cert = set
        .ca
        .sign_request(&csr, Role::Node, &RequestPolicy::for_node(ip("10.0.0.5")))
        .unwrap();
    assert_eq!(cert.ip_addresses(), [ip("127.0.0.1"), ip("10.0.0.5")]);
    // A request with no names at all gets them too.
    let csr = ClientCert::new().request(&key).unwrap();
    let cert = set
        .ca
        .sign_request(&csr, Role::Node, &RequestPolicy::for_node(ip("10.0.0.6")))
        .unwrap();
    assert_eq!(cert.ip_addresses(), [ip("127.0.0.1"), ip("10.0.0.6")]);
    // An extra allowed name still comes after the required ones.
    let csr = ServerCert::new(ip("10.0.0.7"))
        .dns_name("etcd-7.local".parse().unwrap())
        .request(&key)
        .unwrap();
    let policy =
        RequestPolicy::for_node(ip("10.0.0.7")).allow_dns_name("etcd-7.local".parse().unwrap());
    let cert = set.ca.sign_request(&csr, Role::Node, &policy).unwrap();
    assert_eq!(cert.ip_addresses(), [ip("127.0.0.1"), ip("10.0.0.7")]);
    assert_eq!(cert.dns_names(), ["etcd-7.local"]);
}
