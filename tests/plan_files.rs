//! The files and directories `etcd_cluster_plan` writes: their modes whatever the umask, and
//! an output directory left as it was when the write fails. Needs the example binaries
//! (`cargo build --examples`) and `sh`.
// The example binaries these tests run need the default features.
#![cfg(all(feature = "plan", feature = "ecdsa", feature = "encrypted-keys"))]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The example binary `etcd_cluster_plan`, next to the test executables.
fn plan_cli() -> PathBuf {
    common::example_path("etcd_cluster_plan")
}

const PLAN: &str = r#"
key_algorithm = "p256"
days = 30

[[member]]
name = "n1"
ips = ["10.0.0.1"]

[[member]]
name = "n2"
ips = ["10.0.0.2"]

[[member]]
name = "n3"
ips = ["10.0.0.3"]

[[user]]
name = "root"
"#;

/// Runs the plan CLI on `PLAN` into `out` under `umask`, in a child shell (setting the umask
/// needs no unsafe code there).
fn run_plan(dir: &Path, out: &Path, umask: &str) -> Output {
    let plan = dir.join("cluster.toml");
    fs::write(&plan, PLAN).unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(plan_cli())
        .arg(&plan)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

/// Every path under `dir` (files and directories) with its mode and, for files, contents.
fn tree(dir: &Path) -> Tree {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = fs::symlink_metadata(&p).unwrap();
        let mode = m.permissions().mode() & 0o7777;
        if m.is_dir() {
            out.insert(p.clone(), (mode, None));
            out.extend(tree(&p));
        } else {
            out.insert(p.clone(), (mode, Some(fs::read(&p).unwrap())));
        }
    }
    out
}

type Tree = BTreeMap<PathBuf, (u32, Option<Vec<u8>>)>;

/// Equal trees; on a difference, names the paths rather than dumping contents.
fn assert_same(got: &Tree, want: &Tree, what: &str) {
    let names = |t: &Tree| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{what}");
    for (path, v) in want {
        assert!(got[path] == *v, "{what}: {} differs", path.display());
    }
}

#[test]
fn modes_are_exact_whatever_the_umask() {
    for umask in ["000", "002", "077"] {
        let tmp = TempDir::new().unwrap();
        let out = tmp.path().join("out");
        fs::create_dir(&out).unwrap();
        let o = run_plan(tmp.path(), &out, umask);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let t = tree(&out);
        assert!(t.len() > 20, "{t:?}");
        for (path, (mode, contents)) in &t {
            let rel = path.strip_prefix(&out).unwrap().to_str().unwrap();
            assert_eq!(
                mode & 0o022,
                0,
                "umask {umask}: {rel} is {mode:o}: group/world-writable"
            );
            let want = match (rel, contents) {
                ("members" | "clients", None) => 0o755,
                (_, None) => 0o700, // ca/, members/<name>/, clients/<user>/ hold keys
                (r, Some(_)) if r.ends_with(".key") => 0o600,
                (r, Some(_)) if r.ends_with(".sh") => 0o755,
                (_, Some(_)) => 0o644,
            };
            assert_eq!(
                *mode, want,
                "umask {umask}: {rel} is {mode:o}, want {want:o}"
            );
        }
    }
}

#[test]
fn a_failed_write_leaves_the_output_directory_as_it_was() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(out.join("members")).unwrap();
    // A file where members/n3/ should go: only found, today, after ca/ and two members.
    fs::write(out.join("members/n3"), b"in the way").unwrap();
    fs::write(out.join("notes.txt"), b"mine").unwrap();
    let before = tree(&out);
    let o = run_plan(tmp.path(), &out, "022");
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("members/n3"), "{e}");
    assert_same(&tree(&out), &before, "nothing written, nothing left behind");
    // Once the obstacle is gone, the same command works (no root.key left from the failure).
    fs::remove_file(out.join("members/n3")).unwrap();
    let o = run_plan(tmp.path(), &out, "022");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("ca/root.key").exists() && out.join("members/n3/etcd.conf.yml").exists());
    // A second run is refused and changes nothing.
    let before = tree(&out);
    let o = run_plan(tmp.path(), &out, "022");
    assert_eq!(o.status.code(), Some(1));
    assert_same(&tree(&out), &before, "a second run changes nothing");
}
