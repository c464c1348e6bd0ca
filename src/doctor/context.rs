//! What every check needs: the options of the run, and how to phrase dates, lists and the
//! commands that fix things.

use std::path::{Path, PathBuf};
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

/// The CA certificate and key next to `dir`'s certificates, in the layouts the doctor knows
/// (ours and the script's `root.cert`/`root.key`, kubeadm's `ca.crt`/`ca.key`, cfssl's
/// `ca.pem`/`ca-key.pem`): the first pair present, else ours (the names the commands write).
fn ca_files(dir: &Path) -> (PathBuf, PathBuf) {
    const PAIRS: [(&str, &str); 3] = [
        ("root.cert", "root.key"),
        ("ca.crt", "ca.key"),
        ("ca.pem", "ca-key.pem"),
    ];
    let (cert, key) = PAIRS
        .iter()
        .find(|(c, k)| dir.join(c).is_file() && dir.join(k).is_file())
        .or_else(|| PAIRS.iter().find(|(c, _)| dir.join(c).is_file()))
        .unwrap_or(&PAIRS[0]);
    (dir.join(cert), dir.join(key))
}

/// `gen_etcd_certs` (the example CLI) command re-issuing a member certificate for `ip` from the
/// CA files next to it.
pub(super) fn reissue_member(cert: &Path) -> String {
    let dir = cert.parent().unwrap_or(Path::new("."));
    let (ca_cert, ca_key) = ca_files(dir);
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
        "gen_etcd_certs -c gen_server_cert -s {d} -k {k} -t {c} -i {ip} --force \
         (a plan: etcd_cluster_plan cluster.toml -o NEW_DIR --ca-cert ca/root.cert --ca-key ca/root.key)",
        d = dir.display(),
        k = ca_key.display(),
        c = ca_cert.display()
    )
}

/// `gen_etcd_certs` command re-issuing a client certificate.
pub(super) fn reissue_client(cert: &Path) -> String {
    let dir = cert.parent().unwrap_or(Path::new("."));
    let (ca_cert, ca_key) = ca_files(dir);
    format!(
        "gen_etcd_certs -c gen_client_cert -s {d} -k {k} -t {c} [-n USER] --force",
        d = dir.display(),
        k = ca_key.display(),
        c = ca_cert.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_name_the_ca_files_of_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let member = d.join("server.crt");
        // Nothing there: the names our commands write.
        assert!(reissue_member(&member).contains(&format!("-k {}", d.join("root.key").display())));
        // kubeadm's names.
        std::fs::write(d.join("ca.crt"), "x").unwrap();
        std::fs::write(d.join("ca.key"), "x").unwrap();
        let kubeadm = format!(
            "-k {} -t {}",
            d.join("ca.key").display(),
            d.join("ca.crt").display()
        );
        for fix in [
            reissue_member(&member),
            reissue_client(&d.join("healthcheck-client.crt")),
        ] {
            assert!(fix.contains(&kubeadm), "{fix}");
        }
        // cfssl's, where only the certificate is on the member: its key name is still right.
        let cfssl = tempfile::tempdir().unwrap();
        std::fs::write(cfssl.path().join("ca.pem"), "x").unwrap();
        let fix = reissue_member(&cfssl.path().join("member1.pem"));
        assert!(
            fix.contains(&format!(
                "-k {} -t {}",
                cfssl.path().join("ca-key.pem").display(),
                cfssl.path().join("ca.pem").display()
            )),
            "{fix}"
        );
    }
}
