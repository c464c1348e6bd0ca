//! `etcd_doctor` against reality: its predictions (`etcd_says`) for the main faults are shown
//! to be what real etcd 3.4 (Debian) and 3.5.1 (the official binaries) or etcdctl print, on
//! single-member clusters; and it finds no errors on good sets made by our CLI, the reference
//! Python script, the guide's openssl commands, and openssl in kubeadm's and cfssl's layouts.
//! Bad input exits 2.

mod common;
#[allow(dead_code, reason = "the doctor tests use a few of the helpers")]
mod etcd_support;

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use etcd_pki::{ClientCert, KeyAlgorithm, RootCa, ServerCert, WriteOptions};
use etcd_support::{EtcdVersion, run_bounded};
use tempfile::TempDir;

/// The doctor's verdict: exit status and its JSON.
struct Verdict {
    code: i32,
    json: serde_json::Value,
    text: String,
}

impl Verdict {
    fn errors(&self) -> u64 {
        self.json["summary"]["errors"].as_u64().unwrap()
    }

    fn warnings(&self) -> u64 {
        self.json["summary"]["warnings"].as_u64().unwrap()
    }

    /// The findings with `code`.
    fn with(&self, code: &str) -> Vec<&serde_json::Value> {
        self.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .collect()
    }

    /// The `etcd_says` of the one error `code`.
    #[track_caller]
    fn says(&self, code: &str) -> String {
        let f = self.with(code);
        assert!(!f.is_empty(), "no {code} finding in\n{}", self.text);
        assert_eq!(f[0]["severity"], "error", "{}", self.text);
        f[0]["etcd_says"].as_str().unwrap().to_owned()
    }
}

fn doctor(args: &[&str]) -> Verdict {
    let out = Command::new(common::example_path("etcd_doctor"))
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Verdict {
        code: out.status.code().unwrap(),
        json,
        text,
    }
}

/// A client port and the peer port after it, free on 127.0.0.1: each call scans from its own
/// base (tests run in parallel threads), `etcd_support::free_ports` checks them.
fn free_pair() -> (u16, u16) {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 32000 + NEXT.fetch_add(40, Ordering::Relaxed) % 8000;
    etcd_support::free_ports(&[Ipv4Addr::LOCALHOST], base)
}

/// A single member on 127.0.0.1: its certificates (by our library), and its configuration.
struct Node {
    dir: TempDir,
    client: u16,
    peer: u16,
}

impl Node {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = RootCa::new()
            .key_algorithm(KeyAlgorithm::EcdsaP256)
            .self_sign()
            .unwrap();
        ca.write(d, "root", &WriteOptions::default()).unwrap();
        ServerCert::new("127.0.0.1".parse().unwrap())
            .key_algorithm(KeyAlgorithm::EcdsaP256)
            .issue(&ca)
            .unwrap()
            .write(d, "127.0.0.1", &WriteOptions::default())
            .unwrap();
        ClientCert::new()
            .key_algorithm(KeyAlgorithm::EcdsaP256)
            .issue(&ca)
            .unwrap()
            .write(d, "client", &WriteOptions::default())
            .unwrap();
        let (client, peer) = free_pair();
        Self { dir, client, peer }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The guide's configuration with `edit` applied; written to `etcd.conf.yml` (without the
    /// CA key, as on a member: moved to `ca/`).
    fn config(&self, edit: impl FnOnce(String) -> String) -> PathBuf {
        let d = self.dir.path().display();
        let (c, p) = (self.client, self.peer);
        let mut yaml = format!(
            "name: m1\ndata-dir: {d}/data\nlogger: zap\n\
             listen-peer-urls: https://127.0.0.1:{p}\nlisten-client-urls: https://127.0.0.1:{c}\n\
             advertise-client-urls: https://127.0.0.1:{c}\ninitial-advertise-peer-urls: https://127.0.0.1:{p}\n\
             initial-cluster: m1=https://127.0.0.1:{p}\ninitial-cluster-state: new\n"
        );
        for section in ["client-transport-security", "peer-transport-security"] {
            yaml.push_str(&format!(
                "{section}:\n  cert-file: {d}/127.0.0.1.cert\n  key-file: {d}/127.0.0.1.key\n  client-cert-auth: true\n  trusted-ca-file: {d}/root.cert\n"
            ));
        }
        let ca_dir = self.path("ca");
        if !ca_dir.exists() {
            fs::create_dir(&ca_dir).unwrap();
            fs::rename(self.path("root.key"), ca_dir.join("root.key")).unwrap();
        }
        let path = self.path("etcd.conf.yml");
        fs::write(&path, edit(yaml)).unwrap();
        path
    }

    /// Starts `etcd --config-file` of `version`; its output goes to `etcd.log`.
    fn start(&self, version: EtcdVersion, config: &Path) -> Etcd {
        let _ = fs::remove_dir_all(self.path("data"));
        spawn_etcd(version, config, &self.path("etcd.log"))
    }

    /// etcdctl of `version` presents `cert`/`key` to the running `etcd` (at the node's
    /// endpoint); then etcd must log `says`. Returns etcdctl's outcome and output.
    fn present_and_expect(
        &self,
        etcd: &mut Etcd,
        version: EtcdVersion,
        (cert, key): (&str, &str),
        says: &str,
    ) -> (bool, String) {
        let outcome = self.etcdctl(version, &self.endpoint(), cert, key);
        let (found, log) = etcd.wait_for(says, QUICK);
        assert!(found, "etcd {}: no {says:?} in\n{log}", version.series());
        outcome
    }

    /// etcdctl of `version` against `endpoint`, trusting root.cert, presenting `cert`/`key`.
    fn etcdctl(
        &self,
        version: EtcdVersion,
        endpoint: &str,
        cert: &str,
        key: &str,
    ) -> (bool, String) {
        self.etcdctl_args(version, endpoint, cert, key, &["get", "/doctor"])
    }

    /// etcdctl of `version` running `args`.
    fn etcdctl_args(
        &self,
        version: EtcdVersion,
        endpoint: &str,
        cert: &str,
        key: &str,
        args: &[&str],
    ) -> (bool, String) {
        let mut cmd = Command::new(version.etcdctl());
        cmd.arg("--debug")
            .arg(format!("--endpoints={endpoint}"))
            .arg("--dial-timeout=2s")
            .arg("--command-timeout=2s")
            .arg("--cacert")
            .arg(self.path("root.cert"))
            .arg("--cert")
            .arg(self.path(cert))
            .arg("--key")
            .arg(self.path(key))
            .args(args);
        let out = run_bounded(cmd, Duration::from_secs(8));
        let ok = out.status.is_some_and(|s| s.success());
        (ok, format!("{}\n{}", out.stdout, out.stderr))
    }

    fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.client)
    }
}

/// Starts `etcd --config-file config` of `version`, its output going to `log`.
fn spawn_etcd(version: EtcdVersion, config: &Path, log: &Path) -> Etcd {
    let file = fs::File::create(log).unwrap();
    let child = Command::new(version.etcd())
        .arg("--config-file")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    Etcd {
        child,
        log: log.to_path_buf(),
    }
}

/// A running etcd, killed on drop.
struct Etcd {
    child: Child,
    log: PathBuf,
}

