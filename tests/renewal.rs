//! Renewal trusts nothing a certificate says before this CA's signature on it is verified, and
//! then renews only this CA's own client and node profiles. The certificates here are built
//! with x509-cert's builder directly, not with etcd-pki's builders.
#![cfg(feature = "ecdsa")]

use std::net::IpAddr;
use std::time::Duration;

use der::asn1::OctetString;
use der::oid::ObjectIdentifier;
use etcd_pki::{Certificate, Error, Issuer, KeyAlgorithm, KeyFormat, RootCa};
use p256::pkcs8::DecodePrivateKey;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");

/// What goes into a hand-made certificate.
#[derive(Clone)]
struct Spec {
    issuer: Name,
    subject: Name,
    ca: Option<bool>,
    key_usage: Option<KeyUsage>,
    eku: Option<Vec<ObjectIdentifier>>,
    aki: Option<Vec<u8>>,
    san: Vec<GeneralName>,
    /// An extra, unknown extension.
    extra: Option<ObjectIdentifier>,
}

impl BuilderProfile for Spec {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut out = Vec::new();
        if let Some(ca) = self.ca {
            let bc = BasicConstraints {
                ca,
                path_len_constraint: None,
            };
            out.push(bc.to_extension(tbs.subject(), &out)?);
        }
        if let Some(ku) = &self.key_usage {
            out.push(ku.to_extension(tbs.subject(), &out)?);
        }
        if let Some(eku) = &self.eku {
            out.push(ExtendedKeyUsage(eku.clone()).to_extension(tbs.subject(), &out)?);
        }
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        out.push(ski.to_extension(tbs.subject(), &out)?);
        if let Some(id) = &self.aki {
            let aki = AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(id.clone())?),
                ..Default::default()
            };
            out.push(aki.to_extension(tbs.subject(), &out)?);
        }
        if !self.san.is_empty() {
            out.push(SubjectAltName(self.san.clone()).to_extension(tbs.subject(), &out)?);
        }
        if let Some(oid) = self.extra {
            out.push(Extension {
                extn_id: oid,
                critical: false,
                extn_value: OctetString::new(vec![0x05, 0x00])?,
            });
        }
        Ok(out)
    }
}

/// A P-256 CA and its signing key as a plain p256 key (taken out through PKCS#8).
fn ca() -> (Issuer, p256::ecdsa::SigningKey) {
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let pem = ca
        .certified_key()
        .private_key()
        .to_pem(KeyFormat::Pkcs8)
        .unwrap();
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).unwrap();
    (ca, key)
}

fn ca_name(ca: &Issuer) -> Name {
    <x509_cert::Certificate as der::Decode>::from_der(&ca.certificate().to_der())
        .unwrap()
        .tbs_certificate()
        .subject()
        .clone()
}

fn ca_key_id(ca: &Issuer) -> Vec<u8> {
    let x = <x509_cert::Certificate as der::Decode>::from_der(&ca.certificate().to_der()).unwrap();
    let (_, ski) = x
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    ski.0.as_bytes().to_vec()
}

/// The node profile exactly as this CA issues it.
fn node_spec(ca: &Issuer, ip: &str) -> Spec {
    let ip: IpAddr = ip.parse().unwrap();
    Spec {
        issuer: ca_name(ca),
        subject: "CN=node".parse().unwrap(),
        ca: Some(false),
        key_usage: Some(KeyUsage(KeyUsages::DigitalSignature.into())),
        eku: Some(vec![SERVER_AUTH, CLIENT_AUTH]),
        aki: Some(ca_key_id(ca)),
        san: vec![
            GeneralName::from(IpAddr::from([127, 0, 0, 1])),
            GeneralName::from(ip),
        ],
        extra: None,
    }
}

/// Signs `spec` for a fixed P-256 key with `signer`.
fn make(spec: Spec, signer: &p256::ecdsa::SigningKey) -> Certificate {
    let subject_key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let spki = spki::SubjectPublicKeyInfoOwned::from_key(subject_key.verifying_key()).unwrap();
    make_for(spec, spki, signer)
}

/// Signs `spec` for the public key `spki` with `signer`.
fn make_for(
    spec: Spec,
    spki: spki::SubjectPublicKeyInfoOwned,
    signer: &p256::ecdsa::SigningKey,
) -> Certificate {
    let builder = CertificateBuilder::new(
        spec,
        SerialNumber::new(&[0x42]).unwrap(),
        Validity::from_now(Duration::from_secs(86_400)).unwrap(),
        spki,
    )
    .unwrap();
    let x = builder
        .build::<_, p256::ecdsa::DerSignature>(signer)
        .unwrap();
    Certificate::from_der(&der::Encode::to_der(&x).unwrap()).unwrap()
}

