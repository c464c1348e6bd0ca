//! Unit tests of the lifecycle: the recorded plan, renewal, the order and effect of the CA
//! rotation's phases, refusals that leave the directory as it was, and the generated scripts
//! (run by `sh` against a stub `etcdctl`). The same steps on real etcd clusters under load are
//! in the interop member (`interop/tests/lifecycle.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::cert::Certificate;
use crate::error::Error;
use crate::issuer::Issuer;
use crate::key::KeyAlgorithm;
use crate::role::Role;

use super::dir::ClusterDir;
use super::lifecycle::RotationPhase;
use super::spec::{ClusterPlan, Listen, MemberSpec};

fn plan() -> ClusterPlan {
    let mut p = ClusterPlan::new(vec![
        MemberSpec::new("node1", "10.0.0.11".parse().unwrap()),
        MemberSpec::new("node2", "10.0.0.12".parse().unwrap()),
    ])
    .user("root");
    p.key_algorithm = KeyAlgorithm::EcdsaP256;
    p.days = 40;
    p
}

/// A bundle of `plan` written into a new temporary directory.
fn written(plan: &ClusterPlan) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    plan.issue().unwrap().write(tmp.path()).unwrap();
    tmp
}

/// Every file under `dir`: relative path → (contents, mode).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, (std::fs::read(&p).unwrap(), super::write::mode_of(&m)));
            }
        }
    }
    out
}

fn cert(dir: &Path, rel: &str) -> Certificate {
    Certificate::load(&dir.join(rel)).unwrap()
}

fn ca(dir: &Path) -> Issuer {
    Issuer::load(&dir.join("ca/root.cert"), &dir.join("ca/root.key")).unwrap()
}

const LEAVES: [&str; 3] = [
    "members/node1/10.0.0.11.cert",
    "members/node2/10.0.0.12.cert",
    "clients/root/client.cert",
];

#[test]
fn the_plan_round_trips_through_toml() {
    let mut p = plan();
    p.members[0].dns = vec!["etcd-1.example.com".into()];
    p.members[1].id = Some("8e9e05c52164694d".into());
    p.cert_dir = Some("/etc/etcd/pki".into());
    p.client_dir = Some("/home/{name}/etcd".into());
    p.data_dir = Some("/var/lib/etcd/{name}".into());
    p.listen = Listen::MemberIps;
    p.client_port = 12379;
    p.token = "t".into();
    let text = p.to_toml().unwrap();
    assert_eq!(ClusterPlan::from_toml(&text).unwrap(), p, "{text}");
    assert_eq!(
        ClusterPlan::from_toml(&plan().to_toml().unwrap()).unwrap(),
        plan()
    );
    // The bundle keeps it.
    let tmp = written(&plan());
    let kept = ClusterPlan::load(&tmp.path().join("ca/plan.toml")).unwrap();
    assert_eq!(kept, plan());
}

#[test]
fn renewal_keeps_keys_names_and_roles_and_the_old_certificate() {
    let tmp = written(&plan());
    let base = tmp.path();
    let before: Vec<Certificate> = LEAVES.iter().map(|l| cert(base, l)).collect();
    let report = ClusterDir::open(base).unwrap().renew(20, None).unwrap();
    assert_eq!(report.renewed.len(), 3);
    assert_eq!(
        report.renewed.iter().map(|r| r.role).collect::<Vec<_>>(),
        [Role::Node, Role::Node, Role::Client]
    );
    assert_eq!(report.reconnect, ["root"]);
    let ca = ca(base);
    for (leaf, old) in LEAVES.iter().zip(&before) {
        let new = cert(base, leaf);
        assert_ne!(new.serial_hex(), old.serial_hex(), "{leaf}");
        assert_eq!(new.public_key_der().unwrap(), old.public_key_der().unwrap());
        assert_eq!(new.subject(), old.subject());
        assert_eq!(new.ip_addresses(), old.ip_addresses());
        assert_eq!(ca.verify(&new).unwrap(), ca.verify(old).unwrap());
        let days = |c: &Certificate| {
            c.not_after()
                .duration_since(SystemTime::now())
                .unwrap()
                .as_secs()
                / 86_400
        };
        assert_eq!((days(&new), days(old)), (19, 39), "{leaf}");
        // The old one is kept beside it, for a rollback by `mv`.
        assert_eq!(cert(base, &format!("{leaf}.old")).to_der(), old.to_der());
    }
    // The key still matches: the directory opens again, and renews again; never beyond the
    // CA's own expiry.
    let dir = ClusterDir::open(base).unwrap();
    let report = dir.renew(100, None).unwrap();
    for r in &report.renewed {
        assert_eq!(
            r.not_after,
            dir.ca().certificate().not_after(),
            "{}",
            r.name
        );
    }
}