impl Etcd {
    /// Waits up to `limit` for `needle` in the log; returns the log.
    fn wait_for(&mut self, needle: &str, limit: Duration) -> (bool, String) {
        let deadline = Instant::now() + limit;
        loop {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            if log.contains(needle) {
                return (true, log);
            }
            let exited = self.child.try_wait().unwrap().is_some();
            if exited || Instant::now() >= deadline {
                // One last read after exit.
                let log = fs::read_to_string(&self.log).unwrap_or_default();
                return (log.contains(needle), log);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that etcd `version` with `config` prints `says` within `limit` (startup errors).
#[track_caller]
fn etcd_prints(node: &Node, version: EtcdVersion, config: &Path, says: &str, limit: Duration) {
    let mut etcd = node.start(version, config);
    let (found, log) = etcd.wait_for(says, limit);
    assert!(
        found,
        "etcd {} did not print {says:?}:\n{log}",
        version.series()
    );
}

/// Runs openssl in `dir`, asserting success.
fn openssl(dir: &Path, args: &[&str]) {
    common::openssl_ok(args, dir);
}

/// An openssl-made leaf `<name>.cert`/`.key` signed by the CA `ca` (`[cert, key]`), with the
/// extension lines `ext`; `digest` is `-sha256` or `-sha1`.
fn openssl_leaf(dir: &Path, ca: [&Path; 2], name: &str, ext: &str, digest: &str) {
    openssl_leaf_with(
        dir,
        ca,
        name,
        ext,
        &LeafOpts {
            digest,
            ..LeafOpts::default()
        },
    );
}

/// What else an openssl-made leaf can be made with.
struct LeafOpts<'a> {
    digest: &'a str,
    subject: &'a str,
    rsa_bits: u32,
    /// `-set_serial` (such as a negative one); else a random serial.
    serial: Option<&'a str>,
}

impl Default for LeafOpts<'_> {
    fn default() -> Self {
        Self {
            digest: "-sha256",
            subject: "/O=test",
            rsa_bits: 2048,
            serial: None,
        }
    }
}

/// [`openssl_leaf`] with `opts`.
fn openssl_leaf_with(dir: &Path, ca: [&Path; 2], name: &str, ext: &str, opts: &LeafOpts<'_>) {
    let (key, csr, extfile, cert) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.ext"),
        format!("{name}.cert"),
    );
    openssl(dir, &["genrsa", "-out", &key, &opts.rsa_bits.to_string()]);
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &key,
            "-out",
            &csr,
            "-subj",
            opts.subject,
        ],
    );
    fs::write(dir.join(&extfile), ext).unwrap();
    let [ca_cert, ca_key] = ca;
    let serial = match opts.serial {
        Some(s) => vec!["-set_serial", s],
        None => vec!["-CAcreateserial"],
    };
    let mut args = vec![
        "x509",
        "-req",
        "-days",
        "30",
        opts.digest,
        "-CA",
        ca_cert.to_str().unwrap(),
        "-CAkey",
        ca_key.to_str().unwrap(),
    ];
    args.extend(serial);
    args.extend(["-in", &csr, "-out", &cert, "-extfile", &extfile]);
    openssl(dir, &args);
    let _ = fs::remove_file(dir.join(&csr));
    let _ = fs::remove_file(dir.join(&extfile));
    common_chmod(&dir.join(&key));
}

fn common_chmod(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

const QUICK: Duration = Duration::from_secs(5);
/// What etcd 3.4 and 3.5 log when the client listener serves TLS.
const SERVING: &str = "serving client traffic securely";
/// How long a member may take to be ready (an election on a loaded machine).
const READY: Duration = Duration::from_secs(20);

#[test]
fn a_good_member_has_no_errors_and_serves() {
    let node = Node::new();
    let conf = node.config(|y| y);
    let v = doctor(&[node.dir.path().to_str().unwrap()]);
    assert_eq!((v.code, v.errors(), v.warnings()), (0, 0, 0), "{}", v.text);
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        let (ready, log) = etcd.wait_for(SERVING, READY);
        assert!(ready && etcd.running(), "{log}");
        let (ok, out) = node.etcdctl(version, &node.endpoint(), "client.cert", "client.key");
        assert!(ok, "{out}");
    }
}

/// Where the line a finding predicts is printed.
#[derive(Clone, Copy)]
enum Printed {
    /// In etcd's log: it refuses a certificate presented to it.
    ByEtcd,
    /// By etcdctl: it refuses the member's certificate.
    ByEtcdctl,
}

/// A member certificate (openssl-made, from the same CA) whose extended key usage is only
/// `eku`: the doctor reports `code`, and etcd (or etcdctl, `printed`) of both releases says
/// what it predicts when etcdctl connects presenting `presented` (`<stem>.cert`/`.key`).
#[track_caller]
fn a_member_eku_is_refused_as_predicted(eku: &str, code: &str, presented: &str, printed: Printed) {
    let node = Node::new();
    let conf = node.config(|y| y);
    let d = node.dir.path();
    let ca = [&d.join("root.cert"), &d.join("ca/root.key")];
    openssl_leaf(
        d,
        ca.map(PathBuf::as_path),
        "127.0.0.1",
        &format!("subjectAltName = IP:127.0.0.1\nextendedKeyUsage = {eku}\n"),
        "-sha256",
    );
    let v = doctor(&[d.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says(code);
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        let (ok, out) = node.etcdctl(
            version,
            &node.endpoint(),
            &format!("{presented}.cert"),
            &format!("{presented}.key"),
        );
        assert!(!ok, "etcdctl {} succeeded: {out}", version.series());
        let (found, text) = match printed {
            Printed::ByEtcd => etcd.wait_for(&says, QUICK),
            Printed::ByEtcdctl => (out.contains(&says), out),
        };
        assert!(found, "{}: no {says:?} in\n{text}", version.series());
    }
}

#[test]
fn a_server_auth_only_member_certificate_is_refused_as_predicted() {
    // What a peer (or the member's own gateway) does: present the member's certificate.
    a_member_eku_is_refused_as_predicted(
        "serverAuth",
        "member-cert-no-client-auth",
        "127.0.0.1",
        Printed::ByEtcd,
    );
}

#[test]
fn a_client_auth_only_member_certificate_is_refused_by_clients_as_predicted() {
    // etcdctl verifies the member's certificate for serverAuth and gives up.
    a_member_eku_is_refused_as_predicted(
        "clientAuth",
        "member-cert-no-server-auth",
        "client",
        Printed::ByEtcdctl,
    );
}

#[test]
fn a_san_not_covering_the_dialled_address_fails_as_predicted() {
    let node = Node::new();
    let c = node.client;
    let conf = node.config(|y| {
        y.replace(
            &format!("listen-client-urls: https://127.0.0.1:{c}"),
            &format!("listen-client-urls: https://127.0.0.1:{c},https://127.0.0.2:{c}"),
        )
        .replace(
            &format!("advertise-client-urls: https://127.0.0.1:{c}"),
            &format!("advertise-client-urls: https://127.0.0.2:{c}"),
        )
    });
    let v = doctor(&[conf.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("san-missing");
    assert!(says.contains("not 127.0.0.2"), "{says}");
    // etcdctl configured (ETCDCTL_*) for that address: the same line, for etcdctl.
    let env = node.path("etcdctl.env");
    fs::write(
        &env,
        format!(
            "ETCDCTL_ENDPOINTS=https://127.0.0.2:{c}\nETCDCTL_CACERT={}\n",
            node.path("root.cert").display()
        ),
    )
    .unwrap();
    let v = doctor(&[conf.to_str().unwrap(), env.to_str().unwrap()]);
    let ctl: Vec<&serde_json::Value> = v
        .with("san-missing")
        .into_iter()
        .filter(|f| f["files"][0] == env.display().to_string())
        .collect();
    assert_eq!(ctl.len(), 1, "{}", v.text);
    assert_eq!(ctl[0]["severity"], "error");
    assert_eq!(ctl[0]["etcd_says"], says.as_str());
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        let (_, out) = node.etcdctl(
            version,
            &format!("https://127.0.0.2:{c}"),
            "client.cert",
            "client.key",
        );
        assert!(
            out.contains(&says),
            "etcdctl {}: no {says:?} in\n{out}",
            version.series()
        );
    }
}

#[test]
fn a_member_certificate_of_another_ca_fails_as_predicted() {
    let node = Node::new();
    let conf = node.config(|y| y);
    let mut overwrite = WriteOptions::default();
    overwrite.overwrite = true;
    let other = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    ServerCert::new("127.0.0.1".parse().unwrap())
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&other)
        .unwrap()
        .write(node.dir.path(), "127.0.0.1", &overwrite)
        .unwrap();
    let v = doctor(&[node.dir.path().to_str().unwrap()]);
    let says = v.says("chain-untrusted");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        let (_, out) = node.etcdctl(version, &node.endpoint(), "client.cert", "client.key");
        assert!(
            out.contains(&says),
            "etcdctl {}: no {says:?} in\n{out}",
            version.series()
        );
    }
}

/// A change to a configuration's text.
type Edit = Box<dyn Fn(String) -> String>;

