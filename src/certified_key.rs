//! A certificate together with the private key it was issued for: made by the builders, written
//! as a `<stem>.key` + `<stem>.cert` pair and read back, checked to belong together.

use std::fmt;
use std::path::Path;

use crate::cert::Certificate;
use crate::error::Error;
use crate::input::{self, Kind};
use crate::key::PrivateKey;
#[cfg(feature = "encrypted-keys")]
use crate::passphrase::Passphrase;
use crate::write_options::{self, Public, WriteOptions, WrittenFiles};

/// A certificate together with its private key.
///
/// ```
/// use etcd_pki::{CertifiedKey, ClientCert, KeyFormat, RootCa, WriteOptions};
///
/// let ca = RootCa::new().self_sign()?;
/// let client = ClientCert::new().issue(&ca)?;
/// # let dir = tempfile::tempdir().unwrap();
/// # let dir = dir.path();
/// client.write(dir, "client", &WriteOptions::new())?;
/// let again = CertifiedKey::load(dir, "client")?;
/// assert_eq!(again.certificate(), client.certificate());
///
/// let (cert, key) = again.into_parts();
/// let pem = (cert.to_pem()?, key.to_pem(KeyFormat::Pkcs8)?);
/// assert_eq!(CertifiedKey::from_pem(&pem.0, &pem.1)?.certificate(), &cert);
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Clone)]
pub struct CertifiedKey {
    cert: Certificate,
    key: PrivateKey,
}

impl fmt::Debug for CertifiedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertifiedKey")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish()
    }
}

