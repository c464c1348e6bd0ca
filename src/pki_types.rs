//! Conversions to the certificate and key types of `rustls-pki-types` (feature `rustls`), the
//! types rustls, tonic and most Rust TLS clients and servers take: no PEM round trip, and no
//! crypto provider needed.
//!
//! ```
//! use etcd_pki::{RootCa, ServerCert};
//! use rustls_pki_types::{CertificateDer, PrivateKeyDer};
//!
//! let ca = RootCa::new().self_sign()?;
//! let node = ServerCert::new("10.0.0.1".parse().unwrap()).issue(&ca)?;
//! // What `rustls::ServerConfigBuilder::with_single_cert` takes:
//! let (chain, key): (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) =
//!     (&node).try_into()?;
//! // What a `rustls::RootCertStore` takes:
//! let root = CertificateDer::from(ca.certificate());
//! # let _ = (chain, key, root);
//! # Ok::<(), etcd_pki::Error>(())
//! ```

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::cert::Certificate;
use crate::certified_key::CertifiedKey;
use crate::error::Error;
use crate::key::PrivateKey;

impl From<&Certificate> for CertificateDer<'static> {
    fn from(cert: &Certificate) -> Self {
        Self::from(cert.to_der())
    }
}

impl From<Certificate> for CertificateDer<'static> {
    fn from(cert: Certificate) -> Self {
        Self::from(cert.into_der())
    }
}

/// The key as PKCS#8 DER. `PrivateKeyDer` does not zeroize itself when dropped: call
/// `zeroize::Zeroize::zeroize` on it when done, or hand it to rustls, which keeps it only inside
/// its signing key.
impl TryFrom<&PrivateKey> for PrivateKeyDer<'static> {
    type Error = Error;

    fn try_from(key: &PrivateKey) -> Result<Self, Error> {
        let mut der = key.to_pkcs8_der()?;
        // Move the bytes out of the zeroizing buffer rather than copy them.
        Ok(Self::Pkcs8(PrivatePkcs8KeyDer::from(std::mem::take(
            &mut *der,
        ))))
    }
}

/// As for `&PrivateKey`; the key itself is zeroized when dropped here.
impl TryFrom<PrivateKey> for PrivateKeyDer<'static> {
    type Error = Error;

    fn try_from(key: PrivateKey) -> Result<Self, Error> {
        Self::try_from(&key)
    }
}

/// The certificate chain and key as rustls' `with_single_cert` and `with_client_auth_cert`
/// take them. The chain is the certificate alone: etcd's peers and clients trust the root CA
/// itself, so there is no intermediate to send. See `TryFrom<&PrivateKey>` on zeroizing the
/// key.
impl TryFrom<&CertifiedKey> for (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    type Error = Error;

    fn try_from(pair: &CertifiedKey) -> Result<Self, Error> {
        let key = PrivateKeyDer::try_from(pair.private_key())?;
        Ok((vec![CertificateDer::from(pair.certificate())], key))
    }
}

/// As for `&CertifiedKey`.
impl TryFrom<CertifiedKey> for (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    type Error = Error;

    fn try_from(pair: CertifiedKey) -> Result<Self, Error> {
        let (cert, key) = pair.into_parts();
        let key = PrivateKeyDer::try_from(key)?;
        Ok((vec![CertificateDer::from(cert)], key))
    }
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;

    use super::*;
    use crate::{KeyAlgorithm, KeyFormat};

    #[test]
    fn conversions_carry_the_same_bytes_as_the_pem_files() {
        let key = PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
        let ca = crate::RootCa::new().self_sign_with_key(key).unwrap();
        let cert = CertificateDer::from(ca.certificate());
        let from_pem =
            CertificateDer::from_pem_slice(ca.certificate().to_pem().unwrap().as_bytes());
        assert_eq!(cert, from_pem.unwrap());
        assert_eq!(cert, CertificateDer::from(ca.certificate().clone()));
        let key = PrivateKeyDer::try_from(ca.certified_key().private_key()).unwrap();
        let pem = ca
            .certified_key()
            .private_key()
            .to_pem(KeyFormat::Pkcs8)
            .unwrap();
        assert_eq!(key, PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap());
        let owned = PrivateKeyDer::try_from(ca.certified_key().private_key().clone()).unwrap();
        assert_eq!(key, owned);
    }

    #[test]
    fn a_certified_key_converts_to_a_chain_and_key() {
        let ca = crate::RootCa::new().self_sign().unwrap();
        #[cfg(feature = "ecdsa")]
        let algorithms = [KeyAlgorithm::Rsa2048, KeyAlgorithm::EcdsaP256];
        #[cfg(not(feature = "ecdsa"))]
        let algorithms = [KeyAlgorithm::Rsa2048];
        for algorithm in algorithms {
            let node = crate::ServerCert::new("10.0.0.1".parse().unwrap())
                .key_algorithm(algorithm)
                .issue(&ca)
                .unwrap();
            let (chain, key) =
                <(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>::try_from(&node).unwrap();
            assert_eq!(chain, [CertificateDer::from(node.certificate().to_der())]);
            let pem = node.private_key().to_pem(KeyFormat::Pkcs8).unwrap();
            assert_eq!(key, PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap());
            let owned =
                <(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>::try_from(node).unwrap();
            assert_eq!(owned, (chain, key));
        }
    }

    /// Why the crate's bundle reader is not rustls-pki-types' PEM reader (see `pem`): that
    /// reader skips a block it has no name for, so a bundle with a stray block reads as a
    /// shorter bundle, where ours names the block. When this fails, reconsider.
    #[test]
    fn rustls_pki_types_skips_blocks_it_does_not_know() {
        let ca = crate::RootCa::new().self_sign().unwrap();
        let text = format!(
            "{}-----BEGIN TRUSTED CERTIFICATE-----\nAQID\n-----END TRUSTED CERTIFICATE-----\n",
            ca.certificate().to_pem().unwrap()
        );
        let theirs: Vec<_> = CertificateDer::pem_slice_iter(text.as_bytes()).collect();
        assert_eq!(theirs.len(), 1);
        assert!(theirs[0].is_ok());
        let e = Certificate::bundle_from_pem(&text).unwrap_err();
        assert!(e.to_string().contains("TRUSTED CERTIFICATE"), "{e}");
    }
}
