//! Signature verification: the one place that checks a signature made by a CA or by the key of a
//! certificate request, for the algorithms this crate issues and accepts (RSA PKCS#1 v1.5 with
//! SHA-256/384/512, ECDSA P-256/SHA-256 and P-384/SHA-384).

use der::Encode;

use crate::cert::Certificate;
use crate::error::Error;

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

/// Why a certificate's signature does not verify under a given key.
pub(crate) enum CertSignatureCheck {
    /// Its outer and inner signature algorithm fields differ (RFC 5280 §4.1.1.2).
    FieldsDiffer,
    /// See [`SignatureCheck`].
    Check(SignatureCheck),
}

/// Verifies the signature of `cert` with the public key `signer_spki_der` (DER
/// SubjectPublicKeyInfo): the issuer's key, or the certificate's own for a self-signed one.
///
/// # Errors
/// The inner `Err` says why the signature does not verify; the outer one is an encoding bug.
pub(crate) fn verify_certificate(
    cert: &Certificate,
    signer_spki_der: &[u8],
) -> Result<Result<(), CertSignatureCheck>, Error> {
    let x = cert.x509();
    if x.signature_algorithm() != x.tbs_certificate().signature() {
        return Ok(Err(CertSignatureCheck::FieldsDiffer));
    }
    let tbs = x
        .tbs_certificate()
        .to_der()
        .map_err(|e| Error::encoding("certificate", e))?;
    Ok(verify_signature(
        signer_spki_der,
        x.signature_algorithm().oid,
        &tbs,
        x.signature().raw_bytes(),
    )
    .map_err(CertSignatureCheck::Check))
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