#[test]
fn startup_errors_are_predicted() {
    let node = Node::new();
    let d = node.dir.path().display().to_string();
    // Each broken configuration, the code the doctor must report, and the version filter.
    let mut cases: Vec<(&str, Edit, &[EtcdVersion])> = vec![
        (
            "peer-tls-not-configured",
            Box::new(|y: String| {
                let (head, peer) = y.split_at(y.find("peer-transport-security").unwrap());
                format!(
                    "{head}{}",
                    peer.replace("  cert-file", "  peer-cert-file")
                        .replace("  key-file", "  peer-key-file")
                )
            }),
            &EtcdVersion::ALL,
        ),
        (
            "logger-capnslog",
            Box::new(|y: String| y.replace("logger: zap", "logger: capnslog")),
            &[EtcdVersion::V3_5],
        ),
        (
            "key-mismatch",
            Box::new(move |y: String| {
                y.replace(
                    &format!("key-file: {d}/127.0.0.1.key"),
                    &format!("key-file: {d}/client.key"),
                )
            }),
            &EtcdVersion::ALL,
        ),
    ];
    let d = node.dir.path().display().to_string();
    cases.push((
        "config-file-missing",
        Box::new(move |y: String| {
            y.replacen(
                &format!("cert-file: {d}/127.0.0.1.cert"),
                &format!("cert-file: {d}/gone.cert"),
                1,
            )
        }),
        &EtcdVersion::ALL,
    ));
    for (code, edit, versions) in cases {
        let conf = node.config(&edit);
        let series = if versions.len() == 1 { "3.5.1" } else { "3.4" };
        let v = doctor(&["--etcd-version", series, conf.to_str().unwrap()]);
        assert_eq!(v.code, 1, "{code}: {}", v.text);
        let says = v.says(code);
        for &version in versions {
            etcd_prints(&node, version, &conf, &says, QUICK);
        }
    }
    // An encrypted key.
    let key = node.path("127.0.0.1.key");
    openssl(
        node.dir.path(),
        &[
            "pkcs8",
            "-topk8",
            "-in",
            key.to_str().unwrap(),
            "-out",
            "enc.key",
            "-passout",
            "pass:secret",
        ],
    );
    let d = node.dir.path().display().to_string();
    let conf = node.config(|y| {
        y.replace(
            &format!("key-file: {d}/127.0.0.1.key"),
            &format!("key-file: {d}/enc.key"),
        )
    });
    let v = doctor(&[conf.to_str().unwrap()]);
    let says = v.says("key-encrypted");
    for version in EtcdVersion::ALL {
        etcd_prints(&node, version, &conf, &says, QUICK);
    }
    // On 3.4 capnslog is only deprecated: a warning, and etcd starts.
    let conf = node.config(|y| y.replace("logger: zap", "logger: capnslog"));
    let v = doctor(&["--etcd-version", "3.4", conf.to_str().unwrap()]);
    assert_eq!(
        (
            v.code,
            v.errors(),
            v.with("logger-capnslog")[0]["severity"].as_str()
        ),
        (0, 0, Some("warning")),
        "{}",
        v.text
    );
}

/// What `etcd --version` of a release says: its version and the Go it is built with
/// (`3.4.23`, `go1.19.8` for Debian's; `3.5.1`, `go1.16.3` for the official 3.5.1).
fn built_with(version: EtcdVersion) -> (String, String) {
    let out = Command::new(version.etcd())
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name:?} in `etcd --version`: {text}"))
    };
    (field("etcd Version:"), field("Go Version:"))
}

/// For each release: the doctor, told the etcd release and the Go it is built with, reports
/// `code` as an error (then etcd or etcdctl must print its line) or a warning (then the member
/// must serve etcdctl presenting `presented`). Returns the severities, 3.4 first.
#[track_caller]
fn go_rule_holds(node: &Node, conf: &Path, code: &str, presented: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for version in EtcdVersion::ALL {
        let (release, go) = built_with(version);
        let v = doctor(&[
            "--etcd-version",
            &release,
            "--go-version",
            &go,
            node.dir.path().to_str().unwrap(),
        ]);
        let f = v.with(code);
        assert_eq!(f.len(), 1, "{}", v.text);
        let severity = f[0]["severity"].as_str().unwrap().to_owned();
        let says = f[0]["etcd_says"].as_str().unwrap().to_owned();
        let mut etcd = node.start(version, conf);
        let (serving, log) = etcd.wait_for(SERVING, READY);
        let (ok, out) = if serving {
            node.etcdctl(
                version,
                &node.endpoint(),
                &format!("{presented}.cert"),
                &format!("{presented}.key"),
            )
        } else {
            (false, String::new())
        };
        match severity.as_str() {
            "error" => {
                let (in_log, log) = etcd.wait_for(&says, Duration::from_millis(500));
                assert!(
                    !ok && (in_log || out.contains(&says)),
                    "etcd {release} ({go}): no {says:?} in\n{out}\n{log}"
                );
            }
            "warning" => assert!(
                serving && ok,
                "etcd {release} ({go}) refuses what the doctor calls a warning:\n{out}\n{log}"
            ),
            other => panic!("{code} is {other}"),
        }
        seen.push(severity);
    }
    seen
}

#[test]
fn a_sha1_signature_is_refused_where_etcds_go_refuses_it() {
    let node = Node::new();
    let conf = node.config(|y| y);
    let d = node.dir.path();
    // An RSA CA signing with SHA-1 (openssl), the member certificate otherwise good.
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca/root.key",
            "-out",
            "root.cert",
            "-days",
            "30",
            "-subj",
            "/CN=sha1 CA",
            "-sha256",
        ],
    );
    let ca = [&d.join("root.cert"), &d.join("ca/root.key")];
    openssl_leaf(
        d,
        ca.map(PathBuf::as_path),
        "127.0.0.1",
        "subjectAltName = IP:127.0.0.1\n",
        "-sha1",
    );
    // Debian's 3.4.23 is built with Go 1.19 and refuses it; the 3.5.1 release binaries
    // (Go 1.16) accept it.
    let seen = go_rule_holds(&node, &conf, "signature-sha1", "127.0.0.1");
    assert_eq!(seen, ["error", "warning"]);
    // Without the Go: the official binaries' (3.4.23: Go 1.17.13, 3.5.1: Go 1.16.3).
    for release in ["3.4.23", "3.5.1"] {
        let v = doctor(&["--etcd-version", release, d.to_str().unwrap()]);
        assert_eq!(
            v.with("signature-sha1")[0]["severity"],
            "warning",
            "{}",
            v.text
        );
    }
}

#[test]
fn negative_serials_and_small_rsa_keys_work_where_etcds_go_accepts_them() {
    // Both binaries here are built with Go < 1.23: warnings, and etcd serves.
    let node = Node::new();
    let conf = node.config(|y| y);
    let d = node.dir.path();
    let ca = [&d.join("root.cert"), &d.join("ca/root.key")];
    let ext = "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n";
    openssl_leaf_with(
        d,
        ca.map(PathBuf::as_path),
        "127.0.0.1",
        ext,
        &LeafOpts {
            serial: Some("-0x1234567890"),
            ..LeafOpts::default()
        },
    );
    let seen = go_rule_holds(&node, &conf, "serial-negative", "client");
    assert_eq!(seen, ["warning", "warning"]);
    let v = doctor(&["--etcd-version", "3.5.19", d.to_str().unwrap()]);
    assert_eq!(v.says("serial-negative"), "x509: negative serial number");
    // A 1000-bit RSA key (Go 1.24 refuses < 1024).
    openssl_leaf_with(
        d,
        ca.map(PathBuf::as_path),
        "127.0.0.1",
        ext,
        &LeafOpts {
            rsa_bits: 1000,
            ..LeafOpts::default()
        },
    );
    let seen = go_rule_holds(&node, &conf, "rsa-key-too-small", "client");
    assert_eq!(seen, ["warning", "warning"]);
    let v = doctor(&["--etcd-version", "3.6.5", d.to_str().unwrap()]);
    assert_eq!(
        v.says("rsa-key-too-small"),
        "crypto/rsa: 1000-bit keys are insecure"
    );
}