#[test]
fn renewal_can_be_limited_to_certificates_that_expire_soon() {
    let tmp = written(&plan());
    let base = tmp.path();
    let dir = ClusterDir::open(base).unwrap();
    let before = snapshot(base);
    let report = dir.renew(100, Some(30)).unwrap();
    assert!(report.renewed.is_empty() && report.written.is_empty());
    assert_eq!(snapshot(base), before);
    let report = dir.renew(100, Some(41)).unwrap();
    assert_eq!(report.renewed.len(), 3);
    assert!(matches!(
        dir.renew(0, None),
        Err(Error::InvalidValidity { .. })
    ));
}

/// Runs `damage` on a fresh bundle, then checks that opening it or renewing it fails with an
/// error whose text contains `says`, and that nothing was written.
fn refused_after(damage: impl FnOnce(&Path), says: &str) {
    let tmp = written(&plan());
    let base = tmp.path();
    damage(base);
    let before = snapshot(base);
    let e = ClusterDir::open(base)
        .and_then(|d| d.renew(100, None))
        .unwrap_err();
    assert!(e.to_string().contains(says), "{e}");
    for phase in [
        RotationPhase::Begin,
        RotationPhase::Reissue,
        RotationPhase::Finish,
    ] {
        assert!(
            ClusterDir::open(base)
                .and_then(|d| d.rotate_ca(phase))
                .is_err()
        );
    }
    assert_eq!(snapshot(base), before, "nothing written");
}

#[test]
fn an_inconsistent_directory_is_refused_and_left_as_it_was() {
    let rm = |rel: &'static str| move |base: &Path| std::fs::remove_file(base.join(rel)).unwrap();
    refused_after(rm("ca/root.key"), "the CA key is missing");
    refused_after(
        rm("ca/plan.toml"),
        "plan the directory was written from is missing",
    );
    refused_after(rm("members/node2/10.0.0.12.key"), "10.0.0.12.key");
    refused_after(rm("clients/root/root.cert"), "root.cert");
    refused_after(
        |base| std::fs::remove_dir_all(base.join("members/node1")).unwrap(),
        "node1",
    );
    refused_after(
        |base| std::fs::create_dir(base.join("members/node9")).unwrap(),
        "the plan has no member of that name",
    );
    // A plan changed since: node2 has another address now.
    refused_after(
        |base| {
            let path = base.join("ca/plan.toml");
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace("10.0.0.12", "10.0.0.99")).unwrap();
        },
        "10.0.0.99.cert",
    );
    refused_after(
        |base| {
            let path = base.join("ca/plan.toml");
            let mut p = ClusterPlan::load(&path).unwrap();
            p.members[1].dns = vec!["etcd-2.example.com".into()];
            std::fs::write(&path, p.to_toml().unwrap()).unwrap();
        },
        "the plan gives it",
    );
    // A certificate and key of another CA, or of another role.
    refused_after(
        |base| {
            let other = plan().issue().unwrap();
            let ck = other.member("node1").unwrap();
            let dir = base.join("members/node1");
            std::fs::remove_file(dir.join("10.0.0.11.cert")).unwrap();
            std::fs::remove_file(dir.join("10.0.0.11.key")).unwrap();
            ck.write(&dir, "10.0.0.11", &crate::WriteOptions::new())
                .unwrap();
        },
        "not issued by the directory's CA",
    );
    refused_after(
        |base| {
            for ext in ["cert", "key"] {
                std::fs::copy(
                    base.join(format!("members/node1/10.0.0.11.{ext}")),
                    base.join(format!("clients/root/client.{ext}")),
                )
                .unwrap();
            }
        },
        "needs a client certificate",
    );
    // A trusted-CA file that is not the CA.
    refused_after(
        |base| {
            let other = crate::RootCa::new()
                .key_algorithm(KeyAlgorithm::EcdsaP256)
                .self_sign()
                .unwrap();
            std::fs::write(
                base.join("members/node2/root.cert"),
                other.certificate().to_pem().unwrap(),
            )
            .unwrap();
        },
        "does not hold the CA's root certificate",
    );
}

/// What `rotate_ca(phase)` says when refused, with nothing written.
fn refusal(base: &Path, phase: RotationPhase) -> String {
    let before = snapshot(base);
    let e = ClusterDir::open(base)
        .unwrap()
        .rotate_ca(phase)
        .unwrap_err();
    assert!(matches!(e, Error::OutOfOrder { .. }), "{e}");
    assert_eq!(snapshot(base), before, "a refused {phase:?} wrote nothing");
    e.to_string()
}

