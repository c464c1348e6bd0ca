//! A cluster plan's files run a real etcd cluster as they are: members start straight from
//! `members/<name>/etcd.conf.yml`, `etcdctl` connects with `clients/<user>/etcdctl.env`, and the
//! generated migration script moves a running http cluster to https peers.

#[allow(dead_code, unreachable_pub)]
mod etcd_support;

mod common;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use etcd_support::{Outcome, retry, run_bounded};
use tempfile::TempDir;

/// The example binary `etcd_cluster_plan`, next to the test executables.
fn plan_cli() -> PathBuf {
    common::example_path("etcd_cluster_plan")
}

fn etcd() -> &'static str {
    if Command::new("etcd").arg("--version").output().is_err() {
        panic!("etcd not found: install it with `apt-get install etcd-server etcd-client`");
    }
    "etcd"
}

/// Members started by this test: killed and reaped on drop, also when the test panics (their
/// logs are printed then).
struct Members {
    children: Vec<Child>,
    logs: Vec<PathBuf>,
}

impl Members {
    fn start(configs: &[PathBuf], dir: &Path) -> Self {
        let mut m = Self {
            children: Vec::new(),
            logs: Vec::new(),
        };
        for (i, config) in configs.iter().enumerate() {
            let log = dir.join(format!("member{i}.log"));
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap();
            let child = Command::new(etcd())
                .arg("--config-file")
                .arg(config)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .spawn()
                .unwrap();
            m.children.push(child);
            m.logs.push(log);
        }
        m
    }

    fn stop(&mut self) {
        for mut c in self.children.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            for log in &self.logs {
                let text = fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| {
                        ["tls", "certificate", "handshake", "error", "fatal"]
                            .iter()
                            .any(|w| l.to_lowercase().contains(w))
                    })
                    .take(20)
                    .collect();
                eprintln!("=== {}:\n{}", log.display(), lines.join("\n"));
            }
        }
    }
}

/// `KEY='value'` lines of an env file (the single-quoted form the bundle writes).
fn env_file(path: &Path) -> BTreeMap<String, String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            let v = v.trim_matches('\'').replace(r"'\''", "'");
            (k.to_owned(), v)
        })
        .collect()
}

fn etcdctl_env(env: &BTreeMap<String, String>, args: &[&str]) -> Outcome {
    let mut cmd = Command::new("etcdctl");
    cmd.envs(env)
        .arg("--dial-timeout=2s")
        .arg("--command-timeout=3s")
        .args(args);
    run_bounded(cmd, Duration::from_secs(10))
}

fn write_plan(dir: &Path, ips: &[Ipv4Addr], ports: (u16, u16)) -> PathBuf {
    let mut plan = format!(
        "days = 30\nkey_algorithm = \"p256\"\nlisten = \"member-ips\"\nclient_port = {}\npeer_port = {}\ntoken = \"plan-test\"\ndata_dir = \"{}/{{name}}.data\"\n",
        ports.0,
        ports.1,
        dir.display()
    );
    for (i, ip) in ips.iter().enumerate() {
        plan.push_str(&format!(
            "\n[[member]]\nname = \"node{}\"\nips = [\"{ip}\"]\n",
            i + 1
        ));
    }
    plan.push_str("\n[[user]]\nname = \"root\"\n\n[[user]]\nname = \"alice\"\n");
    let path = dir.join("cluster.toml");
    fs::write(&path, plan).unwrap();
    path
}

