//! Private keys: generation, PEM encoding (PKCS#1 and PKCS#8) and decoding, signing.

use std::fmt;

use der::{Decode, pem::LineEnding};
use rand::CryptoRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, PrivateKeyInfoRef};
use rsa::traits::PublicKeyParts;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::builder::Builder;
use zeroize::Zeroizing;

use crate::error::Error;
#[cfg(feature = "encrypted-keys")]
use crate::passphrase::Passphrase;
use crate::pem;

/// OID of `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// OID of `id-ecPublicKey` (RFC 5480).
const EC_PUBLIC_KEY: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// OID of the `secp256r1` curve (RFC 5480).
#[cfg_attr(
    not(feature = "ecdsa"),
    allow(dead_code, reason = "ECDSA is not built in")
)]
const P256_CURVE: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// OID of the `secp384r1` curve (RFC 5480).
#[cfg_attr(
    not(feature = "ecdsa"),
    allow(dead_code, reason = "ECDSA is not built in")
)]
const P384_CURVE: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// The smallest RSA modulus this crate loads or generates.
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus this crate loads: what Go's TLS (etcd) and `rsa` accept.
const MAX_RSA_BITS: usize = 8192;

/// The algorithm (and size) of a key to generate.
///
/// RSA-2048 is the default, as in `gen_etcd_certs.py`. ECDSA keys are generated in well under a
/// millisecond (RSA takes tens of milliseconds) and give smaller certificates; etcd accepts both.
/// The enum is non-exhaustive so that more algorithms can be added without breaking callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA with a 2048-bit modulus (the script's choice).
    #[default]
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// ECDSA on NIST P-256 (secp256r1), signing with ecdsa-with-SHA256.
    EcdsaP256,
    /// ECDSA on NIST P-384 (secp384r1), signing with ecdsa-with-SHA384.
    EcdsaP384,
}

impl KeyAlgorithm {
    /// The RSA modulus size in bits, or `None` for an ECDSA algorithm.
    #[must_use]
    pub const fn rsa_bits(self) -> Option<usize> {
        match self {
            Self::Rsa2048 => Some(2048),
            Self::Rsa3072 => Some(3072),
            Self::Rsa4096 => Some(4096),
            Self::EcdsaP256 | Self::EcdsaP384 => None,
        }
    }

    /// The name used on command lines: `rsa2048`, `rsa3072`, `rsa4096`, `p256`, `p384`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa2048",
            Self::Rsa3072 => "rsa3072",
            Self::Rsa4096 => "rsa4096",
            Self::EcdsaP256 => "p256",
            Self::EcdsaP384 => "p384",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = Error;

    /// Parses `rsa2048`, `rsa3072`, `rsa4096`, `p256` or `p384` (case-insensitive; `ecdsa-p256`
    /// and `rsa-2048` spellings too).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "rsa2048" | "rsa-2048" => Ok(Self::Rsa2048),
            "rsa3072" | "rsa-3072" => Ok(Self::Rsa3072),
            "rsa4096" | "rsa-4096" => Ok(Self::Rsa4096),
            "p256" | "ecdsa-p256" | "p-256" => Ok(Self::EcdsaP256),
            "p384" | "ecdsa-p384" | "p-384" => Ok(Self::EcdsaP384),
            _ => Err(Error::Unsupported {
                path: None,
                what: "key algorithm",
                detail: format!("{s:?}; choose one of rsa2048, rsa3072, rsa4096, p256, p384"),
            }),
        }
    }
}

/// The encoding of a private key PEM file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyFormat {
    /// The algorithm's own ("traditional") format, the default: PKCS#1 `RSA PRIVATE KEY` for
    /// RSA, what `gen_etcd_certs.py` writes; SEC1 `EC PRIVATE KEY` for ECDSA.
    #[default]
    Pkcs1,
    /// PKCS#8 `PRIVATE KEY`, what `openssl genrsa`/`genpkey` of OpenSSL 3 writes.
    Pkcs8,
}

