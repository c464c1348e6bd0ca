//! The certificate profiles: which extensions each role's certificate carries.
//!
//! | | root CA | client | node (server + peer) |
//! |---|---|---|---|
//! | version | v3 | v3 | v3 |
//! | basicConstraints | critical, CA:TRUE | critical, CA:FALSE | critical, CA:FALSE |
//! | keyUsage | critical, keyCertSign, cRLSign | critical, digitalSignature, keyEncipherment (RSA; ECDSA: digitalSignature) | same as client |
//! | extendedKeyUsage | — | clientAuth | serverAuth, clientAuth |
//! | subjectKeyIdentifier | SHA-1 of the key | SHA-1 of the key | SHA-1 of the key |
//! | authorityKeyIdentifier | — | keyid = root's SKI | keyid = root's SKI |
//! | subjectAltName | — | only if asked | IP 127.0.0.1 + node IP (+ extras) |
//!
//! Each line below quotes the rule it follows (RFC 5280 §4.2.1.x).

use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;

use der::asn1::OctetString;
use der::oid::ObjectIdentifier;
use spki::SubjectPublicKeyInfoRef;

/// `id-kp-serverAuth` (RFC 5280 §4.2.1.12).
pub(crate) const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// `id-kp-clientAuth` (RFC 5280 §4.2.1.12).
pub(crate) const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

type BuildResult<T> = x509_cert::builder::Result<T>;

fn ext<T>(value: &T, tbs: &TbsCertificate, so_far: &[Extension]) -> BuildResult<Extension>
where
    for<'a> &'a T: ToExtension<Error = der::Error>,
{
    Ok(value.to_extension(tbs.subject(), so_far)?)
}

/// A self-signed root CA.
pub(crate) struct RootProfile {
    pub(crate) subject: Name,
}

impl BuilderProfile for RootProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        // Self-signed: issuer = subject, the very same encoding.
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> BuildResult<Vec<Extension>> {
        let mut out = Vec::with_capacity(3);
        // §4.2.1.9: CAs MUST include basicConstraints, critical, with cA TRUE. No pathLen: the
        // root may sign intermediates if an operator ever wants them.
        let bc = BasicConstraints {
            ca: true,
            path_len_constraint: None,
        };
        out.push(ext(&bc, tbs, &out)?);
        // §4.2.1.3: a key that verifies certificate signatures asserts keyCertSign; SHOULD be
        // critical. cRLSign lets the same root sign CRLs.
        let ku = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        out.push(ext(&ku, tbs, &out)?);
        // §4.2.1.2: CAs MUST include the subjectKeyIdentifier (method 1: SHA-1 of the key).
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        out.push(ext(&ski, tbs, &out)?);
        // §4.2.1.1: authorityKeyIdentifier MAY be omitted in a self-signed certificate.
        Ok(out)
    }
}

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    /// `etcdctl` and other clients: clientAuth.
    Client,
    /// An etcd member: serverAuth for its client and peer listeners, and clientAuth because it
    /// presents the same certificate as a client to its peers.
    Node,
}

/// A leaf (end-entity) certificate issued by a CA.
pub(crate) struct LeafProfile {
    /// The CA certificate's subject, as decoded (byte-identical when re-encoded).
    pub(crate) issuer: Name,
    pub(crate) subject: Name,
    /// The CA's subjectKeyIdentifier.
    pub(crate) authority_key_id: Vec<u8>,
    pub(crate) usage: Usage,
    pub(crate) alt_names: Vec<GeneralName>,
    /// RSA subject keys may also encipher (TLS 1.2 RSA key transport); ECDSA keys only sign.
    pub(crate) key_encipherment: bool,
}

impl BuilderProfile for LeafProfile {
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
    ) -> BuildResult<Vec<Extension>> {
        let mut out = Vec::with_capacity(6);
        // §4.2.1.9: MAY appear in end-entity certificates; we mark cA FALSE explicitly and
        // critically so that no verifier can take the leaf for a CA.
        let bc = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        out.push(ext(&bc, tbs, &out)?);
        // §4.2.1.3: digitalSignature for the TLS handshake signature, keyEncipherment for RSA
        // key transport (TLS 1.2 RSA key exchange; RSA keys only, RFC 8813 for EC keys). Critical.
        let ku = if self.key_encipherment {
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment)
        } else {
            KeyUsage(KeyUsages::DigitalSignature.into())
        };
        out.push(ext(&ku, tbs, &out)?);
        // §4.2.1.12: the TLS usages. etcd (Go) checks them on both sides of every handshake.
        let eku = match self.usage {
            Usage::Client => ExtendedKeyUsage(vec![CLIENT_AUTH]),
            Usage::Node => ExtendedKeyUsage(vec![SERVER_AUTH, CLIENT_AUTH]),
        };
        out.push(ext(&eku, tbs, &out)?);
        // §4.2.1.2: end-entity certificates SHOULD carry a subjectKeyIdentifier.
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        out.push(ext(&ski, tbs, &out)?);
        // §4.2.1.1: MUST be included in all certificates not self-signed; the keyIdentifier is
        // the issuer's own subjectKeyIdentifier.
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(self.authority_key_id.clone())?),
            ..Default::default()
        };
        out.push(ext(&aki, tbs, &out)?);
        // §4.2.1.6: non-critical when the subject is not empty, critical otherwise (x509-cert
        // decides from the subject).
        if !self.alt_names.is_empty() {
            let san = SubjectAltName(self.alt_names.clone());
            out.push(ext(&san, tbs, &out)?);
        }
        Ok(out)
    }
}
