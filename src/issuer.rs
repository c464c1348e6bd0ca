//! A CA that can sign: its certificate and its key, checked to belong together.

use std::fmt;
use std::path::Path;
use std::time::SystemTime;

use der::referenced::OwnedToRef;
use rand::CryptoRng;
use x509_cert::builder::CertificateBuilder;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::{SubjectAltName, SubjectKeyIdentifier};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::alt_names::{AltNames, BadAltName, split_general_names};
use crate::cert::Certificate;
use crate::certified_key::{self, CertifiedKey};
use crate::error::Error;
use crate::key::{KeyAlgorithm, PrivateKey};
#[cfg(feature = "encrypted-keys")]
use crate::passphrase::Passphrase;
use crate::policy::RequestPolicy;
use crate::profile::{self, LeafProfile, LeafRequest};
use crate::request::CertificateRequest;
use crate::role::Role;
use crate::signature::{self, CertSignatureCheck, SignatureCheck};
use crate::validity;
use crate::write_options::{WriteOptions, WrittenFiles};

/// A CA certificate and its private key: the only thing that can sign certificates.
///
/// A value of this type proves that the certificate is a CA (v3 with basicConstraints `CA:TRUE`
/// and, if keyUsage is present, `keyCertSign`; or a self-signed legacy v1 root such as the one
/// the guide's openssl commands make), that it is valid now, and that the key belongs to it.
///
/// Make one with [`RootCa::self_sign`](crate::RootCa::self_sign) or load one with
/// [`Issuer::load`] / [`Issuer::from_pem`].
#[derive(Clone)]
pub struct Issuer {
    certified: CertifiedKey,
    /// The keyIdentifier leaves get in their authorityKeyIdentifier.
    key_id: Vec<u8>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("cert", self.certified.certificate())
            .field("key", self.certified.private_key())
            .finish()
    }
}

impl Issuer {
    /// Wraps a certificate made by [`RootCa`](crate::RootCa).
    pub(crate) fn from_generated(cert: Certificate, key: PrivateKey) -> Result<Self, Error> {
        let key_id = key_identifier(&cert)?;
        Ok(Self {
            certified: CertifiedKey::new(cert, key)?,
            key_id,
        })
    }

