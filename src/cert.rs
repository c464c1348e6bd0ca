//! Issued certificates and certificate + key pairs.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use der::{Decode, Encode, EncodePem, pem::LineEnding};
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::fs::{self, OutFile};
use crate::key::{KeyFormat, PrivateKey};
#[cfg(feature = "encrypted-keys")]
use crate::passphrase::Passphrase;
use crate::pem;
use crate::profile::{CLIENT_AUTH, SERVER_AUTH};
use crate::validity::rfc3339;

/// An X.509 certificate.
///
/// ```
/// use etcd_pki::{RootCa, ServerCert};
///
/// let ca = RootCa::new().self_sign()?;
/// let node = ServerCert::new("10.0.0.11".parse().unwrap()).issue(&ca)?;
/// let cert = node.certificate();
/// assert_eq!(cert.ip_addresses(), ["127.0.0.1".parse::<std::net::IpAddr>().unwrap(), "10.0.0.11".parse().unwrap()]);
/// assert!(cert.is_server_auth() && cert.is_client_auth() && !cert.is_ca());
/// assert_eq!(cert.issuer(), ca.certificate().subject());
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    inner: x509_cert::Certificate,
    der: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("serial", &self.serial_hex())
            .field(
                "not_after",
                &rfc3339(self.inner.tbs_certificate().validity().not_after),
            )
            .finish()
    }
}

impl Certificate {
    pub(crate) fn from_x509(inner: x509_cert::Certificate) -> Result<Self, Error> {
        let der = inner
            .to_der()
            .map_err(|e| Error::encoding("certificate", e))?;
        Ok(Self { inner, der })
    }