/// A private key. Its material is zeroized on drop and never shown by `Debug`.
///
/// ```
/// use etcd_pki::{KeyAlgorithm, KeyFormat, PrivateKey};
///
/// let key = PrivateKey::generate(KeyAlgorithm::Rsa2048)?;
/// let pem = key.to_pem(KeyFormat::Pkcs1)?;
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
    Rsa(Box<rsa::PrivateKey>),
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
    /// Generates a new key with the operating system's random number generator.
    ///
    /// # Errors
    /// [`Error::KeyGeneration`] if the random number generator fails.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, Error> {
        Self::generate_with_rng(&mut rand::rng(), algorithm)
    }

    /// Generates a new key with the given random number generator.
    ///
    /// Use a seeded generator only in tests and benchmarks: a key is only as secret as its
    /// random source.
    ///
    /// # Errors
    /// [`Error::KeyGeneration`] if the random number generator fails.
    pub fn generate_with_rng<R: CryptoRng + ?Sized>(
        rng: &mut R,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, Error> {
        match (algorithm, algorithm.rsa_bits()) {
            // The primes `rsa::PrivateKey::new(rng, bits)` would find, found faster: see
            // `keygen`.
            (_, Some(bits)) => crate::keygen::KeyGenerator::new().generate_rsa(bits, rng),
            #[cfg(feature = "ecdsa")]
            (KeyAlgorithm::EcdsaP256, _) => Ok(Self {
                inner: Inner::P256(Box::new(
                    <p256::ecdsa::SigningKey as rsa::Generate>::generate_from_rng(rng),
                )),
            }),
            #[cfg(feature = "ecdsa")]
            (KeyAlgorithm::EcdsaP384, _) => Ok(Self {
                inner: Inner::P384(Box::new(
                    <p384::ecdsa::SigningKey as rsa::Generate>::generate_from_rng(rng),
                )),
            }),
            #[cfg_attr(
                feature = "ecdsa",
                allow(
                    unreachable_patterns,
                    reason = "every ECDSA algorithm is matched above"
                )
            )]
            (other, None) => Err(ecdsa_not_built(other.name())),
        }
    }

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

    pub(crate) fn from_rsa(key: rsa::PrivateKey) -> Self {
        Self {
            inner: Inner::Rsa(Box::new(key)),
        }
    }

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
        let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(&block.der[..])
            .map_err(|e| invalid_key(format!("not an encrypted PKCS#8 key ({e})"), e))?;
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
        let key = rsa::PrivateKey::from_pkcs1_der(der).map_err(|e| invalid_key(damaged(&e), e))?;
        Self::checked_rsa(key)
    }

    /// Parses a DER PKCS#8 `PrivateKeyInfo`.
    fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let info = PrivateKeyInfoRef::from_der(der).map_err(|e| invalid_key(damaged(&e), e))?;
        match info.algorithm.oid {
            RSA_ENCRYPTION => {
                precheck_rsa(info.private_key.as_bytes())?;
                let key = rsa::PrivateKey::from_pkcs8_der(der)
                    .map_err(|e| invalid_key(e.to_string(), e))?;
                Self::checked_rsa(key)
            }
            #[cfg(not(feature = "ecdsa"))]
            EC_PUBLIC_KEY => Err(ecdsa_not_built("ECDSA")),
            #[cfg(feature = "ecdsa")]
            EC_PUBLIC_KEY => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| invalid_key("EC key without a named curve".into(), e))?;
                match curve {
                    P256_CURVE => p256::ecdsa::SigningKey::from_pkcs8_der(der)
                        .map(|k| Self {
                            inner: Inner::P256(Box::new(k)),
                        })
                        .map_err(|e| invalid_key(e.to_string(), e)),
                    P384_CURVE => p384::ecdsa::SigningKey::from_pkcs8_der(der)
                        .map(|k| Self {
                            inner: Inner::P384(Box::new(k)),
                        })
                        .map_err(|e| invalid_key(e.to_string(), e)),
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
        if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            return Ok(Self {
                inner: Inner::P256(Box::new(k.into())),
            });
        }
        match p384::SecretKey::from_sec1_der(der) {
            Ok(k) => Ok(Self {
                inner: Inner::P384(Box::new(k.into())),
            }),
            Err(e) => match sec1_curve(der) {
                Some(curve) if curve != P256_CURVE && curve != P384_CURVE => {
                    Err(unsupported_algorithm(&format!(
                        "ECDSA {} keys are not supported",
                        curve_name(curve)
                    )))
                }
                _ => Err(Error::Unsupported {
                    path: None,
                    what: "key algorithm",
                    detail: format!(
                        "not a P-256 or P-384 EC key ({e}); use RSA (2048 to 8192 bits), ECDSA P-256 or ECDSA P-384"
                    ),
                }),
            },
        }
    }

    fn checked_rsa(key: rsa::PrivateKey) -> Result<Self, Error> {
        check_rsa_size(key.size() * 8)?;
        check_rsa_exponent(&key.e().to_be_bytes())?;
        key.validate()
            .map_err(|e| invalid_key("inconsistent RSA key".into(), e))?;
        Ok(Self::from_rsa(key))
    }

    /// Encodes the key as PEM in the given format.
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn to_pem(&self, format: KeyFormat) -> Result<Zeroizing<String>, Error> {
        let fail = |e: &dyn fmt::Display| Error::encoding("private key", e.to_string());
        match (&self.inner, format) {
            (Inner::Rsa(key), KeyFormat::Pkcs1) => {
                key.to_pkcs1_pem(LineEnding::LF).map_err(|e| fail(&e))
            }
            (Inner::Rsa(key), KeyFormat::Pkcs8) => {
                key.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))
            }
            #[cfg(feature = "ecdsa")]
            (Inner::P256(key), KeyFormat::Pkcs1) => p256::SecretKey::from(key.as_nonzero_scalar())
                .to_sec1_pem(LineEnding::LF)
                .map_err(|e| fail(&e)),
            #[cfg(feature = "ecdsa")]
            (Inner::P384(key), KeyFormat::Pkcs1) => p384::SecretKey::from(key.as_nonzero_scalar())
                .to_sec1_pem(LineEnding::LF)
                .map_err(|e| fail(&e)),
            #[cfg(feature = "ecdsa")]
            (Inner::P256(key), KeyFormat::Pkcs8) => {
                key.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))
            }
            #[cfg(feature = "ecdsa")]
            (Inner::P384(key), KeyFormat::Pkcs8) => {
                key.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))
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

    /// Checks that a public key from outside (DER `SubjectPublicKeyInfo` of a certificate
    /// request, a loaded root, a certificate to renew) is one this crate signs for and etcd
    /// accepts, before it is used for anything, even verifying a signature: RSA of
    /// [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] bits with an odd public exponent from 3 to
    /// 2^31 − 1 (what Go, and so etcd, accepts), ECDSA P-256 or P-384 with a point on its curve.
    /// The error says what is wrong with the key and what is accepted.
    pub(crate) fn check_public_key(spki_der: &[u8]) -> Result<(), Error> {
        use rsa::pkcs8::DecodePublicKey;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(|e| invalid_public_key(format!("its public key does not parse ({e})")))?;
        match spki.algorithm.oid {
            RSA_ENCRYPTION => {
                let key = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(
                    spki.subject_public_key.raw_bytes(),
                )
                .map_err(|e| {
                    invalid_public_key(format!("its RSA public key does not parse ({e})"))
                })?;
                let n = key.modulus.as_bytes();
                check_rsa_size(modulus_bits(n))?;
                check_rsa_exponent(key.public_exponent.as_bytes())?;
                rsa::PublicKey::from_public_key_der(spki_der)
                    .map(|_| ())
                    .map_err(|e| {
                        invalid_public_key(format!("its RSA public key is not usable ({e})"))
                    })
            }
            #[cfg(not(feature = "ecdsa"))]
            EC_PUBLIC_KEY => Err(ecdsa_not_built("ECDSA")),
            #[cfg(feature = "ecdsa")]
            EC_PUBLIC_KEY => {
                let curve = spki.algorithm.parameters_oid().map_err(|_| {
                    unsupported_algorithm("EC keys without a named curve are not supported")
                })?;
                let on_curve = match curve {
                    P256_CURVE => p256::PublicKey::from_public_key_der(spki_der).is_ok(),
                    P384_CURVE => p384::PublicKey::from_public_key_der(spki_der).is_ok(),
                    other => {
                        return Err(unsupported_algorithm(&format!(
                            "ECDSA {} keys are not supported",
                            curve_name(other)
                        )));
                    }
                };
                if on_curve {
                    Ok(())
                } else {
                    Err(invalid_public_key(format!(
                        "its ECDSA {} public key is not a point on the curve",
                        curve_name(curve)
                    )))
                }
            }
            other => Err(unsupported_algorithm(&format!(
                "{} keys are not supported",
                algorithm_name(other)
            ))),
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
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**key).clone());
                builder.build::<_, rsa::pkcs1v15::Signature>(&signer)
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