    /// Loads a CA from its certificate and key files, e.g. `root.cert` and `root.key` as
    /// written by this crate, by `gen_etcd_certs.py`, or by the guide's openssl commands.
    ///
    /// ```no_run
    /// use etcd_pki::Issuer;
    /// use std::path::Path;
    ///
    /// let ca = Issuer::load(Path::new("certs/root.cert"), Path::new("certs/root.key"))?;
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`Issuer::from_pem`], with the file's path attached, and [`Error::Io`] if a file
    /// cannot be read.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, Error> {
        Self::load_inner(cert_path, key_path, PrivateKey::from_pem)
    }

    #[cfg(feature = "encrypted-keys")]
    /// As [`Issuer::load`], for a key file that may be encrypted (`ENCRYPTED PRIVATE KEY`).
    ///
    /// ```no_run
    /// use etcd_pki::{Issuer, Passphrase};
    /// use std::path::Path;
    ///
    /// let pass = Passphrase::from_env("ETCD_CA_PASSPHRASE")?;
    /// let ca = Issuer::load_encrypted(Path::new("root.cert"), Path::new("root.key"), &pass)?;
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`Issuer::load`], and [`Error::KeyDecryption`] for a wrong passphrase.
    pub fn load_encrypted(
        cert_path: &Path,
        key_path: &Path,
        passphrase: &Passphrase,
    ) -> Result<Self, Error> {
        Self::load_inner(cert_path, key_path, |text| {
            PrivateKey::from_encrypted_pem(text, passphrase)
        })
    }

    fn load_inner(
        cert_path: &Path,
        key_path: &Path,
        parse_key: impl FnOnce(&str) -> Result<PrivateKey, Error>,
    ) -> Result<Self, Error> {
        let (cert, key) = certified_key::read_pair(cert_path, key_path, parse_key)?;
        Self::from_parts_at(cert, key, SystemTime::now())
            .map_err(|e| certified_key::in_pair_files(e, cert_path, key_path))
    }

    /// Makes a CA from the PEM texts of its certificate and key.
    ///
    /// # Errors
    /// - [`Error::InvalidPem`], [`Error::InvalidCertificate`], [`Error::InvalidKey`],
    ///   [`Error::EncryptedKey`], [`Error::Unsupported`]: the texts do not parse;
    /// - [`Error::NotACa`]: the certificate cannot sign certificates;
    /// - [`Error::CaNotValidNow`]: it is expired or not yet valid;
    /// - [`Error::KeyMismatch`]: the key does not belong to the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        Self::from_pem_inner(cert_pem, key_pem, PrivateKey::from_pem)
    }

    #[cfg(feature = "encrypted-keys")]
    /// As [`Issuer::from_pem`], for a key that may be encrypted (`ENCRYPTED PRIVATE KEY`), as
    /// [`Issuer::load_encrypted`] reads it from a file.
    ///
    /// # Errors
    /// Those of [`Issuer::from_pem`], and [`Error::KeyDecryption`] for a wrong passphrase.
    pub fn from_encrypted_pem(
        cert_pem: &str,
        key_pem: &str,
        passphrase: &Passphrase,
    ) -> Result<Self, Error> {
        Self::from_pem_inner(cert_pem, key_pem, |text| {
            PrivateKey::from_encrypted_pem(text, passphrase)
        })
    }

    fn from_pem_inner(
        cert_pem: &str,
        key_pem: &str,
        parse_key: impl FnOnce(&str) -> Result<PrivateKey, Error>,
    ) -> Result<Self, Error> {
        let cert = Certificate::from_pem(cert_pem)?;
        let key = parse_key(key_pem)?;
        Self::from_parts_at(cert, key, SystemTime::now())
    }

    /// Makes a CA from a parsed certificate and key, checking them as of `now`.
    ///
    /// # Errors
    /// As [`Issuer::from_pem`].
    pub fn from_parts_at(
        cert: Certificate,
        key: PrivateKey,
        now: SystemTime,
    ) -> Result<Self, Error> {
        profile::check_root(&cert)?;
        if !key.matches_spki(&cert.public_key_der()?) {
            return Err(Error::KeyMismatch {
                key_path: None,
                cert_path: None,
            });
        }
        let (not_before, not_after) = (cert.not_before(), cert.not_after());
        if now < not_before || now > not_after {
            return Err(Error::CaNotValidNow {
                path: None,
                expired: now > not_after,
                not_before,
                not_after,
            });
        }
        Self::from_generated(cert, key)
    }

    /// The CA certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        self.certified.certificate()
    }

    /// The CA certificate and its key.
    #[must_use]
    pub fn certified_key(&self) -> &CertifiedKey {
        &self.certified
    }

    /// Writes `<dir>/<stem>.key` and `<dir>/<stem>.cert` (see [`CertifiedKey::write`]).
    ///
    /// # Errors
    /// As [`CertifiedKey::write`].
    pub fn write(
        &self,
        dir: &Path,
        stem: &str,
        options: &WriteOptions,
    ) -> Result<WrittenFiles, Error> {
        self.certified.write(dir, stem, options)
    }

    /// Signs a leaf certificate for the public key `spki` with the given contents.
    pub(crate) fn sign_leaf<R: CryptoRng + ?Sized>(
        &self,
        request: LeafRequest,
        spki: SubjectPublicKeyInfoOwned,
        rng: &mut R,
    ) -> Result<Certificate, Error> {
        if request.alt_names.is_empty()
            && (request.subject.is_empty() || request.role == Role::Node)
        {
            return Err(Error::NoSubjectAltName { role: request.role });
        }
        let ca = self.certificate();
        let validity = validity::window(request.days, SystemTime::now(), Some(ca.not_after()))?;
        let profile = LeafProfile {
            issuer: ca.x509().tbs_certificate().subject().clone(),
            subject: request.subject,
            authority_key_id: self.key_id.clone(),
            role: request.role,
            alt_names: request.alt_names,
            key_encipherment: spki.algorithm.oid == RSA_ENCRYPTION,
        };
        let builder = CertificateBuilder::new(profile, SerialNumber::generate(rng), validity, spki)
            .map_err(|e| Error::Signing {
                source: Box::new(e),
            })?;
        Certificate::from_x509(self.certified.private_key().sign(builder)?)
    }

    /// Generates a key of `algorithm` and issues a leaf for it.
    pub(crate) fn issue_leaf<R: CryptoRng + ?Sized>(
        &self,
        request: LeafRequest,
        algorithm: KeyAlgorithm,
        rng: &mut R,
    ) -> Result<CertifiedKey, Error> {
        let key = PrivateKey::generate_with_rng(rng, algorithm)?;
        self.issue_leaf_for_key(request, key, rng)
    }

    /// Issues a leaf for an existing key.
    pub(crate) fn issue_leaf_for_key<R: CryptoRng + ?Sized>(
        &self,
        request: LeafRequest,
        key: PrivateKey,
        rng: &mut R,
    ) -> Result<CertifiedKey, Error> {
        let cert = self.sign_leaf(request, key.spki()?, rng)?;
        CertifiedKey::new(cert, key)
    }
}

