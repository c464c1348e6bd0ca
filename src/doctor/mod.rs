//! The doctor: checks an existing etcd deployment against etcd's rules (see [`Doctor`]).

mod chain;
mod compat;
mod config;
mod context;
mod deployment;
mod finding;
mod inventory;
mod keys;
mod known_keys;
mod names;
mod settings;
#[cfg(test)]
mod tests;
mod traps;
mod usage;
mod version;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use self::finding::{Finding, Report, Severity};
pub use self::version::{EtcdVersion, GoVersion};
use crate::error::Error;

/// What etcd says about a file without PEM data: at startup for a certificate or key
/// (Go's `tls.X509KeyPair`); a trusted-CA file without certificates loads as an empty pool, so
/// every peer and client certificate is then refused.
fn unusable_says(inv: &inventory::Inventory, path: &Path) -> &'static str {
    let files = |s: &settings::Settings, keys: &[&str]| -> Vec<PathBuf> {
        s.tls_files()
            .into_iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(_, p)| p.to_path_buf())
            .collect()
    };
    let named = |keys: &[&str]| {
        inv.configs.iter().any(|s| {
            files(s, keys)
                .iter()
                .any(|p| deployment::same_file(p, path))
        })
    };
    if named(&["trusted-ca-file", "peer-trusted-ca-file"]) {
        return "x509: certificate signed by unknown authority";
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if named(&[
        "key-file",
        "peer-key-file",
        "client-key-file",
        "peer-client-key-file",
    ]) || name.contains("key")
    {
        "tls: failed to find any PEM data in key input"
    } else {
        "tls: failed to find any PEM data in certificate input"
    }
}

/// The default warning threshold for expiry: 30 days.
pub const DEFAULT_WARN_DAYS: u32 = 30;

/// The doctor: checks an existing etcd deployment's certificates, keys and configuration
/// against each other and against what etcd (by version), its peers, etcdctl and rustls
/// clients accept, and predicts what they will say when they fail.
///
/// Give it what an operator has ([`Doctor::path`]): certificate directories in any common
/// layout (our CLI's and the script's `root.cert`, `client.cert`, `<ip>.cert` with `.key`
/// files; our plan's `ca/`, `members/<name>/`, `clients/<user>/`; cfssl's `ca.pem`,
/// `server.pem`, `server-key.pem`; kubeadm's `/etc/kubernetes/pki/etcd`), single certificate or
/// key files, and etcd configurations (an `etcd.conf.yml`, an etcd command line or systemd
/// unit, `ETCD_*` / `ETCDCTL_*` variables), whose TLS files it then reads too.
///
/// Every certificate is checked against its CA's signature before anything it says is
/// believed. See the README's table of checks for every [`Finding::code`].
///
/// ```
/// use etcd_pki::{Doctor, RootCa, ServerCert, Severity, WriteOptions};
///
/// let dir = tempfile::tempdir().unwrap();
/// let ca = RootCa::new().self_sign()?;
/// ca.write(dir.path(), "root", &WriteOptions::default())?;
/// let node = ServerCert::new("10.0.0.11".parse().unwrap()).issue(&ca)?;
/// node.write(dir.path(), "10.0.0.11", &WriteOptions::default())?;
///
/// let report = Doctor::new().path(dir.path()).run()?;
/// assert_eq!((report.errors(), report.warnings()), (0, 0));
/// assert!(report.findings().iter().all(|f| f.severity() == Severity::Info));
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Doctor {
    paths: Vec<PathBuf>,
    version: EtcdVersion,
    go: Option<GoVersion>,
    warn_days: u32,
    users: Option<Vec<String>>,
    now: Option<SystemTime>,
}

impl Default for Doctor {
    fn default() -> Self {
        Self::new()
    }
}

impl Doctor {
    /// A doctor for the current etcd series ([`EtcdVersion::CURRENT`]), warning
    /// [`DEFAULT_WARN_DAYS`] before expiry, with nothing to check yet.
    #[must_use]
    pub fn new() -> Self {
        Self {
            paths: Vec::new(),
            version: EtcdVersion::CURRENT,
            go: None,
            warn_days: DEFAULT_WARN_DAYS,
            users: None,
            now: None,
        }
    }

