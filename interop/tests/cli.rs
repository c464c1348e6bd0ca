//! The example CLI behaves like `gen_etcd_certs.py`: commands, flags, defaults, file names,
//! messages and exit codes; and it is safer where the script is careless.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use etcd_pki::{Certificate, Issuer};
use tempfile::TempDir;

fn ours(args: &[&str], cwd: &Path) -> Output {
    Command::new(common::cli_path())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Runs the reference script (call [`require_script!`] first in the test).
fn script(args: &[&str], cwd: &Path) -> Output {
    let script = common::reference_script("cli").expect("checked by require_script!");
    let mut all = vec![script.to_str().unwrap()];
    all.extend_from_slice(args);
    common::python(&all, cwd)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn cert(dir: &Path, name: &str) -> Certificate {
    Certificate::from_pem(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

/// Runs the three commands the guide runs, in `cwd`, saving into `./certs`.
fn guide_sequence(run: impl Fn(&[&str], &Path) -> Output, cwd: &Path) -> Vec<Output> {
    std::fs::create_dir(cwd.join("certs")).unwrap();
    let k = ["-k", "certs/root.key", "-t", "certs/root.cert"];
    let mut outs = vec![run(&["-c", "gen_root_cert", "-s", "./certs"], cwd)];
    let mut client = vec!["-c", "gen_client_cert", "-s", "./certs"];
    client.extend_from_slice(&k);
    outs.push(run(&client, cwd));
    for ip in ["192.168.10.11", "192.168.10.12"] {
        let mut server = vec!["-c", "gen_server_cert", "-s", "./certs", "-i", ip];
        server.extend_from_slice(&k);
        outs.push(run(&server, cwd));
    }
    outs
}

#[test]
fn same_files_and_messages_as_the_script() {
    require_script!("same_files_and_messages_as_the_script");
    let a = TempDir::new().unwrap();
    let b = TempDir::new().unwrap();
    let mine = guide_sequence(ours, a.path());
    let theirs = guide_sequence(script, b.path());
    for (m, t) in mine.iter().zip(&theirs) {
        assert!(t.status.success(), "script failed: {}", text(&t.stderr));
        assert!(m.status.success(), "ours failed: {}", text(&m.stderr));
        assert_eq!(text(&m.stdout), text(&t.stdout), "Saved: lines");
        assert_eq!(text(&m.stderr), "");
    }
    assert_eq!(
        text(&mine[0].stdout),
        "Saved: ./certs/root.key\nSaved: ./certs/root.cert\n"
    );
    let (da, db) = (a.path().join("certs"), b.path().join("certs"));
    assert_eq!(files(&da), files(&db));
    // Same PEM labels as the script: PKCS#1 keys, certificates.
    for name in files(&da) {
        let mine = std::fs::read_to_string(da.join(&name)).unwrap();
        let theirs = std::fs::read_to_string(db.join(&name)).unwrap();
        assert_eq!(mine.lines().next(), theirs.lines().next(), "{name}");
    }
    // Same subjects and SANs as the script.
    for name in ["root.cert", "client.cert", "192.168.10.11.cert"] {
        assert_eq!(
            cert(&da, name).subject(),
            cert(&db, name).subject(),
            "{name}"
        );
        assert_eq!(
            cert(&da, name).ip_addresses(),
            cert(&db, name).ip_addresses(),
            "{name}"
        );
    }
}

#[test]
#[cfg(unix)]
fn keys_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let a = TempDir::new().unwrap();
    guide_sequence(ours, a.path());
    let dir = a.path().join("certs");
    for name in files(&dir) {
        let mode = std::fs::metadata(dir.join(&name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        let want = if name.ends_with(".key") { 0o600 } else { 0o644 };
        assert_eq!(mode, want, "{name}");
    }
}

#[test]
fn the_cli_set_verifies_and_uses_defaults() {
    let a = TempDir::new().unwrap();
    guide_sequence(ours, a.path());
    let dir = a.path().join("certs");
    let ca = Issuer::load(&dir.join("root.cert"), &dir.join("root.key")).unwrap();
    let days = |c: &Certificate| {
        c.not_after()
            .duration_since(std::time::SystemTime::now())
            .unwrap()
            .as_secs()
            .div_ceil(86_400)
    };
    assert_eq!(days(ca.certificate()), 3650, "default validity");
    let node = cert(&dir, "192.168.10.12.cert");
    assert!(node.is_server_auth() && node.is_client_auth());
    common::assert_strict_server(&dir, "root.cert", "192.168.10.12.cert", "192.168.10.12");
}

#[test]
fn client_common_name() {
    let a = TempDir::new().unwrap();
    let d = a.path();
    assert!(
        ours(&["-c", "gen_root_cert", "-s", "."], d)
            .status
            .success()
    );
    let k = ["-k", "root.key", "-t", "root.cert"];
    let mut args = vec!["-c", "gen_client_cert", "-s", ".", "-n", "alice"];
    args.extend_from_slice(&k);
    assert!(ours(&args, d).status.success());
    assert_eq!(
        cert(d, "client.cert").common_name().as_deref(),
        Some("alice")
    );
    assert_eq!(
        cert(d, "client.cert").subject(),
        "CN=alice,OU=ZWC,O=BC,L=YB,ST=CQ,C=CN"
    );
    // A CN longer than 64 characters: an error naming the rule, nothing written.
    std::fs::remove_file(d.join("client.cert")).unwrap();
    std::fs::remove_file(d.join("client.key")).unwrap();
    let long = "x".repeat(65);
    let mut args = vec!["-c", "gen_client_cert", "-s", ".", "-n", &long];
    args.extend_from_slice(&k);
    let out = ours(&args, d);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("ERROR: invalid common name"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(files(d), ["root.cert", "root.key"]);
}

#[test]
fn missing_savedir_message_and_status_match_the_script() {
    require_script!("missing_savedir_message_and_status_match_the_script");
    let a = TempDir::new().unwrap();
    let args = ["-c", "gen_root_cert", "-s", "./nope"];
    let m = ours(&args, a.path());
    let t = script(&args, a.path());
    assert_eq!(m.status.code(), Some(1));
    assert_eq!(m.status.code(), t.status.code());
    assert_eq!(text(&m.stderr), "ERROR: Savedir `./nope` does not exist.\n");
    assert_eq!(text(&m.stderr), text(&t.stderr));
    assert!(files(a.path()).is_empty());
}

#[test]
fn usage_errors_exit_2_like_argparse() {
    require_script!("usage_errors_exit_2_like_argparse");
    let a = TempDir::new().unwrap();
    let d = a.path();
    for args in [
        &["-s", "."][..],
        &["-c", "gen_root_cert"][..],
        &["-c", "bogus", "-s", "."][..],
        &["-c", "gen_client_cert", "-s", "."][..],
        &[
            "-c",
            "gen_server_cert",
            "-s",
            ".",
            "-k",
            "root.key",
            "-t",
            "root.cert",
        ][..],
        &["-c", "gen_root_cert", "-s", ".", "-d", "ten"][..],
    ] {
        let m = ours(args, d);
        let t = script(args, d);
        assert_eq!(m.status.code(), Some(2), "{args:?}: {}", text(&m.stderr));
        assert_eq!(t.status.code(), Some(2), "{args:?}");
    }
    assert!(files(d).is_empty());
}

#[test]
fn version_flag() {
    let a = TempDir::new().unwrap();
    let out = ours(&["-v"], a.path());
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!("{}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn existing_files_are_never_overwritten_without_force() {
    let a = TempDir::new().unwrap();
    let d = a.path();
    assert!(
        ours(&["-c", "gen_root_cert", "-s", "."], d)
            .status
            .success()
    );
    let before = std::fs::read(d.join("root.key")).unwrap();
    let out = ours(&["-c", "gen_root_cert", "-s", "."], d);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("ERROR: refusing to overwrite existing file ./root.key"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(d.join("root.key")).unwrap(), before);
    assert_eq!(
        files(d),
        ["root.cert", "root.key"],
        "no temporary files left"
    );
    // Only the certificate exists: still refused, the lone certificate is kept as it was.
    std::fs::remove_file(d.join("root.key")).unwrap();
    let cert_before = std::fs::read(d.join("root.cert")).unwrap();
    let out = ours(&["-c", "gen_root_cert", "-s", "."], d);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("root.cert"));
    assert_eq!(files(d), ["root.cert"]);
    assert_eq!(std::fs::read(d.join("root.cert")).unwrap(), cert_before);
    // --force replaces both.
    let out = ours(&["-c", "gen_root_cert", "-s", ".", "--force"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_ne!(std::fs::read(d.join("root.cert")).unwrap(), cert_before);
    assert_eq!(files(d), ["root.cert", "root.key"]);
}

#[test]
fn bad_days_and_ips_are_clear_errors() {
    let a = TempDir::new().unwrap();
    let d = a.path();
    for days in ["0", "-5"] {
        let out = ours(&["-c", "gen_root_cert", "-s", ".", "-d", days], d);
        assert_eq!(out.status.code(), Some(1), "{days}");
        assert!(
            text(&out.stderr).starts_with("ERROR: --days must be at least 1"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = ours(&["-c", "gen_root_cert", "-s", ".", "-d", "3000000"], d);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("9999-12-31"),
        "{}",
        text(&out.stderr)
    );
    assert!(files(d).is_empty());
    assert!(
        ours(&["-c", "gen_root_cert", "-s", "."], d)
            .status
            .success()
    );
    for (ip, needle) in [
        ("300.1.1.1", "is not an IP address"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
    ] {
        let out = ours(
            &[
                "-c",
                "gen_server_cert",
                "-s",
                ".",
                "-k",
                "root.key",
                "-t",
                "root.cert",
                "-i",
                ip,
            ],
            d,
        );
        assert_eq!(out.status.code(), Some(1), "{ip}");
        assert!(
            text(&out.stderr).contains(needle),
            "{ip}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(files(d), ["root.cert", "root.key"]);
    // IPv6 works (the script refuses it).
    let out = ours(
        &[
            "-c",
            "gen_server_cert",
            "-s",
            ".",
            "-k",
            "root.key",
            "-t",
            "root.cert",
            "-i",
            "fd00::11",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        cert(d, "fd00::11.cert").ip_addresses(),
        [
            "127.0.0.1".parse::<std::net::IpAddr>().unwrap(),
            "fd00::11".parse().unwrap()
        ]
    );
}

#[test]
fn interoperates_with_the_script_both_ways() {
    require_script!("interoperates_with_the_script_both_ways");
    let a = TempDir::new().unwrap();
    let d = a.path();
    // Our root, the script's node certificate.
    assert!(
        ours(&["-c", "gen_root_cert", "-s", "."], d)
            .status
            .success()
    );
    let out = script(
        &[
            "-c",
            "gen_server_cert",
            "-s",
            ".",
            "-k",
            "root.key",
            "-t",
            "root.cert",
            "-i",
            "10.0.0.1",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The script's root, our client certificate.
    let b = TempDir::new().unwrap();
    let e = b.path();
    assert!(
        script(&["-c", "gen_root_cert", "-s", "."], e)
            .status
            .success()
    );
    let out = ours(
        &[
            "-c",
            "gen_client_cert",
            "-s",
            ".",
            "-k",
            "root.key",
            "-t",
            "root.cert",
            "-n",
            "root",
        ],
        e,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        cert(e, "client.cert").common_name().as_deref(),
        Some("root")
    );
}

#[test]
fn swapped_or_wrong_root_files_are_named() {
    let a = TempDir::new().unwrap();
    let d = a.path();
    assert!(
        ours(&["-c", "gen_root_cert", "-s", "."], d)
            .status
            .success()
    );
    let out = ours(
        &[
            "-c",
            "gen_client_cert",
            "-s",
            ".",
            "-k",
            "root.cert",
            "-t",
            "root.key",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("ERROR: root.cert: expected a PEM 'CERTIFICATE' block")
            || err.starts_with("ERROR: root.key: expected a PEM 'CERTIFICATE' block"),
        "{err}"
    );
    assert!(err.contains("swapped"), "{err}");
    let out = ours(
        &[
            "-c",
            "gen_client_cert",
            "-s",
            ".",
            "-k",
            "missing.key",
            "-t",
            "root.cert",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("missing.key"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(files(d), ["root.cert", "root.key"]);
}

#[test]
fn csr_commands_keep_the_node_key_on_the_node() {
    let a = TempDir::new().unwrap();
    let d = a.path();
    for sub in ["ca", "node"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    assert!(
        ours(&["-c", "gen_root_cert", "-s", "ca"], d)
            .status
            .success()
    );
    let out = ours(&["-c", "gen_server_csr", "-s", "node", "-i", "10.0.0.5"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Saved: node/10.0.0.5.key\nSaved: node/10.0.0.5.csr\n"
    );
    // The CA host gets only the request and writes only the certificate.
    std::fs::create_dir(d.join("ca/out")).unwrap();
    std::fs::copy(d.join("node/10.0.0.5.csr"), d.join("ca/out/10.0.0.5.csr")).unwrap();
    let sign = |ip: &str| {
        ours(
            &[
                "-c",
                "sign_server_csr",
                "-s",
                "ca/out",
                "-k",
                "ca/root.key",
                "-t",
                "ca/root.cert",
                "-i",
                ip,
                "--csr",
                "ca/out/10.0.0.5.csr",
            ],
            d,
        )
    };
    let out = sign("10.0.0.6");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not allowed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(files(&d.join("ca/out")), ["10.0.0.5.csr"]);
    let out = sign("10.0.0.5");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(files(&d.join("ca/out")), ["10.0.0.5.cert", "10.0.0.5.csr"]);
    std::fs::copy(d.join("ca/out/10.0.0.5.cert"), d.join("node/10.0.0.5.cert")).unwrap();
    // The node's key and the signed certificate belong together and verify.
    let cert = cert(&d.join("node"), "10.0.0.5.cert");
    let key = etcd_pki::PrivateKey::from_pem(
        &std::fs::read_to_string(d.join("node/10.0.0.5.key")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        cert.public_key_der().unwrap(),
        key.public_key_der().unwrap()
    );
    common::assert_strict_server(d, "ca/root.cert", "node/10.0.0.5.cert", "10.0.0.5");
}

#[test]
fn a_signed_node_certificate_always_carries_the_node_ip() {
    // A request for 127.0.0.1 only, signed for -i 10.0.0.5: the certificate written as
    // 10.0.0.5.cert must name 10.0.0.5 (its peers check it), and 127.0.0.1.
    let a = TempDir::new().unwrap();
    let d = a.path();
    assert!(
        ours(&["-c", "gen_root_cert", "-s", "."], d)
            .status
            .success()
    );
    let out = ours(&["-c", "gen_server_csr", "-s", ".", "-i", "127.0.0.1"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ours(
        &[
            "-c",
            "sign_server_csr",
            "-s",
            ".",
            "-k",
            "root.key",
            "-t",
            "root.cert",
            "-i",
            "10.0.0.5",
            "--csr",
            "127.0.0.1.csr",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ips: Vec<String> = cert(d, "10.0.0.5.cert")
        .ip_addresses()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(ips, ["127.0.0.1", "10.0.0.5"]);
}
