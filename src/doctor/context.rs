//! What every check needs: the options of the run, and how to phrase dates, lists and the
//! commands that fix things.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::version::{EtcdVersion, GoVersion};

/// The options of one run.
#[derive(Debug, Clone)]
pub(super) struct Ctx {
    pub(super) now: SystemTime,
    pub(super) warn_days: u32,
    pub(super) version: EtcdVersion,
    /// The Go etcd is built with: given, or that of the release's official binaries.
    pub(super) go: GoVersion,
    pub(super) go_given: bool,
    pub(super) users: Option<Vec<String>>,
}

impl Ctx {
    /// Whether etcd's Go is `1.<minor>` or later.
    pub(super) fn go_at_least(&self, minor: u32) -> bool {
        self.go.minor() >= minor
    }

    /// The etcd binary the rules are for, with its Go: `etcd 3.5.1 (Go 1.16.3)`, or
    /// `etcd 3.4 built with Go 1.19.8` when the Go was given.
    pub(super) fn etcd(&self) -> String {
        if self.go_given {
            format!("etcd {} built with Go {}", self.version, self.go)
        } else {
            format!("etcd {} (official binaries: Go {})", self.version, self.go)
        }
    }
}

/// Whole days from `now` to `t` (negative when `t` is past).
pub(super) fn days_until(now: SystemTime, t: SystemTime) -> i64 {
    let secs = |d: Duration| i64::try_from(d.as_secs() / 86_400).unwrap_or(i64::MAX);
    match t.duration_since(now) {
        Ok(d) => secs(d),
        Err(e) => -secs(e.duration()),
    }
}

/// A time as an RFC 3339 date (`2026-12-01`).
pub(super) fn date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match der::DateTime::from_unix_duration(Duration::from_secs(secs)) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        Err(_) => "an unrepresentable date".into(),
    }
}

/// `gen_etcd_certs` (the example CLI) command re-issuing a member certificate for `ip` from the
/// CA files next to it.
pub(super) fn reissue_member(cert: &Path) -> String {
    let dir = cert.parent().unwrap_or(Path::new("."));
    let stem = cert
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ip = if stem.parse::<std::net::IpAddr>().is_ok() {
        stem
    } else {
        "IP".into()
    };
    format!(
        "gen_etcd_certs -c gen_server_cert -s {d} -k {d}/root.key -t {d}/root.cert -i {ip} --force \
         (a plan: etcd_cluster_plan cluster.toml -o NEW_DIR --ca-cert ca/root.cert --ca-key ca/root.key)",
        d = dir.display()
    )
}

/// `gen_etcd_certs` command re-issuing a client certificate.
pub(super) fn reissue_client(cert: &Path) -> String {
    let dir = cert.parent().unwrap_or(Path::new("."));
    format!(
        "gen_etcd_certs -c gen_client_cert -s {d} -k {d}/root.key -t {d}/root.cert [-n USER] --force",
        d = dir.display()
    )
}
