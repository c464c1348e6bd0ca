//! `etcd_doctor` against reality: its predictions (`etcd_says`) for the main faults are shown
//! to be what real etcd 3.4 (Debian) and 3.5.1 (the official binaries) or etcdctl print, on
//! single-member clusters; and it finds no errors on good sets made by our CLI, the reference
//! Python script, the guide's openssl commands, and openssl in kubeadm's and cfssl's layouts.
//! Bad input exits 2.

mod common;
#[allow(dead_code, reason = "the doctor tests use a few of the helpers")]
mod etcd_support;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
        Self {
            dir,
            client: free_port(),
            peer: free_port(),
        }
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
        let log = self.path("etcd.log");
        let file = fs::File::create(&log).unwrap();
        let child = Command::new(version.etcd())
            .arg("--config-file")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Etcd { child, log }
    }

    /// etcdctl of `version` against `endpoint`, trusting root.cert, presenting `cert`/`key`.
    fn etcdctl(
        &self,
        version: EtcdVersion,
        endpoint: &str,
        cert: &str,
        key: &str,
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
            .args(["get", "/doctor"]);
        let out = run_bounded(cmd, Duration::from_secs(8));
        let ok = out.status.is_some_and(|s| s.success());
        (ok, format!("{}\n{}", out.stdout, out.stderr))
    }

    fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.client)
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
    openssl(dir, &["genrsa", "-out", &format!("{name}.key"), "2048"]);
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            "/O=test",
        ],
    );
    fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    let [ca_cert, ca_key] = ca;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-days",
            "30",
            digest,
            "-CA",
            ca_cert.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-CAcreateserial",
            "-in",
            &format!("{name}.csr"),
            "-out",
            &format!("{name}.cert"),
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
    let _ = fs::remove_file(dir.join(format!("{name}.csr")));
    let _ = fs::remove_file(dir.join(format!("{name}.ext")));
    common_chmod(&dir.join(format!("{name}.key")));
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

#[test]
fn a_server_auth_only_member_certificate_is_refused_as_predicted() {
    let node = Node::new();
    let conf = node.config(|y| y);
    let d = node.dir.path();
    let ca = [&d.join("root.cert"), &d.join("ca/root.key")];
    openssl_leaf(
        d,
        ca.map(PathBuf::as_path),
        "127.0.0.1",
        "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n",
        "-sha256",
    );
    let v = doctor(&[d.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("member-cert-no-client-auth");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        // What a peer (or the member's own gateway) does: present the member's certificate.
        let _ = node.etcdctl(version, &node.endpoint(), "127.0.0.1.cert", "127.0.0.1.key");
        let (found, log) = etcd.wait_for(&says, QUICK);
        assert!(found, "etcd {}: no {says:?} in\n{log}", version.series());
    }
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

#[test]
fn a_sha1_signature_is_refused_by_etcd_3_4_as_predicted() {
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
    let v = doctor(&[d.to_str().unwrap()]);
    let says = v.says("signature-sha1");
    // Debian's 3.4.23 is built with Go 1.19; the 3.5.1 release binaries (Go 1.16) still accept SHA-1.
    let version = EtcdVersion::V3_4;
    let mut etcd = node.start(version, &conf);
    assert!(etcd.wait_for(SERVING, READY).0);
    let (_, out) = node.etcdctl(version, &node.endpoint(), "127.0.0.1.cert", "127.0.0.1.key");
    assert!(out.contains(&says), "etcdctl 3.4: no {says:?} in\n{out}");
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
        let _ = node.etcdctl(
            version,
            &node.endpoint(),
            "bad-client.cert",
            "bad-client.key",
        );
        let (found, log) = etcd.wait_for(&says, QUICK);
        assert!(found, "etcd {}: no {says:?} in\n{log}", version.series());
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
        let (ok, out) = node.etcdctl(version, &node.endpoint(), "client.cert", "client.key");
        assert!(!ok, "our client is refused: {out}");
        let (found, log) = etcd.wait_for(&says, QUICK);
        assert!(found, "etcd {}: no {says:?} in\n{log}", version.series());
    }
}

#[test]
fn a_client_auth_only_member_certificate_is_refused_by_clients_as_predicted() {
    let node = Node::new();
    let conf = node.config(|y| y);
    let d = node.dir.path();
    let ca = [&d.join("root.cert"), &d.join("ca/root.key")];
    openssl_leaf(
        d,
        ca.map(PathBuf::as_path),
        "127.0.0.1",
        "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = clientAuth\n",
        "-sha256",
    );
    let v = doctor(&[d.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}", v.text);
    let says = v.says("member-cert-no-server-auth");
    for version in EtcdVersion::ALL {
        let mut etcd = node.start(version, &conf);
        assert!(etcd.wait_for(SERVING, READY).0);
        // etcdctl verifies the member's certificate for serverAuth and gives up.
        let (ok, out) = node.etcdctl(version, &node.endpoint(), "client.cert", "client.key");
        assert!(!ok, "the client refuses the member: {out}");
        assert!(
            out.contains(&says),
            "etcdctl {}: no {says:?} in\n{out}",
            version.series()
        );
    }
}
