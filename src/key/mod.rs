//! Private keys: [`PrivateKey`] (RSA or ECDSA, zeroized, never shown), the choices of
//! algorithm and format, reading and writing them, generating them ([`KeyGenerator`]) and the
//! checks of what keys this crate accepts.

mod algorithm;
mod checks;
mod encoding;
mod generator;
mod rsa_key;
#[cfg(test)]
mod tests;

use std::fmt;

use der::Decode;
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::builder::Builder;

pub use self::algorithm::{KeyAlgorithm, KeyFormat};
pub use self::generator::KeyGenerator;
use crate::error::Error;

/// A private key. Its material is zeroized on drop and never shown by `Debug`.
///
/// ```
/// use etcd_pki::{KeyAlgorithm, KeyFormat, PrivateKey};
///
/// let key = PrivateKey::generate(KeyAlgorithm::Rsa2048)?;
/// let pem = key.to_pem(KeyFormat::Traditional)?;
/// assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
/// assert_eq!(PrivateKey::from_pem(&pem)?.public_key_der()?, key.public_key_der()?);
/// assert_eq!(format!("{key:?}"), "PrivateKey(RSA-2048)");
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    inner: Inner,
}

#[derive(Clone, PartialEq, Eq)]
enum Inner {
    Rsa(Box<rsa_key::RsaKey>),
    #[cfg(feature = "ecdsa")]
    P256(Box<p256::ecdsa::SigningKey>),
    #[cfg(feature = "ecdsa")]
    P384(Box<p384::ecdsa::SigningKey>),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.describe())
    }
}

impl PrivateKey {
    /// The algorithm of the key, if it is one this crate generates (a loaded RSA key of an
    /// unusual size has none).
    #[must_use]
    pub fn algorithm(&self) -> Option<KeyAlgorithm> {
        match &self.inner {
            Inner::Rsa(_) => match self.bits() {
                2048 => Some(KeyAlgorithm::Rsa2048),
                3072 => Some(KeyAlgorithm::Rsa3072),
                4096 => Some(KeyAlgorithm::Rsa4096),
                _ => None,
            },
            #[cfg(feature = "ecdsa")]
            Inner::P256(_) => Some(KeyAlgorithm::EcdsaP256),
            #[cfg(feature = "ecdsa")]
            Inner::P384(_) => Some(KeyAlgorithm::EcdsaP384),
        }
    }

    /// The key of an `rsa` key.
    fn from_rsa(key: rsa::PrivateKey) -> Self {
        Self {
            inner: Inner::Rsa(Box::new(rsa_key::RsaKey::new(key))),
        }
    }

    /// The DER `SubjectPublicKeyInfo` of the key's public half.
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn public_key_der(&self) -> Result<Vec<u8>, Error> {
        let doc = match &self.inner {
            Inner::Rsa(key) => key.to_public_key().to_public_key_der(),
            #[cfg(feature = "ecdsa")]
            Inner::P256(key) => key.verifying_key().to_public_key_der(),
            #[cfg(feature = "ecdsa")]
            Inner::P384(key) => key.verifying_key().to_public_key_der(),
        };
        doc.map(der::Document::into_vec)
            .map_err(|e| Error::encoding("public key", e))
    }

    pub(crate) fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, Error> {
        SubjectPublicKeyInfoOwned::from_der(&self.public_key_der()?)
            .map_err(|e| Error::encoding("public key", e))
    }

    /// The size of the key in bits (the RSA modulus length, or the curve's size).
    #[must_use]
    pub fn bits(&self) -> usize {
        match &self.inner {
            Inner::Rsa(key) => key.size() * 8,
            #[cfg(feature = "ecdsa")]
            Inner::P256(_) => 256,
            #[cfg(feature = "ecdsa")]
            Inner::P384(_) => 384,
        }
    }

    /// A short description such as `RSA-2048` or `ECDSA-P256`, without any key material.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::Rsa(_) => format!("RSA-{}", self.bits()),
            #[cfg(feature = "ecdsa")]
            Inner::P256(_) => "ECDSA-P256".into(),
            #[cfg(feature = "ecdsa")]
            Inner::P384(_) => "ECDSA-P384".into(),
        }
    }

    /// Whether the key's public half is `spki` (DER `SubjectPublicKeyInfo`).
    pub(crate) fn matches_spki(&self, spki_der: &[u8]) -> bool {
        // SPKI encodings of RSA and EC keys are canonical DER: comparing bytes compares keys.
        self.public_key_der().is_ok_and(|mine| mine == spki_der)
    }

    /// Signs a certificate or certificate request being built.
    pub(crate) fn sign<B: Builder>(&self, builder: B) -> Result<B::Output, Error> {
        let signed = match &self.inner {
            Inner::Rsa(key) => {
                builder.build::<_, rsa::pkcs1v15::Signature>(&rsa_key::RsaSigner(key))
            }
            #[cfg(feature = "ecdsa")]
            Inner::P256(key) => builder.build::<_, p256::ecdsa::DerSignature>(&**key),
            #[cfg(feature = "ecdsa")]
            Inner::P384(key) => builder.build::<_, p384::ecdsa::DerSignature>(&**key),
        };
        signed.map_err(|e| Error::Signing {
            source: Box::new(e),
        })
    }
}
