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
//! let chain = vec![CertificateDer::from(node.certificate())];
//! let key = PrivateKeyDer::try_from(node.private_key())?;
//! let root = CertificateDer::from(ca.certificate());
//! # let _ = (chain, key, root);
//! # Ok::<(), etcd_pki::Error>(())
//! ```

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::cert::Certificate;
use crate::error::Error;
use crate::key::PrivateKey;

impl From<&Certificate> for CertificateDer<'static> {
    fn from(cert: &Certificate) -> Self {
        Self::from(cert.der().to_vec())
    }
}

impl From<Certificate> for CertificateDer<'static> {
    fn from(cert: Certificate) -> Self {
        Self::from(&cert)
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

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;

    use super::*;
    use crate::KeyFormat;

    #[test]
    fn conversions_carry_the_same_bytes_as_the_pem_files() {
        let key = PrivateKey::generate(crate::KeyAlgorithm::Rsa2048).unwrap();
        let ca = crate::RootCa::new().self_sign_with_key(key).unwrap();
        let cert = CertificateDer::from(ca.certificate());
        let from_pem =
            CertificateDer::from_pem_slice(ca.certificate().to_pem().unwrap().as_bytes());
        assert_eq!(cert, from_pem.unwrap());
        let key = PrivateKeyDer::try_from(ca.certified_key().private_key()).unwrap();
        let pem = ca
            .certified_key()
            .private_key()
            .to_pem(KeyFormat::Pkcs8)
            .unwrap();
        assert_eq!(key, PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap());
    }
}
