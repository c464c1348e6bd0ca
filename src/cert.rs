//! X.509 certificates: parsing (one certificate, or a bundle of several), encoding, writing,
//! and what a certificate says (names, validity, usages).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use der::{Decode, Encode};
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};

use crate::error::Error;
use crate::fs::{self, OutFile};
use crate::input::{self, Kind};
use crate::pem;
use crate::role::{CLIENT_AUTH, SERVER_AUTH};
use crate::validity::rfc3339;
use crate::write_options::WriteOptions;

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
        Self::parse_der(der, "its contents are incomplete or damaged")
    }

    /// [`Certificate::from_der`], saying `what` is wrong if it does not parse.
    fn parse_der(der: &[u8], what: &str) -> Result<Self, Error> {
        let inner =
            x509_cert::Certificate::from_der(der).map_err(|e| Error::InvalidCertificate {
                path: None,
                reason: format!("{what}; the file may be truncated or edited"),
                source: Some(Box::new(e)),
            })?;
        Ok(Self {
            inner,
            der: der.to_vec(),
        })
    }

    /// Parses a PEM certificate file's text. The text must hold exactly one `CERTIFICATE` block:
    /// a chain or bundle is refused rather than guessing which certificate is meant (read those
    /// with [`Certificate::bundle_from_pem`]). Blocks of other kinds (the key in a combined
    /// key + certificate file) are skipped.
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
        let text = input::read_pem_file(path, Kind::Certificate)?;
        Self::from_pem(&text).map_err(|e| e.in_file(path))
    }

    /// Parses a PEM bundle of one or more certificates (a CA bundle, a chain), in the order
    /// they appear. As lenient as [`Certificate::from_pem`] (text around the blocks, CRLF,
    /// base64 wrapped at any width or not at all), but every block must be a `CERTIFICATE`:
    /// a key or any other block in a bundle is refused, not skipped.
    ///
    /// ```
    /// use etcd_pki::{Certificate, RootCa};
    ///
    /// let (a, b) = (RootCa::new().self_sign()?, RootCa::new().self_sign()?);
    /// let text = a.certificate().to_pem()? + &b.certificate().to_pem()?;
    /// let bundle = Certificate::bundle_from_pem(&text)?;
    /// assert_eq!(bundle, [a.certificate().clone(), b.certificate().clone()]);
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidPem`] if the text holds no PEM block, a block that is not a
    /// certificate (naming it) or a damaged block; [`Error::InvalidCertificate`] if a
    /// certificate does not parse (saying which).
    pub fn bundle_from_pem(text: &str) -> Result<Vec<Self>, Error> {
        let blocks = pem::decode_all(text, "CERTIFICATE")?;
        let n = blocks.len();
        blocks
            .iter()
            .enumerate()
            .map(|(i, block)| {
                let what = format!(
                    "certificate {} of the {n} in the bundle is incomplete or damaged",
                    i + 1
                );
                Self::parse_der(&block.der, &what)
            })
            .collect()
    }

    /// Reads a PEM bundle file of one or more certificates (at most 1 MiB), as
    /// [`Certificate::bundle_from_pem`] parses it.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::InputTooLarge`]; [`Error::InvalidPem`] (for a DER file, with the
    /// `openssl x509` command that converts it) and those of
    /// [`Certificate::bundle_from_pem`], with the path.
    pub fn load_bundle(path: &Path) -> Result<Vec<Self>, Error> {
        let text = input::read_pem_file(path, Kind::Certificate)?;
        Self::bundle_from_pem(&text).map_err(|e| e.in_file(path))
    }

    /// The DER encoding (the bytes it was parsed from or signed as).
    #[must_use]
    pub fn to_der(&self) -> Vec<u8> {
        self.der.clone()
    }

    /// The DER encoding, moved out.
    #[cfg(feature = "rustls")]
    pub(crate) fn into_der(self) -> Vec<u8> {
        self.der
    }

    /// The PEM encoding (`CERTIFICATE`, LF line endings).
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn to_pem(&self) -> Result<String, Error> {
        pem::encode("CERTIFICATE", &self.der).map_err(|e| Error::encoding("certificate", e))
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
    /// [`PrivateKey::public_key_der`](crate::PrivateKey::public_key_der) to check that a key belongs to it).
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
