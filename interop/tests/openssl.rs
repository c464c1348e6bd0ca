//! The openssl CLI, an independent implementation, verifies our certificates strictly, and CAs
//! made by the guide's openssl commands or by the script load and issue verifying certificates.

mod common;

use std::path::Path;

use common::{openssl, openssl_ok, put};
use etcd_pki::{ClientCert, Issuer, KeyFormat, ServerCert};
use tempfile::TempDir;

/// `openssl verify -x509_strict` of `leaf` against `root.cert` in `dir`, with extra args.
fn verify(dir: &Path, leaf: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["verify", "-x509_strict", "-CAfile", "root.cert"];
    args.extend_from_slice(extra);
    args.push(leaf);
    openssl(&args, dir)
}

/// `openssl verify` without `-x509_strict`: for roots made by other tools, which strict mode
/// rejects for the root's own faults (v1, or no keyUsage/SKI), not the leaf's.
fn verify_lenient_root(dir: &Path, leaf: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["verify", "-CAfile", "root.cert"];
    args.extend_from_slice(extra);
    args.push(leaf);
    openssl(&args, dir)
}

fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_fails(out: &std::process::Output, reason: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "expected failure: {text}");
    assert!(text.contains(reason), "expected {reason:?} in: {text}");
}

fn write_set(dir: &Path, ca: &Issuer) -> (String, String) {
    put(dir, "root.cert", &ca.certificate().to_pem().unwrap());
    let node = ServerCert::new("192.168.10.11".parse().unwrap())
        .issue(ca)
        .unwrap();
    let client = ClientCert::new().issue(ca).unwrap();
    put(dir, "node.cert", &node.certificate().to_pem().unwrap());
    put(
        dir,
        "node.key",
        &node.private_key().to_pem(KeyFormat::Traditional).unwrap(),
    );
    put(dir, "client.cert", &client.certificate().to_pem().unwrap());
    ("node.cert".into(), "client.cert".into())
}

fn check_strict(dir: &Path) {
    assert_ok(&verify(
        dir,
        "node.cert",
        &["-purpose", "sslserver", "-verify_ip", "192.168.10.11"],
    ));
    assert_ok(&verify(
        dir,
        "node.cert",
        &["-purpose", "sslserver", "-verify_ip", "127.0.0.1"],
    ));
    assert_ok(&verify(dir, "node.cert", &["-purpose", "sslclient"]));
    assert_ok(&verify(dir, "client.cert", &["-purpose", "sslclient"]));
    // And the checks can fail: wrong IP, client certificate used as a server.
    assert_fails(
        &verify(
            dir,
            "node.cert",
            &["-purpose", "sslserver", "-verify_ip", "192.168.10.12"],
        ),
        "IP address mismatch",
    );
    assert_fails(
        &verify(dir, "client.cert", &["-purpose", "sslserver"]),
        "unsuitable certificate purpose",
    );
}

/// Leaves issued from a root made by another tool: openssl accepts them for their purposes
/// (leniently, because of the root) and webpki, which does not judge trust anchors, accepts
/// them strictly.
fn check_foreign_root(dir: &Path, ca: &Issuer) {
    assert_ok(&verify_lenient_root(
        dir,
        "node.cert",
        &["-purpose", "sslserver", "-verify_ip", "192.168.10.11"],
    ));
    assert_ok(&verify_lenient_root(
        dir,
        "node.cert",
        &["-purpose", "sslclient"],
    ));
    assert_ok(&verify_lenient_root(
        dir,
        "client.cert",
        &["-purpose", "sslclient"],
    ));
    assert_fails(
        &verify_lenient_root(
            dir,
            "node.cert",
            &["-purpose", "sslserver", "-verify_ip", "10.9.9.9"],
        ),
        "IP address mismatch",
    );
    let read = |name: &str| {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        etcd_pki::Certificate::from_pem(&text).unwrap().to_der()
    };
    for (leaf, usage) in [
        ("node.cert", webpki::KeyUsage::server_auth()),
        ("node.cert", webpki::KeyUsage::client_auth()),
        ("client.cert", webpki::KeyUsage::client_auth()),
    ] {
        common::webpki_verify(&ca.certificate().to_der(), &read(leaf), usage, None)
            .unwrap_or_else(|e| panic!("webpki rejected {leaf}: {e:?}"));
    }
}

#[test]
fn our_set_passes_strict_verification() {
    let dir = TempDir::new().unwrap();
    let set = common::set();
    write_set(dir.path(), &set.ca);
    check_strict(dir.path());
    // The root itself is a proper CA for openssl's strict checks too.
    assert_ok(&verify(dir.path(), "root.cert", &["-purpose", "any"]));
}

