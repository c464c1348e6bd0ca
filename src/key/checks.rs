//! What keys this crate accepts, and the errors for those it does not: RSA of 2048 to 8192
//! bits with an odd public exponent from 3 to 2^31 − 1 (what Go, and so etcd, accepts), ECDSA
//! P-256 or P-384. Shared by the loading of private keys and the check of public keys from
//! outside (certificate requests, loaded roots, certificates to renew).

use der::Decode;

use super::PrivateKey;
use crate::error::Error;

/// OID of `rsaEncryption` (RFC 8017).
pub(super) const RSA_ENCRYPTION: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// OID of `id-ecPublicKey` (RFC 5480).
pub(super) const EC_PUBLIC_KEY: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// OID of the `secp256r1` curve (RFC 5480).
#[cfg_attr(
    not(feature = "ecdsa"),
    allow(dead_code, reason = "ECDSA is not built in")
)]
pub(super) const P256_CURVE: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// OID of the `secp384r1` curve (RFC 5480).
#[cfg_attr(
    not(feature = "ecdsa"),
    allow(dead_code, reason = "ECDSA is not built in")
)]
pub(super) const P384_CURVE: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// The smallest RSA modulus this crate loads or generates.
pub(super) const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus this crate loads: what Go's TLS (etcd) and `rsa` accept.
pub(super) const MAX_RSA_BITS: usize = 8192;

impl PrivateKey {
    /// Checks that a public key from outside (DER `SubjectPublicKeyInfo` of a certificate
    /// request, a loaded root, a certificate to renew) is one this crate signs for and etcd
    /// accepts, before it is used for anything, even verifying a signature: RSA of
    /// [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] bits with an odd public exponent from 3 to
    /// 2^31 − 1 (what Go, and so etcd, accepts), ECDSA P-256 or P-384 with a point on its curve.
    /// The error says what is wrong with the key and what is accepted.
    pub(crate) fn check_public_key(spki_der: &[u8]) -> Result<(), Error> {
        use rsa::pkcs8::DecodePublicKey;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(|e| Error::invalid_key("its public key does not parse", e))?;
        match spki.algorithm.oid {
            RSA_ENCRYPTION => {
                let key = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(
                    spki.subject_public_key.raw_bytes(),
                )
                .map_err(|e| Error::invalid_key("its RSA public key does not parse", e))?;
                let n = key.modulus.as_bytes();
                check_rsa_size(modulus_bits(n))?;
                check_rsa_exponent(key.public_exponent.as_bytes())?;
                rsa::PublicKey::from_public_key_der(spki_der)
                    .map(|_| ())
                    .map_err(|e| Error::invalid_key("its RSA public key is not usable", e))
            }
            #[cfg(not(feature = "ecdsa"))]
            EC_PUBLIC_KEY => Err(ecdsa_not_built("ECDSA")),
            #[cfg(feature = "ecdsa")]
            EC_PUBLIC_KEY => {
                let curve = spki.algorithm.parameters_oid().map_err(|_| {
                    unsupported_algorithm("EC keys without a named curve are not supported")
                })?;
                let on_curve = match curve {
                    P256_CURVE => p256::PublicKey::from_public_key_der(spki_der).map(|_| ()),
                    P384_CURVE => p384::PublicKey::from_public_key_der(spki_der).map(|_| ()),
                    other => {
                        return Err(unsupported_algorithm(&format!(
                            "ECDSA {} keys are not supported",
                            curve_name(other)
                        )));
                    }
                };
                on_curve.map_err(|e| {
                    let what = curve_name(curve);
                    Error::invalid_key(
                        format!("its ECDSA {what} public key is not a point on the curve"),
                        e,
                    )
                })
            }
            other => Err(unsupported_algorithm(&format!(
                "{} keys are not supported",
                algorithm_name(other)
            ))),
        }
    }
}

/// An ECDSA key or algorithm in a build without the `ecdsa` feature.
#[cfg_attr(
    feature = "ecdsa",
    allow(dead_code, reason = "only reachable without ECDSA support")
)]
pub(super) fn ecdsa_not_built(what: &str) -> Error {
    Error::Unsupported {
        path: None,
        what: "key algorithm",
        detail: format!(
            "{what} keys need etcd-pki's `ecdsa` feature, which this build does not have; use RSA (2048 to 8192 bits)"
        ),
    }
}

/// Checks the size and public exponent of a PKCS#1 `RSAPrivateKey` before `rsa` parses it, so
/// that an RSA-16384 or e = 1 key is refused for what it is rather than reported as damaged.
/// Data that does not even have the structure is left to `rsa`'s parser to report.
pub(super) fn precheck_rsa(pkcs1_der: &[u8]) -> Result<(), Error> {
    let Ok(key) = rsa::pkcs1::RsaPrivateKey::<der::asn1::UintRef<'_>>::from_der(pkcs1_der) else {
        return Ok(());
    };
    let n = key.modulus.as_bytes();
    check_rsa_size(modulus_bits(n))?;
    check_rsa_exponent(key.public_exponent.as_bytes())
}

/// The size in bits of a big-endian modulus without leading zero bytes.
fn modulus_bits(n: &[u8]) -> usize {
    n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize)
}

/// Refuses RSA moduli outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`].
pub(super) fn check_rsa_size(bits: usize) -> Result<(), Error> {
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
pub(super) fn check_rsa_exponent(e: &[u8]) -> Result<(), Error> {
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

#[cfg(feature = "ecdsa")]
/// The name of an EC curve OID, for messages.
pub(super) fn curve_name(oid: spki::ObjectIdentifier) -> String {
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
pub(super) fn algorithm_name(oid: spki::ObjectIdentifier) -> String {
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

pub(super) fn unsupported_algorithm(what: &str) -> Error {
    Error::Unsupported {
        path: None,
        what: "key algorithm",
        detail: format!("{what}; use RSA (2048 to 8192 bits), ECDSA P-256 or ECDSA P-384"),
    }
}
