//! The lifecycle on real etcd clusters (3.4 from Debian, 3.5.1 from PyPI) under load: a
//! 3-member cluster from `etcd_cluster_plan`, a Rust client load (etcd-client over rustls, see
//! `etcd_load`) through all three members, then `etcd_cluster_plan renew` and the three phases
//! of `etcd_cluster_plan rotate-ca`, with the rolling restarts done by the generated scripts
//! (their `ETCD_RESTART` hook asks this test's harness to restart a member). At the end: every
//! acknowledged write is readable, at most one member was ever down, every member serves a
//! certificate of the new root on its client and peer listeners, and neither a client trusting
//! only the old root nor a client certificate of the old root gets through.

#[allow(dead_code, unreachable_pub)]
mod etcd_support;

mod common;

#[allow(dead_code)]
mod etcd_load;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use etcd_load::{ClientFiles, Load};
use etcd_pki::Certificate;
use etcd_support::{EtcdVersion, Outcome, retry, run_bounded};
use tempfile::TempDir;

/// One test at a time: two clusters under load on two cores would starve each other's
/// elections.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn renewal_and_ca_rotation_under_load_lose_no_write_on_etcd_3_4() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    lifecycle_under_load(EtcdVersion::V3_4, 61);
}

#[test]
fn renewal_and_ca_rotation_under_load_lose_no_write_on_etcd_3_5() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    lifecycle_under_load(EtcdVersion::V3_5, 71);
}

/// The members of the cluster, run by this harness: started from their generated
/// `etcd.conf.yml`, restarted on request of the scripts' `ETCD_RESTART` hook (a request file
/// `<name>.restart` in `requests/`, answered by `<name>.done`), stopped on drop.
struct Members {
    etcd: PathBuf,
    out: PathBuf,
    logs: PathBuf,
    names: Vec<String>,
    children: Mutex<Vec<Option<Child>>>,
    /// The fewest members running at any sample of the watcher.
    min_running: AtomicUsize,
}

impl Members {
    fn start(etcd: PathBuf, out: &Path, logs: &Path, names: &[String]) -> Arc<Self> {
        let m = Arc::new(Self {
            etcd,
            out: out.to_path_buf(),
            logs: logs.to_path_buf(),
            names: names.to_vec(),
            children: Mutex::new(Vec::new()),
            min_running: AtomicUsize::new(names.len()),
        });
        let children: Vec<Option<Child>> = names.iter().map(|n| Some(m.spawn(n))).collect();
        *m.children.lock().unwrap() = children;
        m
    }

    fn spawn(&self, name: &str) -> Child {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{name}.log")))
            .unwrap();
        Command::new(&self.etcd)
            .arg("--config-file")
            .arg(self.out.join("members").join(name).join("etcd.conf.yml"))
            .current_dir(&self.logs)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("etcd starts")
    }

    /// Stops member `i` as systemd would (SIGTERM, SIGKILL after 10 s) and starts it again.
    fn restart(&self, i: usize) {
        let old = self.children.lock().unwrap()[i].take();
        if let Some(mut child) = old {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        let child = self.spawn(&self.names[i]);
        self.children.lock().unwrap()[i] = Some(child);
    }

    fn running(&self) -> usize {
        let mut children = self.children.lock().unwrap();
        children
            .iter_mut()
            .filter_map(Option::as_mut)
            .map(|c| c.try_wait().ok().flatten().is_none())
            .filter(|running| *running)
            .count()
    }

    /// Serves the restart requests in `requests` until `stop`, and samples how many members
    /// run (every 10 ms, on a thread of its own).
    fn serve(
        self: &Arc<Self>,
        requests: PathBuf,
        stop: &Arc<AtomicBool>,
    ) -> [thread::JoinHandle<()>; 2] {
        let (m, done) = (self.clone(), stop.clone());
        let sampler = thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                m.min_running.fetch_min(m.running(), Ordering::SeqCst);
                thread::sleep(Duration::from_millis(10));
            }
        });
        let (m, stop) = (self.clone(), stop.clone());
        let server = thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for (i, name) in m.names.iter().enumerate() {
                    let req = requests.join(format!("{name}.restart"));
                    if fs::remove_file(&req).is_ok() {
                        m.restart(i);
                        fs::write(requests.join(format!("{name}.done")), "").unwrap();
                    }
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        [sampler, server]
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        for child in self.children.lock().unwrap().iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            for name in &self.names {
                let text =
                    fs::read_to_string(self.logs.join(format!("{name}.log"))).unwrap_or_default();
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| {
                        ["tls", "certificate", "handshake", "error", "fatal", "warn"]
                            .iter()
                            .any(|w| l.to_lowercase().contains(w))
                    })
                    .rev()
                    .take(15)
                    .collect();
                eprintln!(
                    "=== {name}.log (last TLS/error lines):\n{}",
                    lines.join("\n")
                );
            }
        }
    }
}