/// What the generated script of `phase` records when every member passed its checks.
fn checked(base: &Path, phase: &str) {
    std::fs::write(base.join("ca/rotation-checked"), format!("{phase}\n")).unwrap();
}

fn trust(base: &Path, rel: &str) -> Vec<Vec<u8>> {
    Certificate::load_bundle(&base.join(rel))
        .unwrap()
        .iter()
        .map(Certificate::to_der)
        .collect()
}

const TRUST_FILES: [&str; 3] = [
    "members/node1/root.cert",
    "members/node2/root.cert",
    "clients/root/root.cert",
];

#[test]
fn the_rotation_phases_run_in_order_and_move_the_cluster_to_the_new_root() {
    let tmp = written(&plan());
    let base = tmp.path();
    let old = ca(base);
    let old_der = old.certificate().to_der();
    let open = || ClusterDir::open(base).unwrap();
    assert!(refusal(base, RotationPhase::Reissue).contains("no CA rotation is in progress"));
    assert!(refusal(base, RotationPhase::Finish).contains("no CA rotation is in progress"));

    // begin: a new root beside the old one; every directory trusts both.
    let report = open().rotate_ca(RotationPhase::Begin).unwrap();
    assert_eq!(
        report.script,
        Some(open().path().join("ca/rotate-ca-begin.sh"))
    );
    let next = Issuer::load(
        &base.join("ca/next-root.cert"),
        &base.join("ca/next-root.key"),
    )
    .unwrap();
    let next_der = next.certificate().to_der();
    assert_ne!(next.certificate().subject(), old.certificate().subject());
    for t in TRUST_FILES {
        assert_eq!(trust(base, t), [old_der.clone(), next_der.clone()], "{t}");
    }
    assert_eq!(
        ca(base).certificate().to_der(),
        old_der,
        "the CA is still the old root"
    );
    // Again: the same new root, nothing changed but the probes and the script.
    open().rotate_ca(RotationPhase::Begin).unwrap();
    assert_eq!(cert(base, "ca/next-root.cert").to_der(), next_der);
    // Renewal waits for the rotation; reissue waits for the restarts.
    let e = open().renew(10, None).unwrap_err();
    assert!(matches!(e, Error::OutOfOrder { .. }), "{e}");
    assert!(refusal(base, RotationPhase::Reissue).contains("rotate-ca-begin.sh"));
    assert!(refusal(base, RotationPhase::Finish).contains("restarted"));
    checked(base, "begin");

    // reissue: every certificate the new root's, same keys.
    let before: Vec<Certificate> = LEAVES.iter().map(|l| cert(base, l)).collect();
    let report = open().rotate_ca(RotationPhase::Reissue).unwrap();
    assert_eq!(report.renewed.len(), 3);
    for (leaf, old_cert) in LEAVES.iter().zip(&before) {
        let new = cert(base, leaf);
        next.verify(&new).unwrap();
        assert!(old.verify(&new).is_err());
        assert_eq!(
            new.public_key_der().unwrap(),
            old_cert.public_key_der().unwrap()
        );
    }
    assert!(refusal(base, RotationPhase::Begin).contains("run finish"));
    assert!(refusal(base, RotationPhase::Finish).contains("rotate-ca-reissue.sh"));
    // An interrupted reissue (one certificate still the old root's) is completed by reissue.
    let dir1 = base.join("members/node1");
    std::fs::rename(dir1.join("10.0.0.11.cert.old"), dir1.join("10.0.0.11.cert")).unwrap();
    checked(base, "reissue");
    assert!(refusal(base, RotationPhase::Finish).contains("run reissue again"));
    open().rotate_ca(RotationPhase::Reissue).unwrap();
    next.verify(&cert(base, LEAVES[0])).unwrap();
    checked(base, "reissue");

    // finish: the new root alone, everywhere; the old root's key is gone.
    let old_key = std::fs::read(base.join("ca/root.key")).unwrap();
    let report = open().rotate_ca(RotationPhase::Finish).unwrap();
    assert_eq!(
        report.script,
        Some(open().path().join("ca/rotate-ca-finish.sh"))
    );
    for t in TRUST_FILES {
        assert_eq!(trust(base, t), std::slice::from_ref(&next_der), "{t}");
    }
    assert_eq!(ca(base).certificate().to_der(), next_der);
    assert_ne!(std::fs::read(base.join("ca/root.key")).unwrap(), old_key);
    assert_eq!(cert(base, "ca/previous-root.cert").to_der(), old_der);
    for gone in ["ca/next-root.cert", "ca/next-root.key"] {
        assert!(!base.join(gone).exists(), "{gone}");
    }
    // Finished: finish again does nothing; the directory is a plain one of the new root.
    let before = snapshot(base);
    let again = open().rotate_ca(RotationPhase::Finish).unwrap();
    assert!(again.written.is_empty());
    assert_eq!(snapshot(base), before);
    assert_eq!(open().renew(10, None).unwrap().renewed.len(), 3);
    let key_mode = super::write::mode_of(&std::fs::metadata(base.join("ca/root.key")).unwrap());
    assert_eq!(key_mode, 0o600);
}