fn make_bundle(dir: &Path, plan: &Path) -> PathBuf {
    let out = dir.join("out");
    fs::create_dir(&out).unwrap();
    let run = Command::new(plan_cli())
        .arg(plan)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

fn wait_healthy(env: &BTreeMap<String, String>) -> Result<(), String> {
    let mut last = String::new();
    retry(Duration::from_secs(60), || {
        let o = etcdctl_env(env, &["endpoint", "health"]);
        let healthy = o.ok() && (o.stdout.clone() + &o.stderr).matches("is healthy").count() == 3;
        if healthy {
            Some(())
        } else {
            last = format!("{o}");
            None
        }
    })
    .ok_or(last)
}

#[test]
fn members_start_from_the_generated_directories() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let ips = [
        Ipv4Addr::new(127, 0, 0, 51),
        Ipv4Addr::new(127, 0, 0, 52),
        Ipv4Addr::new(127, 0, 0, 53),
    ];
    let ports = etcd_support::free_ports(&ips, 25379);
    let out = make_bundle(dir, &write_plan(dir, &ips, ports));
    // The CA key exists once, in ca/ only.
    let keys: Vec<PathBuf> = walk(&out)
        .into_iter()
        .filter(|p| p.ends_with("root.key"))
        .collect();
    assert_eq!(keys, [out.join("ca/root.key")]);
    let configs: Vec<PathBuf> = (1..=3)
        .map(|i| out.join(format!("members/node{i}/etcd.conf.yml")))
        .collect();
    // Read back by a YAML parser: the names, and files that exist.
    for (i, config) in configs.iter().enumerate() {
        let docs = yaml_rust2::YamlLoader::load_from_str(&fs::read_to_string(config).unwrap())
            .expect("etcd.conf.yml is YAML");
        let y = &docs[0];
        assert_eq!(y["name"].as_str(), Some(format!("node{}", i + 1).as_str()));
        for s in ["client-transport-security", "peer-transport-security"] {
            for k in ["cert-file", "key-file", "trusted-ca-file"] {
                let f = y[s][k].as_str().unwrap();
                assert!(Path::new(f).is_file(), "{s}.{k}: {f}");
            }
        }
    }
    let _members = Members::start(&configs, dir);
    let root = env_file(&out.join("clients/root/etcdctl.env"));
    wait_healthy(&root).expect("the planned cluster becomes healthy");
    let list = etcdctl_env(&root, &["member", "list"]).expect_ok("member list");
    assert_eq!(list.matches("started").count(), 3, "{list}");
    assert_eq!(list.matches("https://").count(), 6, "{list}");
    etcdctl_env(&root, &["put", "/plan/key", "v"]).expect_ok("put");
    // Alice's files work too (no auth enabled: any valid client certificate).
    let alice = env_file(&out.join("clients/alice/etcdctl.env"));
    let got = etcdctl_env(&alice, &["get", "/plan/key", "--print-value-only"]).expect_ok("get");
    assert_eq!(got.trim(), "v");
    // Without a client certificate the members refuse.
    let mut anonymous = root.clone();
    anonymous.remove("ETCDCTL_CERT");
    anonymous.remove("ETCDCTL_KEY");
    assert!(!etcdctl_env(&anonymous, &["get", "/plan/key"]).ok());
}

