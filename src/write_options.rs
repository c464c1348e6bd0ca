//! How a private key and its certificate (or request) are written to files: the options
//! ([`WriteOptions`]), the file names (`<stem>.key` beside `<stem>.cert` or `<stem>.csr`, as
//! `gen_etcd_certs.py` names them), and what was written ([`WrittenFiles`]). The writing itself
//! (atomic, never clobbering, modes whatever the umask) is `fs`'s.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::Error;
use crate::fs::{self, OutFile};
use crate::key::{KeyFormat, PrivateKey};
#[cfg(feature = "encrypted-keys")]
use crate::passphrase::Passphrase;

/// Options for writing a certificate and its key to files.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Replace existing files (default: refuse with [`Error::AlreadyExists`]).
    pub overwrite: bool,
    /// The key file's format (default: PKCS#1, as the script).
    pub key_format: KeyFormat,
    /// Encrypt the key with this passphrase (encrypted PKCS#8; `key_format` is then ignored).
    /// Meant for the root key: etcd cannot read encrypted node or client keys.
    #[cfg(feature = "encrypted-keys")]
    pub encrypt_key: Option<Passphrase>,
}

impl WriteOptions {
    /// The defaults: no overwriting, PKCS#1 keys.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows or forbids replacing existing files.
    #[must_use]
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Sets the key file's format.
    #[must_use]
    pub fn key_format(mut self, format: KeyFormat) -> Self {
        self.key_format = format;
        self
    }

    /// Encrypts the key file with `passphrase` (for a root key kept on a CA host).
    #[cfg(feature = "encrypted-keys")]
    #[must_use]
    pub fn encrypt_key(mut self, passphrase: Passphrase) -> Self {
        self.encrypt_key = Some(passphrase);
        self
    }

    /// `key` as these options write it: encrypted if asked, else PEM in the chosen format.
    fn key_pem(&self, key: &PrivateKey) -> Result<Zeroizing<String>, Error> {
        #[cfg(feature = "encrypted-keys")]
        if let Some(passphrase) = &self.encrypt_key {
            return key.to_encrypted_pem(passphrase);
        }
        key.to_pem(self.key_format)
    }
}

/// The files written by a pair writer ([`CertifiedKey::write`](crate::CertifiedKey::write),
/// [`Issuer::write`](crate::Issuer::write),
/// [`CertificateRequest::write`](crate::request::CertificateRequest::write)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WrittenFiles {
    /// The private key, `<stem>.key`, mode 0600.
    pub key: PathBuf,
    /// The public half beside it, mode 0644: the certificate `<stem>.cert`, or for a
    /// [`CertificateRequest::write`](crate::request::CertificateRequest::write) pair the
    /// request `<stem>.csr`.
    pub cert: PathBuf,
}

/// What the public file of a pair holds, which chooses its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Public {
    /// A certificate: `<stem>.cert`.
    Certificate,
    /// A certificate signing request: `<stem>.csr`.
    Request,
}

/// The file names of the pair `stem`: the key file and the public file. The one place that
/// knows them, for the writers and for [`CertifiedKey::load`](crate::CertifiedKey::load).
fn pair_names(stem: &str, public: Public) -> (String, String) {
    let ext = match public {
        Public::Certificate => "cert",
        Public::Request => "csr",
    };
    (format!("{stem}.key"), format!("{stem}.{ext}"))
}

/// The paths of the pair `stem` in `dir` (see [`pair_names`]).
pub(crate) fn pair_paths(dir: &Path, stem: &str, public: Public) -> WrittenFiles {
    let (key, cert) = pair_names(stem, public);
    WrittenFiles {
        key: dir.join(key),
        cert: dir.join(cert),
    }
}

/// Writes `key` (as `options` say) and `public_pem` as the pair `stem` in `dir`, as a unit:
/// after an error neither new file exists (see `fs::write_set`).
pub(crate) fn write_pair(
    dir: &Path,
    stem: &str,
    key: &PrivateKey,
    public: Public,
    public_pem: &str,
    options: &WriteOptions,
) -> Result<WrittenFiles, Error> {
    let key_pem = options.key_pem(key)?;
    let (key_name, public_name) = pair_names(stem, public);
    let files = [
        OutFile {
            name: &key_name,
            contents: key_pem.as_bytes(),
            mode: fs::SECRET,
        },
        OutFile {
            name: &public_name,
            contents: public_pem.as_bytes(),
            mode: fs::PUBLIC,
        },
    ];
    fs::write_set(dir, &files, options.overwrite)?;
    Ok(pair_paths(dir, stem, public))
}