#[test]
fn openssl_accepts_our_keys_and_reads_our_extensions() {
    let dir = TempDir::new().unwrap();
    write_set(dir.path(), &common::set().ca);
    let out = openssl_ok(&["rsa", "-check", "-noout", "-in", "node.key"], dir.path());
    assert!(out.contains("RSA key ok"), "{out}");
    let text = openssl_ok(&["x509", "-noout", "-text", "-in", "node.cert"], dir.path());
    for needle in [
        "Version: 3 (0x2)",
        "X509v3 Basic Constraints: critical",
        "CA:FALSE",
        "X509v3 Key Usage: critical",
        "Digital Signature, Key Encipherment",
        "TLS Web Server Authentication, TLS Web Client Authentication",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        "IP Address:127.0.0.1, IP Address:192.168.10.11",
        "Issuer: C = CN, ST = CQ, L = YB, O = BC, OU = ZWC, CN = CA",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

/// The guide's openssl commands make a v1 root (no extensions) and a PKCS#8 key.
#[test]
fn a_ca_made_by_the_guides_openssl_commands_loads_and_issues() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    openssl_ok(&["genrsa", "-out", "root.key", "2048"], d);
    openssl_ok(
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
        d,
    );
    openssl_ok(
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
        d,
    );
    let key_text = std::fs::read_to_string(d.join("root.key")).unwrap();
    assert!(
        key_text.starts_with("-----BEGIN PRIVATE KEY-----"),
        "OpenSSL 3 writes PKCS#8"
    );
    let ca = Issuer::load(&d.join("root.cert"), &d.join("root.key")).unwrap();
    assert!(!ca.certificate().is_v3(), "the guide's root is v1");
    // Leaves from a v1 root: the AKI is derived from the root key (it has no SKI).
    write_set(d, &ca);
    check_foreign_root(d, &ca);
    // Strict mode refuses the v1 root itself, whatever its leaves are like.
    assert_fails(
        &verify(d, "node.cert", &["-purpose", "sslserver"]),
        "invalid CA certificate",
    );
}

/// The script's root: v3 with only basicConstraints, PKCS#1 key.
#[test]
fn a_ca_made_by_the_script_loads_and_issues() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let script = require_script!("a_ca_made_by_the_script_loads_and_issues");
    let out = common::python(
        &[script.to_str().unwrap(), "-c", "gen_root_cert", "-s", "."],
        d,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = Issuer::load(&d.join("root.cert"), &d.join("root.key")).unwrap();
    assert!(ca.certificate().is_v3() && ca.certificate().is_ca());
    write_set(d, &ca);
    check_foreign_root(d, &ca);
    // Strict mode refuses the script's root itself: no keyUsage, no subjectKeyIdentifier.
    assert_fails(
        &verify(d, "node.cert", &["-purpose", "sslserver"]),
        "CA cert does not include key usage extension",
    );
}

#[test]
fn a_key_from_another_pair_is_refused() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let set = common::set();
    put(d, "root.cert", &set.ca.certificate().to_pem().unwrap());
    openssl_ok(&["genrsa", "-out", "other.key", "2048"], d);
    let err = Issuer::load(&d.join("root.cert"), &d.join("other.key")).unwrap_err();
    assert!(matches!(err, etcd_pki::Error::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("other.key"), "{err}");
}

#[test]
fn a_v3_certificate_without_ca_true_is_refused_as_root() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    // A self-signed v3 certificate with CA:FALSE, as a misconfigured openssl would make it.
    openssl_ok(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.cert",
            "-subj",
            "/CN=not a ca",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ],
        d,
    );
    let err = Issuer::load(&d.join("leaf.cert"), &d.join("leaf.key")).unwrap_err();
    assert!(matches!(err, etcd_pki::Error::NotACa { .. }), "{err}");
    // Our own leaf given as a root.
    let set = common::set();
    put(d, "node.cert", &set.node.certificate().to_pem().unwrap());
    put(
        d,
        "node.key",
        &set.node.private_key().to_pem(KeyFormat::Pkcs8).unwrap(),
    );
    let err = Issuer::load(&d.join("node.cert"), &d.join("node.key")).unwrap_err();
    assert!(matches!(err, etcd_pki::Error::NotACa { .. }), "{err}");
    assert!(err.to_string().contains("node.cert"), "{err}");
}

#[test]
fn loopback_tls_handshake_with_openssl_s_server() {
    // openssl s_server with our node certificate, requiring a client certificate, and
    // s_client with our client certificate: the mutual handshake completes.
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let set = common::set();
    put(d, "root.cert", &set.ca.certificate().to_pem().unwrap());
    put(d, "node.cert", &set.node.certificate().to_pem().unwrap());
    put(
        d,
        "node.key",
        &set.node
            .private_key()
            .to_pem(KeyFormat::Traditional)
            .unwrap(),
    );
    put(
        d,
        "client.cert",
        &set.client.certificate().to_pem().unwrap(),
    );
    put(
        d,
        "client.key",
        &set.client
            .private_key()
            .to_pem(KeyFormat::Traditional)
            .unwrap(),
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &port.to_string(),
            "-cert",
            "node.cert",
            "-key",
            "node.key",
            "-CAfile",
            "root.cert",
            "-Verify",
            "1",
            "-verify_return_error",
            "-x509_strict",
            "-naccept",
            "1",
            "-www",
        ])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl not found: apt-get install openssl");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(server);
    let deadline = Instant::now() + Duration::from_secs(10);
    let output = loop {
        let mut client = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-CAfile",
                "root.cert",
                "-cert",
                "client.cert",
                "-key",
                "client.key",
                "-verify_return_error",
                "-verify_ip",
                "127.0.0.1",
                "-x509_strict",
                "-brief",
            ])
            .current_dir(d)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(client.stdin.take());
        let mut err = String::new();
        client
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = client.wait().unwrap();
        if status.success() || Instant::now() > deadline {
            break (status, err);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(output.0.success(), "s_client failed: {}", output.1);
    assert!(output.1.contains("Verification: OK"), "{}", output.1);
}
