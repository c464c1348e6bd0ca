//! The choices a caller makes about a key: which algorithm (and size) to generate, and in which
//! PEM format to write it.

use std::fmt;

use crate::error::Error;

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
///
/// | Format | RSA key | ECDSA key |
/// |---|---|---|
/// | [`Traditional`](Self::Traditional) (default) | PKCS#1 `RSA PRIVATE KEY` | SEC1 `EC PRIVATE KEY` |
/// | [`Pkcs8`](Self::Pkcs8) | PKCS#8 `PRIVATE KEY` | PKCS#8 `PRIVATE KEY` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyFormat {
    /// The algorithm's own format, what OpenSSL calls the "traditional" one, the default:
    /// PKCS#1 (`RSA PRIVATE KEY`) for an RSA key, what `gen_etcd_certs.py` writes; SEC1
    /// (`EC PRIVATE KEY`, RFC 5915) for an ECDSA key, what `openssl ecparam -genkey` writes.
    #[default]
    Traditional,
    /// PKCS#8 (`PRIVATE KEY`) for any key, what `openssl genrsa`/`genpkey` of OpenSSL 3 writes.
    Pkcs8,
}
