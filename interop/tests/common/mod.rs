//! Helpers shared by the interop tests: the root package's shared test set, and the outside
//! tools (openssl, Python, the example CLI, rustls-webpki).
#![allow(dead_code, unreachable_pub)]

use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Output};

#[path = "../../../tests/common/mod.rs"]
mod base;
#[allow(unused_imports, reason = "not every test binary uses every helper")]
pub use base::*;

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

/// The environment variable that names the reference script `gen_etcd_certs.py` for the
/// comparison tests (`.ci/run` sets it to the copy in the read-only `shared/` folder).
pub const SCRIPT_VAR: &str = "ETCD_PKI_REFERENCE_SCRIPT";

/// The reference script, if [`SCRIPT_VAR`] names one. When it does not, the calling test is
/// skipped with a loud message, except in CI (`CI=true`), where a missing script is a failure.
pub fn reference_script(test: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os(SCRIPT_VAR).map(std::path::PathBuf::from);
    match path {
        Some(p) if p.is_file() => return Some(p),
        Some(p) => {
            let msg = format!("{SCRIPT_VAR}={} is not a file", p.display());
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: {msg}");
            }
            eprintln!("SKIPPED {test}: {msg}");
        }
        None => {
            let msg = format!(
                "{SCRIPT_VAR} is not set: set it to the path of gen_etcd_certs.py to compare with the script"
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: in CI the comparison with the script must run: {msg}");
            }
            eprintln!("SKIPPED {test}: {msg}");
        }
    }
    None
}

/// Skips the calling test (see [`reference_script`]) unless the reference script is available.
#[macro_export]
macro_rules! require_script {
    ($test:literal) => {
        match common::reference_script($test) {
            Some(p) => p,
            None => return,
        }
    };
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
