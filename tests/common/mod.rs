//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use etcd_pki::{CertifiedKey, ClientCert, Issuer, RootCa, ServerCert};

/// One root CA and a leaf set per test binary (key generation is the slow part).
pub struct Set {
    pub ca: Issuer,
    pub client: CertifiedKey,
    pub alice: CertifiedKey,
    pub node: CertifiedKey,
    pub node_ip: IpAddr,
}

pub fn set() -> &'static Set {
    static SET: OnceLock<Set> = OnceLock::new();
    SET.get_or_init(|| {
        let ca = RootCa::new().self_sign().unwrap();
        let node_ip: IpAddr = "192.168.10.11".parse().unwrap();
        Set {
            client: ClientCert::new().issue(&ca).unwrap(),
            alice: ClientCert::new()
                .common_name(&"alice".parse().unwrap())
                .issue(&ca)
                .unwrap(),
            node: ServerCert::new(node_ip).issue(&ca).unwrap(),
            node_ip,
            ca,
        }
    })
}

/// Runs `openssl` with `args`; panics with an install hint if it is missing.
pub fn openssl(args: &[&str], dir: &Path) -> Output {
    match Command::new("openssl").args(args).current_dir(dir).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("openssl not found: install it with `apt-get install openssl` (see .ci/run)")
        }
        Err(e) => panic!("cannot run openssl: {e}"),
    }
}

/// Runs openssl and asserts success, returning stdout.
pub fn openssl_ok(args: &[&str], dir: &Path) -> String {
    let out = openssl(args, dir);
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes a PEM text to `dir/name`.
pub fn put(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// The path of the built example CLI (cargo builds examples for `cargo test`).
pub fn cli_path() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let cli = profile_dir.join("examples").join("gen_etcd_certs");
    assert!(
        cli.exists(),
        "{} not found: build the examples first: `cargo build --examples` (the test command .ci/test does)",
        cli.display()
    );
    cli
}

/// Runs `python3 -c <code>`; panics with an install hint if python3 or `cryptography` is missing.
pub fn python(args: &[&str], dir: &Path) -> Output {
    let out = match Command::new("python3").args(args).current_dir(dir).output() {
        Ok(out) => out,
        Err(e) => panic!("python3 not available ({e}): install python3 (see .ci/run)"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'cryptography'"),
        "Python `cryptography` is missing: `pip install cryptography` (see .ci/run)"
    );
    out
}

/// The guide's script, from the read-only shared/ folder beside the repository.
pub fn script_path() -> std::path::PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/gen_etcd_certs.py");
    assert!(
        p.exists(),
        "{} not found: the tests need the shared/ reference folder beside the repository",
        p.display()
    );
    p
}

/// rustls-webpki's verdict on `leaf` issued by the trust anchor `root` for `usage` (all of
/// webpki's signature algorithms, now), and, if given, on its validity for `ip`.
pub fn webpki_verify(
    root: &[u8],
    leaf: &[u8],
    usage: webpki::KeyUsage,
    ip: Option<IpAddr>,
) -> Result<(), webpki::Error> {
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    let root = CertificateDer::from(root);
    let anchor = webpki::anchor_from_trusted_cert(&root)?;
    let leaf = CertificateDer::from(leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf)?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        UnixTime::now(),
        usage,
        None,
        None,
    )?;
    match ip {
        Some(ip) => ee.verify_is_valid_for_subject_name(&ServerName::IpAddress(ip.into())),
        None => Ok(()),
    }
}

/// Asserts that `openssl verify -x509_strict` accepts `leaf` (issued by `ca`, paths relative to
/// `dir`) as a TLS server certificate for `ip`.
pub fn assert_strict_server(dir: &Path, ca: &str, leaf: &str, ip: &str) {
    openssl_ok(
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            ca,
            "-purpose",
            "sslserver",
            "-verify_ip",
            ip,
            leaf,
        ],
        dir,
    );
}
