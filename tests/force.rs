//! Replacing existing key pairs (`--force`, `WriteOptions::overwrite`): a replacement that
//! fails keeps the whole old pair, and overlapping replacements leave a key with its own
//! certificate. Needs the example binaries (`cargo build --examples`).
// The example binaries these tests run need the default features.
#![cfg(all(feature = "plan", feature = "ecdsa", feature = "encrypted-keys"))]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

fn cli(args: &[&str], cwd: &Path) -> Output {
    Command::new(common::cli_path())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn ok(args: &[&str], cwd: &Path) {
    let o = cli(args, cwd);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A directory with a root CA (`ca/root.*`, P-256 for speed) and an output directory `out/`.
fn fixture() -> TempDir {
    let tmp = TempDir::new().unwrap();
    for d in ["ca", "out"] {
        std::fs::create_dir(tmp.path().join(d)).unwrap();
    }
    ok(
        &["-c", "gen_root_cert", "-s", "ca", "--key-type", "p256"],
        tmp.path(),
    );
    tmp
}

/// The CLI commands that write a pair into `out/`, with the pair's file names.
fn pair_commands() -> Vec<(Vec<&'static str>, [&'static str; 2])> {
    let signed = [
        "-k",
        "ca/root.key",
        "-t",
        "ca/root.cert",
        "--key-type",
        "p256",
        "--force",
    ];
    let with = |head: &[&'static str], tail: &[&'static str]| -> Vec<&'static str> {
        head.iter().chain(tail).copied().collect()
    };
    vec![
        (
            vec![
                "-c",
                "gen_root_cert",
                "-s",
                "out",
                "--key-type",
                "p256",
                "--force",
            ],
            ["root.key", "root.cert"],
        ),
        (
            with(
                &["-c", "gen_client_cert", "-s", "out", "-n", "alice"],
                &signed,
            ),
            ["client.key", "client.cert"],
        ),
        (
            with(
                &["-c", "gen_server_cert", "-s", "out", "-i", "10.0.0.1"],
                &signed,
            ),
            ["10.0.0.1.key", "10.0.0.1.cert"],
        ),
        (
            vec![
                "-c",
                "gen_server_csr",
                "-s",
                "out",
                "-i",
                "10.0.0.1",
                "--key-type",
                "p256",
                "--force",
            ],
            ["10.0.0.1.key", "10.0.0.1.csr"],
        ),
    ]
}

fn chattr(flag: &str, path: &Path) -> bool {
    Command::new("chattr")
        .arg(flag)
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_failed_replacement_keeps_the_old_pair() {
    for (args, [key, second]) in pair_commands() {
        let tmp = fixture();
        let d = tmp.path();
        ok(&args, d);
        let out = d.join("out");
        let old_key = std::fs::read(out.join(key)).unwrap();
        let old_second = std::fs::read(out.join(second)).unwrap();
        // The second file cannot be replaced: immutable (root, on a file system that supports
        // it), or else a directory in its place.
        let immutable = chattr("+i", &out.join(second));
        if !immutable {
            std::fs::remove_file(out.join(second)).unwrap();
            std::fs::create_dir(out.join(second)).unwrap();
            std::fs::write(out.join(second).join("x"), b"").unwrap();
        }
        let o = cli(&args, d);
        if immutable {
            assert!(chattr("-i", &out.join(second)));
        }
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.starts_with("ERROR: cannot"), "{args:?}: {e}");
        assert_eq!(
            std::fs::read(out.join(key)).unwrap(),
            old_key,
            "{args:?}: the old key is kept"
        );
        if immutable {
            assert_eq!(std::fs::read(out.join(second)).unwrap(), old_second);
        }
        let names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names.len(),
            2,
            "{args:?}: no temporary file left: {names:?}"
        );
    }
}

#[test]
fn overlapping_replacements_leave_a_matching_pair() {
    let tmp = fixture();
    let d = tmp.path();
    for round in 0..6 {
        let children: Vec<_> = (0..8)
            .map(|i| {
                Command::new(common::cli_path())
                    .args([
                        "-c",
                        "gen_client_cert",
                        "-s",
                        "out",
                        "-k",
                        "ca/root.key",
                        "-t",
                        "ca/root.cert",
                        "--key-type",
                        "p256",
                        "--force",
                        "-n",
                        &format!("w{round}-{i}"),
                    ])
                    .current_dir(d)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let cert = std::fs::read_to_string(d.join("out/client.cert")).unwrap();
        let key = std::fs::read_to_string(d.join("out/client.key")).unwrap();
        let cert = etcd_pki::Certificate::from_pem(&cert).unwrap();
        let key = etcd_pki::PrivateKey::from_pem(&key).unwrap();
        assert_eq!(
            key.public_key_der().unwrap(),
            cert.public_key_der().unwrap(),
            "round {round}: the key belongs to the certificate"
        );
        let names = std::fs::read_dir(d.join("out")).unwrap().count();
        assert_eq!(names, 2, "round {round}: no temporary file left");
    }
}