fn plan_cli(args: &[&str], out: &Path) -> String {
    let run = Command::new(common::example_path("etcd_cluster_plan"))
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "etcd_cluster_plan {args:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

/// Runs a generated rotation script with the harness's restart hook, bounded.
fn run_script(script: &Path, etcdctl: &Path, requests: &Path) -> Outcome {
    let hook = format!(
        "touch {dir}/\"$1\".restart; i=0; until [ -e {dir}/\"$1\".done ]; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done; rm -f {dir}/\"$1\".done",
        dir = requests.display()
    );
    let mut cmd = Command::new("sh");
    cmd.arg(script)
        .env("ETCD_RESTART", hook)
        .env("ETCDCTL", etcdctl)
        .env("ETCD_HEALTH_TIMEOUT", "60");
    run_bounded(cmd, Duration::from_secs(300))
}

/// `etcdctl` with the files of a client directory.
fn etcdctl(bin: &Path, endpoints: &str, files: &ClientFiles, args: &[&str]) -> Outcome {
    let mut cmd = Command::new(bin);
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .arg(format!("--cacert={}", files.trust.display()))
        .arg(format!(
            "--cert={}",
            files.dir.join(format!("{}.cert", files.stem)).display()
        ))
        .arg(format!(
            "--key={}",
            files.dir.join(format!("{}.key", files.stem)).display()
        ))
        .arg("--dial-timeout=2s")
        .arg("--command-timeout=3s")
        .args(args);
    run_bounded(cmd, Duration::from_secs(15))
}

fn serial_of(der: &[u8]) -> String {
    Certificate::from_der(der).unwrap().serial_hex()
}

fn lifecycle_under_load(version: EtcdVersion, last_octet: u8) {
    let (etcd, etcdctl_bin) = (version.etcd(), version.etcdctl());
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let ips: Vec<Ipv4Addr> = (0..3)
        .map(|i| Ipv4Addr::new(127, 0, 0, last_octet + i))
        .collect();
    let (client_port, peer_port) =
        etcd_support::free_ports(&ips, 23000 + u16::from(last_octet) * 20);
    let mut plan = format!(
        "days = 30\nlisten = \"member-ips\"\nclient_port = {client_port}\npeer_port = {peer_port}\n\
         token = \"lifecycle-{}\"\ndata_dir = '{}/{{name}}.data'\n",
        version.series(),
        dir.display()
    );
    let names: Vec<String> = (1..=3).map(|i| format!("node{i}")).collect();
    for (name, ip) in names.iter().zip(&ips) {
        plan.push_str(&format!(
            "\n[[member]]\nname = \"{name}\"\nips = [\"{ip}\"]\n"
        ));
    }
    plan.push_str("\n[[user]]\nname = \"root\"\n");
    fs::write(dir.join("cluster.toml"), plan).unwrap();
    let out = dir.join("out");
    fs::create_dir(&out).unwrap();
    plan_cli(&[dir.join("cluster.toml").to_str().unwrap()], &out);

    let client_addrs: Vec<SocketAddr> = ips
        .iter()
        .map(|ip| SocketAddr::new(IpAddr::V4(*ip), client_port))
        .collect();
    let peer_addrs: Vec<SocketAddr> = ips
        .iter()
        .map(|ip| SocketAddr::new(IpAddr::V4(*ip), peer_port))
        .collect();
    let endpoints = client_addrs
        .iter()
        .map(|a| format!("https://{a}"))
        .collect::<Vec<_>>()
        .join(",");
    let root_dir = out.join("clients/root");
    let root = ClientFiles {
        dir: root_dir.clone(),
        stem: "client".into(),
        trust: root_dir.join("root.cert"),
    };
    // The client's files as they were before the rotation: its old-root certificate and key,
    // and the old root alone.
    let old_dir = dir.join("old-client");
    fs::create_dir(&old_dir).unwrap();
    for f in ["client.cert", "client.key", "root.cert"] {
        fs::copy(root_dir.join(f), old_dir.join(f)).unwrap();
    }
    let old_client = ClientFiles {
        dir: old_dir.clone(),
        stem: "client".into(),
        trust: old_dir.join("root.cert"),
    };

    let logs = dir.join("logs");
    let requests = dir.join("requests");
    fs::create_dir(&logs).unwrap();
    fs::create_dir(&requests).unwrap();
    let members = Members::start(etcd, &out, &logs, &names);
    let stop = Arc::new(AtomicBool::new(false));
    let harness = members.serve(requests.clone(), &stop);
    retry(Duration::from_secs(60), || {
        let o = etcdctl(&etcdctl_bin, &endpoints, &root, &["endpoint", "health"]);
        (o.ok()
            && o.stdout.matches("is healthy").count() + o.stderr.matches("is healthy").count() == 3)
            .then_some(())
    })
    .expect("the planned cluster becomes healthy");

    let load = Load::start(client_addrs.clone(), root.clone());
    assert!(
        load.wait_for_more(50, Duration::from_secs(30)),
        "the load gets going"
    );
    let step = |what: &str, load: &Load| {
        load.reconnect();
        assert!(
            load.wait_for_more(30, Duration::from_secs(30)),
            "writes go on after {what}"
        );
    };

    // Renewal: new certificates with the same keys, served on new connections, no restart.
    let before: Vec<String> = client_addrs
        .iter()
        .map(|a| serial_of(&etcd_load::served_certificate(*a, &root).unwrap()))
        .collect();
    let renewed = plan_cli(&["renew", "--days", "60"], &out);
    assert_eq!(renewed.matches("Renewed: ").count(), 4, "{renewed}");
    assert!(renewed.contains("Clients must reconnect"), "{renewed}");
    for (i, (addr, old)) in client_addrs.iter().zip(&before).enumerate() {
        let file = out.join(format!("members/{}/{}.cert", names[i], ips[i]));
        let on_disk = Certificate::load(&file).unwrap().serial_hex();
        assert_ne!(&on_disk, old, "renewal changed {}", file.display());
        let served = retry(Duration::from_secs(10), || {
            let s = serial_of(&etcd_load::served_certificate(*addr, &root).ok()?);
            (s == on_disk).then_some(s)
        });
        assert!(
            served.is_some(),
            "member {} serves its renewed certificate",
            names[i]
        );
    }
    step("the renewal", &load);

    // The three phases of the CA rotation, each followed by its script.
    for phase in ["begin", "reissue", "finish"] {
        let said = plan_cli(&["rotate-ca", phase], &out);
        assert!(said.contains(&format!("rotate-ca-{phase}.sh")), "{said}");
        let script = out.join(format!("ca/rotate-ca-{phase}.sh"));
        let ran = run_script(&script, &etcdctl_bin, &requests);
        assert!(ran.ok(), "rotate-ca-{phase}.sh: {ran}");
        assert!(ran.stdout.contains("checked on every member"), "{ran}");
        step(phase, &load);
    }
    assert!(load.wait_for_more(30, Duration::from_secs(30)));
    stop.store(true, Ordering::SeqCst);
    for t in harness {
        t.join().unwrap();
    }
    let stats = load.finish();
    eprintln!(
        "etcd {}: {} requests ({} acknowledged writes), {} failed and retried on another member, \
         max latency {} ms, longest time without an acknowledged write {} ms, at least {} of 3 \
         members running at every sample",
        version.series(),
        stats.requests,
        stats.acked.len(),
        stats.retried,
        stats.max_latency.as_millis(),
        stats.max_write_gap.as_millis(),
        members.min_running.load(Ordering::SeqCst),
    );

    // Zero lost writes, read through every member with the new files.
    for addr in &client_addrs {
        let all = etcd_load::read_all(*addr, &root, "load/").expect("a read of every key");
        let lost: Vec<&String> = stats
            .acked
            .iter()
            .filter(|(k, v)| all.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        assert!(
            lost.is_empty(),
            "{} acknowledged writes lost: {lost:?}",
            lost.len()
        );
    }
    assert_eq!(stats.bad_reads, 0, "reads returned what was written");
    // The quorum held: the scripts restarted the members, never more than one at a time, and
    // writes went on throughout.
    assert_eq!(members.min_running.load(Ordering::SeqCst), 2);
    assert!(
        stats.max_write_gap < Duration::from_secs(15),
        "writes stalled for {:?}",
        stats.max_write_gap
    );

    // Every member serves a certificate of the new root (and only the new root verifies it),
    // on its client and its peer listener.
    let new_root = out.join("ca/root.cert");
    let new_only = ClientFiles {
        trust: new_root.clone(),
        ..root.clone()
    };
    assert_ne!(
        fs::read(&new_root).unwrap(),
        fs::read(old_dir.join("root.cert")).unwrap(),
        "the root changed"
    );
    for addr in client_addrs.iter().chain(&peer_addrs) {
        etcd_load::served_certificate(*addr, &new_only)
            .unwrap_or_else(|e| panic!("{addr} serves a certificate of the new root: {e}"));
        let old_trust = ClientFiles {
            trust: old_dir.join("root.cert"),
            ..root.clone()
        };
        assert!(
            etcd_load::served_certificate(*addr, &old_trust).is_err(),
            "{addr}: a client trusting only the old root must not accept the server"
        );
    }
    for addr in &client_addrs {
        etcd_load::try_request(*addr, &new_only).expect("the new client files are accepted");
        // A client certificate of the old root is refused, by the Rust client and etcdctl.
        let old_leaf = ClientFiles {
            trust: new_root.clone(),
            ..old_client.clone()
        };
        assert!(
            etcd_load::try_request(*addr, &old_leaf).is_err(),
            "{addr}: a client certificate of the old root must be refused"
        );
        let url = format!("https://{addr}");
        assert!(etcdctl(&etcdctl_bin, &url, &new_only, &["get", "load/0/00000000"]).ok());
        let refused = etcdctl(&etcdctl_bin, &url, &old_leaf, &["get", "load/0/00000000"]);
        assert!(
            !refused.ok(),
            "etcdctl with the old client certificate: {refused}"
        );
        let untrusting = etcdctl(&etcdctl_bin, &url, &old_client, &["get", "load/0/00000000"]);
        assert!(
            !untrusting.ok(),
            "etcdctl trusting only the old root: {untrusting}"
        );
    }
    // The old root's key is gone from ca/; the members' directories hold no CA key.
    let ca: BTreeMap<String, ()> = fs::read_dir(out.join("ca"))
        .unwrap()
        .map(|e| (e.unwrap().file_name().to_string_lossy().into_owned(), ()))
        .collect();
    assert!(
        !ca.contains_key("next-root.key") && !ca.contains_key("probe-old.key"),
        "{ca:?}"
    );
    drop(members);
}
