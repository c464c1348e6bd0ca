//! OpenSSL's own consistency check (`openssl rsa -check`) on keys made by etcd-pki's generator,
//! in both key formats.

use std::process::Command;

use etcd_pki::{KeyAlgorithm, KeyFormat, KeyGenerator};

#[test]
fn openssl_accepts_the_keys() {
    let version = Command::new("openssl").arg("version").output();
    if !version.is_ok_and(|o| o.status.success()) {
        panic!("openssl not found: apt-get install openssl");
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyGenerator::new()
        .generate_batch(
            &[
                KeyAlgorithm::Rsa2048,
                KeyAlgorithm::Rsa2048,
                KeyAlgorithm::Rsa3072,
            ],
            &mut rand::rng(),
        )
        .unwrap();
    for (i, key) in keys.iter().enumerate() {
        for format in [KeyFormat::Traditional, KeyFormat::Pkcs8] {
            let path = dir.path().join(format!("key{i}-{format:?}.pem"));
            std::fs::write(&path, key.to_pem(format).unwrap().as_bytes()).unwrap();
            let out = Command::new("openssl")
                .args(["rsa", "-check", "-noout", "-in"])
                .arg(&path)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("RSA key ok"),
                "openssl rsa -check refused key {i} ({format:?}): {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