const KEY_LABELS: &[&str] = &[
    "RSA PRIVATE KEY",
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
];
const KEY_LABELS_TEXT: &str = "RSA PRIVATE KEY' or 'PRIVATE KEY";

/// An ECDSA key or algorithm in a build without the `ecdsa` feature.
#[cfg_attr(
    feature = "ecdsa",
    allow(dead_code, reason = "only reachable without ECDSA support")
)]
pub(crate) fn ecdsa_not_built(what: &str) -> Error {
    Error::Unsupported {
        path: None,
        what: "key algorithm",
        detail: format!(
            "{what} keys need etcd-pki's `ecdsa` feature, which this build does not have; use RSA (2048 to 8192 bits)"
        ),
    }
}

fn invalid_key(reason: String, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::InvalidKey {
        path: None,
        reason,
        source: Some(Box::new(source)),
    }
}

/// Checks the size and public exponent of a PKCS#1 `RSAPrivateKey` before `rsa` parses it, so
/// that an RSA-16384 or e = 1 key is refused for what it is rather than reported as damaged.
/// Data that does not even have the structure is left to `rsa`'s parser to report.
fn precheck_rsa(pkcs1_der: &[u8]) -> Result<(), Error> {
    let Ok(key) = rsa::pkcs1::RsaPrivateKey::<der::asn1::UintRef<'_>>::from_der(pkcs1_der) else {
        return Ok(());
    };
    let n = key.modulus.as_bytes();
    check_rsa_size(modulus_bits(n))?;
    check_rsa_exponent(key.public_exponent.as_bytes())
}

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