    /// Parses a DER certificate.
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`] if the bytes are not one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let inner =
            x509_cert::Certificate::from_der(der).map_err(|e| Error::InvalidCertificate {
                path: None,
                reason: format!(
                    "its contents are incomplete or damaged ({e}); the file may be truncated or edited"
                ),
                source: Some(Box::new(e)),
            })?;
        Ok(Self {
            inner,
            der: der.to_vec(),
        })
    }

    /// Parses a PEM certificate file's text. The text must hold exactly one `CERTIFICATE` block:
    /// a chain or bundle is refused rather than guessing which certificate is meant. Blocks of
    /// other kinds (the key in a combined key + certificate file) are skipped.
    ///
    /// # Errors
    /// [`Error::InvalidPem`] if there is no `CERTIFICATE` block or it is damaged;
    /// [`Error::InvalidCertificate`] if there are several, or the contents do not parse.
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let block = pem::decode_first(text, &["CERTIFICATE"])?;
        let n = pem::count(text, "CERTIFICATE");
        if n > 1 {
            return Err(Error::InvalidCertificate {
                path: None,
                reason: format!(
                    "the file holds {n} PEM blocks of certificates; give a file with only the one certificate"
                ),
                source: None,
            });
        }
        Self::from_der(&block.der)
    }

    /// Reads a certificate file (PEM, one certificate; at most 1 MiB).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::InputTooLarge`]; [`Error::InvalidPem`] (for a DER file, with the
    /// `openssl x509` command that converts it) and those of [`Certificate::from_pem`], with
    /// the path.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = crate::input::read_pem_file(path, crate::input::Kind::Certificate)?;
        Self::from_pem(&text).map_err(|e| e.in_file(path))
    }

    /// The DER encoding.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding (`CERTIFICATE`, LF line endings).
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn to_pem(&self) -> Result<String, Error> {
        self.inner
            .to_pem(LineEnding::LF)
            .map_err(|e| Error::encoding("certificate", e))
    }

    /// Writes the certificate alone to `<dir>/<name>` (mode 0644), atomically and, unless
    /// [`WriteOptions::overwrite`] is set, never replacing an existing file (e.g. the
    /// certificate signed for a request, whose key stays on its node).
    ///
    /// # Errors
    /// [`Error::NotADirectory`], [`Error::AlreadyExists`], [`Error::Io`].
    pub fn write(&self, dir: &Path, name: &str, options: &WriteOptions) -> Result<PathBuf, Error> {
        let pem = self.to_pem()?;
        let files = [OutFile {
            name,
            contents: pem.as_bytes(),
            mode: fs::PUBLIC,
        }];
        fs::write_set(dir, &files, options.overwrite)?;
        Ok(dir.join(name))
    }

    pub(crate) fn x509(&self) -> &x509_cert::Certificate {
        &self.inner
    }

    /// The subject name, as an RFC 4514 string (most specific attribute first).
    #[must_use]
    pub fn subject(&self) -> String {
        self.inner.tbs_certificate().subject().to_string()
    }

    /// The issuer name, as an RFC 4514 string.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.inner.tbs_certificate().issuer().to_string()
    }

    /// The subject's common name, if any.
    #[must_use]
    pub fn common_name(&self) -> Option<String> {
        self.inner
            .tbs_certificate()
            .subject()
            .common_name()
            .ok()
            .flatten()
            .map(|cn| cn.value().into_owned())
    }

    /// The serial number in lower-case hexadecimal.
    #[must_use]
    pub fn serial_hex(&self) -> String {
        self.inner
            .tbs_certificate()
            .serial_number()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Start of the validity period.
    #[must_use]
    pub fn not_before(&self) -> SystemTime {
        self.inner
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
    }

    /// End of the validity period.
    #[must_use]
    pub fn not_after(&self) -> SystemTime {
        self.inner
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time()
    }

    /// Whether this is an X.509 v3 certificate.
    #[must_use]
    pub fn is_v3(&self) -> bool {
        self.inner.tbs_certificate().version() == Version::V3
    }

    /// Whether the certificate has basicConstraints with `cA` TRUE.
    #[must_use]
    pub fn is_ca(&self) -> bool {
        matches!(
            self.inner.tbs_certificate().get_extension::<BasicConstraints>(),
            Ok(Some((_, bc))) if bc.ca
        )
    }

    fn has_eku(&self, oid: der::oid::ObjectIdentifier) -> bool {
        matches!(
            self.inner.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
            Ok(Some((_, eku))) if eku.0.contains(&oid)
        )
    }

    /// Whether the extended key usage allows TLS server authentication.
    #[must_use]
    pub fn is_server_auth(&self) -> bool {
        self.has_eku(SERVER_AUTH)
    }

    /// Whether the extended key usage allows TLS client authentication.
    #[must_use]
    pub fn is_client_auth(&self) -> bool {
        self.has_eku(CLIENT_AUTH)
    }

    fn alt_names(&self) -> Vec<GeneralName> {
        match self
            .inner
            .tbs_certificate()
            .get_extension::<SubjectAltName>()
        {
            Ok(Some((_, san))) => san.0,
            _ => Vec::new(),
        }
    }

    /// The IP addresses among the subject alternative names, in certificate order.
    #[must_use]
    pub fn ip_addresses(&self) -> Vec<IpAddr> {
        self.alt_names()
            .iter()
            .filter_map(|n| match n {
                GeneralName::IpAddress(o) => match o.as_bytes().len() {
                    4 => <[u8; 4]>::try_from(o.as_bytes()).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(o.as_bytes()).ok().map(IpAddr::from),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// The DNS names among the subject alternative names, in certificate order.
    #[must_use]
    pub fn dns_names(&self) -> Vec<String> {
        self.alt_names()
            .iter()
            .filter_map(|n| match n {
                GeneralName::DnsName(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The DER `SubjectPublicKeyInfo` of the certificate's key (compare with
    /// [`PrivateKey::public_key_der`] to check that a key belongs to it).
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn public_key_der(&self) -> Result<Vec<u8>, Error> {
        self.inner
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::encoding("public key", e))
    }
}

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
}

impl WriteOptions {
    /// `key` as these options write it: encrypted if asked, else PEM in the chosen format.
    pub(crate) fn key_pem(&self, key: &PrivateKey) -> Result<Zeroizing<String>, Error> {
        #[cfg(feature = "encrypted-keys")]
        if let Some(passphrase) = &self.encrypt_key {
            return key.to_encrypted_pem(passphrase);
        }
        key.to_pem(self.key_format)
    }
}

/// The files written by [`CertifiedKey::write`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WrittenFiles {
    /// `<stem>.key`, mode 0600.
    pub key: PathBuf,
    /// `<stem>.cert`, mode 0644.
    pub cert: PathBuf,
}

/// A certificate together with its private key.
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
    pub(crate) fn new(cert: Certificate, key: PrivateKey) -> Self {
        Self { cert, key }
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

    /// The certificate as PEM.
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn cert_pem(&self) -> Result<String, Error> {
        self.cert.to_pem()
    }

    /// The private key as PEM in `format`.
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn key_pem(&self, format: KeyFormat) -> Result<Zeroizing<String>, Error> {
        self.key.to_pem(format)
    }

    /// Writes `<dir>/<stem>.key` (mode 0600) and `<dir>/<stem>.cert` (mode 0644), the file names
    /// `gen_etcd_certs.py` uses (`root`, `client`, `<ip>`).
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
        let key_pem = options.key_pem(&self.key)?;
        let cert_pem = self.cert.to_pem()?;
        let key_name = format!("{stem}.key");
        let cert_name = format!("{stem}.cert");
        let files = [
            OutFile {
                name: &key_name,
                contents: key_pem.as_bytes(),
                mode: fs::SECRET,
            },
            OutFile {
                name: &cert_name,
                contents: cert_pem.as_bytes(),
                mode: fs::PUBLIC,
            },
        ];
        fs::write_set(dir, &files, options.overwrite)?;
        Ok(WrittenFiles {
            key: dir.join(key_name),
            cert: dir.join(cert_name),
        })
    }
}