/// kubeadm's `/etc/kubernetes/pki/etcd` in `k`, made with openssl as kubeadm makes it: an RSA
/// CA (`ca.crt`, `ca.key`), `server`, `peer` (serverAuth + clientAuth, SANs 127.0.0.1 and
/// localhost) and `healthcheck-client` (clientAuth) pairs.
fn kubeadm_etcd_pki(k: &Path) {
    openssl(
        k,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=etcd-ca",
            "-addext",
            "keyUsage=critical,keyCertSign,digitalSignature",
        ],
    );
    common_chmod(&k.join("ca.key"));
    for (name, ext) in [
        (
            "server",
            "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth, clientAuth\n",
        ),
        (
            "peer",
            "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth, clientAuth\n",
        ),
        ("healthcheck-client", "extendedKeyUsage = clientAuth\n"),
    ] {
        openssl(k, &["genrsa", "-out", &format!("{name}.key"), "2048"]);
        common_chmod(&k.join(format!("{name}.key")));
        openssl(
            k,
            &[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-out",
                "x.csr",
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        fs::write(k.join("x.ext"), ext).unwrap();
        openssl(
            k,
            &[
                "x509",
                "-req",
                "-days",
                "365",
                "-sha256",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-in",
                "x.csr",
                "-out",
                &format!("{name}.crt"),
                "-extfile",
                "x.ext",
            ],
        );
        fs::remove_file(k.join("x.csr")).unwrap();
        fs::remove_file(k.join("x.ext")).unwrap();
    }
}

/// An openssl-made client pair `<dir>/<name>.crt`/`.key` signed by `ca` (`[cert, key]`), as
/// kubeadm's `apiserver-etcd-client`.
fn kubeadm_client(dir: &Path, name: &str, ca: [&Path; 2]) {
    openssl(dir, &["genrsa", "-out", &format!("{name}.key"), "2048"]);
    common_chmod(&dir.join(format!("{name}.key")));
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-out",
            "x.csr",
            "-subj",
            &format!("/O=system:masters/CN=kube-{name}"),
        ],
    );
    fs::write(dir.join("x.ext"), "extendedKeyUsage = clientAuth\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-days",
            "365",
            "-sha256",
            "-CA",
            ca[0].to_str().unwrap(),
            "-CAkey",
            ca[1].to_str().unwrap(),
            "-CAcreateserial",
            "-in",
            "x.csr",
            "-out",
            &format!("{name}.crt"),
            "-extfile",
            "x.ext",
        ],
    );
    fs::remove_file(dir.join("x.csr")).unwrap();
    fs::remove_file(dir.join("x.ext")).unwrap();
}

#[test]
fn good_sets_of_other_tools_have_no_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The guide's openssl commands: a v1 root, a v1 client, a node with IP SANs.
    openssl(d, &["genrsa", "-out", "root.key", "2048"]);
    openssl(
        d,
        &[
            "req",
            "-new",
            "-sha256",
            "-key",
            "root.key",
            "-out",
            "root.csr",
            "-subj",
            "/C=CN/ST=CQ/L=YB/O=BC/OU=ZWC/CN=CA",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-days",
            "3650",
            "-sha256",
            "-signkey",
            "root.key",
            "-in",
            "root.csr",
            "-out",
            "root.cert",
        ],
    );
    common_chmod(&d.join("root.key"));
    let ca = [d.join("root.cert"), d.join("root.key")];
    let ca = [ca[0].as_path(), ca[1].as_path()];
    openssl_leaf(d, ca, "client", "basicConstraints = CA:FALSE\n", "-sha256");
    openssl_leaf(
        d,
        ca,
        "192.168.10.11",
        "subjectAltName = IP:127.0.0.1, IP:192.168.10.11\n",
        "-sha256",
    );
    let v = doctor(&[d.to_str().unwrap()]);
    assert_eq!((v.code, v.errors()), (0, 0), "{}", v.text);
    // kubeadm's /etc/kubernetes/pki/etcd, made with openssl.
    let k = tempfile::tempdir().unwrap();
    let k = k.path();
    kubeadm_etcd_pki(k);
    let v = doctor(&[k.to_str().unwrap()]);
    assert_eq!((v.code, v.errors(), v.warnings()), (0, 0, 0), "{}", v.text);
    // cfssl's names: ca.pem, ca-key.pem, server.pem, server-key.pem.
    let node = Node::new();
    let c = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("root.cert", "ca.pem"),
        ("root.key", "ca-key.pem"),
        ("127.0.0.1.cert", "server.pem"),
        ("127.0.0.1.key", "server-key.pem"),
        ("client.cert", "client.pem"),
        ("client.key", "client-key.pem"),
    ] {
        fs::copy(node.path(from), c.path().join(to)).unwrap();
    }
    let v = doctor(&[c.path().to_str().unwrap()]);
    assert_eq!((v.code, v.errors(), v.warnings()), (0, 0, 0), "{}", v.text);
    // A key that does not belong is found there too.
    fs::copy(node.path("client.key"), c.path().join("server-key.pem")).unwrap();
    assert!(
        !doctor(&[c.path().to_str().unwrap()])
            .with("key-mismatch")
            .is_empty()
    );
}

#[test]
fn sets_made_by_the_reference_script_have_no_errors() {
    let script = require_script!("doctor");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let py = |args: &[&str]| {
        let out = common::python(
            &[script.to_str().unwrap()]
                .iter()
                .copied()
                .chain(args.iter().copied())
                .collect::<Vec<_>>(),
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    py(&["-c", "gen_root_cert", "-s", d]);
    py(&[
        "-c",
        "gen_server_cert",
        "-s",
        d,
        "-k",
        &format!("{d}/root.key"),
        "-t",
        &format!("{d}/root.cert"),
        "-i",
        "192.168.10.11",
    ]);
    py(&[
        "-c",
        "gen_client_cert",
        "-s",
        d,
        "-k",
        &format!("{d}/root.key"),
        "-t",
        &format!("{d}/root.cert"),
        "-n",
        "alice",
    ]);
    let v = doctor(&[d]);
    assert_eq!((v.code, v.errors()), (0, 0), "{}", v.text);
    // The script writes keys with the umask's mode: a warning per key, unless the umask is 077.
    for f in v.json["findings"].as_array().unwrap() {
        assert!(
            f["severity"] == "info" || f["code"] == "key-permissions",
            "{f}"
        );
    }
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = Command::new(common::example_path("etcd_doctor"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.stdout.is_empty(),
        )
    };
    fs::write(d.join("garbage.bin"), [0xffu8, 0xfe, 0x00]).unwrap();
    fs::write(d.join("etcd.conf.yml"), "name: [\n").unwrap();
    std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling")).unwrap();
    fs::write(
        d.join("scheduler.yaml"),
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command: [kube-scheduler]\n",
    )
    .unwrap();
    fs::write(
        d.join("laughs.yml"),
        "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
    )
    .unwrap();
    fs::write(
        d.join("broken-config.service"),
        format!(
            "[Service]\nExecStart=/usr/bin/etcd --config-file {}\n",
            d.join("etcd.conf.yml").display()
        ),
    )
    .unwrap();
    fs::write(d.join("README.txt"), "certificates are in /etc/etcd\n").unwrap();
    for args in [
        vec![d.join("garbage.bin").to_str().unwrap().to_owned()],
        vec![d.join("etcd.conf.yml").to_str().unwrap().to_owned()],
        vec![d.join("missing").to_str().unwrap().to_owned()],
        vec!["/dev/zero".to_owned()],
        vec![
            "--etcd-version".into(),
            "2.3".into(),
            d.to_str().unwrap().to_owned(),
        ],
        vec![
            "--warn-days".into(),
            "-1".into(),
            d.to_str().unwrap().to_owned(),
        ],
        vec![],
        vec![
            "--go-version".into(),
            "2.0".into(),
            d.to_str().unwrap().to_owned(),
        ],
        // A dangling symbolic link, a path through a file.
        vec![d.join("dangling").to_str().unwrap().to_owned()],
        vec![d.join("garbage.bin/x").to_str().unwrap().to_owned()],
        // A Kubernetes manifest that runs no etcd; YAML aliases (a "billion laughs").
        vec![d.join("scheduler.yaml").to_str().unwrap().to_owned()],
        vec![d.join("laughs.yml").to_str().unwrap().to_owned()],
        // A unit whose config file does not parse.
        vec![d.join("broken-config.service").to_str().unwrap().to_owned()],
        // Nothing the doctor knows.
        vec![d.join("README.txt").to_str().unwrap().to_owned()],
    ] {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr, no_stdout) = run(&refs);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            no_stdout && !stderr.is_empty() && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    // A directory without certificates.
    let empty = tempfile::tempdir().unwrap();
    let (code, stderr, _) = run(&[empty.path().to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no certificate found"), "{stderr}");
}

#[test]
fn expired_and_client_only_certificates_fail_as_predicted() {
    let node = Node::new();
    let conf = node.config(|y| y);
    let d = node.dir.path();
    let ca = [d.join("root.cert"), d.join("ca/root.key")];
    let ca = [ca[0].as_path(), ca[1].as_path()];
    // A client certificate without clientAuth: etcd rejects it.
    openssl_leaf(
        d,
        ca,
        "bad-client",
        "extendedKeyUsage = serverAuth\n",
        "-sha256",
    );
    let v = doctor(&[d.to_str().unwrap()]);
    let says = v.says("client-cert-no-client-auth");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        let _ = node.present_and_expect(
            &mut etcd,
            version,
            ("bad-client.cert", "bad-client.key"),
            &says,
        );
    }
    fs::remove_file(d.join("bad-client.cert")).unwrap();
    // A member certificate that expires now (`-days 0`).
    openssl(d, &["genrsa", "-out", "127.0.0.1.key", "2048"]);
    common_chmod(&d.join("127.0.0.1.key"));
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "127.0.0.1.key",
            "-out",
            "x.csr",
            "-subj",
            "/O=test",
        ],
    );
    fs::write(d.join("x.ext"), "subjectAltName = IP:127.0.0.1\n").unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-days",
            "0",
            "-sha256",
            "-CA",
            "root.cert",
            "-CAkey",
            "ca/root.key",
            "-CAcreateserial",
            "-in",
            "x.csr",
            "-out",
            "127.0.0.1.cert",
            "-extfile",
            "x.ext",
        ],
    );
    thread::sleep(Duration::from_millis(1100));
    let v = doctor(&[conf.to_str().unwrap()]);
    let says = v.says("cert-expired");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        let (_, out) = node.etcdctl(version, &node.endpoint(), "client.cert", "client.key");
        assert!(
            out.contains(&says),
            "etcdctl {}: no {says:?} in\n{out}",
            version.series()
        );
    }
}