/// Why `ca` refuses to renew `cert`; `Issuer::verify` must refuse it for the same reason.
fn refused(ca: &Issuer, cert: &Certificate) -> String {
    let verified = ca.verify(cert).map_err(|e| e.to_string());
    let renewed = ca.renew(cert, 30);
    assert_eq!(
        verified.as_ref().err(),
        renewed.as_ref().err().map(ToString::to_string).as_ref(),
        "verify and renew disagree"
    );
    match renewed {
        Err(e @ (Error::InvalidCertificate { .. } | Error::Unsupported { .. })) => e.to_string(),
        Err(e) => panic!("unexpected error variant: {e:?}"),
        Ok(c) => panic!(
            "renewed a certificate it must refuse: {:?} {:?}",
            c.ip_addresses(),
            c.is_server_auth()
        ),
    }
}

#[test]
fn a_forged_certificate_naming_this_ca_is_not_renewed() {
    let (ca, _) = ca();
    let attacker = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    // Same issuer name, the attacker's key, no authorityKeyIdentifier, SAN 6.6.6.6, serverAuth.
    let mut spec = node_spec(&ca, "6.6.6.6");
    spec.aki = None;
    spec.eku = Some(vec![SERVER_AUTH]);
    spec.san = vec![GeneralName::from("6.6.6.6".parse::<IpAddr>().unwrap())];
    let forged = make(spec.clone(), &attacker);
    assert_eq!(forged.issuer(), ca.certificate().subject());
    let e = refused(&ca, &forged);
    assert!(e.contains("not issued by this CA"), "{e}");
    assert!(e.contains("signature"), "{e}");
    // Even with this CA's exact node profile (and its key identifier), a forgery is refused.
    let forged = make(node_spec(&ca, "6.6.6.6"), &attacker);
    let e = refused(&ca, &forged);
    assert!(e.contains("not issued by this CA"), "{e}");
}

#[test]
fn a_certificate_signed_by_this_cas_key_under_another_name_is_refused() {
    let (ca, key) = ca();
    let mut spec = node_spec(&ca, "10.0.0.9");
    spec.issuer = "CN=Some Other CA".parse().unwrap();
    let e = refused(&ca, &make(spec, &key));
    assert!(e.contains("its issuer is"), "{e}");
}

#[test]
fn verify_returns_the_role_and_checks_the_time() {
    let (ca, key) = ca();
    let node = make(node_spec(&ca, "10.0.0.9"), &key);
    assert_eq!(ca.verify(&node).unwrap(), etcd_pki::Role::Node);
    let mut client = node_spec(&ca, "10.0.0.9");
    client.eku = Some(vec![CLIENT_AUTH]);
    client.san.clear();
    assert_eq!(
        ca.verify(&make(client, &key)).unwrap(),
        etcd_pki::Role::Client
    );
    // The hand-made certificates are valid for a day from now.
    let later = std::time::SystemTime::now() + Duration::from_secs(2 * 86_400);
    match ca.verify_at(&node, later) {
        Err(Error::CertificateNotValidNow {
            expired: true,
            not_after,
            ..
        }) => assert_eq!(not_after, node.not_after()),
        other => panic!("{other:?}"),
    }
    match ca.verify_at(&node, std::time::SystemTime::UNIX_EPOCH) {
        Err(Error::CertificateNotValidNow { expired: false, .. }) => {}
        other => panic!("{other:?}"),
    }
    // An expired certificate is still renewed (that is what renewal is for).
    assert!(ca.renew(&node, 30).is_ok());
}

#[test]
fn this_cas_own_node_profile_is_renewed() {
    // The check is not "refuse everything": the same hand-made node certificate, signed by
    // the CA's real key, is renewed with its names and both usages.
    let (ca, key) = ca();
    let cert = make(node_spec(&ca, "10.9.0.1"), &key);
    let renewed = ca.renew(&cert, 30).unwrap();
    assert_eq!(
        renewed.ip_addresses(),
        [
            "127.0.0.1".parse::<IpAddr>().unwrap(),
            "10.9.0.1".parse().unwrap()
        ]
    );
    assert!(renewed.is_server_auth() && renewed.is_client_auth() && !renewed.is_ca());
    assert_eq!(
        renewed.public_key_der().unwrap(),
        cert.public_key_der().unwrap()
    );
}

