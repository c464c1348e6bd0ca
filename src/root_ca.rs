//! The root CA builder.

use std::time::SystemTime;

use rand::CryptoRng;
use x509_cert::builder::CertificateBuilder;
use x509_cert::serial_number::SerialNumber;

use crate::cert::Certificate;
use crate::error::Error;
use crate::issuer::Issuer;
use crate::key::PrivateKey;
use crate::name::{CommonName, Subject};
use crate::params::{Params, builder_methods};
use crate::profile::RootProfile;
use crate::validity;

/// Describes a self-signed root CA; [`RootCa::self_sign`] makes it.
///
/// Defaults are those of `gen_etcd_certs.py -c gen_root_cert`: subject
/// `C=CN, ST=CQ, L=YB, O=BC, OU=ZWC, CN=CA`, 3650 days, RSA-2048. Unlike the script's root, ours
/// also carries keyUsage (keyCertSign, cRLSign) and a subjectKeyIdentifier, which strict
/// verifiers (RFC 5280 path validation, webpki) require of a CA.
///
/// ```
/// use etcd_pki::RootCa;
///
/// let ca = RootCa::new().validity_days(365).self_sign()?;
/// assert!(ca.certificate().is_ca());
/// assert_eq!(ca.certificate().subject(), "CN=CA,OU=ZWC,O=BC,L=YB,ST=CQ,C=CN");
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RootCa {
    params: Params,
}

impl Default for RootCa {
    fn default() -> Self {
        Self::new()
    }
}

impl RootCa {
    /// The script's root: `C=CN, ST=CQ, L=YB, O=BC, OU=ZWC, CN=CA`, 3650 days, RSA-2048.
    pub fn new() -> Self {
        let cn: CommonName = "CA".parse().unwrap_or_else(|_| unreachable!("a valid CN"));
        Self {
            params: Params::new(Subject::etcd_default().with_common_name(cn)),
        }
    }

    builder_methods!("Sets the common name (default `CA`).", params);

    /// Generates a key and self-signs the root certificate.
    ///
    /// # Errors
    /// [`Error::InvalidValidity`], [`Error::EmptySubject`],
    /// [`Error::KeyGeneration`], [`Error::Signing`].
    pub fn self_sign(&self) -> Result<Issuer, Error> {
        self.self_sign_with_rng(&mut rand::rng())
    }

    /// As [`RootCa::self_sign`], with the given random number generator (for the key and the
    /// serial number).
    ///
    /// # Errors
    /// As [`RootCa::self_sign`].
    pub fn self_sign_with_rng<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<Issuer, Error> {
        self.check()?;
        let key = PrivateKey::generate_with_rng(rng, self.params.algorithm)?;
        self.sign(key, rng)
    }

    /// Self-signs the root certificate with an existing key (e.g. to renew a root while keeping
    /// its key, so that certificates it issued stay valid).
    ///
    /// # Errors
    /// As [`RootCa::self_sign`].
    pub fn self_sign_with_key(&self, key: PrivateKey) -> Result<Issuer, Error> {
        self.check()?;
        self.sign(key, &mut rand::rng())
    }

    fn check(&self) -> Result<(), Error> {
        if self.params.subject.is_empty() {
            return Err(Error::EmptySubject);
        }
        validity::window(self.params.days, SystemTime::now(), None).map(drop)
    }

    fn sign<R: CryptoRng + ?Sized>(&self, key: PrivateKey, rng: &mut R) -> Result<Issuer, Error> {
        let profile = RootProfile {
            subject: self.params.subject.to_name()?,
        };
        let validity = validity::window(self.params.days, SystemTime::now(), None)?;
        let builder =
            CertificateBuilder::new(profile, SerialNumber::generate(rng), validity, key.spki()?)
                .map_err(|e| Error::Signing {
                    source: Box::new(e),
                })?;
        let cert = Certificate::from_x509(key.sign(builder)?)?;
        Issuer::from_generated(cert, key)
    }
}
