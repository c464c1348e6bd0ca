//! The crate's one error type.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::role::Role;

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
        "refusing to overwrite existing file {}: remove it or choose another directory (library: WriteOptions::overwrite replaces it)",
        path.display()
    )]
    AlreadyExists {
        /// The file that exists.
        path: PathBuf,
    },

    /// The CA certificate's validity does not include the current time.
    #[error(
        "{}the CA certificate is {} (valid from {} to {}): issue a new root CA",
        at(path),
        if *expired { "expired" } else { "not yet valid" },
        rfc3339(*not_before),
        rfc3339(*not_after)
    )]
    CaNotValidNow {
        /// The certificate file, when known.
        path: Option<PathBuf>,
        /// Whether its validity ended (`false`: it has not begun).
        expired: bool,
        /// Start of the CA's validity.
        not_before: SystemTime,
        /// End of the CA's validity.
        not_after: SystemTime,
    },

    /// A leaf certificate's validity does not include the current time.
    #[error(
        "{}the certificate is {} (valid from {} to {}): {}",
        at(path),
        if *expired { "expired" } else { "not yet valid" },
        rfc3339(*not_before),
        rfc3339(*not_after),
        if *expired { "renew it" } else { "check the clocks of the CA host and of this host" }
    )]
    CertificateNotValidNow {
        /// The certificate file, when known.
        path: Option<PathBuf>,
        /// Whether its validity ended (`false`: it has not begun).
        expired: bool,
        /// Start of its validity.
        not_before: SystemTime,
        /// End of its validity.
        not_after: SystemTime,
    },

    /// A CA certificate would have an empty subject.
    #[error(
        "a CA certificate's subject must not be empty (RFC 5280 §4.1.2.6): set at least a common name"
    )]
    EmptySubject,

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
        /// The parser's error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// An input file is larger than any certificate, key, request, plan or passphrase file
    /// this crate reads (or is an endless stream such as `/dev/zero`).
    #[error(
        "{} is larger than {}, the limit for certificates, keys, requests, plans and passphrase files: is this the right file?",
        path.display(),
        size(*limit)
    )]
    InputTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
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

    /// An etcd version is not one the doctor knows how to read.
    #[error("invalid etcd version {value:?}: {reason}")]
    InvalidEtcdVersion {
        /// The rejected value (at most 40 characters of it).
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A Go version (the Go an etcd binary is built with) is not of the form `1.MINOR[.PATCH]`.
    #[error("invalid Go version {value:?}: {reason}")]
    InvalidGoVersion {
        /// The rejected value (at most 40 characters of it).
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An etcd configuration file (YAML, a command line, `ETCD_*` variables) cannot be read as
    /// one, or a file given to the doctor is of no kind it knows.
    #[error("{}cannot read it as an etcd configuration: {reason}", at(path))]
    InvalidConfig {
        /// The file, when known.
        path: Option<PathBuf>,
        /// What is wrong, and where.
        reason: String,
        /// The parser's error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The paths given to the doctor hold no certificate (and name none).
    #[error("nothing to check in {}: no certificate found (give certificate directories or files, or an etcd configuration naming them)", list(&paths.iter().map(|p| p.display()).collect::<Vec<_>>()))]
    NothingToCheck {
        /// The paths given.
        paths: Vec<PathBuf>,
    },

    /// A cluster plan is incomplete or inconsistent, or its file is not a TOML plan.
    #[error("{}invalid cluster plan: {reason}", at(path))]
    InvalidPlan {
        /// The plan file, when known.
        path: Option<PathBuf>,
        /// What is wrong, and where.
        reason: String,
        /// The TOML or UTF-8 decoder's error, if any.
        #[source]
        source: Option<BoxError>,
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
    #[error("cannot {action} {}", path.display())]
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

    /// A private key does not belong to the certificate (or request) it was given with.
    #[error(
        "{}the private key does not belong to the certificate{}: give the key that was generated together with it",
        at(key_path),
        cert_path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default()
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

    /// A certificate signing request asks for an IP address its policy does not allow.
    #[error(
        "certificate request refused: it asks for IP address {ip}, which is not allowed for it (allowed: {})",
        list(allowed)
    )]
    IpAddressNotAllowed {
        /// The address asked for.
        ip: IpAddr,
        /// The addresses the policy allows.
        allowed: Vec<IpAddr>,
    },

    /// A certificate signing request asks for a DNS name its policy does not allow.
    #[error(
        "certificate request refused: it asks for DNS name {name}, which is not allowed for it (allowed: {})",
        list(allowed)
    )]
    DnsNameNotAllowed {
        /// The name asked for (a valid DNS name, lower case).
        name: String,
        /// The names the policy allows.
        allowed: Vec<String>,
    },

    /// A certificate signing request asks for a common name its policy does not allow.
    #[error(
        "certificate request refused: it asks for common name {:?}, which is not allowed for it{}",
        name,
        if *role == Role::Client { " (for a client the CN is the etcd user it acts as)" } else { "" }
    )]
    CommonNameNotAllowed {
        /// The common name asked for (a valid common name).
        name: String,
        /// The role the request was to be signed for.
        role: Role,
    },

    /// A certificate signing request's signature does not verify with the key it names.
    #[error(
        "certificate request refused: its signature {reason}: it was not made with the key it names"
    )]
    RequestSignatureInvalid {
        /// What is wrong with the signature.
        reason: &'static str,
    },

    /// A certificate would name no IP address or DNS name where it needs one.
    #[error("{}", match role {
        Role::Node => "a node certificate needs at least one IP address or DNS name: etcd's peers and clients check the address they dial against them",
        _ => "a certificate with an empty subject needs at least one IP address or DNS name (RFC 5280 §4.1.2.6): set a subject or add a name",
    })]
    NoSubjectAltName {
        /// The certificate's role.
        role: Role,
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

    /// A cluster directory is not as its plan (`ca/plan.toml`) says it should be, so it cannot
    /// be renewed or its CA rotated: a file or directory is missing or extra, or a certificate,
    /// key or trusted-CA file does not match the plan or the CA. Nothing was written.
    #[error("{} does not match its cluster plan: {reason}", path.display())]
    ClusterMismatch {
        /// The file or directory that does not match.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
        /// The error that showed it, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A renewal or a phase of the CA rotation was asked for in the wrong order. Nothing was
    /// written.
    #[error("cannot run {step} now: {reason}")]
    OutOfOrder {
        /// The step that was refused (`renewal`, `rotation phase begin`, …).
        step: &'static str,
        /// Where the rotation stands, and what to run instead.
        reason: String,
    },
}

/// `"<path>: "` when a path is known, `""` otherwise.
fn at(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

/// A list for a message: `a, b, c`, or `none`.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A time as RFC 3339 (`2026-12-01T21:44:03Z`), or what it is when it cannot be a certificate
/// time.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    der::DateTime::from_system_time(time)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "a time a certificate cannot hold".into())
}

/// A byte count in words: `1 MiB`, `512 KiB` or `100 bytes`.
fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

impl Error {
    /// Attaches the file a parse error came from, for variants that carry a path.
    #[must_use]
    pub(crate) fn in_file(mut self, file: &Path) -> Self {
        match &mut self {
            Self::CaNotValidNow { path, .. }
            | Self::CertificateNotValidNow { path, .. }
            | Self::EncryptedKey { path, .. }
            | Self::InvalidCertificate { path, .. }
            | Self::InvalidKey { path, .. }
            | Self::InvalidConfig { path, .. }
            | Self::InvalidPem { path, .. }
            | Self::InvalidPlan { path, .. }
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

    /// An [`Error::InvalidPlan`] with no file or cause (yet).
    #[cfg(feature = "plan")]
    pub(crate) fn invalid_plan(reason: String) -> Self {
        Self::InvalidPlan {
            path: None,
            reason,
            source: None,
        }
    }

    /// An [`Error::InvalidKey`]: `reason` in our words, the parser's error as the source.
    pub(crate) fn invalid_key(
        reason: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::InvalidKey {
            path: None,
            reason: reason.into(),
            source: Some(Box::new(source)),
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
#[path = "error_tests.rs"]
mod tests;