/// The configuration with the client section's lines for which `drop` is true removed.
fn without_client_lines(yaml: &str, drop: impl Fn(&str) -> bool) -> String {
    let (client, peer) = yaml.split_at(yaml.find("peer-transport-security").unwrap());
    let client: String = client
        .lines()
        .filter(|l| !drop(l))
        .map(|l| format!("{l}\n"))
        .collect();
    format!("{client}{peer}")
}

#[test]
fn an_https_client_url_without_a_certificate_stops_etcd_as_predicted() {
    let node = Node::new();
    let conf = node.config(|y| {
        without_client_lines(&y, |l| {
            l.starts_with("  cert-file:") || l.starts_with("  key-file:")
        })
    });
    let v = doctor(&[conf.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("client-tls-not-configured");
    for version in EtcdVersion::ALL {
        etcd_prints(&node, version, &conf, &says, QUICK);
    }
}

#[test]
fn client_cert_auth_without_a_trusted_ca_refuses_our_clients_as_predicted() {
    let node = Node::new();
    let conf = node.config(|y| without_client_lines(&y, |l| l.starts_with("  trusted-ca-file:")));
    let v = doctor(&[conf.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("client-cert-auth-without-ca");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(
            etcd.wait_for(SERVING, READY).0,
            "etcd {} starts",
            version.series()
        );
        let (ok, out) =
            node.present_and_expect(&mut etcd, version, ("client.cert", "client.key"), &says);
        assert!(!ok, "our client is refused: {out}");
    }
}

#[test]
fn an_intermediate_whose_eku_lacks_client_auth_constrains_its_leaves_as_predicted() {
    let node = Node::new();
    let conf = node.config(|y| y);
    let d = node.dir.path();
    // root → intermediate (EKU serverAuth only) → member (serverAuth, clientAuth); the member's
    // file holds its chain, as cfssl's and most PKIs' bundles do.
    let ca = [&d.join("root.cert"), &d.join("ca/root.key")];
    openssl_leaf(
        d,
        ca.map(PathBuf::as_path),
        "intermediate",
        "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign\nextendedKeyUsage = serverAuth\n",
        "-sha256",
    );
    fs::rename(d.join("intermediate.key"), d.join("ca/intermediate.key")).unwrap();
    let inter = [&d.join("intermediate.cert"), &d.join("ca/intermediate.key")];
    openssl_leaf(
        d,
        inter.map(PathBuf::as_path),
        "127.0.0.1",
        "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n",
        "-sha256",
    );
    let chain = fs::read_to_string(d.join("127.0.0.1.cert")).unwrap()
        + &fs::read_to_string(d.join("intermediate.cert")).unwrap();
    fs::write(d.join("127.0.0.1.cert"), chain).unwrap();
    fs::remove_file(d.join("intermediate.cert")).unwrap();
    let v = doctor(&[d.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("chain-eku-constrains");
    assert!(
        v.with("member-cert-no-client-auth").is_empty(),
        "{}",
        v.text
    );
    assert_eq!(v.with("chain-eku-constrains").len(), 1, "{}", v.text);
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        // Clients accept the member (serverAuth is allowed all the way up)...
        let (ok, out) = node.etcdctl(version, &node.endpoint(), "client.cert", "client.key");
        assert!(ok, "{out}");
        // ... but as a client (towards its peers) its certificate is refused.
        let (ok, _) = node.present_and_expect(
            &mut etcd,
            version,
            ("127.0.0.1.cert", "127.0.0.1.key"),
            &says,
        );
        assert!(!ok);
    }
}

#[test]
fn peers_without_a_trusted_ca_refuse_each_other_as_predicted() {
    let node = Node::new();
    let d = node.dir.path().display().to_string();
    // Two members per release, both releases at once (the probers report after ~5 s).
    let mut confs = Vec::new();
    for version in EtcdVersion::ALL {
        let ports = [free_pair(), free_pair()];
        let cluster: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, p))| format!("m{}=https://127.0.0.1:{p}", i + 1))
            .collect();
        for (i, (c, p)) in ports.iter().enumerate() {
            let name = format!("v{}-m{}", version.series(), i + 1);
            let yaml = format!(
                "name: m{n}\ndata-dir: {d}/{name}.data\nlogger: zap\n\
                 listen-peer-urls: https://127.0.0.1:{p}\nlisten-client-urls: https://127.0.0.1:{c}\n\
                 advertise-client-urls: https://127.0.0.1:{c}\ninitial-advertise-peer-urls: https://127.0.0.1:{p}\n\
                 initial-cluster: {cluster}\ninitial-cluster-state: new\ninitial-cluster-token: {name}\n\
                 client-transport-security:\n  cert-file: {d}/127.0.0.1.cert\n  key-file: {d}/127.0.0.1.key\n  client-cert-auth: true\n  trusted-ca-file: {d}/root.cert\n\
                 peer-transport-security:\n  cert-file: {d}/127.0.0.1.cert\n  key-file: {d}/127.0.0.1.key\n",
                n = i + 1,
                cluster = cluster.join(","),
            );
            let path = node.path(&format!("{name}.yml"));
            fs::write(&path, yaml).unwrap();
            confs.push((version, path, node.path(&format!("{name}.log"))));
        }
    }
    let v = doctor(&[confs[0].1.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("peer-no-trusted-ca");
    let members: Vec<(EtcdVersion, Etcd)> = confs
        .iter()
        .map(|(version, conf, log)| (*version, spawn_etcd(*version, conf, log)))
        .collect();
    for version in EtcdVersion::ALL {
        let deadline = Instant::now() + Duration::from_secs(15);
        let logs = loop {
            let logs: Vec<String> = members
                .iter()
                .filter(|(v, _)| *v == version)
                .map(|(_, e)| fs::read_to_string(&e.log).unwrap_or_default())
                .collect();
            if logs.iter().any(|l| l.contains(&says)) || Instant::now() > deadline {
                break logs;
            }
            thread::sleep(Duration::from_millis(200));
        };
        assert!(
            logs.iter().any(|l| l.contains(&says)),
            "etcd {}: no {says:?} in\n{}",
            version.series(),
            logs.join("\n---\n")
        );
    }
}

/// A command line for a throw-away member of `node` (plain http on its ports), and `extra`.
fn member_args(node: &Node, extra: &[&str]) -> Vec<String> {
    let (c, p) = (node.client, node.peer);
    let mut args: Vec<String> = [
        "--name".to_owned(),
        "m1".to_owned(),
        "--data-dir".to_owned(),
        node.path("data").display().to_string(),
        format!("--listen-client-urls=http://127.0.0.1:{c}"),
        format!("--advertise-client-urls=http://127.0.0.1:{c}"),
        format!("--listen-peer-urls=http://127.0.0.1:{p}"),
        format!("--initial-advertise-peer-urls=http://127.0.0.1:{p}"),
        format!("--initial-cluster=m1=http://127.0.0.1:{p}"),
    ]
    .into();
    args.extend(extra.iter().map(|&a| a.to_owned()));
    args
}

/// Whether etcd's output holds `says`: as text (etcd 3.4's capnslog), or inside a JSON string
/// of its zap logs (3.5), where quotes are escaped.
fn prints(out: &str, says: &str) -> bool {
    out.contains(says) || out.contains(&says.replace('"', "\\\""))
}

/// What etcd `version` prints for `args` and the variables `env` within a few seconds.
fn etcd_output(version: EtcdVersion, args: &[String], env: &[(String, String)]) -> String {
    let mut cmd = Command::new(version.etcd());
    cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let out = run_bounded(cmd, QUICK);
    format!("{}\n{}", out.stdout, out.stderr)
}

#[test]
fn command_line_and_environment_mistakes_stop_etcd_as_predicted() {
    let node = Node::new();
    let unit = node.path("etcd.service");
    for version in EtcdVersion::ALL {
        let (release, _) = built_with(version);
        for (extra, code) in [
            (&["--bogus-flag", "x"][..], "config-unknown-flag"),
            // Neither 3.4.23 nor 3.5.1 has it (3.4.25, 3.5.8).
            (&["--tls-min-version", "TLS1.3"][..], "config-unknown-flag"),
            (&["--client-cert-auth=maybe"][..], "config-bad-value"),
            // A boolean flag never takes the next word: `maybe` is an argument.
            (&["--client-cert-auth", "maybe"][..], "config-bad-value"),
            (&["--initial-cluster-token"][..], "config-bad-value"),
        ] {
            let args = member_args(&node, extra);
            fs::write(
                &unit,
                format!(
                    "[Service]\nExecStart={} {}\n",
                    version.etcd().display(),
                    args.join(" ")
                ),
            )
            .unwrap();
            let v = doctor(&["--etcd-version", &release, unit.to_str().unwrap()]);
            assert_eq!(v.code, 1, "{extra:?}: {}", v.text);
            let says = v.says(code);
            let out = etcd_output(version, &args, &[]);
            assert!(
                prints(&out, &says),
                "etcd {release} {extra:?}: no {says:?} in\n{out}"
            );
        }
        // ETCD_* variables (an EnvironmentFile).
        let file = node.path("etcd.env");
        let (c, p) = (node.client, node.peer);
        let env_text = format!(
            "ETCD_NAME=m1\nETCD_DATA_DIR={}\nETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:{c}\n\
             ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:{c}\nETCD_LISTEN_PEER_URLS=http://127.0.0.1:{p}\n\
             ETCD_INITIAL_ADVERTISE_PEER_URLS=http://127.0.0.1:{p}\nETCD_INITIAL_CLUSTER=m1=http://127.0.0.1:{p}\n\
             ETCD_BOGUS_THING=1\nETCD_CLIENT_CERT_AUTH=maybe\n",
            node.path("data").display()
        );
        fs::write(&file, &env_text).unwrap();
        let v = doctor(&["--etcd-version", &release, file.to_str().unwrap()]);
        let says = v.says("config-bad-value");
        let unknown = v.with("config-unknown-env");
        assert_eq!(unknown.len(), 1, "{}", v.text);
        let env: Vec<(String, String)> = env_text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let out = etcd_output(version, &[], &env);
        assert!(prints(&out, &says), "etcd {release}: no {says:?} in\n{out}");
        let warned = unknown[0]["etcd_says"].as_str().unwrap();
        assert!(
            prints(&out, warned) && out.contains("ETCD_BOGUS_THING"),
            "etcd {release}: no {warned:?} in\n{out}"
        );
        // A config file that is not there, or is a directory.
        for missing in [node.path("gone.yml"), node.path("ca")] {
            let args = ["--config-file".to_owned(), missing.display().to_string()];
            fs::write(
                &unit,
                format!(
                    "ExecStart={} {}\n",
                    version.etcd().display(),
                    args.join(" ")
                ),
            )
            .unwrap();
            let v = doctor(&["--etcd-version", &release, unit.to_str().unwrap()]);
            let says = v.says("config-file-missing");
            let out = etcd_output(version, &args, &[]);
            assert!(prints(&out, &says), "etcd {release}: no {says:?} in\n{out}");
        }
        // A config file's boolean that is not one.
        let conf =
            node.config(|y| y.replacen("client-cert-auth: true", "client-cert-auth: maybe", 1));
        let v = doctor(&["--etcd-version", &release, conf.to_str().unwrap()]);
        let says = v.says("config-bad-value");
        let out = etcd_output(
            version,
            &["--config-file".into(), conf.display().to_string()],
            &[],
        );
        assert!(prints(&out, &says), "etcd {release}: no {says:?} in\n{out}");
    }
}

#[test]
fn cipher_suites_with_tls13_only_are_no_error_before_3_4_25_and_3_5_8() {
    let node = Node::new();
    let conf = node.config(|y| {
        y + "cipher-suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\ntls-min-version: TLS1.3\n"
    });
    // The current series refuses to start (its source: embed/config.go, "cipher suites cannot
    // be configured when only TLS1.3 is enabled"); these releases do not know tls-min-version.
    let v = doctor(&[conf.to_str().unwrap()]);
    assert_eq!(
        v.says("cipher-suites-with-tls13"),
        "cipher suites cannot be configured when only TLS1.3 is enabled"
    );
    for version in EtcdVersion::ALL {
        let (release, _) = built_with(version);
        let v = doctor(&["--etcd-version", &release, conf.to_str().unwrap()]);
        assert_eq!((v.code, v.errors()), (0, 0), "{}", v.text);
        assert_eq!(v.with("cipher-suites-with-tls13")[0]["severity"], "warning");
        assert_eq!(v.with("config-unknown-key")[0]["severity"], "warning");
        let mut etcd = node.start(version, &conf);
        let (serving, log) = etcd.wait_for(SERVING, READY);
        assert!(serving, "{log}");
        // TLS 1.2 is still on: tls-min-version was ignored.
        let out = Command::new("openssl")
            .args(["s_client", "-tls1_2", "-connect"])
            .arg(format!("127.0.0.1:{}", node.client))
            .arg("-CAfile")
            .arg(node.path("root.cert"))
            .arg("-cert")
            .arg(node.path("client.cert"))
            .arg("-key")
            .arg(node.path("client.key"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Protocol  : TLSv1.2") || text.contains("TLSv1.2, Cipher is"),
            "etcd {release}: no TLS 1.2 handshake\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn files_without_pem_data_are_refused_as_predicted() {
    let node = Node::new();
    let d = node.dir.path().display().to_string();
    openssl(
        node.dir.path(),
        &[
            "x509",
            "-in",
            "127.0.0.1.cert",
            "-outform",
            "der",
            "-out",
            "127.0.0.1.der",
        ],
    );
    fs::write(node.path("junk.pem"), "-- not PEM --\n").unwrap();
    // At startup: a DER certificate, a key that is no PEM; a directory as the certificate.
    fs::create_dir(node.path("certs.d")).unwrap();
    for (from, to, code) in [
        (
            format!("cert-file: {d}/127.0.0.1.cert"),
            format!("cert-file: {d}/127.0.0.1.der"),
            "file-unusable",
        ),
        (
            format!("key-file: {d}/127.0.0.1.key"),
            format!("key-file: {d}/junk.pem"),
            "file-unusable",
        ),
        (
            format!("cert-file: {d}/127.0.0.1.cert"),
            format!("cert-file: {d}/certs.d"),
            "config-file-missing",
        ),
    ] {
        let conf = node.config(|y| y.replacen(&from, &to, 1));
        let v = doctor(&[conf.to_str().unwrap()]);
        assert_eq!(v.code, 1, "{}", v.text);
        let says = v.says(code);
        for version in EtcdVersion::ALL {
            etcd_prints(&node, version, &conf, &says, QUICK);
        }
    }
    // A trusted-CA file without certificates: etcd starts and refuses every client.
    let from = format!("trusted-ca-file: {d}/root.cert");
    let conf = node.config(|y| y.replacen(&from, &format!("trusted-ca-file: {d}/junk.pem"), 1));
    let v = doctor(&[conf.to_str().unwrap()]);
    let says = v.says("file-unusable");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        let (ok, _) =
            node.present_and_expect(&mut etcd, version, ("client.cert", "client.key"), &says);
        assert!(!ok);
    }
}

#[test]
fn a_client_cn_that_is_no_user_is_denied_as_predicted() {
    let node = Node::new();
    let conf = node.config(|y| y);
    let d = node.dir.path();
    let ca = [&d.join("root.cert"), &d.join("ca/root.key")];
    openssl_leaf_with(
        d,
        ca.map(PathBuf::as_path),
        "bob",
        "extendedKeyUsage = clientAuth\n",
        &LeafOpts {
            subject: "/CN=bob",
            ..LeafOpts::default()
        },
    );
    let v = doctor(&["--users", "root", d.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("cn-not-a-user");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        let ctl = |cert: &str, args: &[&str]| {
            node.etcdctl_args(
                version,
                &node.endpoint(),
                &format!("{cert}.cert"),
                &format!("{cert}.key"),
                args,
            )
        };
        let (ok, out) = ctl("client", &["user", "add", "root:secret"]);
        assert!(ok, "{out}");
        let (_, out) = ctl("client", &["auth", "enable"]);
        assert!(out.contains("Authentication Enabled"), "{out}");
        let (ok, out) = ctl("bob", &["get", "/doctor"]);
        assert!(
            !ok && out.contains(&says),
            "etcdctl {}: no {says:?} in\n{out}",
            version.series()
        );
    }
}

#[test]
fn a_member_certificate_not_yet_valid_fails_as_predicted() {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{ExtendedKeyUsage, SubjectAlternativeName};
    use openssl::x509::{X509, X509Builder, X509NameBuilder};

    let node = Node::new();
    let conf = node.config(|y| y);
    let read = |name: &str| fs::read(node.path(name)).unwrap();
    let ca = X509::from_pem(&read("root.cert")).unwrap();
    let ca_key = PKey::private_key_from_pem(&read("ca/root.key")).unwrap();
    let key = PKey::private_key_from_pem(&read("127.0.0.1.key")).unwrap();
    // Valid from tomorrow (a CA host whose clock is ahead).
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(77).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    let mut subject = X509NameBuilder::new().unwrap();
    subject.append_entry_by_text("O", "test").unwrap();
    b.set_subject_name(&subject.build()).unwrap();
    b.set_issuer_name(ca.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .build(&b.x509v3_context(Some(&ca), None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.append_extension(
        ExtendedKeyUsage::new()
            .server_auth()
            .client_auth()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.sign(&ca_key, MessageDigest::sha256()).unwrap();
    fs::write(node.path("127.0.0.1.cert"), b.build().to_pem().unwrap()).unwrap();
    let v = doctor(&[conf.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("cert-not-yet-valid");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        let (ok, out) = node.etcdctl(version, &node.endpoint(), "client.cert", "client.key");
        assert!(
            !ok && out.contains(&says),
            "etcdctl {}: no {says:?} in\n{out}",
            version.series()
        );
    }
}

#[test]
fn a_kubeadm_control_plane_is_read_from_its_manifests_and_serves() {
    // /etc/kubernetes: pki/etcd (the etcd CA and pairs), pki/apiserver-etcd-client.* signed by
    // the etcd CA one level up beside the Kubernetes CA, and the static-pod manifests.
    let root = tempfile::tempdir().unwrap();
    let pki = root.path().join("pki");
    let etcd_pki = pki.join("etcd");
    let manifests = root.path().join("manifests");
    fs::create_dir_all(&etcd_pki).unwrap();
    fs::create_dir(&manifests).unwrap();
    kubeadm_etcd_pki(&etcd_pki);
    let etcd_ca = [etcd_pki.join("ca.crt"), etcd_pki.join("ca.key")];
    kubeadm_client(
        &pki,
        "apiserver-etcd-client",
        [etcd_ca[0].as_path(), etcd_ca[1].as_path()],
    );
    openssl(
        &pki,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=kubernetes",
            "-addext",
            "keyUsage=critical,keyCertSign,digitalSignature",
        ],
    );
    common_chmod(&pki.join("ca.key"));
    let (c, p) = free_pair();
    let (e, k) = (etcd_pki.display(), pki.display());
    let data = root.path().join("etcd-data");
    let args: Vec<String> = [
        format!("--advertise-client-urls=https://127.0.0.1:{c}"),
        format!("--cert-file={e}/server.crt"),
        "--client-cert-auth=true".into(),
        format!("--data-dir={}", data.display()),
        format!("--initial-advertise-peer-urls=https://127.0.0.1:{p}"),
        format!("--initial-cluster=node1=https://127.0.0.1:{p}"),
        format!("--key-file={e}/server.key"),
        format!("--listen-client-urls=https://127.0.0.1:{c}"),
        format!("--listen-peer-urls=https://127.0.0.1:{p}"),
        "--logger=zap".into(),
        "--name=node1".into(),
        format!("--peer-cert-file={e}/peer.crt"),
        "--peer-client-cert-auth=true".into(),
        format!("--peer-key-file={e}/peer.key"),
        format!("--peer-trusted-ca-file={e}/ca.crt"),
        "--snapshot-count=10000".into(),
        format!("--trusted-ca-file={e}/ca.crt"),
    ]
    .into();
    let command: String = args.iter().map(|a| format!("    - {a}\n")).collect();
    fs::write(
        manifests.join("etcd.yaml"),
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    component: etcd\n  name: etcd\n  namespace: kube-system\n\
             spec:\n  containers:\n  - command:\n    - etcd\n{command}    image: registry.k8s.io/etcd:3.5.15-0\n    name: etcd\n  hostNetwork: true\n"
        ),
    )
    .unwrap();
    fs::write(
        manifests.join("kube-apiserver.yaml"),
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n\
             \x20   - --client-ca-file={k}/ca.crt\n    - --etcd-cafile={e}/ca.crt\n    - --etcd-certfile={k}/apiserver-etcd-client.crt\n\
             \x20   - --etcd-keyfile={k}/apiserver-etcd-client.key\n    - --etcd-servers=https://127.0.0.1:{c}\n    name: kube-apiserver\n"
        ),
    )
    .unwrap();
    // A kube-scheduler manifest: no etcd in it.
    fs::write(
        manifests.join("kube-scheduler.yaml"),
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-scheduler\n    - --bind-address=127.0.0.1\n",
    )
    .unwrap();
    let v = doctor(&[
        "--etcd-version",
        "3.5",
        pki.to_str().unwrap(),
        manifests.to_str().unwrap(),
    ]);
    assert_eq!((v.code, v.errors(), v.warnings()), (0, 0, 0), "{}", v.text);
    // The etcd CA's key where kubeadm keeps it: an info, not the warning of other layouts.
    assert_eq!(
        v.with("ca-key-on-member")[0]["severity"],
        "info",
        "{}",
        v.text
    );
    let members: Vec<&serde_json::Value> = v.with("cert-expiry");
    assert_eq!(members.len(), 6, "{}", v.text);
    // The member and kube-apiserver work as the doctor says.
    for version in EtcdVersion::ALL {
        let _ = fs::remove_dir_all(&data);
        let log = root.path().join("etcd.log");
        let file = fs::File::create(&log).unwrap();
        let mut etcd = Etcd {
            child: Command::new(version.etcd())
                .args(&args)
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .spawn()
                .unwrap(),
            log,
        };
        let (ready, text) = etcd.wait_for(SERVING, READY);
        assert!(ready, "etcd {}: {text}", version.series());
        let mut cmd = Command::new(version.etcdctl());
        cmd.arg(format!("--endpoints=https://127.0.0.1:{c}"))
            .arg(format!("--cacert={e}/ca.crt"))
            .arg(format!("--cert={k}/apiserver-etcd-client.crt"))
            .arg(format!("--key={k}/apiserver-etcd-client.key"))
            .args(["--dial-timeout=2s", "put", "/registry/x", "y"]);
        let out = run_bounded(cmd, Duration::from_secs(8));
        assert!(out.ok(), "{out}");
    }
    // kube-apiserver's pair signed by the Kubernetes CA instead: found through its manifest.
    let k8s_ca = [pki.join("ca.crt"), pki.join("ca.key")];
    kubeadm_client(
        &pki,
        "apiserver-etcd-client",
        [k8s_ca[0].as_path(), k8s_ca[1].as_path()],
    );
    let v = doctor(&[pki.to_str().unwrap(), manifests.to_str().unwrap()]);
    let f = v.with("chain-untrusted");
    assert_eq!(f.len(), 1, "{}", v.text);
    assert_eq!(f[0]["severity"], "error");
    assert_eq!(
        f[0]["files"],
        serde_json::json!([pki.join("apiserver-etcd-client.crt").display().to_string()])
    );
}

#[test]
fn cfssl_member_sets_are_read() {
    let node = Node::new();
    let c = tempfile::tempdir().unwrap();
    let d = c.path();
    for (from, to) in [
        ("root.cert", "ca.pem"),
        ("root.key", "ca-key.pem"),
        ("127.0.0.1.cert", "member1.pem"),
        ("127.0.0.1.key", "member1-key.pem"),
        ("client.cert", "client.pem"),
        ("client.key", "client-key.pem"),
    ] {
        fs::copy(node.path(from), d.join(to)).unwrap();
    }
    // What else cfssl leaves: requests and JSON.
    fs::write(d.join("ca-config.json"), "{\"signing\": {\"profiles\": {\"peer\": {\"usages\": [\"server auth\", \"client auth\"]}}}}\n").unwrap();
    fs::write(
        d.join("member1-csr.json"),
        "{\"CN\": \"etcd\",\n \"hosts\": [\"127.0.0.1\"]}\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "member1-key.pem",
            "-out",
            "member1.csr",
            "-subj",
            "/CN=member1",
        ],
    );
    let v = doctor(&[d.to_str().unwrap()]);
    assert_eq!((v.code, v.errors(), v.warnings()), (0, 0, 0), "{}", v.text);
    // cfssl's "server" profile (server auth only) used for a member.
    let ca = [d.join("ca.pem"), d.join("ca-key.pem")];
    openssl_leaf(
        d,
        [ca[0].as_path(), ca[1].as_path()],
        "member1",
        "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n",
        "-sha256",
    );
    fs::rename(d.join("member1.cert"), d.join("member1.pem")).unwrap();
    fs::rename(d.join("member1.key"), d.join("member1-key.pem")).unwrap();
    let v = doctor(&[d.to_str().unwrap()]);
    let f = v.with("member-cert-no-client-auth");
    assert_eq!((v.code, f.len()), (1, 1), "{}", v.text);
    assert_eq!(
        f[0]["files"],
        serde_json::json!([d.join("member1.pem").display().to_string()])
    );
    // Its key belongs to it (member1-key.pem was found).
    assert!(
        v.with("key-mismatch").is_empty() && v.with("key-not-found").is_empty(),
        "{}",
        v.text
    );
}

#[test]
fn the_guides_openssl_recipe_and_configuration_are_read() {
    // The guide's commands, as written (C/ST/L/O/OU subjects, `@names` SAN sections), and its
    // configuration for node 192.168.10.11 with `/path/to` the directory.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let subj = "/C=CN/ST=CQ/L=YB/O=BC/OU=ZWC";
    openssl(d, &["genrsa", "-out", "root.key", "2048"]);
    openssl(
        d,
        &[
            "req",
            "-new",
            "-sha256",
            "-key",
            "root.key",
            "-out",
            "root.csr",
            "-subj",
            &format!("{subj}/CN=CA"),
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-days",
            "3650",
            "-sha256",
            "-signkey",
            "root.key",
            "-in",
            "root.csr",
            "-out",
            "root.cert",
        ],
    );
    let sign = |name: &str, ext: Option<&str>| {
        openssl(d, &["genrsa", "-out", &format!("{name}.key"), "2048"]);
        openssl(
            d,
            &[
                "req",
                "-new",
                "-sha256",
                "-key",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                subj,
            ],
        );
        let mut args = vec![
            "x509".to_owned(),
            "-req".into(),
            "-days".into(),
            "3650".into(),
            "-sha256".into(),
            "-CA".into(),
            "root.cert".into(),
            "-CAkey".into(),
            "root.key".into(),
            "-CAserial".into(),
            "root.srl".into(),
            "-CAcreateserial".into(),
            "-in".into(),
            format!("{name}.csr"),
            "-out".into(),
            format!("{name}.cert"),
        ];
        if let Some(ext) = ext {
            fs::write(d.join(format!("{name}.ext")), ext).unwrap();
            args.extend(["-extfile".into(), format!("{name}.ext")]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        openssl(d, &refs);
    };
    sign("client", None);
    sign(
        "192.168.10.11",
        Some("subjectAltName = @names\n[names]\nIP.1 = 127.0.0.1\nIP.2 = 192.168.10.11\n"),
    );
    for key in ["root.key", "client.key", "192.168.10.11.key"] {
        common_chmod(&d.join(key));
    }
    // The directory as made on the CA host: no errors; the v1 client is what rustls refuses.
    let v = doctor(&[d.to_str().unwrap()]);
    assert_eq!((v.code, v.errors()), (0, 0), "{}", v.text);
    // The node's configuration (listening on 0.0.0.0), on the node with every uploaded file.
    let p = d.display();
    let conf = d.join("etcd.conf.yml");
    fs::write(
        &conf,
        format!(
            "name: node1\nlisten-peer-urls: https://0.0.0.0:2380\nlisten-client-urls: https://0.0.0.0:2379\n\
             advertise-client-urls: https://192.168.10.11:2379\ninitial-advertise-peer-urls: https://192.168.10.11:2380\n\
             initial-cluster: node1=https://192.168.10.11:2380\n\
             client-transport-security:\n  # 服务端证书\n  cert-file: {p}/192.168.10.11.cert\n  key-file: {p}/192.168.10.11.key\n  client-cert-auth: true\n  trusted-ca-file: {p}/root.cert\n  auto-tls: false\n\
             peer-transport-security:\n  cert-file: {p}/192.168.10.11.cert\n  key-file: {p}/192.168.10.11.key\n  client-cert-auth: true\n  trusted-ca-file: {p}/root.cert\n  auto-tls: false\n"
        ),
    )
    .unwrap();
    let v = doctor(&["--etcd-version", "3.4", d.to_str().unwrap()]);
    assert_eq!((v.code, v.errors()), (0, 0), "{}", v.text);
    // What the guide's upload table puts on a node: the CA's key too.
    let warnings: Vec<&str> = v.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "warning")
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(warnings.contains(&"ca-key-on-member"), "{}", v.text);
    for w in &warnings {
        assert!(
            ["ca-key-on-member", "cert-v1"].contains(w),
            "unexpected warning {w}: {}",
            v.text
        );
    }
}