#[test]
fn the_migration_script_moves_an_http_cluster_to_https() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let ips = [
        Ipv4Addr::new(127, 0, 0, 61),
        Ipv4Addr::new(127, 0, 0, 62),
        Ipv4Addr::new(127, 0, 0, 63),
    ];
    let ports = etcd_support::free_ports(&ips, 26379);
    let out = make_bundle(dir, &write_plan(dir, &ips, ports));
    // The running cluster: plain http, same names, data directories and ports as the plan.
    let initial = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| format!("node{}=http://{ip}:{}", i + 1, ports.1))
        .collect::<Vec<_>>()
        .join(",");
    let http_configs: Vec<PathBuf> = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            let path = dir.join(format!("http{}.yml", i + 1));
            fs::write(
                &path,
                format!(
                    "name: node{n}\ndata-dir: {d}/node{n}.data\nlisten-peer-urls: http://{ip}:{p}\nlisten-client-urls: http://{ip}:{c}\nadvertise-client-urls: http://{ip}:{c}\ninitial-advertise-peer-urls: http://{ip}:{p}\ninitial-cluster: {initial}\ninitial-cluster-token: plan-test\ninitial-cluster-state: new\n",
                    n = i + 1,
                    d = dir.display(),
                    c = ports.0,
                    p = ports.1
                ),
            )
            .unwrap();
            path
        })
        .collect();
    let http_endpoints = ips
        .iter()
        .map(|ip| format!("http://{ip}:{}", ports.0))
        .collect::<Vec<_>>()
        .join(",");
    let http: BTreeMap<String, String> =
        [("ETCDCTL_ENDPOINTS".to_owned(), http_endpoints.clone())].into();
    let mut members = Members::start(&http_configs, dir);
    wait_healthy(&http).expect("the http cluster becomes healthy");
    etcdctl_env(&http, &["put", "/before", "migration"]).expect_ok("put before");
    // The generated script: `etcdctl member update <id> --peer-urls=https://…` per member.
    let mut cmd = Command::new("sh");
    cmd.arg(out.join("ca/migrate-to-https.sh"))
        .env("ETCDCTL_ENDPOINTS", &http_endpoints);
    let o = run_bounded(cmd, Duration::from_secs(30));
    assert_eq!(o.stdout.matches("updated in cluster").count(), 3, "{o}");
    // Restart every member with its generated TLS configuration.
    members.stop();
    let configs: Vec<PathBuf> = (1..=3)
        .map(|i| out.join(format!("members/node{i}/etcd.conf.yml")))
        .collect();
    let _members = Members::start(&configs, dir);
    let root = env_file(&out.join("clients/root/etcdctl.env"));
    wait_healthy(&root).expect("the migrated cluster becomes healthy");
    let list = etcdctl_env(&root, &["member", "list"]).expect_ok("member list");
    assert_eq!(list.matches("https://").count(), 6, "{list}");
    assert!(!list.contains("http://"), "{list}");
    let got = etcdctl_env(&root, &["get", "/before", "--print-value-only"]).expect_ok("get");
    assert_eq!(got.trim(), "migration");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The serial number of the certificate a TLS server at `addr` presents (openssl s_client).
fn served_serial(addr: &str, client_dir: &Path) -> Option<String> {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", addr, "-showcerts"])
        .arg("-CAfile")
        .arg(client_dir.join("root.cert"))
        .arg("-cert")
        .arg(client_dir.join("client.cert"))
        .arg("-key")
        .arg(client_dir.join("client.key"));
    let o = run_bounded(cmd, Duration::from_secs(10));
    let start = o.stdout.find("-----BEGIN CERTIFICATE-----")?;
    let end = o.stdout[start..].find("-----END CERTIFICATE-----")? + start + 25;
    let cert = etcd_pki::Certificate::from_pem(&o.stdout[start..end]).ok()?;
    Some(cert.serial_hex())
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let ips = [Ipv4Addr::new(127, 0, 0, 71)];
    let ports = etcd_support::free_ports(&ips, 27379);
    let out = make_bundle(dir, &write_plan(dir, &ips, ports));
    let member_dir = out.join("members/node1");
    let _members = Members::start(&[member_dir.join("etcd.conf.yml")], dir);
    let root_env = env_file(&out.join("clients/root/etcdctl.env"));
    let healthy = retry(Duration::from_secs(30), || {
        etcdctl_env(&root_env, &["endpoint", "health"])
            .ok()
            .then_some(())
    });
    healthy.expect("the member becomes healthy");
    let addr = format!("127.0.0.71:{}", ports.0);
    let client_dir = out.join("clients/root");
    let before = served_serial(&addr, &client_dir).expect("the served certificate");
    // Renew on the CA host and replace the member's certificate file (atomically).
    let ca = etcd_pki::Issuer::load(&out.join("ca/root.cert"), &out.join("ca/root.key")).unwrap();
    let old = etcd_pki::Certificate::from_pem(
        &fs::read_to_string(member_dir.join("127.0.0.71.cert")).unwrap(),
    )
    .unwrap();
    assert_eq!(old.serial_hex(), before);
    let renewed = ca.renew(&old, 60).unwrap();
    renewed
        .write(
            &member_dir,
            "127.0.0.71.cert",
            &etcd_pki::WriteOptions::new().overwrite(true),
        )
        .unwrap();
    // New connections get the renewed certificate from the same, running process.
    let after = retry(Duration::from_secs(10), || {
        served_serial(&addr, &client_dir).filter(|s| *s != before)
    });
    assert_eq!(after, Some(renewed.serial_hex()));
    etcdctl_env(&root_env, &["put", "/renewed", "yes"]).expect_ok("put after renewal");
}
