//! Each example CLI gives its own flag advice after the library's message (which names no
//! flag), and shows the causes of an error on `  caused by:` lines after the `ERROR:` line.
// The example binaries these tests run need the default features.
#![cfg(all(feature = "plan", feature = "ecdsa", feature = "encrypted-keys"))]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

fn run(name: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(common::example_path(name))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_plan_cli_does_not_advise_a_flag_it_does_not_have() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("plan.toml"),
        "key_algorithm = \"p256\"\n\n[[member]]\nname = \"n1\"\nips = [\"10.7.0.1\"]\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("out")).unwrap();
    let first = run("etcd_cluster_plan", &["plan.toml", "-o", "out"], d);
    assert!(first.status.success(), "{}", stderr(&first));
    let again = run("etcd_cluster_plan", &["plan.toml", "-o", "out"], d);
    assert_eq!(again.status.code(), Some(1));
    let e = stderr(&again);
    assert!(
        e.starts_with("ERROR: refusing to overwrite existing file"),
        "{e}"
    );
    assert!(!e.contains("--force"), "{e}");
    assert!(e.contains("-o/--out"), "{e}");
    // An endless plan is refused at the cap.
    let zero = run("etcd_cluster_plan", &["/dev/zero", "-o", "out"], d);
    assert!(
        stderr(&zero).contains("/dev/zero is larger than 1 MiB"),
        "{}",
        stderr(&zero)
    );
}

#[test]
fn gen_etcd_certs_adds_its_flags_and_the_causes() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let ok = run("gen_etcd_certs", &["-c", "gen_root_cert", "-s", "."], d);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let again = run("gen_etcd_certs", &["-c", "gen_root_cert", "-s", "."], d);
    let e = stderr(&again);
    let first = e.lines().next().unwrap();
    assert!(
        first.starts_with("ERROR: refusing to overwrite existing file ./root.key"),
        "{e}"
    );
    assert!(first.contains("--force"), "{e}");
    // A wrong passphrase: the decryption error's cause on its own line.
    std::fs::write(d.join("pass"), "s3cret\n").unwrap();
    std::fs::create_dir(d.join("enc")).unwrap();
    let ok = run(
        "gen_etcd_certs",
        &[
            "-c",
            "gen_root_cert",
            "-s",
            "enc",
            "--encrypt-root-key",
            "--root-key-passphrase-file",
            "pass",
        ],
        d,
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    std::fs::write(d.join("wrong"), "nope\n").unwrap();
    let out = run(
        "gen_etcd_certs",
        &[
            "-c",
            "gen_client_cert",
            "-s",
            "enc",
            "-k",
            "enc/root.key",
            "-t",
            "enc/root.cert",
            "--root-key-passphrase-file",
            "wrong",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    let lines: Vec<&str> = e.lines().collect();
    assert!(
        lines[0].starts_with("ERROR: enc/root.key: cannot decrypt the private key"),
        "{e}"
    );
    assert!(
        lines.len() >= 2 && lines[1].starts_with("  caused by: "),
        "{e}"
    );
    // An Io error's message names the file; the operating system's words are its cause,
    // printed once.
    let out = run(
        "gen_etcd_certs",
        &[
            "-c",
            "gen_client_cert",
            "-s",
            "enc",
            "-k",
            "missing.key",
            "-t",
            "enc/root.cert",
        ],
        d,
    );
    let e = stderr(&out);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "ERROR: cannot read missing.key",
            "  caused by: No such file or directory (os error 2)"
        ],
        "{e}"
    );
}