/// The size in bits of a big-endian modulus without leading zero bytes.
fn modulus_bits(n: &[u8]) -> usize {
    n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize)
}

/// Refuses RSA moduli outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`].
fn check_rsa_size(bits: usize) -> Result<(), Error> {
    let detail = if bits < MIN_RSA_BITS {
        format!("RSA-{bits} is too weak (TLS libraries refuse it)")
    } else if bits > MAX_RSA_BITS {
        format!("RSA-{bits} is larger than {MAX_RSA_BITS} bits, which Go's TLS (etcd) refuses")
    } else {
        return Ok(());
    };
    Err(Error::Unsupported {
        path: None,
        what: "key size",
        detail: format!(
            "{detail}; use an RSA key of {MIN_RSA_BITS} to {MAX_RSA_BITS} bits (2048, 3072 or 4096), or ECDSA P-256 or P-384"
        ),
    })
}

/// Refuses RSA public exponents (big-endian bytes) that are even, under 3 or over 2^31 − 1.
fn check_rsa_exponent(e: &[u8]) -> Result<(), Error> {
    let digits = e.iter().skip_while(|b| **b == 0).count();
    let value = (digits <= 8).then(|| {
        e.iter()
            .skip_while(|b| **b == 0)
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    });
    let shown = value.map_or_else(|| format!("of {} bits", digits * 8), |v| v.to_string());
    let problem = match value {
        Some(v) if v < 3 => "too small (an exponent under 3 does not encrypt anything)",
        Some(v) if v % 2 == 0 => "even (an RSA exponent must be odd)",
        Some(v) if v <= MAX_RSA_EXPONENT => return Ok(()),
        _ => "too large (Go's TLS, and so etcd, accepts at most 2^31 - 1)",
    };
    Err(Error::Unsupported {
        path: None,
        what: "RSA public exponent",
        detail: format!(
            "the exponent {shown} is {problem}; use a key with the usual exponent 65537"
        ),
    })
}