/// Runs `script` with a stub `etcdctl` that appends its `--endpoints` and `--cert` to
/// `calls.log` and refuses `refuse` (a probe's file stem), and an `ETCD_RESTART` hook that logs
/// the restart. Returns the script's output and the log.
#[cfg(unix)]
fn run_script(base: &Path, script: &str, refuse: &str) -> (std::process::Output, String) {
    use std::os::unix::fs::PermissionsExt;
    let bin = base.join("bin");
    let _ = std::fs::create_dir(&bin);
    let log = base.join("calls.log");
    let stub = bin.join("etcdctl");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in --endpoints=*|--cert=*) printf '%s ' \"$a\" >> '{log}';; esac; done\n\
             echo >> '{log}'\ncase \"$*\" in *'--cert={refuse}.cert'*) exit 1;; esac\nexit 0\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("sh")
        .arg(base.join("ca").join(script))
        .env("ETCDCTL", &stub)
        .env(
            "ETCD_RESTART",
            format!("echo \"restart $1 $2\" >> '{}'", log.display()),
        )
        .env("ETCD_HEALTH_TIMEOUT", "2")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (out, text)
}

#[test]
#[cfg(unix)]
fn the_rotation_scripts_restart_one_member_at_a_time_and_check_each() {
    let tmp = written(&plan());
    let base = tmp.path();
    let open = || ClusterDir::open(base).unwrap();
    let e1 = "--endpoints=https://10.0.0.11:2379";
    let e2 = "--endpoints=https://10.0.0.12:2379";

    open().rotate_ca(RotationPhase::Begin).unwrap();
    let o = std::process::Command::new("sh")
        .arg("-n")
        .arg(base.join("ca/rotate-ca-begin.sh"))
        .output()
        .unwrap();
    assert!(o.status.success());
    // Without the restart hook it refuses to start.
    let o = std::process::Command::new("sh")
        .arg(base.join("ca/rotate-ca-begin.sh"))
        .env_remove("ETCD_RESTART")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("ETCD_RESTART"));
    // A member that never accepts the new root's probe: stops at the first member.
    let (o, log) = run_script(base, "rotate-ca-begin.sh", "probe-new");
    assert!(!o.status.success(), "{log}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("did not pass its check"));
    assert_eq!(log.matches("restart ").count(), 1, "{log}");
    assert!(!base.join("ca/rotation-checked").exists());
    // Members that do: every member checked first (old probe), then each restarted and
    // checked with the new root's probe before the next is touched.
    let (o, log) = run_script(base, "rotate-ca-begin.sh", "none");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<&str> = log.lines().collect();
    let restart1 = "restart node1 ../members/node1".to_owned();
    let restart2 = "restart node2 ../members/node2".to_owned();
    assert_eq!(
        lines,
        [
            format!("{e1} --cert=probe-old.cert "),
            format!("{e2} --cert=probe-old.cert "),
            restart1,
            format!("{e1} --cert=probe-new.cert "),
            restart2,
            format!("{e2} --cert=probe-new.cert "),
        ],
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(base.join("ca/rotation-checked")).unwrap(),
        "begin\n"
    );

    open().rotate_ca(RotationPhase::Reissue).unwrap();
    let (o, log) = run_script(base, "rotate-ca-reissue.sh", "none");
    assert!(o.status.success(), "{log}");
    assert!(!log.contains("restart"), "no restart for new leaves: {log}");
    assert_eq!(
        std::fs::read_to_string(base.join("ca/rotation-checked")).unwrap(),
        "reissue\n"
    );

    open().rotate_ca(RotationPhase::Finish).unwrap();
    // A member that still accepts the old root's probe after its restart: refused.
    let (o, log) = run_script(base, "rotate-ca-finish.sh", "none");
    assert!(!o.status.success(), "{log}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("still accepts"));
    let (o, log) = run_script(base, "rotate-ca-finish.sh", "probe-old");
    assert!(o.status.success(), "{log}");
    assert_eq!(log.matches("restart ").count(), 2, "{log}");
    assert!(!base.join("ca/probe-old.key").exists());
}
