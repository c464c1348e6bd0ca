//! The crate's one error type.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A boxed error from an underlying library, kept as the [`std::error::Error::source`] of our
/// own variants so that a RustCrypto major version bump is not an etcd-pki major version bump.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in etcd-pki.
///
/// Each variant says what was wrong and what to do about it. Variants about an input file carry
/// its path once it is known (`path: Option<PathBuf>`); the underlying library error, if any, is
/// the [`source`](std::error::Error::source), never formatted into the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An output file already exists and overwriting was not asked for.
    #[error(
        "refusing to overwrite existing file {}: remove it, choose another directory, or allow overwriting (--force)",
        path.display()
    )]
    AlreadyExists {
        /// The file that exists.
        path: PathBuf,
    },

    /// The CA certificate's validity does not include the current time.
    #[error(
        "{}the CA certificate is {state} (valid from {not_before} to {not_after}): issue a new root CA",
        at(path)
    )]
    CaNotValidNow {
        /// The certificate file, when known.
        path: Option<PathBuf>,
        /// `"expired"` or `"not yet valid"`.
        state: &'static str,
        /// Start of the CA's validity (RFC 3339).
        not_before: String,
        /// End of the CA's validity (RFC 3339).
        not_after: String,
    },

    /// Encoding our own output failed; this is a bug in etcd-pki or a dependency.
    #[error("failed to encode {what}: this is a bug, please report it")]
    Encoding {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: BoxError,
    },

    /// A private key file is encrypted and this crate cannot (or was not asked to) decrypt it.
    #[error("{}the private key is encrypted: {hint}", at(path))]
    EncryptedKey {
        /// The key file, when known.
        path: Option<PathBuf>,
        /// How to get a key this crate can read.
        hint: &'static str,
    },

    /// A certificate could not be parsed, or does not have the shape asked for.
    #[error("{}invalid certificate: {reason}", at(path))]
    InvalidCertificate {
        /// The certificate file, when known.
        path: Option<PathBuf>,
        /// What is wrong with it.
        reason: String,
        /// The parser's error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A common name is empty, too long or contains control characters.
    #[error("invalid common name {value:?}: {reason}")]
    InvalidCommonName {
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A DNS name for a subject alternative name is not a valid host name.
    #[error("invalid DNS name {value:?}: {reason}")]
    InvalidDnsName {
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// An IP address cannot name a server in a certificate.
    #[error("invalid IP address {value} for a certificate: {reason}")]
    InvalidIpAddress {
        /// The rejected address.
        value: IpAddr,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A certificate signing request could not be parsed.
    #[error("{}invalid certificate request: {reason}", at(path))]
    InvalidRequest {
        /// The request file, when known.
        path: Option<PathBuf>,
        /// What is wrong with it.
        reason: String,
    },

    /// A private key could not be parsed or is not usable.
    #[error("{}invalid private key: {reason}", at(path))]
    InvalidKey {
        /// The key file, when known.
        path: Option<PathBuf>,
        /// What is wrong with it.
        reason: String,
        /// The parser's error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A file is not PEM, or holds a PEM block of the wrong type.
    #[error("{}expected a PEM '{expected}' block, {found}", at(path))]
    InvalidPem {
        /// The file, when known.
        path: Option<PathBuf>,
        /// The PEM label(s) that were expected.
        expected: &'static str,
        /// What was found instead, in words.
        found: String,
    },

    /// A passphrase could not be had from where it was asked for.
    #[error("no usable passphrase in {source_name}: {reason}")]
    InvalidPassphrase {
        /// Where the passphrase was to come from.
        source_name: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// An encrypted private key could not be decrypted.
    #[error(
        "{}cannot decrypt the private key: wrong passphrase, or the file is damaged",
        at(path)
    )]
    KeyDecryption {
        /// The key file, when known.
        path: Option<PathBuf>,
        /// The decryption error.
        #[source]
        source: BoxError,
    },

    /// A cluster plan is incomplete or inconsistent.
    #[error("invalid cluster plan: {reason}")]
    InvalidPlan {
        /// What is wrong, and where.
        reason: String,
    },

    /// A subject attribute (country, organisation, …) is not valid.
    #[error("invalid subject attribute {attribute}={value:?}: {reason}")]
    InvalidSubject {
        /// The attribute's short name (`C`, `ST`, `L`, `O`, `OU`, `CN`).
        attribute: &'static str,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A validity period is zero or ends after 9999-12-31.
    #[error("invalid validity of {days} days: {reason}")]
    InvalidValidity {
        /// The rejected number of days.
        days: u64,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `write`, `create`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// Key generation failed (e.g. the random number generator failed).
    #[error("key generation failed")]
    KeyGeneration {
        /// The generator's error.
        #[source]
        source: BoxError,
    },

    /// The CA private key does not belong to the CA certificate.
    #[error(
        "{}the private key does not belong to the CA certificate: give the key that was generated together with this certificate",
        at(key_path)
    )]
    KeyMismatch {
        /// The key file, when known.
        key_path: Option<PathBuf>,
        /// The certificate file, when known.
        cert_path: Option<PathBuf>,
    },

    /// A directory that would be written already exists and holds other files.
    #[error(
        "refusing to write into {}: it already exists and is not empty; remove it or choose another output directory",
        path.display()
    )]
    DirectoryNotEmpty {
        /// The directory.
        path: PathBuf,
    },

    /// A directory was expected but the path is missing or is something else.
    #[error("{} is not a directory: {reason}", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
        /// Why it is not usable.
        reason: &'static str,
    },

    /// The certificate given as a CA cannot sign certificates.
    #[error(
        "{}not a CA certificate: {reason}; give the root certificate (root.cert), not a client or node certificate",
        at(path)
    )]
    NotACa {
        /// The certificate file, when known.
        path: Option<PathBuf>,
        /// Why it is not a CA.
        reason: &'static str,
    },

    /// A certificate signing request asks for something the CA does not allow, or its
    /// signature does not verify.
    #[error("certificate request refused: {reason}")]
    RequestRefused {
        /// Why, naming what was asked for and what is allowed.
        reason: String,
    },

    /// Signing a certificate failed.
    #[error("signing the certificate failed")]
    Signing {
        /// The signer's error.
        #[source]
        source: BoxError,
    },

    /// A key or signature algorithm that this crate does not support.
    #[error("{}unsupported {what}: {detail}", at(path))]
    Unsupported {
        /// The file, when known.
        path: Option<PathBuf>,
        /// What kind of thing is unsupported (`key algorithm`, `signature algorithm`, …).
        what: &'static str,
        /// Details, including what is supported.
        detail: String,
    },
}