    /// Adds a certificate directory, a certificate or key file, or an etcd configuration.
    #[must_use]
    pub fn path(mut self, path: impl AsRef<Path>) -> Self {
        self.paths.push(path.as_ref().to_path_buf());
        self
    }

    /// The etcd version whose rules apply.
    #[must_use]
    pub fn etcd_version(mut self, version: EtcdVersion) -> Self {
        self.version = version;
        self
    }

    /// The Go the etcd binary is built with, when it is not that of etcd's official release
    /// binaries ([`EtcdVersion::go_version`]): distributions build their own (`etcd --version`
    /// prints it). What Go refuses (SHA-1 signatures, negative serial numbers, small RSA keys)
    /// is an error or a warning by it.
    #[must_use]
    pub fn go_version(mut self, go: GoVersion) -> Self {
        self.go = Some(go);
        self
    }

    /// Warn about certificates that expire within `days` days.
    #[must_use]
    pub fn warn_days(mut self, days: u32) -> Self {
        self.warn_days = days;
        self
    }

    /// The etcd users (auth is on): client certificates' common names are checked against them.
    #[must_use]
    pub fn etcd_users<I, S>(mut self, users: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.users = Some(users.into_iter().map(Into::into).collect());
        self
    }

    /// Check as of `now` instead of the current time.
    #[must_use]
    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Reads everything given and checks it. Findings are never errors: the `Err` is only for
    /// input that cannot be read at all.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::InputTooLarge`] for a path that cannot be read;
    /// [`Error::InvalidConfig`] for a file that is nothing the doctor knows or a configuration
    /// that does not parse; [`Error::NothingToCheck`] when no certificate is found.
    pub fn run(&self) -> Result<Report, Error> {
        let ctx = context::Ctx {
            now: self.now.unwrap_or_else(SystemTime::now),
            warn_days: self.warn_days,
            version: self.version,
            go: self.go.unwrap_or_else(|| self.version.go_version()),
            go_given: self.go.is_some(),
            users: self.users.clone(),
        };
        let inv = inventory::Inventory::gather(&self.paths, self.version)?;
        if inv.certs.is_empty() && inv.configs.is_empty() && inv.broken.is_empty() {
            return Err(Error::NothingToCheck {
                paths: self.paths.clone(),
            });
        }
        let dep = deployment::Deployment::new(&inv);
        let mut out = Vec::new();
        for (path, why) in &inv.broken {
            out.push(
                Finding::new(
                    Severity::Error,
                    "file-unusable",
                    "files",
                    &[path],
                    format!("it cannot be used as a certificate or key: {why}"),
                )
                .says(unusable_says(&inv, path)),
            );
        }
        for &i in &dep.cas {
            chain::check_ca_file(&dep, i, &ctx, &mut out);
            for cert in &dep.file(i).certs {
                compat::check(cert, true, "CA", &dep.file(i).path, &ctx, &mut out);
            }
        }
        for leaf in &dep.leaves {
            let file = dep.file(leaf.cert);
            for (n, cert) in file.certs.iter().enumerate() {
                compat::check(cert, false, &leaf.label, &file.path, &ctx, &mut out);
                if n > 0 {
                    chain::check_validity(
                        cert,
                        "intermediate certificate",
                        &leaf.label,
                        &file.path,
                        &ctx,
                        &mut out,
                    );
                }
            }
            keys::check_leaf(&dep, leaf, &mut out);
            let Some(verified) = chain::verify_leaf(&dep, leaf, &mut out) else {
                continue;
            };
            let cert = verified.certs[0];
            chain::check_validity(cert, "certificate", &leaf.label, &file.path, &ctx, &mut out);
            usage::check(leaf, &verified, &mut out);
            if leaf.role == deployment::Use::Member {
                names::check_member(&dep, leaf, cert, &mut out);
            }
            names::check_cn(leaf, cert, &ctx, &mut out);
        }
        names::check_endpoints(&dep, &mut out);
        keys::check_files(&dep, &mut out);
        for s in &inv.configs {
            traps::check(s, &ctx, &mut out);
        }
        Ok(Report::new(out))
    }
}