impl CertifiedKey {
    /// Pairs a certificate with its private key, checking that the key is the one the
    /// certificate was issued for (its public half is the certificate's
    /// `SubjectPublicKeyInfo`).
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] if the key belongs to another certificate; [`Error::Encoding`]
    /// (a bug).
    pub fn new(cert: Certificate, key: PrivateKey) -> Result<Self, Error> {
        if !key.matches_spki(&cert.public_key_der()?) {
            return Err(Error::KeyMismatch {
                key_path: None,
                cert_path: None,
            });
        }
        Ok(Self { cert, key })
    }

    /// Parses a certificate (PEM, one `CERTIFICATE` block) and its unencrypted key (PEM:
    /// PKCS#1, PKCS#8 or SEC1) and checks that they belong together.
    ///
    /// # Errors
    /// Those of [`Certificate::from_pem`], [`PrivateKey::from_pem`] and [`CertifiedKey::new`].
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        Self::new(
            Certificate::from_pem(cert_pem)?,
            PrivateKey::from_pem(key_pem)?,
        )
    }

    /// As [`CertifiedKey::from_pem`], for a key that may be encrypted (`ENCRYPTED PRIVATE KEY`,
    /// decrypted with `passphrase`); an unencrypted key is read as by `from_pem`.
    ///
    /// # Errors
    /// Those of [`CertifiedKey::from_pem`], and [`Error::KeyDecryption`] for a wrong
    /// passphrase.
    #[cfg(feature = "encrypted-keys")]
    pub fn from_encrypted_pem(
        cert_pem: &str,
        key_pem: &str,
        passphrase: &Passphrase,
    ) -> Result<Self, Error> {
        Self::new(
            Certificate::from_pem(cert_pem)?,
            PrivateKey::from_encrypted_pem(key_pem, passphrase)?,
        )
    }

    /// Reads the pair [`CertifiedKey::write`] writes: `<dir>/<stem>.cert` and
    /// `<dir>/<stem>.key` (PKCS#1, PKCS#8 or SEC1; each file at most 1 MiB), and checks that
    /// they belong together.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::InputTooLarge`], [`Error::EncryptedKey`] for an encrypted key
    /// (use [`CertifiedKey::load_encrypted`]), those of [`CertifiedKey::from_pem`]; each with
    /// the path of the file it is about.
    pub fn load(dir: &Path, stem: &str) -> Result<Self, Error> {
        Self::load_with(dir, stem, PrivateKey::from_pem)
    }

    /// As [`CertifiedKey::load`], for a key file that may be encrypted (as
    /// [`WriteOptions::encrypt_key`] writes it), decrypted with `passphrase`.
    ///
    /// # Errors
    /// Those of [`CertifiedKey::load`], and [`Error::KeyDecryption`] for a wrong passphrase.
    #[cfg(feature = "encrypted-keys")]
    pub fn load_encrypted(dir: &Path, stem: &str, passphrase: &Passphrase) -> Result<Self, Error> {
        Self::load_with(dir, stem, |text| {
            PrivateKey::from_encrypted_pem(text, passphrase)
        })
    }

    fn load_with(
        dir: &Path,
        stem: &str,
        parse_key: impl FnOnce(&str) -> Result<PrivateKey, Error>,
    ) -> Result<Self, Error> {
        let paths = write_options::pair_paths(dir, stem, Public::Certificate);
        let (cert, key) = read_pair(&paths.cert, &paths.key, parse_key)?;
        Self::new(cert, key).map_err(|e| in_pair_files(e, &paths.cert, &paths.key))
    }

    /// The certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The private key.
    #[must_use]
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }

    /// The certificate and the key, e.g. to hand them to another library.
    #[must_use]
    pub fn into_parts(self) -> (Certificate, PrivateKey) {
        (self.cert, self.key)
    }

    /// Writes `<dir>/<stem>.key` (mode 0600) and `<dir>/<stem>.cert` (mode 0644), the file names
    /// `gen_etcd_certs.py` uses (`root`, `client`, `<ip>`); [`CertifiedKey::load`] reads them
    /// back.
    ///
    /// Both files are first written completely to temporary files in `dir`, then published
    /// with `link(2)` (or `rename(2)` when overwriting): after an error neither new file exists.
    /// Existing files are never replaced unless [`WriteOptions::overwrite`] is set, even when
    /// another process writes the same names at the same moment.
    ///
    /// # Errors
    /// [`Error::NotADirectory`], [`Error::AlreadyExists`], [`Error::Io`].
    pub fn write(
        &self,
        dir: &Path,
        stem: &str,
        options: &WriteOptions,
    ) -> Result<WrittenFiles, Error> {
        let cert_pem = self.cert.to_pem()?;
        write_options::write_pair(
            dir,
            stem,
            &self.key,
            Public::Certificate,
            &cert_pem,
            options,
        )
    }
}

/// Reads and parses a certificate file and a key file (each bounded, see `input`), attaching
/// to each error the path of the file it is about. Both files are read before either is
/// parsed, so that a missing key is reported even when the certificate is damaged.
pub(crate) fn read_pair(
    cert_path: &Path,
    key_path: &Path,
    parse_key: impl FnOnce(&str) -> Result<PrivateKey, Error>,
) -> Result<(Certificate, PrivateKey), Error> {
    let cert_text = input::read_pem_file(cert_path, Kind::Certificate)?;
    let key_text = input::read_pem_file(key_path, Kind::Key)?;
    let cert = Certificate::from_pem(&cert_text).map_err(|e| e.in_file(cert_path))?;
    let key = parse_key(&key_text).map_err(|e| e.in_file(key_path))?;
    Ok((cert, key))
}

/// Attaches the files of a pair to an error found checking them together: both paths to
/// [`Error::KeyMismatch`], the certificate's to the others (which are about it).
pub(crate) fn in_pair_files(e: Error, cert_path: &Path, key_path: &Path) -> Error {
    match e {
        Error::KeyMismatch { .. } => Error::KeyMismatch {
            key_path: Some(key_path.to_path_buf()),
            cert_path: Some(cert_path.to_path_buf()),
        },
        e => e.in_file(cert_path),
    }
}

#[cfg(test)]
#[path = "certified_key_tests.rs"]
mod tests;
