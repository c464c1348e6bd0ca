//! An RSA private key as the crate keeps it: `rsa`'s key (with its precomputed CRT values) and
//! the base-blinding pair its signatures reuse, and signing with it (PKCS#1 v1.5, SHA-256).

use std::ops::Deref;
use std::sync::Mutex;

use crypto_bigint::BoxedUint;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::{self, Keypair, Signer};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureAlgorithmIdentifier,
};
use zeroize::Zeroizing;

use crate::keygen::crt::{self, Blinding};

/// `rsa`'s private key and the state of its signatures' base blinding
/// ([`crt`](crate::keygen::crt)). A clone starts without a blinding pair; equality is the
/// key's.
pub(crate) struct RsaKey {
    key: rsa::PrivateKey,
    blinding: Mutex<Option<Blinding>>,
}

impl RsaKey {
    pub(crate) fn new(key: rsa::PrivateKey) -> Self {
        Self {
            key,
            blinding: Mutex::new(None),
        }
    }

    /// The PKCS#1 v1.5 signature with SHA-256 of `msg`: blinded, constant time, checked
    /// before it is returned ([`crt::sign_raw`]); keys that module does not handle are signed
    /// by `rsa` (with its own blinding and check).
    pub(crate) fn sign_pkcs1v15_sha256(&self, msg: &[u8]) -> Result<Signature, signature::Error> {
        let k = self.key.size();
        let digest = Sha256::digest(msg);
        let prefix = rsa::Pkcs1v15Sign::new::<Sha256>().prefix;
        let t_len = prefix.len() + digest.len();
        if k < t_len + 11 {
            return Err(signature::Error::new());
        }
        // EM = 0x00 || 0x01 || PS (0xff…) || 0x00 || DigestInfo prefix || H (RFC 8017 §9.2).
        let mut em = vec![0xff; k];
        em[0] = 0;
        em[1] = 1;
        em[k - t_len - 1] = 0;
        em[k - t_len..k - digest.len()].copy_from_slice(&prefix);
        em[k - digest.len()..].copy_from_slice(&digest);
        let Ok(em) = BoxedUint::from_be_slice(&em, self.key.n_bits_precision()) else {
            return self.sign_with_rsa(msg);
        };
        let mut guard = self
            .blinding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let result = crt::sign_raw(&self.key, &em, &mut guard, &mut rand::rng());
        drop(guard);
        match result {
            Ok(s) => {
                let s = Zeroizing::new(s);
                Signature::try_from(s.to_be_bytes().as_ref())
            }
            Err(crt::Failure::Unsupported) => self.sign_with_rsa(msg),
            Err(crt::Failure::OutOfRange | crt::Failure::Fault) => Err(signature::Error::new()),
        }
    }

    /// `rsa` 0.10's own PKCS#1 v1.5 signature (for the keys [`crt::sign_raw`] does not handle,
    /// and for the tests).
    pub(crate) fn sign_with_rsa(&self, msg: &[u8]) -> Result<Signature, signature::Error> {
        rsa::pkcs1v15::SigningKey::<Sha256>::new(self.key.clone()).try_sign(msg)
    }
}

impl Deref for RsaKey {
    type Target = rsa::PrivateKey;
    fn deref(&self) -> &rsa::PrivateKey {
        &self.key
    }
}

impl Clone for RsaKey {
    fn clone(&self) -> Self {
        Self::new(self.key.clone())
    }
}

impl PartialEq for RsaKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for RsaKey {}

/// What `x509-cert`'s builders sign with: an [`RsaKey`] as a PKCS#1 v1.5 SHA-256 signer.
pub(crate) struct RsaSigner<'a>(pub(crate) &'a RsaKey);

impl Signer<Signature> for RsaSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<Signature, signature::Error> {
        self.0.sign_pkcs1v15_sha256(msg)
    }
}

impl Keypair for RsaSigner<'_> {
    type VerifyingKey = VerifyingKey<Sha256>;
    fn verifying_key(&self) -> VerifyingKey<Sha256> {
        VerifyingKey::new(self.0.key.to_public_key())
    }
}

impl DynSignatureAlgorithmIdentifier for RsaSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(rsa::pkcs1v15::SigningKey::<Sha256>::SIGNATURE_ALGORITHM_IDENTIFIER.into())
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    /// Both paths, the crate's CRT signature and `rsa`'s (for a size the former does not
    /// handle), give `rsa` 0.10's signature, which verifies.
    #[test]
    fn signatures_are_rsa_010s_on_both_paths() {
        let mut rng = StdRng::seed_from_u64(11);
        for bits in [2048, 2112] {
            let key = RsaKey::new(rsa::PrivateKey::new(&mut rng, bits).expect("key"));
            for msg in [&b""[..], b"a certificate", &[0xa5; 3000]] {
                let ours = key.sign_pkcs1v15_sha256(msg).expect("signs");
                assert_eq!(
                    ours,
                    key.sign_with_rsa(msg).expect("rsa signs"),
                    "{bits} bits"
                );
                let verifier = RsaSigner(&key).verifying_key();
                signature::Verifier::verify(&verifier, msg, &ours).expect("verifies");
            }
            // A clone has its own blinding state and signs alike.
            assert_eq!(
                key.clone().sign_pkcs1v15_sha256(b"x").expect("signs"),
                key.sign_pkcs1v15_sha256(b"x").expect("signs")
            );
        }
    }
}
