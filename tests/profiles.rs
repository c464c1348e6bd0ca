//! The certificates have exactly the contents the profile table promises.

mod common;

use std::time::{Duration, SystemTime};

use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::time::Time;

use etcd_pki::{ClientCert, RootCa, ServerCert};

const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

fn parse(der: &[u8]) -> Certificate {
    Certificate::from_der(der).unwrap()
}

fn oids(cert: &Certificate) -> Vec<String> {
    cert.tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .map(|e| e.extn_id.to_string())
        .collect()
}

fn ski(cert: &Certificate) -> Vec<u8> {
    let (critical, ski) = cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert!(!critical);
    ski.0.as_bytes().to_vec()
}

#[test]
fn root_profile() {
    let set = common::set();
    let root = parse(&set.ca.certificate().to_der());
    let tbs = root.tbs_certificate();
    assert_eq!(tbs.version(), Version::V3);
    assert_eq!(
        tbs.issuer().to_der().unwrap(),
        tbs.subject().to_der().unwrap()
    );
    let (crit, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(crit && bc.ca && bc.path_len_constraint.is_none());
    let (crit, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(crit);
    assert_eq!(ku.0, KeyUsages::KeyCertSign | KeyUsages::CRLSign);
    assert!(tbs.get_extension::<ExtendedKeyUsage>().unwrap().is_none());
    assert!(
        tbs.get_extension::<AuthorityKeyIdentifier>()
            .unwrap()
            .is_none()
    );
    assert!(tbs.get_extension::<SubjectAltName>().unwrap().is_none());
    assert_eq!(ski(&root).len(), 20);
    assert_eq!(
        oids(&root).len(),
        3,
        "no other extensions: {:?}",
        oids(&root)
    );
}

fn check_leaf(leaf_der: &[u8], ekus: &[&str]) -> Certificate {
    let set = common::set();
    let root = parse(&set.ca.certificate().to_der());
    let leaf = parse(leaf_der);
    let tbs = leaf.tbs_certificate();
    assert_eq!(tbs.version(), Version::V3);
    // The issuer name is the root's subject, byte for byte.
    assert_eq!(
        tbs.issuer().to_der().unwrap(),
        root.tbs_certificate().subject().to_der().unwrap()
    );
    let (crit, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(crit && !bc.ca);
    let (crit, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(crit);
    assert_eq!(
        ku.0,
        KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
    );
    let (crit, eku) = tbs.get_extension::<ExtendedKeyUsage>().unwrap().unwrap();
    assert!(!crit);
    let got: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
    assert_eq!(got, ekus);
    let (crit, aki) = tbs
        .get_extension::<AuthorityKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert!(!crit);
    assert_eq!(aki.key_identifier.unwrap().as_bytes(), ski(&root));
    assert!(aki.authority_cert_issuer.is_none() && aki.authority_cert_serial_number.is_none());
    assert_ne!(ski(&leaf), ski(&root));
    // Serial: positive, non-zero, at most 20 octets, at least 64 bits.
    let serial = tbs.serial_number().as_bytes();
    assert!(serial.len() >= 8 && serial.len() <= 20, "{serial:?}");
    assert!(serial.iter().any(|b| *b != 0));
    leaf
}

#[test]
fn client_profile() {
    let set = common::set();
    let leaf = check_leaf(&set.client.certificate().to_der(), &[CLIENT_AUTH]);
    assert!(
        leaf.tbs_certificate()
            .get_extension::<SubjectAltName>()
            .unwrap()
            .is_none()
    );
    assert_eq!(
        leaf.tbs_certificate().subject().to_string(),
        "OU=ZWC,O=BC,L=YB,ST=CQ,C=CN"
    );
    assert_eq!(
        set.alice.certificate().common_name().as_deref(),
        Some("alice")
    );
    assert_eq!(oids(&leaf).len(), 5);
}

#[test]
fn node_profile() {
    let set = common::set();
    let leaf = check_leaf(
        &set.node.certificate().to_der(),
        &[SERVER_AUTH, CLIENT_AUTH],
    );
    let (crit, _) = leaf
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .unwrap()
        .unwrap();
    assert!(!crit, "SAN is non-critical when the subject is not empty");
    assert_eq!(
        set.node.certificate().ip_addresses(),
        [
            "127.0.0.1".parse::<std::net::IpAddr>().unwrap(),
            set.node_ip
        ]
    );
    assert_eq!(oids(&leaf).len(), 6);
}

#[test]
fn serials_differ() {
    let set = common::set();
    let serials = [
        set.ca.certificate().serial_hex(),
        set.client.certificate().serial_hex(),
        set.alice.certificate().serial_hex(),
        set.node.certificate().serial_hex(),
    ];
    for (i, a) in serials.iter().enumerate() {
        for b in &serials[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn validity_encoding_and_backdating() {
    let now = SystemTime::now();
    let ca = RootCa::new().validity_days(30_000).self_sign().unwrap();
    let root = parse(&ca.certificate().to_der());
    let v = root.tbs_certificate().validity();
    assert!(
        matches!(v.not_before, Time::UtcTime(_)),
        "before 2050: UTCTime"
    );
    assert!(
        matches!(v.not_after, Time::GeneralTime(_)),
        "from 2050: GeneralizedTime"
    );
    let backdate = now.duration_since(ca.certificate().not_before()).unwrap();
    assert!(backdate >= Duration::from_secs(290) && backdate <= Duration::from_secs(310));
    // A leaf asked for longer than its CA lives is clamped to the CA's notAfter.
    let short = RootCa::new().validity_days(10).self_sign().unwrap();
    let leaf = ClientCert::new().issue(&short).unwrap();
    assert_eq!(
        leaf.certificate().not_after(),
        short.certificate().not_after()
    );
    // Within the CA's life it gets what it asked for.
    let leaf = ClientCert::new().validity_days(5).issue(&short).unwrap();
    let len = leaf.certificate().not_after().duration_since(now).unwrap();
    assert!(
        len > Duration::from_secs(5 * 86_400 - 60) && len <= Duration::from_secs(5 * 86_400 + 60)
    );
}

#[test]
fn empty_subject_makes_san_critical() {
    let set = common::set();
    let node = ServerCert::new("10.1.1.1".parse().unwrap())
        .subject(etcd_pki::Subject::empty())
        .issue(&set.ca)
        .unwrap();
    let leaf = parse(&node.certificate().to_der());
    let (crit, _) = leaf
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .unwrap()
        .unwrap();
    assert!(crit);
    // A client with neither subject nor SAN would identify nothing: refused.
    let err = ClientCert::new()
        .subject(etcd_pki::Subject::empty())
        .issue(&set.ca)
        .unwrap_err();
    assert!(
        matches!(
            err,
            etcd_pki::Error::NoSubjectAltName {
                role: etcd_pki::Role::Client
            }
        ),
        "{err}"
    );
}

#[test]
fn a_root_with_an_empty_subject_is_refused() {
    // Refused before any key is made.
    let err = RootCa::new()
        .subject(etcd_pki::Subject::empty())
        .self_sign()
        .unwrap_err();
    assert!(matches!(err, etcd_pki::Error::EmptySubject), "{err}");
}
