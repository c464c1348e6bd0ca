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
//! Each line below quotes the rule it follows (RFC 5280 §4.2.1.x). The module also recognises
//! the profiles in certificates it is given: what a loaded root must be, and which role (if
//! any) a certificate presented for renewal or verification has.

use std::collections::BTreeSet;

use der::asn1::OctetString;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;

use crate::cert::Certificate;
use crate::error::Error;
use crate::key::PrivateKey;
use crate::role::{CLIENT_AUTH, Role, SERVER_AUTH};
use crate::signature::{self, CertSignatureCheck, SignatureCheck};

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

/// What goes into a leaf certificate.
pub(crate) struct LeafRequest {
    pub(crate) subject: Name,
    pub(crate) role: Role,
    pub(crate) alt_names: Vec<GeneralName>,
    pub(crate) days: u32,
}

/// A leaf (end-entity) certificate issued by a CA.
pub(crate) struct LeafProfile {
    /// The CA certificate's subject, as decoded (byte-identical when re-encoded).
    pub(crate) issuer: Name,
    pub(crate) subject: Name,
    /// The CA's subjectKeyIdentifier.
    pub(crate) authority_key_id: Vec<u8>,
    pub(crate) role: Role,
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
        let eku = match self.role {
            Role::Client => ExtendedKeyUsage(vec![CLIENT_AUTH]),
            Role::Node => ExtendedKeyUsage(vec![SERVER_AUTH, CLIENT_AUTH]),
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

/// Checks that `cert` can act as a CA: a self-signed root whose key is one this crate accepts
/// and whose self-signature verifies, checked in that order before anything else the
/// certificate says (its extensions) is believed.
pub(crate) fn check_root(cert: &Certificate) -> Result<(), Error> {
    let tbs = cert.x509().tbs_certificate();
    let not_ca = |reason| Error::NotACa { path: None, reason };
    let version = tbs.version();
    if version == Version::V2 {
        return Err(not_ca("it is an X.509 v2 certificate"));
    }
    if tbs.issuer() != tbs.subject() {
        // Refused whatever it says; its basicConstraints only choose the words.
        return Err(not_ca(match tbs.get_extension::<BasicConstraints>() {
            _ if version == Version::V1 => "it is a v1 certificate that is not self-signed",
            Ok(Some((_, bc))) if !bc.ca => "its basicConstraints say CA:FALSE",
            Ok(None) => "it is a v3 certificate without basicConstraints CA:TRUE",
            _ => {
                "it is not self-signed: only a root CA can sign here (intermediate CAs are not supported)"
            }
        }));
    }
    PrivateKey::check_public_key(&cert.public_key_der()?)?;
    verify_self_signature(cert)?;
    if version == Version::V1 {
        // The guide's `openssl x509 -req -signkey` root: no extensions at all, accepted as a
        // legacy root because it really is self-signed.
        return Ok(());
    }
    let bc = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|e| bad_cert("its basicConstraints extension does not parse", e))?;
    match bc {
        Some((_, bc)) if bc.ca => {}
        Some(_) => return Err(not_ca("its basicConstraints say CA:FALSE")),
        None => {
            return Err(not_ca(
                "it is a v3 certificate without basicConstraints CA:TRUE",
            ));
        }
    }
    let ku = tbs
        .get_extension::<KeyUsage>()
        .map_err(|e| bad_cert("its keyUsage extension does not parse", e))?;
    if let Some((_, ku)) = ku
        && !ku.key_cert_sign()
    {
        return Err(not_ca("its keyUsage does not include keyCertSign"));
    }
    Ok(())
}

fn bad_cert(reason: &str, e: der::Error) -> Error {
    Error::InvalidCertificate {
        path: None,
        reason: reason.to_owned(),
        source: Some(Box::new(e)),
    }
}

/// Verifies the signature of a self-signed certificate with its own public key.
fn verify_self_signature(cert: &Certificate) -> Result<(), Error> {
    signature::verify_certificate(cert, &cert.public_key_der()?)?.map_err(|e| match e {
        CertSignatureCheck::FieldsDiffer => Error::InvalidCertificate {
            path: None,
            reason: "its two signature algorithm fields differ (RFC 5280 §4.1.1.2)".into(),
            source: None,
        },
        CertSignatureCheck::Check(SignatureCheck::Unsupported(detail)) => Error::Unsupported {
            path: None,
            what: "signature algorithm",
            detail,
        },
        CertSignatureCheck::Check(SignatureCheck::Invalid(reason)) => Error::InvalidCertificate {
            path: None,
            reason: format!("its self-signature {reason} (damaged file?)"),
            source: None,
        },
    })
}

/// The role of a certificate with exactly the extensions of this CA's client or node profile
/// (basicConstraints CA:FALSE; keyUsage digitalSignature, optionally keyEncipherment;
/// extendedKeyUsage clientAuth, or serverAuth and clientAuth; key identifiers, the authority's
/// being this CA's; subjectAltName), or why not.
pub(crate) fn leaf_role(tbs: &TbsCertificate, ca_key_id: &[u8]) -> Result<Role, String> {
    use der::oid::AssociatedOid;
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
    let mut seen = BTreeSet::new();
    for ext in tbs.extensions().map(Vec::as_slice).unwrap_or_default() {
        let known = [
            BasicConstraints::OID,
            KeyUsage::OID,
            ExtendedKeyUsage::OID,
            SubjectKeyIdentifier::OID,
            AuthorityKeyIdentifier::OID,
            SubjectAltName::OID,
        ];
        if !known.contains(&ext.extn_id) {
            return Err(format!(
                "it carries an extension this CA does not issue ({})",
                ext.extn_id
            ));
        }
        if !seen.insert(ext.extn_id) {
            return Err(format!("it carries extension {} twice", ext.extn_id));
        }
    }
    let parse = |what: &str, e: der::Error| format!("its {what} extension does not parse ({e})");
    match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if !bc.ca => {}
        Ok(Some(_)) => return Err("it is a CA certificate (basicConstraints CA:TRUE)".into()),
        Ok(None) => return Err("it has no basicConstraints CA:FALSE".into()),
        Err(e) => return Err(parse("basicConstraints", e)),
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku)))
            if ku.digital_signature()
                && (ku.0 & !(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment))
                    .is_empty() => {}
        Ok(Some(_)) => {
            return Err("its keyUsage is not digitalSignature (and keyEncipherment)".into());
        }
        Ok(None) => return Err("it has no keyUsage".into()),
        Err(e) => return Err(parse("keyUsage", e)),
    }
    match tbs.get_extension::<AuthorityKeyIdentifier>() {
        Ok(Some((_, aki)))
            if aki.key_identifier.as_ref().map(OctetString::as_bytes) == Some(ca_key_id)
                && aki.authority_cert_issuer.is_none()
                && aki.authority_cert_serial_number.is_none() => {}
        Ok(Some(_)) => return Err("its authorityKeyIdentifier is not this CA's key".into()),
        Ok(None) => return Err("it has no authorityKeyIdentifier".into()),
        Err(e) => return Err(parse("authorityKeyIdentifier", e)),
    }
    let eku = match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) => eku.0,
        Ok(None) => return Err("it has no extendedKeyUsage".into()),
        Err(e) => return Err(parse("extendedKeyUsage", e)),
    };
    match eku.as_slice() {
        [CLIENT_AUTH] => Ok(Role::Client),
        [SERVER_AUTH, CLIENT_AUTH] | [CLIENT_AUTH, SERVER_AUTH] => Ok(Role::Node),
        _ => Err(format!(
            "its extendedKeyUsage ({}) is neither a client's (clientAuth) nor a node's (serverAuth, clientAuth)",
            eku.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
