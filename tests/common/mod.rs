//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
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
                .common_name("alice".parse().unwrap())
                .issue(&ca)
                .unwrap(),
            node: ServerCert::new(node_ip).issue(&ca).unwrap(),
            node_ip,
            ca,
        }
    })
}

/// The path of the built example `name` (`cargo test` builds the examples; `cargo test
/// --all-targets` builds them only as test harnesses, so run `cargo build --examples` first).
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} not found: build the examples first: `cargo build --examples` (the test command's .ci/prepare does)",
        path.display()
    );
    path
}

/// The path of the built example CLI `gen_etcd_certs`.
pub fn cli_path() -> PathBuf {
    example_path("gen_etcd_certs")
}
