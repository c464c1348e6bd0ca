//! Reading and writing private keys: PEM and DER, PKCS#1 and SEC1 (the traditional formats),
//! PKCS#8, encrypted PKCS#8; every key read is checked as [`checks`](super::checks) says.

use der::{Decode, pem::LineEnding};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, PrivateKeyInfoRef};
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

#[cfg(not(feature = "ecdsa"))]
use super::checks::ecdsa_not_built;
use super::checks::{
    EC_PUBLIC_KEY, RSA_ENCRYPTION, algorithm_name, check_rsa_exponent, check_rsa_size,
    precheck_rsa, unsupported_algorithm,
};
#[cfg(feature = "ecdsa")]
use super::checks::{P256_CURVE, P384_CURVE, curve_name};
use super::{Inner, KeyFormat, PrivateKey};
use crate::error::{BoxError, Error};
#[cfg(feature = "encrypted-keys")]
use crate::passphrase::Passphrase;
use crate::pem;

impl PrivateKey {
    /// Parses a PEM private key: PKCS#1 (`RSA PRIVATE KEY`, as `gen_etcd_certs.py` writes),
    /// PKCS#8 (`PRIVATE KEY`, as `openssl genrsa` of OpenSSL 3 writes) or SEC1
    /// (`EC PRIVATE KEY`, P-256 and P-384).
    ///
    /// # Errors
    /// - [`Error::InvalidPem`] if the text holds no PEM block or one of another type;
    /// - [`Error::EncryptedKey`] for an encrypted key;
    /// - [`Error::Unsupported`] for a key of another algorithm or under 2048 bits;
    /// - [`Error::InvalidKey`] if the key's contents do not parse or are inconsistent.
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        if text.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(Error::EncryptedKey {
                path: None,
                hint: "the legacy OpenSSL encryption (Proc-Type: 4,ENCRYPTED) is not supported; \
                       decrypt it with `openssl rsa -in KEY -out KEY.plain` (keep the result mode 0600)",
            });
        }
        let block = pem::decode_first(text, KEY_LABELS)?;
        match block.label.as_str() {
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&block.der),
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.der),
            "ENCRYPTED PRIVATE KEY" => Err(Error::EncryptedKey {
                path: None,
                #[cfg(feature = "encrypted-keys")]
                hint: "give its passphrase (PrivateKey::from_encrypted_pem, Issuer::load_encrypted)",
                #[cfg(not(feature = "encrypted-keys"))]
                hint: "this build of etcd-pki cannot decrypt keys (its `encrypted-keys` feature is off)",
            }),
            "EC PRIVATE KEY" => Self::from_sec1_der(&block.der),
            other => Err(pem::wrong_label(KEY_LABELS_TEXT, other)),
        }
    }

    #[cfg(feature = "encrypted-keys")]
    /// Parses a PEM private key that may be encrypted: an `ENCRYPTED PRIVATE KEY` (PKCS#8 with
    /// PBES2, as `openssl genpkey -aes256` or `openssl pkcs8 -topk8` write it) is decrypted with
    /// `passphrase`; an unencrypted key is read as by [`PrivateKey::from_pem`].
    ///
    /// # Errors
    /// [`Error::KeyDecryption`] for a wrong passphrase or a damaged file, and those of
    /// [`PrivateKey::from_pem`].
    pub fn from_encrypted_pem(text: &str, passphrase: &Passphrase) -> Result<Self, Error> {
        if text.contains("Proc-Type: 4,ENCRYPTED") {
            return Self::from_pem(text);
        }
        let block = pem::decode_first(text, KEY_LABELS)?;
        if block.label != "ENCRYPTED PRIVATE KEY" {
            return Self::from_pem(text);
        }
        let decrypt_err = |e: pkcs8::Error| Error::KeyDecryption {
            path: None,
            source: Box::new(e),
        };
        let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(&block.der[..]).map_err(|e| {
            Error::invalid_key(
                "it is labelled an encrypted PKCS#8 key but its contents are not one; the \
                     file may be truncated or edited",
                e,
            )
        })?;
        let plain = info.decrypt(passphrase.as_bytes()).map_err(decrypt_err)?;
        Self::from_pkcs8_der(plain.as_bytes())
    }

    #[cfg(feature = "encrypted-keys")]
    /// Encodes the key as an encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`): PBES2 with scrypt
    /// (N = 2^15, r = 8, p = 1) and AES-256-CBC, which OpenSSL 1.1+ reads.
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding or encryption fails (a bug).
    pub fn to_encrypted_pem(&self, passphrase: &Passphrase) -> Result<Zeroizing<String>, Error> {
        let plain = self.to_pem(KeyFormat::Pkcs8)?;
        let block = pem::decode_first(&plain, KEY_LABELS)?;
        let info = PrivateKeyInfoRef::try_from(&block.der[..])
            .map_err(|e| Error::encoding("private key", e))?;
        let encrypted = info
            .encrypt_with_rng(&mut rand::rng(), passphrase.as_bytes())
            .map_err(|e| Error::encoding("encrypted private key", e))?;
        encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(|e| Error::encoding("encrypted private key", e))
    }

    /// Parses a DER PKCS#1 `RSAPrivateKey`.
    fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        precheck_rsa(der)?;
        let key =
            rsa::PrivateKey::from_pkcs1_der(der).map_err(|e| Error::invalid_key(DAMAGED, e))?;
        Self::checked_rsa(key)
    }

    /// Parses a DER PKCS#8 `PrivateKeyInfo` (RSA, or ECDSA P-256/P-384), what
    /// [`PrivateKey::to_pkcs8_der`] writes; the key is checked as [`PrivateKey::from_pem`]
    /// checks it.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a key of another algorithm or size, [`Error::InvalidKey`] if
    /// the DER does not parse or the key is inconsistent.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let info = PrivateKeyInfoRef::from_der(der).map_err(|e| Error::invalid_key(DAMAGED, e))?;
        match info.algorithm.oid {
            RSA_ENCRYPTION => {
                precheck_rsa(info.private_key.as_bytes())?;
                let key = rsa::PrivateKey::from_pkcs8_der(der)
                    .map_err(|e| Error::invalid_key(damaged("RSA key"), e))?;
                Self::checked_rsa(key)
            }
            #[cfg(not(feature = "ecdsa"))]
            EC_PUBLIC_KEY => Err(ecdsa_not_built("ECDSA")),
            #[cfg(feature = "ecdsa")]
            EC_PUBLIC_KEY => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| Error::invalid_key("EC key without a named curve", e))?;
                match curve {
                    P256_CURVE => p256::ecdsa::SigningKey::from_pkcs8_der(der)
                        .map(|k| Self {
                            inner: Inner::P256(Box::new(k)),
                        })
                        .map_err(|e| Error::invalid_key(damaged("ECDSA P-256 key"), e)),
                    P384_CURVE => p384::ecdsa::SigningKey::from_pkcs8_der(der)
                        .map(|k| Self {
                            inner: Inner::P384(Box::new(k)),
                        })
                        .map_err(|e| Error::invalid_key(damaged("ECDSA P-384 key"), e)),
                    other => Err(unsupported_algorithm(&format!(
                        "ECDSA {} keys are not supported",
                        curve_name(other)
                    ))),
                }
            }
            oid => Err(unsupported_algorithm(&format!(
                "{} keys are not supported",
                algorithm_name(oid)
            ))),
        }
    }

    /// Parses a DER SEC1 `ECPrivateKey` without ECDSA support: refused.
    #[cfg(not(feature = "ecdsa"))]
    fn from_sec1_der(_der: &[u8]) -> Result<Self, Error> {
        Err(ecdsa_not_built("ECDSA"))
    }

    /// Parses a DER SEC1 `ECPrivateKey` (P-256 or P-384, told apart by the curve parameter).
    #[cfg(feature = "ecdsa")]
    fn from_sec1_der(der: &[u8]) -> Result<Self, Error> {
        let p256_error = match p256::SecretKey::from_sec1_der(der) {
            Ok(k) => {
                return Ok(Self {
                    inner: Inner::P256(Box::new(k.into())),
                });
            }
            Err(e) => e,
        };
        let p384_error = match p384::SecretKey::from_sec1_der(der) {
            Ok(k) => {
                return Ok(Self {
                    inner: Inner::P384(Box::new(k.into())),
                });
            }
            Err(e) => e,
        };
        Err(match sec1_curve(der) {
            Some(P256_CURVE) => Error::invalid_key(damaged("ECDSA P-256 key"), p256_error),
            Some(P384_CURVE) => Error::invalid_key(damaged("ECDSA P-384 key"), p384_error),
            Some(curve) => unsupported_algorithm(&format!(
                "ECDSA {} keys are not supported",
                curve_name(curve)
            )),
            None => Error::invalid_key(
                "its contents are not a P-256 or P-384 EC key, or are incomplete or damaged; the \
                 file may be truncated or edited",
                p384_error,
            ),
        })
    }

    fn checked_rsa(key: rsa::PrivateKey) -> Result<Self, Error> {
        check_rsa_size(key.size() * 8)?;
        check_rsa_exponent(&key.e().to_be_bytes())?;
        key.validate()
            .map_err(|e| Error::invalid_key("inconsistent RSA key", e))?;
        Ok(Self::from_rsa(key))
    }

    /// Encodes the key as PEM in the given format.
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn to_pem(&self, format: KeyFormat) -> Result<Zeroizing<String>, Error> {
        match (&self.inner, format) {
            (Inner::Rsa(key), KeyFormat::Traditional) => {
                key.to_pkcs1_pem(LineEnding::LF).map_err(encoding_failed)
            }
            (Inner::Rsa(key), KeyFormat::Pkcs8) => {
                key.to_pkcs8_pem(LineEnding::LF).map_err(encoding_failed)
            }
            #[cfg(feature = "ecdsa")]
            (Inner::P256(key), KeyFormat::Traditional) => {
                p256::SecretKey::from(key.as_nonzero_scalar())
                    .to_sec1_pem(LineEnding::LF)
                    .map_err(encoding_failed)
            }
            #[cfg(feature = "ecdsa")]
            (Inner::P384(key), KeyFormat::Traditional) => {
                p384::SecretKey::from(key.as_nonzero_scalar())
                    .to_sec1_pem(LineEnding::LF)
                    .map_err(encoding_failed)
            }
            #[cfg(feature = "ecdsa")]
            (Inner::P256(key), KeyFormat::Pkcs8) => {
                key.to_pkcs8_pem(LineEnding::LF).map_err(encoding_failed)
            }
            #[cfg(feature = "ecdsa")]
            (Inner::P384(key), KeyFormat::Pkcs8) => {
                key.to_pkcs8_pem(LineEnding::LF).map_err(encoding_failed)
            }
        }
    }

    /// The key as DER PKCS#8 `PrivateKeyInfo` (for RSA and ECDSA keys alike), zeroized when
    /// dropped.
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let doc = match &self.inner {
            Inner::Rsa(key) => key.to_pkcs8_der(),
            #[cfg(feature = "ecdsa")]
            Inner::P256(key) => key.to_pkcs8_der(),
            #[cfg(feature = "ecdsa")]
            Inner::P384(key) => key.to_pkcs8_der(),
        };
        doc.map(|doc| doc.to_bytes())
            .map_err(|e| Error::encoding("private key", e))
    }
}