/// OID of `rsaEncryption`.
const RSA_ENCRYPTION: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl Issuer {
    /// Checks `request` against `policy` and signs it with the profile of `role`.
    ///
    /// The certificate carries the IP addresses the policy requires
    /// ([`RequestPolicy::require_ip`]; for [`RequestPolicy::for_node`]: `127.0.0.1` and the
    /// node's address) even when the request does not ask for them, then the names the
    /// request asks for.
    ///
    /// ```
    /// use etcd_pki::{KeyAlgorithm, PrivateKey, RequestPolicy, Role, RootCa, ServerCert};
    ///
    /// // On the node: its own key, never sent anywhere, and a request for its names.
    /// let ip = "10.0.0.11".parse().unwrap();
    /// let key = PrivateKey::generate(KeyAlgorithm::Rsa2048)?;
    /// let csr = ServerCert::new(ip).request(&key)?;
    ///
    /// // On the CA host: sign what is allowed for this node, and nothing else.
    /// let ca = RootCa::new().self_sign()?;
    /// let cert = ca.sign_request(&csr, Role::Node, &RequestPolicy::for_node(ip))?;
    /// assert_eq!(cert.ip_addresses(), ["127.0.0.1".parse::<std::net::IpAddr>().unwrap(), ip]);
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::Unsupported`]: the request's key is not one this crate issues for (checked
    ///   first, so that a bad key is not reported as a bad signature), or it asks for a kind of
    ///   name other than IP addresses and DNS names;
    /// - [`Error::RequestSignatureInvalid`]: its signature does not verify;
    /// - [`Error::IpAddressNotAllowed`], [`Error::DnsNameNotAllowed`],
    ///   [`Error::CommonNameNotAllowed`]: it asks for a name the policy does not allow;
    /// - [`Error::NoSubjectAltName`]: a node certificate would name no address;
    /// - [`Error::InvalidRequest`], [`Error::InvalidIpAddress`], [`Error::InvalidDnsName`],
    ///   [`Error::InvalidCommonName`], and those of signing.
    pub fn sign_request(
        &self,
        request: &CertificateRequest,
        role: Role,
        policy: &RequestPolicy,
    ) -> Result<Certificate, Error> {
        self.sign_request_with_rng(request, role, policy, &mut rand::rng())
    }

    /// As [`Issuer::sign_request`], with the given random number generator (serial numbers).
    ///
    /// # Errors
    /// As [`Issuer::sign_request`].
    pub fn sign_request_with_rng<R: CryptoRng + ?Sized>(
        &self,
        request: &CertificateRequest,
        role: Role,
        policy: &RequestPolicy,
        rng: &mut R,
    ) -> Result<Certificate, Error> {
        request.verify()?;
        let (ips, dns) = request.requested_names()?;
        let leaf = policy.leaf_request(role, ips, dns, request.common_name())?;
        self.sign_leaf(leaf, request.public_key().clone(), rng)
    }

    /// Issues a fresh certificate for the same key, subject, names and role as `cert`, valid
    /// for `days` from now (never beyond the CA's expiry): renewal before expiry. etcd reads
    /// its certificate files on each new connection, so replacing a member's certificate file
    /// renews a running member.
    ///
    /// ```
    /// use etcd_pki::{RootCa, ServerCert};
    ///
    /// let ca = RootCa::new().self_sign()?;
    /// let old = ServerCert::new("10.0.0.11".parse().unwrap()).validity_days(30).issue(&ca)?;
    /// let new = ca.renew(old.certificate(), 365)?;
    /// assert_eq!(new.ip_addresses(), old.certificate().ip_addresses());
    /// assert!(new.not_after() > old.certificate().not_after());
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// Nothing the old certificate says is used before its signature has been verified with
    /// this CA's key; then its key is checked as a request's would be, and its profile must be
    /// exactly this CA's client or node profile (not a CA, no other usages, extensions or kinds
    /// of names). An expired certificate may be renewed.
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`] if `cert` was not signed by this CA's key (a forgery, or
    /// another CA's), is a CA certificate, or is not exactly a client or node certificate of
    /// this CA; [`Error::Unsupported`] for a key or signature algorithm this crate does not
    /// accept; [`Error::InvalidValidity`]; those of signing.
    pub fn renew(&self, cert: &Certificate, days: u32) -> Result<Certificate, Error> {
        self.reissue(self, cert, days)
    }

    /// Re-issues `cert`, a certificate of `issued_by` (checked as [`Issuer::renew`] checks
    /// it), as a certificate of this CA: the same subject, key, names and role, a new validity.
    /// A renewal is `ca.reissue(ca, …)`; a CA rotation re-issues the old CA's certificates with
    /// the new CA.
    pub(crate) fn reissue(
        &self,
        issued_by: &Self,
        cert: &Certificate,
        days: u32,
    ) -> Result<Certificate, Error> {
        let (role, alt_names) = issued_by.check_issued(cert)?;
        let tbs = cert.x509().tbs_certificate();
        let leaf = LeafRequest {
            subject: tbs.subject().clone(),
            role,
            alt_names: alt_names.to_general_names()?,
            days,
        };
        self.sign_leaf(
            leaf,
            tbs.subject_public_key_info().clone(),
            &mut rand::rng(),
        )
    }

    /// Verifies that `cert` is a certificate of this CA that is valid now, and returns its
    /// role: its signature verifies with this CA's key, its issuer is this CA, it is valid now,
    /// its key is one this crate accepts, and its extensions are exactly this CA's client or
    /// node profile.
    ///
    /// This is the check of the certificate itself, not of a TLS peer: it does not match the
    /// certificate's names against an address (etcd's TLS stack does that).
    ///
    /// ```
    /// use etcd_pki::{ClientCert, Role, RootCa};
    ///
    /// let ca = RootCa::new().self_sign()?;
    /// let other = RootCa::new().self_sign()?;
    /// let alice = ClientCert::new().common_name("alice".parse()?).issue(&ca)?;
    /// assert_eq!(ca.verify(alice.certificate())?, Role::Client);
    /// assert!(other.verify(alice.certificate()).is_err());
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::InvalidCertificate`]: not signed by this CA's key, not issued by this CA, or
    ///   not exactly a client or node certificate of this CA;
    /// - [`Error::CertificateNotValidNow`]: expired or not yet valid;
    /// - [`Error::Unsupported`]: a key or signature algorithm this crate does not accept.
    pub fn verify(&self, cert: &Certificate) -> Result<Role, Error> {
        self.verify_at(cert, SystemTime::now())
    }

    /// As [`Issuer::verify`], as of `now`.
    ///
    /// # Errors
    /// As [`Issuer::verify`].
    pub fn verify_at(&self, cert: &Certificate, now: SystemTime) -> Result<Role, Error> {
        let (role, _) = self.check_issued(cert)?;
        let (not_before, not_after) = (cert.not_before(), cert.not_after());
        if now < not_before || now > not_after {
            return Err(Error::CertificateNotValidNow {
                path: None,
                expired: now > not_after,
                not_before,
                not_after,
            });
        }
        Ok(role)
    }

    /// The role of `cert` if it is one of this CA's client or node certificates, whatever its
    /// validity period: the checks of [`Issuer::renew`].
    #[cfg(feature = "plan")]
    pub(crate) fn issued_role(&self, cert: &Certificate) -> Result<Role, Error> {
        Ok(self.check_issued(cert)?.0)
    }

    /// The checks [`Issuer::renew`] and [`Issuer::verify`] share: the signature first, then
    /// the issuer's name, the version, the key and the profile. Returns the certificate's role
    /// and names.
    fn check_issued(&self, cert: &Certificate) -> Result<(Role, AltNames), Error> {
        let refuse = |reason: String| Error::InvalidCertificate {
            path: None,
            reason: format!(
                "{reason}; only this CA's own client and node certificates are accepted"
            ),
            source: None,
        };
        // First its signature: nothing the certificate says counts until this CA's key has
        // been shown to have signed it.
        self.verify_signed_by_us(cert)?;
        let tbs = cert.x509().tbs_certificate();
        if tbs.issuer() != self.certificate().x509().tbs_certificate().subject() {
            return Err(refuse(format!(
                "its issuer is {:?}, not this CA ({:?}), although this CA's key signed it",
                cert.issuer(),
                self.certificate().subject()
            )));
        }
        if tbs.version() != Version::V3 {
            return Err(refuse("it is not an X.509 v3 certificate".into()));
        }
        // Then its key: one this crate would issue a certificate for today.
        PrivateKey::check_public_key(&cert.public_key_der()?)?;
        // Then its profile: exactly the extensions of a client or node certificate.
        let role = profile::leaf_role(tbs, &self.key_id).map_err(refuse)?;
        let mut alt_names = AltNames::default();
        match tbs.get_extension::<SubjectAltName>() {
            Ok(Some((_, san))) => {
                let (ips, dns) = split_general_names(san.0).map_err(|e| {
                    refuse(match e {
                        BadAltName::MalformedIp => {
                            "its subjectAltName holds a malformed IP address".into()
                        }
                        BadAltName::OtherKind(kind) => format!(
                            "its subjectAltName holds a kind of name this CA does not issue ({kind})"
                        ),
                    })
                })?;
                for ip in ips {
                    alt_names.add_ip(ip);
                }
                for name in dns {
                    alt_names.add_dns(name.parse()?);
                }
            }
            Ok(None) => {}
            Err(e) => return Err(refuse(format!("its subjectAltName does not parse ({e})"))),
        }
        if role == Role::Node && alt_names.is_empty() {
            return Err(refuse(
                "it is a node certificate without any IP address or DNS name".into(),
            ));
        }
        Ok((role, alt_names))
    }

    /// Verifies that `cert` was signed with this CA's key (its signature algorithm being one
    /// this crate verifies): the first thing done with a certificate presented as ours.
    fn verify_signed_by_us(&self, cert: &Certificate) -> Result<(), Error> {
        let not_ours = |reason: String| Error::InvalidCertificate {
            path: None,
            reason,
            source: None,
        };
        let check = signature::verify_certificate(cert, &self.certificate().public_key_der()?)?;
        check.map_err(|e| {
            let why = match e {
                CertSignatureCheck::FieldsDiffer => {
                    "its two signature algorithm fields differ (RFC 5280 §4.1.1.2)".to_owned()
                }
                CertSignatureCheck::Check(SignatureCheck::Unsupported(detail)) => {
                    format!("it is signed with an algorithm this CA does not use ({detail})")
                }
                CertSignatureCheck::Check(SignatureCheck::Invalid(why)) => {
                    format!("its signature {why} with this CA's key")
                }
            };
            let issuer = cert.issuer();
            let ours = self.certificate().subject();
            not_ours(if issuer == ours {
                format!("it was not issued by this CA: {why} (a forged or damaged certificate)")
            } else {
                format!(
                    "it was not issued by this CA: its issuer is {issuer:?}, this CA is {ours:?}"
                )
            })
        })
    }
}

/// The CA's key identifier: its subjectKeyIdentifier, or (for a v1 root, which has none) the
/// SHA-1 of its public key (RFC 5280 §4.2.1.2 method 1).
fn key_identifier(cert: &Certificate) -> Result<Vec<u8>, Error> {
    let tbs = cert.x509().tbs_certificate();
    if let Ok(Some((_, ski))) = tbs.get_extension::<SubjectKeyIdentifier>() {
        return Ok(ski.0.as_bytes().to_vec());
    }
    let ski = SubjectKeyIdentifier::try_from(tbs.subject_public_key_info().owned_to_ref())
        .map_err(|e| Error::encoding("key identifier", e))?;
    Ok(ski.0.as_bytes().to_vec())
}