/// The largest RSA public exponent accepted: Go's `crypto/rsa` limit.
const MAX_RSA_EXPONENT: u64 = (1 << 31) - 1;

/// The error for a public key whose encoding is broken.
fn invalid_public_key(reason: String) -> Error {
    Error::InvalidKey {
        path: None,
        reason,
        source: None,
    }
}

#[cfg(feature = "ecdsa")]
/// The name of an EC curve OID, for messages.
fn curve_name(oid: spki::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10045.3.1.7" => "P-256".into(),
        "1.3.132.0.34" => "P-384".into(),
        "1.3.132.0.35" => "P-521 (secp521r1)".into(),
        "1.3.132.0.33" => "P-224 (secp224r1)".into(),
        "1.2.840.10045.3.1.1" => "P-192 (secp192r1)".into(),
        "1.3.132.0.10" => "secp256k1".into(),
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1".into(),
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1".into(),
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1".into(),
        other => format!("curve {other}"),
    }
}

/// The name of a public key algorithm OID, for messages.
fn algorithm_name(oid: spki::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.3.101.110" => "X25519".into(),
        "1.3.101.111" => "X448".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".into(),
        "1.2.840.10046.2.1" => "Diffie-Hellman".into(),
        "1.2.156.10197.1.301" => "SM2".into(),
        other => format!("algorithm {other}"),
    }
}

/// The reason given for key data that does not decode.
fn damaged(e: &dyn fmt::Display) -> String {
    format!("its contents are incomplete or damaged ({e}); the file may be truncated or edited")
}