/// `"<path>: "` when a path is known, `""` otherwise.
fn at(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

impl Error {
    /// Attaches the file a parse error came from, for variants that carry a path.
    #[must_use]
    pub(crate) fn in_file(mut self, file: &Path) -> Self {
        match &mut self {
            Self::CaNotValidNow { path, .. }
            | Self::EncryptedKey { path, .. }
            | Self::InvalidCertificate { path, .. }
            | Self::InvalidKey { path, .. }
            | Self::InvalidPem { path, .. }
            | Self::InvalidRequest { path, .. }
            | Self::KeyDecryption { path, .. }
            | Self::NotACa { path, .. }
            | Self::Unsupported { path, .. }
                if path.is_none() =>
            {
                *path = Some(file.to_path_buf());
            }
            _ => {}
        }
        self
    }

    pub(crate) fn encoding(what: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Encoding {
            what,
            source: source.into(),
        }
    }

    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_remedy() {
        let e = Error::InvalidPem {
            path: None,
            expected: "CERTIFICATE",
            found: "found 'RSA PRIVATE KEY'".into(),
        }
        .in_file(Path::new("certs/root.cert"));
        assert_eq!(
            e.to_string(),
            "certs/root.cert: expected a PEM 'CERTIFICATE' block, found 'RSA PRIVATE KEY'"
        );
        let e = Error::AlreadyExists {
            path: "d/root.key".into(),
        };
        assert!(e.to_string().contains("d/root.key"));
        assert!(e.to_string().contains("--force"));
    }

    #[test]
    fn in_file_keeps_an_existing_path() {
        let e = Error::NotACa {
            path: Some("a".into()),
            reason: "x",
        }
        .in_file(Path::new("b"));
        assert!(matches!(e, Error::NotACa { path: Some(p), .. } if p == Path::new("a")));
    }
}