#[test]
fn a_ca_certificate_of_this_ca_is_not_renewed() {
    let (ca, key) = ca();
    // The root itself.
    let e = refused(&ca, ca.certificate());
    assert!(e.contains("CA"), "{e}");
    // A CA:TRUE certificate signed by this CA, with node usages.
    let mut spec = node_spec(&ca, "10.9.0.2");
    spec.ca = Some(true);
    spec.key_usage = Some(KeyUsage(KeyUsages::KeyCertSign.into()));
    let e = refused(&ca, &make(spec, &key));
    assert!(e.contains("CA:TRUE"), "{e}");
}

#[test]
fn odd_profiles_signed_by_this_ca_are_not_renewed() {
    let (ca, key) = ca();
    let base = node_spec(&ca, "10.9.0.3");
    let cases: Vec<(&str, Spec)> = vec![
        (
            "serverAuth only",
            Spec {
                eku: Some(vec![SERVER_AUTH]),
                ..base.clone()
            },
        ),
        (
            "clientAuth and codeSigning",
            Spec {
                eku: Some(vec![CLIENT_AUTH, CODE_SIGNING]),
                ..base.clone()
            },
        ),
        (
            "no extendedKeyUsage",
            Spec {
                eku: None,
                ..base.clone()
            },
        ),
        (
            "no basicConstraints",
            Spec {
                ca: None,
                ..base.clone()
            },
        ),
        (
            "keyCertSign on a leaf",
            Spec {
                key_usage: Some(KeyUsage(
                    KeyUsages::DigitalSignature | KeyUsages::KeyCertSign,
                )),
                ..base.clone()
            },
        ),
        (
            "a URI name",
            Spec {
                san: vec![GeneralName::UniformResourceIdentifier(
                    der::asn1::Ia5String::new("spiffe://x/y").unwrap(),
                )],
                ..base.clone()
            },
        ),
        (
            "an unknown extension",
            Spec {
                extra: Some(ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1")),
                ..base.clone()
            },
        ),
        (
            "another authority key id",
            Spec {
                aki: Some(vec![1, 2, 3]),
                ..base.clone()
            },
        ),
        (
            "a node without names",
            Spec {
                san: Vec::new(),
                ..base.clone()
            },
        ),
        (
            "a multicast address",
            Spec {
                san: vec![GeneralName::from("239.1.1.1".parse::<IpAddr>().unwrap())],
                ..base.clone()
            },
        ),
    ];
    let mut renewed = Vec::new();
    for (what, spec) in cases {
        if let Ok(c) = ca.renew(&make(spec, &key), 30) {
            renewed.push(format!("{what}: renewed as {:?}", c.ip_addresses()));
        }
    }
    assert!(renewed.is_empty(), "{renewed:#?}");
}

#[test]
fn a_ca_that_is_not_self_signed_is_not_loaded() {
    // A CA:TRUE certificate for `key`, naming another CA as issuer and signed by another key:
    // nothing in it can be checked here, so it is refused rather than believed.
    let (ca, parent) = ca();
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let mut spec = node_spec(&ca, "10.9.0.4");
    spec.subject = "CN=intermediate".parse().unwrap();
    spec.ca = Some(true);
    spec.key_usage = Some(KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign));
    spec.eku = None;
    spec.san = Vec::new();
    let cert = make(spec, &parent);
    use p256::pkcs8::EncodePrivateKey;
    let key_pem = key.to_pkcs8_pem(der::pem::LineEnding::LF).unwrap();
    match Issuer::from_pem(&cert.to_pem().unwrap(), &key_pem) {
        Err(e @ Error::NotACa { .. }) => assert!(e.to_string().contains("self-signed"), "{e}"),
        other => panic!("loaded a CA whose signature cannot be checked: {other:?}"),
    }
}

#[test]
fn a_certificate_of_this_ca_for_an_odd_key_is_not_renewed() {
    // Signed by this CA, this CA's node profile, but an Ed25519 key: renewing would issue a
    // new certificate for a key this crate does not issue for. The key is named, not the
    // signature.
    let (ca, key) = ca();
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap("1.3.101.112"),
            parameters: None,
        },
        subject_public_key: der::asn1::BitString::from_bytes(&[0x22; 32]).unwrap(),
    };
    let cert = make_for(node_spec(&ca, "10.9.0.5"), spki, &key);
    let e = ca.renew(&cert, 30).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(e.to_string().contains("Ed25519"), "{e}");
}