const KEY_LABELS: &[&str] = &[
    "RSA PRIVATE KEY",
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
];
const KEY_LABELS_TEXT: &str = "RSA PRIVATE KEY' or 'PRIVATE KEY";

#[cfg(feature = "ecdsa")]
/// The named curve of a SEC1 `ECPrivateKey` (RFC 5915: version, privateKey, `[0]` parameters,
/// …), to name it when it is not one this crate supports.
fn sec1_curve(der: &[u8]) -> Option<spki::ObjectIdentifier> {
    use der::Reader;
    use der::asn1::{ContextSpecific, OctetStringRef};
    let mut reader = der::SliceReader::new(der).ok()?;
    reader
        .sequence(|r: &mut der::SliceReader<'_>| {
            let _version: u8 = r.decode()?;
            let _key: &OctetStringRef = r.decode()?;
            let curve =
                ContextSpecific::<spki::ObjectIdentifier>::decode_explicit(r, der::TagNumber(0))?;
            // The optional public key and anything after it do not matter here.
            r.read_slice(r.remaining_len())?;
            Ok::<_, der::Error>(curve.map(|c| c.value))
        })
        .ok()
        .flatten()
}

/// The error for a private key that does not encode (a bug).
fn encoding_failed(e: impl Into<BoxError>) -> Error {
    Error::encoding("private key", e)
}

/// The reason given for key data that does not decode.
const DAMAGED: &str = "its contents are incomplete or damaged; the file may be truncated or edited";

/// The reason given for a key of a known algorithm (`what`) that does not decode.
fn damaged(what: &str) -> String {
    format!("its {what} is incomplete or damaged; the file may be truncated or edited")
}