fn unsupported_algorithm(what: &str) -> Error {
    Error::Unsupported {
        path: None,
        what: "key algorithm",
        detail: format!("{what}; use RSA (2048 to 8192 bits), ECDSA P-256 or ECDSA P-384"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> PrivateKey {
        use std::sync::OnceLock;
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap())
            .clone()
    }

    #[test]
    fn generated_key_has_requested_size() {
        let key = test_key();
        assert_eq!(key.bits(), 2048);
        assert_eq!(key.describe(), "RSA-2048");
    }

    #[test]
    fn pem_round_trips_in_both_formats() {
        let key = test_key();
        let pkcs1 = key.to_pem(KeyFormat::Pkcs1).unwrap();
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let pkcs8 = key.to_pem(KeyFormat::Pkcs8).unwrap();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(PrivateKey::from_pem(&pkcs1).unwrap() == key);
        assert!(PrivateKey::from_pem(&pkcs8).unwrap() == key);
    }

    #[test]
    #[allow(irrefutable_let_patterns, reason = "without ECDSA every key is RSA")]
    fn debug_shows_no_key_material() {
        let key = test_key();
        let debug = format!("{key:?}");
        assert_eq!(debug, "PrivateKey(RSA-2048)");
        let Inner::Rsa(rsa) = &key.inner else {
            panic!("an RSA key")
        };
        let n = format!("{:x}", rsa.n());
        assert!(!debug.to_lowercase().contains(&n[..16]));
    }

    #[test]
    fn wrong_pem_label_is_named() {
        let err =
            PrivateKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(matches!(err, Error::InvalidPem { .. }), "{err}");
        assert!(err.to_string().contains("CERTIFICATE"), "{err}");
    }

    #[test]
    fn encrypted_keys_get_a_conversion_hint() {
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = PrivateKey::from_pem(legacy).unwrap_err();
        assert!(matches!(err, Error::EncryptedKey { .. }));
        assert!(err.to_string().contains("openssl rsa"));
    }

    #[test]
    #[cfg(feature = "encrypted-keys")]
    fn encrypted_pkcs8_round_trip() {
        let key = test_key();
        let pass = Passphrase::new("s3cret").unwrap();
        let pem = key.to_encrypted_pem(&pass).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        assert!(PrivateKey::from_encrypted_pem(&pem, &pass).unwrap() == key);
        let err = PrivateKey::from_pem(&pem).unwrap_err();
        assert!(matches!(err, Error::EncryptedKey { .. }), "{err}");
        let wrong = Passphrase::new("S3cret").unwrap();
        let err = PrivateKey::from_encrypted_pem(&pem, &wrong).unwrap_err();
        assert!(matches!(err, Error::KeyDecryption { .. }), "{err}");
        // A plain key given with a passphrase is read as it is.
        let plain = key.to_pem(KeyFormat::Pkcs1).unwrap();
        assert!(PrivateKey::from_encrypted_pem(&plain, &pass).unwrap() == key);
    }

    #[test]
    #[cfg(not(feature = "ecdsa"))]
    fn ecdsa_keys_are_refused_without_the_feature() {
        let err = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("`ecdsa` feature"), "{err}");
        // An openssl P-256 key (SEC1) and its PKCS#8 form are refused the same way.
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIOznrA2kaK0g5dmMcROEb6IfX4mRoE/i56PHnMQKoxXEoAoGCCqGSM49\nAwEHoUQDQgAEqFCFjc/sql+K4YpaCAWlcjhWDf5qTNjg0iLHZvH9GcdzjhpN3Dls\n4bEfSXxQEPprvFuC2AgwSOgypunK5NEq+w==\n-----END EC PRIVATE KEY-----\n";
        let err = PrivateKey::from_pem(sec1).unwrap_err();
        assert!(err.to_string().contains("`ecdsa` feature"), "{err}");
    }

    #[test]
    fn algorithm_parses_from_cli_names() {
        assert_eq!(
            "rsa3072".parse::<KeyAlgorithm>().unwrap(),
            KeyAlgorithm::Rsa3072
        );
        assert_eq!(
            "P256".parse::<KeyAlgorithm>().unwrap(),
            KeyAlgorithm::EcdsaP256
        );
        assert!("dsa".parse::<KeyAlgorithm>().is_err());
        assert_eq!(KeyAlgorithm::default().to_string(), "rsa2048");
        for alg in [KeyAlgorithm::EcdsaP384, KeyAlgorithm::Rsa4096] {
            assert_eq!(alg.to_string().parse::<KeyAlgorithm>().unwrap(), alg);
        }
    }

    #[test]
    #[cfg(feature = "ecdsa")]
    fn ecdsa_keys_round_trip_in_both_formats() {
        for (alg, label, bits) in [
            (KeyAlgorithm::EcdsaP256, "ECDSA-P256", 256),
            (KeyAlgorithm::EcdsaP384, "ECDSA-P384", 384),
        ] {
            let key = PrivateKey::generate(alg).unwrap();
            assert_eq!(key.algorithm(), Some(alg));
            assert_eq!(key.bits(), bits);
            assert_eq!(format!("{key:?}"), format!("PrivateKey({label})"));
            let sec1 = key.to_pem(KeyFormat::Pkcs1).unwrap();
            assert!(
                sec1.starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
                "{label}"
            );
            let pkcs8 = key.to_pem(KeyFormat::Pkcs8).unwrap();
            assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            assert!(PrivateKey::from_pem(&sec1).unwrap() == key);
            assert!(PrivateKey::from_pem(&pkcs8).unwrap() == key);
            assert!(key.matches_spki(&key.public_key_der().unwrap()));
            assert!(!test_key().matches_spki(&key.public_key_der().unwrap()));
        }
    }
}
