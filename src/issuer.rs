//! A CA that can sign: its certificate and its key, checked to belong together.

use std::fmt;
use std::path::Path;
use std::time::SystemTime;

use der::Encode;
use der::referenced::OwnedToRef;
use rand::CryptoRng;
use x509_cert::builder::CertificateBuilder;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::cert::Certificate;
use crate::certified_key::{self, CertifiedKey};
use crate::error::Error;
use crate::key::{KeyAlgorithm, PrivateKey};
#[cfg(feature = "encrypted-keys")]
use crate::passphrase::Passphrase;
use crate::profile::{LeafProfile, Usage};
use crate::validity::{self, rfc3339};
use crate::write_options::{WriteOptions, WrittenFiles};

/// OIDs of the signature algorithms a loaded CA certificate may use: RSA PKCS#1 v1.5…
const SHA256_WITH_RSA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// ecdsa-with-SHA256 and ecdsa-with-SHA384 (RFC 5758).
#[cfg(feature = "ecdsa")]
const ECDSA_WITH_SHA256: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
#[cfg(feature = "ecdsa")]
const ECDSA_WITH_SHA384: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

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
        check_is_ca(&cert)?;
        if !key.matches_spki(&cert.public_key_der()?) {
            return Err(Error::KeyMismatch {
                key_path: None,
                cert_path: None,
            });
        }
        let validity = cert.x509().tbs_certificate().validity();
        let state = if now < cert.not_before() {
            Some("not yet valid")
        } else if now > cert.not_after() {
            Some("expired")
        } else {
            None
        };
        if let Some(state) = state {
            return Err(Error::CaNotValidNow {
                path: None,
                state,
                not_before: rfc3339(validity.not_before),
                not_after: rfc3339(validity.not_after),
            });
        }
        Self::from_generated(cert, key)
    }

    /// The CA certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        self.certified.certificate()
    }

    /// The keyIdentifier this CA's leaves carry in their authorityKeyIdentifier.
    pub(crate) fn key_id(&self) -> &Vec<u8> {
        &self.key_id
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
        if request.subject.is_empty() && request.alt_names.is_empty() {
            return Err(Error::InvalidSubject {
                attribute: "CN",
                value: String::new(),
                reason: "a certificate needs a subject or a subject alternative name (RFC 5280 §4.1.2.6)",
            });
        }
        let ca = self.certificate();
        let validity = validity::window(request.days, SystemTime::now(), Some(ca.not_after()))?;
        let profile = LeafProfile {
            issuer: ca.x509().tbs_certificate().subject().clone(),
            subject: request.subject,
            authority_key_id: self.key_id.clone(),
            usage: request.usage,
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

/// What goes into a leaf certificate.
pub(crate) struct LeafRequest {
    pub(crate) subject: Name,
    pub(crate) usage: Usage,
    pub(crate) alt_names: Vec<GeneralName>,
    pub(crate) days: u32,
}

/// OID of `rsaEncryption`.
const RSA_ENCRYPTION: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Checks that `cert` can act as a CA: a self-signed root whose key is one this crate accepts
/// and whose self-signature verifies, checked in that order before anything else the
/// certificate says (its extensions) is believed.
fn check_is_ca(cert: &Certificate) -> Result<(), Error> {
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
    let x = cert.x509();
    if x.signature_algorithm() != x.tbs_certificate().signature() {
        return Err(Error::InvalidCertificate {
            path: None,
            reason: "its two signature algorithm fields differ (RFC 5280 §4.1.1.2)".into(),
            source: None,
        });
    }
    let tbs = x
        .tbs_certificate()
        .to_der()
        .map_err(|e| Error::encoding("certificate", e))?;
    verify_signature(
        &cert.public_key_der()?,
        x.signature_algorithm().oid,
        &tbs,
        x.signature().raw_bytes(),
    )
    .map_err(|e| match e {
        SignatureCheck::Unsupported(detail) => Error::Unsupported {
            path: None,
            what: "signature algorithm",
            detail,
        },
        SignatureCheck::Invalid(reason) => Error::InvalidCertificate {
            path: None,
            reason: format!("its self-signature {reason} (damaged file?)"),
            source: None,
        },
    })
}

impl Issuer {
    /// Verifies that `cert` was signed with this CA's key (its signature algorithm being one
    /// this crate verifies): the first thing done with a certificate presented as ours.
    pub(crate) fn verify_issued(&self, cert: &Certificate) -> Result<(), Error> {
        let x = cert.x509();
        let not_ours = |reason: String| Error::InvalidCertificate {
            path: None,
            reason,
            source: None,
        };
        if x.signature_algorithm() != x.tbs_certificate().signature() {
            return Err(not_ours(
                "its two signature algorithm fields differ (RFC 5280 §4.1.1.2): it was not issued by this CA".into(),
            ));
        }
        let tbs = x
            .tbs_certificate()
            .to_der()
            .map_err(|e| Error::encoding("certificate", e))?;
        verify_signature(
            &self.certificate().public_key_der()?,
            x.signature_algorithm().oid,
            &tbs,
            x.signature().raw_bytes(),
        )
        .map_err(|e| {
            let why = match e {
                SignatureCheck::Unsupported(detail) => {
                    format!("it is signed with an algorithm this CA does not use ({detail})")
                }
                SignatureCheck::Invalid(why) => format!("its signature {why} with this CA's key"),
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

/// Why a signature check failed.
pub(crate) enum SignatureCheck {
    /// An algorithm this crate does not verify (the text says which and what is supported).
    Unsupported(String),
    /// The signature is malformed, of the wrong key type, or does not verify.
    Invalid(&'static str),
}

/// Verifies `sig` over `msg` with the key `spki_der` under the signature algorithm `oid`:
/// RSA PKCS#1 v1.5 with SHA-256/384/512, ECDSA P-256 with SHA-256, P-384 with SHA-384.
pub(crate) fn verify_signature(
    spki_der: &[u8],
    oid: der::oid::ObjectIdentifier,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SignatureCheck> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;

    #[cfg(feature = "ecdsa")]
    const SUPPORTED_SIGNATURES: &str =
        "sha256/384/512WithRSAEncryption, ecdsa-with-SHA256 (P-256) and ecdsa-with-SHA384 (P-384)";
    #[cfg(not(feature = "ecdsa"))]
    const SUPPORTED_SIGNATURES: &str =
        "sha256/384/512WithRSAEncryption (ECDSA needs etcd-pki's `ecdsa` feature)";
    const WRONG_KEY: SignatureCheck =
        SignatureCheck::Invalid("does not match the key type of the signing key");
    const MALFORMED: SignatureCheck = SignatureCheck::Invalid("is malformed");
    let rsa_key = || rsa::PublicKey::from_public_key_der(spki_der).map_err(|_| WRONG_KEY);
    let rsa_sig = || rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| MALFORMED);
    let verified =
        match oid {
            SHA256_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(rsa_key()?)
                .verify(msg, &rsa_sig()?),
            SHA384_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(rsa_key()?)
                .verify(msg, &rsa_sig()?),
            SHA512_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(rsa_key()?)
                .verify(msg, &rsa_sig()?),
            #[cfg(feature = "ecdsa")]
            ECDSA_WITH_SHA256 => p256::ecdsa::VerifyingKey::from_public_key_der(spki_der)
                .map_err(|_| WRONG_KEY)?
                .verify(
                    msg,
                    &p256::ecdsa::DerSignature::try_from(sig).map_err(|_| MALFORMED)?,
                ),
            #[cfg(feature = "ecdsa")]
            ECDSA_WITH_SHA384 => p384::ecdsa::VerifyingKey::from_public_key_der(spki_der)
                .map_err(|_| WRONG_KEY)?
                .verify(
                    msg,
                    &p384::ecdsa::DerSignature::try_from(sig).map_err(|_| MALFORMED)?,
                ),
            other => {
                return Err(SignatureCheck::Unsupported(format!(
                    "{other}; supported are {SUPPORTED_SIGNATURES}"
                )));
            }
        };
    verified.map_err(|_| SignatureCheck::Invalid("does not verify"))
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
