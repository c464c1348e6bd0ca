//! Unit tests of the doctor: each check fails on a fixture made to break it (with the crate's
//! builders, or x509-cert's builder directly for what the crate would never issue) and passes
//! on good sets (a gen_etcd_certs-style directory and a written cluster plan: no errors and no
//! warnings at all).
#![cfg(all(feature = "ecdsa", feature = "plan", feature = "encrypted-keys"))]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use der::asn1::OctetString;
use der::oid::ObjectIdentifier;
use p256::pkcs8::DecodePrivateKey;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use super::{Doctor, EtcdVersion, Report, Severity, config};
use crate::role::{CLIENT_AUTH, SERVER_AUTH};
use crate::{
    Certificate, ClientCert, ClusterPlan, Issuer, KeyAlgorithm, KeyFormat, Passphrase, PrivateKey,
    RootCa, ServerCert, WriteOptions,
};

const IP: &str = "10.0.0.1";

/// A P-256 CA, and its key as a p256 signer for hand-made certificates.
struct Ca {
    issuer: Issuer,
    key: p256::ecdsa::SigningKey,
}

fn ca() -> Ca {
    let issuer = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let pem = issuer
        .certified_key()
        .private_key()
        .to_pem(KeyFormat::Pkcs8)
        .unwrap();
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).unwrap();
    Ca { issuer, key }
}

fn name_of(c: &Certificate) -> Name {
    c.x509().tbs_certificate().subject().clone()
}

fn ski_of(c: &Certificate) -> Vec<u8> {
    let (_, ski) = c
        .x509()
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    ski.0.as_bytes().to_vec()
}

/// What goes into a hand-made certificate.
#[derive(Clone)]
struct Spec {
    issuer: Name,
    ca: bool,
    eku: Option<Vec<ObjectIdentifier>>,
    aki: Option<Vec<u8>>,
    ips: Vec<IpAddr>,
    /// No extensions at all: an X.509 v1 certificate.
    v1: bool,
}

impl Spec {
    fn node(ca: &Ca) -> Self {
        let c = ca.issuer.certificate();
        Self {
            issuer: name_of(c),
            ca: false,
            eku: Some(vec![SERVER_AUTH, CLIENT_AUTH]),
            aki: Some(ski_of(c)),
            ips: vec![[127, 0, 0, 1].into(), IP.parse().unwrap()],
            v1: false,
        }
    }
}

impl BuilderProfile for Spec {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        "O=test".parse().unwrap()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut out = Vec::new();
        if self.v1 {
            return Ok(out);
        }
        let bc = BasicConstraints {
            ca: self.ca,
            path_len_constraint: None,
        };
        out.push(bc.to_extension(tbs.subject(), &out)?);
        if let Some(eku) = &self.eku {
            out.push(ExtendedKeyUsage(eku.clone()).to_extension(tbs.subject(), &out)?);
        }
        out.push(SubjectKeyIdentifier::try_from(spk)?.to_extension(tbs.subject(), &out)?);
        if let Some(id) = &self.aki {
            let aki = AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(id.clone())?),
                ..Default::default()
            };
            out.push(aki.to_extension(tbs.subject(), &out)?);
        }
        if !self.ips.is_empty() {
            let san = self.ips.iter().map(|ip| GeneralName::from(*ip)).collect();
            out.push(SubjectAltName(san).to_extension(tbs.subject(), &out)?);
        }
        Ok(out)
    }
}

/// Signs `spec` for `key`'s public key with `signer`.
fn make(spec: Spec, key: &PrivateKey, signer: &p256::ecdsa::SigningKey) -> Certificate {
    let builder = CertificateBuilder::new(
        spec,
        SerialNumber::new(&[0x42]).unwrap(),
        Validity::from_now(Duration::from_secs(86_400 * 365)).unwrap(),
        key.spki().unwrap(),
    )
    .unwrap();
    let x = builder
        .build::<_, p256::ecdsa::DerSignature>(signer)
        .unwrap();
    Certificate::from_x509(x).unwrap()
}

fn p256_key() -> PrivateKey {
    PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

fn write_pair(dir: &Path, stem: &str, cert: &Certificate, key: &PrivateKey) {
    std::fs::write(dir.join(format!("{stem}.cert")), cert.to_pem().unwrap()).unwrap();
    write_key(&dir.join(format!("{stem}.key")), key);
}

fn write_key(path: &Path, key: &PrivateKey) {
    std::fs::write(path, key.to_pem(KeyFormat::Traditional).unwrap().as_bytes()).unwrap();
    chmod(path, 0o600);
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The layout of gen_etcd_certs (and the script): root.*, client.*, <ip>.* in one directory.
fn gen_set(dir: &Path) -> Ca {
    let ca = ca();
    ca.issuer
        .write(dir, "root", &WriteOptions::default())
        .unwrap();
    ServerCert::new(IP.parse().unwrap())
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&ca.issuer)
        .unwrap()
        .write(dir, IP, &WriteOptions::default())
        .unwrap();
    ClientCert::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&ca.issuer)
        .unwrap()
        .write(dir, "client", &WriteOptions::default())
        .unwrap();
    ca
}

/// The guide's member configuration for `IP`, with its certificate files in `dir`, and
/// `extra` appended.
fn member_yaml(dir: &Path, extra: &str) -> PathBuf {
    let d = dir.display();
    let text = format!(
        "name: m1\nlisten-peer-urls: https://{IP}:2380\nlisten-client-urls: https://{IP}:2379,https://127.0.0.1:2379\n\
         advertise-client-urls: https://{IP}:2379\ninitial-advertise-peer-urls: https://{IP}:2380\n\
         initial-cluster: m1=https://{IP}:2380\n\
         client-transport-security:\n  cert-file: {d}/{IP}.cert\n  key-file: {d}/{IP}.key\n  client-cert-auth: true\n  trusted-ca-file: {d}/root.cert\n\
         peer-transport-security:\n  cert-file: {d}/{IP}.cert\n  key-file: {d}/{IP}.key\n  client-cert-auth: true\n  trusted-ca-file: {d}/root.cert\n{extra}"
    );
    let path = dir.join("etcd.conf.yml");
    std::fs::write(&path, text).unwrap();
    // Deployed on the member: without the CA's key.
    let _ = std::fs::remove_file(dir.join("root.key"));
    path
}

fn run(paths: &[&Path]) -> Report {
    paths
        .iter()
        .fold(Doctor::new(), Doctor::path)
        .run()
        .unwrap()
}

fn codes(r: &Report, sev: Severity) -> Vec<&'static str> {
    r.findings()
        .iter()
        .filter(|f| f.severity() == sev)
        .map(super::Finding::code)
        .collect()
}

/// The report has exactly these errors and warnings (in any order).
#[track_caller]
fn assert_problems(r: &Report, errors: &[&str], warnings: &[&str]) {
    let mut e = codes(r, Severity::Error);
    let mut w = codes(r, Severity::Warning);
    e.sort_unstable();
    w.sort_unstable();
    let (mut ee, mut ww) = (errors.to_vec(), warnings.to_vec());
    ee.sort_unstable();
    ww.sort_unstable();
    assert_eq!((e, w), (ee, ww), "{:#?}", r.findings());
}

#[test]
fn a_clean_gen_etcd_certs_set_has_no_errors_or_warnings() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let r = run(&[dir.path()]);
    assert_problems(&r, &[], &[]);
    // Every certificate's expiry is told.
    assert_eq!(r.with_code("cert-expiry").count(), 3, "{:#?}", r.findings());
    // With the member's configuration too.
    let conf = member_yaml(dir.path(), "");
    assert_problems(&run(&[dir.path(), &conf]), &[], &[]);
    assert_problems(&run(&[&conf]), &[], &[]);
}

#[test]
fn a_clean_plan_bundle_has_no_errors_or_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let plan = ClusterPlan::from_toml(
        "key_algorithm = \"p256\"\n[[member]]\nname = \"a\"\nips = [\"10.0.0.1\"]\n[[member]]\nname = \"b\"\nips = [\"10.0.0.2\"]\n[[user]]\nname = \"alice\"\n",
    )
    .unwrap();
    plan.issue().unwrap().write(dir.path()).unwrap();
    let r = run(&[dir.path()]);
    assert_problems(&r, &[], &[]);
    // The CA's key copied to a member.
    let a = dir.path().join("members/a");
    std::fs::copy(dir.path().join("ca/root.key"), a.join("root.key")).unwrap();
    assert_problems(&run(&[dir.path()]), &[], &["ca-key-on-member"]);
    std::fs::remove_file(a.join("root.key")).unwrap();
    let labels: Vec<&str> = r.findings().iter().map(super::Finding::member).collect();
    assert!(
        labels.contains(&"a") && labels.contains(&"b") && labels.contains(&"client alice"),
        "{labels:?}"
    );
}

/// A gen_etcd_certs set whose member certificate is replaced by one made from `spec`.
fn with_member(spec: impl FnOnce(&Ca) -> Spec) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ca = gen_set(dir.path());
    let key = p256_key();
    let cert = make(spec(&ca), &key, &ca.key);
    std::fs::remove_file(dir.path().join(format!("{IP}.cert"))).unwrap();
    std::fs::remove_file(dir.path().join(format!("{IP}.key"))).unwrap();
    write_pair(dir.path(), IP, &cert, &key);
    let conf = member_yaml(dir.path(), "");
    (dir, conf)
}

#[test]
fn a_hand_made_good_member_certificate_passes() {
    let (dir, conf) = with_member(Spec::node);
    assert_problems(&run(&[dir.path(), &conf]), &[], &[]);
}

#[test]
fn a_server_auth_only_member_certificate_is_an_error() {
    let (dir, conf) = with_member(|ca| Spec {
        eku: Some(vec![SERVER_AUTH]),
        ..Spec::node(ca)
    });
    let r = run(&[dir.path(), &conf]);
    assert_problems(&r, &["member-cert-no-client-auth"], &[]);
    let f = r.with_code("member-cert-no-client-auth").next().unwrap();
    assert_eq!(
        f.etcd_says(),
        Some("x509: certificate specifies an incompatible key usage")
    );
    assert_eq!(f.member(), "m1");
    assert!(
        f.fix_hint()
            .unwrap()
            .contains("gen_etcd_certs -c gen_server_cert"),
        "{f:?}"
    );
    let (dir, conf) = with_member(|ca| Spec {
        eku: Some(vec![CLIENT_AUTH]),
        ..Spec::node(ca)
    });
    assert_problems(
        &run(&[dir.path(), &conf]),
        &["member-cert-no-server-auth"],
        &[],
    );
    // No EKU at all (the script's certificates) is any usage.
    let (dir, conf) = with_member(|ca| Spec {
        eku: None,
        ..Spec::node(ca)
    });
    assert_problems(&run(&[dir.path(), &conf]), &[], &[]);
}

#[test]
fn a_client_certificate_without_client_auth_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca = gen_set(dir.path());
    let key = p256_key();
    let cert = make(
        Spec {
            eku: Some(vec![SERVER_AUTH]),
            ips: vec![],
            ..Spec::node(&ca)
        },
        &key,
        &ca.key,
    );
    write_pair(dir.path(), "client", &cert, &key);
    assert_problems(&run(&[dir.path()]), &["client-cert-no-client-auth"], &[]);
}

#[test]
fn an_intermediate_with_an_eku_constrains_its_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let ca = gen_set(dir.path());
    let int_key = p256_key();
    let int_cert = make(
        Spec {
            ca: true,
            eku: Some(vec![SERVER_AUTH]),
            ips: vec![],
            ..Spec::node(&ca)
        },
        &int_key,
        &ca.key,
    );
    let pem = int_key.to_pem(KeyFormat::Pkcs8).unwrap();
    let int_signer = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let leaf_key = p256_key();
    let spec = Spec {
        issuer: name_of(&int_cert),
        aki: Some(ski_of(&int_cert)),
        ..Spec::node(&ca)
    };
    let leaf = make(spec, &leaf_key, &int_signer);
    let chain = leaf.to_pem().unwrap() + &int_cert.to_pem().unwrap();
    std::fs::write(dir.path().join(format!("{IP}.cert")), chain).unwrap();
    write_key(&dir.path().join(format!("{IP}.key")), &leaf_key);
    let r = run(&[dir.path()]);
    assert_problems(&r, &["chain-eku-constrains"], &[]);
}

#[test]
fn a_certificate_of_another_ca_is_untrusted() {
    // Another CA altogether (of the same default name).
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let other = ca();
    let key = p256_key();
    let cert = make(Spec::node(&other), &key, &other.key);
    std::fs::remove_file(dir.path().join(format!("{IP}.cert"))).unwrap();
    std::fs::remove_file(dir.path().join(format!("{IP}.key"))).unwrap();
    write_pair(dir.path(), IP, &cert, &key);
    let conf = member_yaml(dir.path(), "");
    let r = run(&[dir.path(), &conf]);
    assert_problems(&r, &["chain-untrusted"], &[]);
    let f = r.with_code("chain-untrusted").next().unwrap();
    assert_eq!(
        f.etcd_says(),
        Some("x509: certificate signed by unknown authority")
    );
    // A re-made root of the same name: the name matches, the signature does not.
    let dir = tempfile::tempdir().unwrap();
    let ca1 = gen_set(dir.path());
    let other = ca();
    let key = p256_key();
    let spec = Spec {
        aki: None,
        ..Spec::node(&ca1)
    };
    let forged = make(spec, &key, &other.key);
    std::fs::remove_file(dir.path().join(format!("{IP}.cert"))).unwrap();
    std::fs::remove_file(dir.path().join(format!("{IP}.key"))).unwrap();
    write_pair(dir.path(), IP, &forged, &key);
    let r = run(&[dir.path()]);
    assert_problems(&r, &["chain-untrusted"], &[]);
    assert!(
        r.findings()[0]
            .message()
            .contains("another CA of the same name"),
        "{:#?}",
        r.findings()
    );
    // Signed with the CA's key under another issuer name.
    let (dir, conf) = with_member(|ca| Spec {
        issuer: "CN=Other".parse().unwrap(),
        ..Spec::node(ca)
    });
    let r = run(&[dir.path(), &conf]);
    assert_problems(&r, &["chain-untrusted"], &[]);
    assert!(
        r.findings()[0].message().contains("byte for byte"),
        "{:#?}",
        r.findings()
    );
}

#[test]
fn an_aki_that_is_not_the_cas_ski_is_a_warning() {
    let (dir, conf) = with_member(|ca| Spec {
        aki: Some(vec![1, 2, 3]),
        ..Spec::node(ca)
    });
    assert_problems(&run(&[dir.path(), &conf]), &[], &["chain-aki-mismatch"]);
}

#[test]
fn keys_must_match_be_plain_and_private() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let conf = member_yaml(dir.path(), "");
    let node_key = dir.path().join(format!("{IP}.key"));
    // A key of another certificate (a half-done rotation).
    std::fs::copy(dir.path().join("client.key"), &node_key).unwrap();
    let r = run(&[dir.path(), &conf]);
    assert_problems(&r, &["key-mismatch"], &[]);
    assert_eq!(
        r.with_code("key-mismatch").next().unwrap().etcd_says(),
        Some("tls: private key does not match public key")
    );
    // An encrypted key.
    let key = p256_key();
    let pass = Passphrase::new(b"correct horse battery".to_vec()).unwrap();
    std::fs::write(&node_key, key.to_encrypted_pem(&pass).unwrap().as_bytes()).unwrap();
    assert_problems(&run(&[dir.path(), &conf]), &["key-encrypted"], &[]);
    // Readable by others.
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    chmod(&dir.path().join(format!("{IP}.key")), 0o644);
    chmod(&dir.path().join("root.key"), 0o640);
    let r = run(&[dir.path()]);
    assert_problems(&r, &[], &["key-permissions", "key-permissions"]);
    assert!(r.with_code("key-permissions").any(|f| f.fix_hint()
        == Some(&*format!(
            "chmod 600 {}",
            dir.path().join("root.key").display()
        ))));
}

#[test]
fn a_ca_key_in_a_members_directory_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    // A CA working directory (no member configuration) is fine...
    assert_problems(&run(&[dir.path()]), &[], &[]);
    // ...a member's is not.
    std::fs::copy(dir.path().join("root.key"), dir.path().join("root.key.bak")).unwrap();
    let conf = member_yaml(dir.path(), "");
    std::fs::rename(dir.path().join("root.key.bak"), dir.path().join("root.key")).unwrap();
    assert_problems(&run(&[dir.path(), &conf]), &[], &["ca-key-on-member"]);
}

#[test]
fn expiry_is_an_error_when_past_and_a_warning_within_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let day = Duration::from_secs(86_400);
    let at = |days: u64| SystemTime::now() + day * u32::try_from(days).unwrap();
    let r = Doctor::new().path(dir.path()).at(at(4000)).run().unwrap();
    assert_eq!(
        r.with_code("cert-expired").count(),
        3,
        "{:#?}",
        r.findings()
    );
    assert_eq!(
        r.with_code("cert-expired").next().unwrap().etcd_says(),
        Some("x509: certificate has expired or is not yet valid")
    );
    let r = Doctor::new().path(dir.path()).at(at(3640)).run().unwrap();
    assert_problems(&r, &[], &["cert-expires-soon"; 3]);
    let r = Doctor::new()
        .path(dir.path())
        .at(at(3640))
        .warn_days(5)
        .run()
        .unwrap();
    assert_problems(&r, &[], &[]);
}

#[test]
fn sans_are_checked_against_every_url() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let conf = member_yaml(dir.path(), "");
    let text = std::fs::read_to_string(&conf).unwrap().replace(
        "advertise-client-urls: https://10.0.0.1:2379",
        "advertise-client-urls: https://10.0.0.2:2379",
    );
    std::fs::write(&conf, text).unwrap();
    let r = run(&[&conf]);
    assert_problems(&r, &["san-missing"], &[]);
    let f = r.with_code("san-missing").next().unwrap();
    assert_eq!(
        f.etcd_says(),
        Some("x509: certificate is valid for 127.0.0.1, 10.0.0.1, not 10.0.0.2")
    );
    // Listening on all addresses without 127.0.0.1 in the certificate.
    let dir = tempfile::tempdir().unwrap();
    let ca = gen_set(dir.path());
    ServerCert::new(IP.parse().unwrap())
        .loopback(false)
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&ca.issuer)
        .unwrap()
        .write(
            dir.path(),
            IP,
            &WriteOptions {
                overwrite: true,
                ..WriteOptions::default()
            },
        )
        .unwrap();
    let conf = member_yaml(dir.path(), "");
    let text = std::fs::read_to_string(&conf)
        .unwrap()
        .replace(",https://127.0.0.1:2379", ",https://0.0.0.0:2379");
    std::fs::write(&conf, &text).unwrap();
    assert_problems(&run(&[&conf]), &[], &["san-no-loopback"]);
    std::fs::write(&conf, text.replace("0.0.0.0", "127.0.0.1")).unwrap();
    assert_problems(&run(&[&conf]), &["san-missing"], &[]);
}

#[test]
fn config_traps_are_found() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let conf = member_yaml(dir.path(), "");
    let good = std::fs::read_to_string(&conf).unwrap();
    let check = |text: &str, v: &str| {
        std::fs::write(&conf, text).unwrap();
        Doctor::new()
            .path(&conf)
            .etcd_version(v.parse().unwrap())
            .run()
            .unwrap()
    };
    // The classic: peer-cert-file inside peer-transport-security.
    let text = good.replace("peer-transport-security:\n  cert-file", "peer-transport-security:\n  peer-cert-file").replace(&format!("  key-file: {}/{IP}.key\n  client-cert-auth: true\n  trusted-ca-file: {}/root.cert\n", dir.path().display(), dir.path().display()), "XX");
    let text = text.replacen("XX", &format!("  key-file: {}/{IP}.key\n  client-cert-auth: true\n  trusted-ca-file: {}/root.cert\n", dir.path().display(), dir.path().display()), 1)
        .replace("XX", &format!("  peer-key-file: {}/{IP}.key\n  client-cert-auth: true\n  trusted-ca-file: {}/root.cert\n", dir.path().display(), dir.path().display()));
    let r = check(&text, "3.5");
    assert_problems(
        &r,
        &["peer-tls-not-configured"],
        &["config-unknown-key", "config-unknown-key"],
    );
    let f = r.with_code("config-unknown-key").next().unwrap();
    assert!(
        f.message()
            .contains("`cert-file:` inside `peer-transport-security:`")
            || f.message().contains("`key-file:` inside"),
        "{f:?}"
    );
    assert_eq!(
        r.with_code("peer-tls-not-configured")
            .next()
            .unwrap()
            .etcd_says(),
        Some("cannot listen on TLS for 10.0.0.1:2380: KeyFile and CertFile are not presented")
    );
    // trusted-ca-file without client-cert-auth.
    let r = check(
        &good.replacen("client-cert-auth: true", "client-cert-auth: false", 1),
        "3.6",
    );
    assert_problems(&r, &[], &["trusted-ca-without-client-cert-auth"]);
    // cipher-suites with TLS 1.3 only; on 3.5.1, tls-min-version is not a key yet.
    let extra =
        "cipher-suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\ntls-min-version: TLS1.3\n";
    assert_problems(
        &check(&(good.clone() + extra), "3.6"),
        &["cipher-suites-with-tls13"],
        &[],
    );
    assert_problems(
        &check(&(good.clone() + extra), "3.5.8"),
        &["cipher-suites-with-tls13"],
        &[],
    );
    assert_problems(
        &check(&(good.clone() + extra), "3.4.25"),
        &["cipher-suites-with-tls13"],
        &[],
    );
    // Before 3.4.25 / 3.5.8 the key is ignored: the suites apply, an upgrade will refuse them.
    for v in ["3.5.1", "3.5.7", "3.4.24"] {
        let r = check(&(good.clone() + extra), v);
        assert_problems(&r, &[], &["config-unknown-key", "cipher-suites-with-tls13"]);
        let f = r.with_code("cipher-suites-with-tls13").next().unwrap();
        assert!(
            f.message().contains(&format!("etcd {v} does not know")),
            "{f:?}"
        );
    }
    // etcd compares the version exactly.
    let r = check(&(good.clone() + "tls-min-version: tls1.3\n"), "3.6");
    assert_problems(&r, &["config-bad-value"], &[]);
    assert_eq!(
        r.findings()[0].etcd_says(),
        Some("unexpected TLS version \"tls1.3\" (must be one of: TLS1.2, TLS1.3)")
    );
    // logger: capnslog.
    assert_problems(
        &check(&(good.clone() + "logger: capnslog\n"), "3.5"),
        &["logger-capnslog"],
        &[],
    );
    assert_problems(
        &check(&(good.clone() + "logger: capnslog\n"), "3.4"),
        &[],
        &["logger-capnslog"],
    );
    // Keys etcd 3.6 no longer reads; a misspelt key; a file that does not exist.
    assert_problems(
        &check(&(good.clone() + "enable-v2: true\n"), "3.6"),
        &[],
        &["config-key-removed"],
    );
    assert_problems(
        &check(&(good.clone() + "enable-v2: true\n"), "3.5"),
        &[],
        &[],
    );
    assert_problems(
        &check(
            &(good.clone() + "listen-client-url: https://10.0.0.1:2379\n"),
            "3.6",
        ),
        &[],
        &["config-unknown-key"],
    );
    let r = check(&good.replace("root.cert", "gone.cert"), "3.6");
    // (and the member's certificate cannot be checked without its CA)
    assert_problems(
        &r,
        &["config-file-missing", "config-file-missing"],
        &["no-ca"],
    );
    assert!(r.with_code("config-file-missing").all(|f| {
        f.etcd_says()
            .is_some_and(|s| s.ends_with("gone.cert: no such file or directory"))
    }));
    // client-cert-auth without a CA; a boolean that is not one.
    let r = check(
        &good.replace(
            &format!("  trusted-ca-file: {}/root.cert\n", dir.path().display()),
            "",
        ),
        "3.6",
    );
    assert!(
        r.with_code("client-cert-auth-without-ca").count() == 2,
        "{:#?}",
        r.findings()
    );
    assert_problems(
        &check(
            &good.replacen("client-cert-auth: true", "client-cert-auth: sure", 1),
            "3.6",
        ),
        &["config-bad-value"],
        &["trusted-ca-without-client-cert-auth"],
    );
}

#[test]
fn flags_and_environment_are_read_like_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let d = dir.path().display();
    let unit = dir.path().join("etcd.service");
    let flags = format!(
        "[Service]\nExecStart=/usr/bin/etcd --name m1 \\\n  --listen-client-urls=https://10.0.0.2:2379 --cert-file {d}/{IP}.cert --key-file={d}/{IP}.key \\\n  --client-cert-auth --trusted-ca-file {d}/root.cert\n"
    );
    std::fs::write(&unit, &flags).unwrap();
    let r = run(&[&unit]);
    assert_problems(&r, &["san-missing"], &[]);
    std::fs::write(
        &unit,
        flags.replace("--client-cert-auth", "--client-cert-auth --peer-cert-fil x"),
    )
    .unwrap();
    let r = run(&[&unit]);
    assert_problems(&r, &["san-missing", "config-unknown-flag"], &[]);
    assert_eq!(
        r.with_code("config-unknown-flag")
            .next()
            .unwrap()
            .etcd_says(),
        Some("flag provided but not defined: -peer-cert-fil")
    );
    // The flags alone, without the program.
    let args = dir.path().join("etcd.args");
    let only = flags.split_once("/usr/bin/etcd ").unwrap().1.to_owned();
    std::fs::write(&args, &only).unwrap();
    assert_problems(&run(&[&args]), &["san-missing"], &[]);
    let env = dir.path().join("etcd.env");
    std::fs::write(&env, format!("# /etc/default/etcd\nETCD_NAME=m1\nETCD_LISTEN_CLIENT_URLS=\"https://10.0.0.1:2379\"\nETCD_CERT_FILE='{d}/{IP}.cert'\nETCD_KEY_FILE={d}/{IP}.key\nETCD_TRUSTED_CA_FILE={d}/root.cert\nETCD_CLIENT_CERT_AUTH=true\nETCD_PEER_CERT_FIL=x\n")).unwrap();
    let r = run(&[&env]);
    assert_problems(&r, &[], &["config-unknown-env"]);
}

/// Replaces one byte sequence of `der` by another of the same length.
fn patch(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = der.to_vec();
    let mut found = false;
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            found = true;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(found);
    out
}

/// A gen_etcd_certs-style set whose member certificate has a negative serial number (the DER
/// patched: its signature no longer verifies either).
fn negative_serial_set() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ca = gen_set(dir.path());
    let key = p256_key();
    let good = make(Spec::node(&ca), &key, &ca.key);
    let neg = Certificate::from_der(&patch(
        &good.to_der(),
        &[0x02, 0x01, 0x42],
        &[0x02, 0x01, 0xc2],
    ))
    .unwrap();
    write_pair(dir.path(), IP, &neg, &key);
    dir
}

/// An RSA root and a member certificate whose sha256WithRSAEncryption is patched to
/// sha1WithRSAEncryption.
fn sha1_set() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let rsa_ca = RootCa::new().self_sign().unwrap();
    rsa_ca
        .write(dir.path(), "root", &WriteOptions::default())
        .unwrap();
    let node = ServerCert::new(IP.parse().unwrap())
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&rsa_ca)
        .unwrap();
    let sha256 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    let sha1 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
    let weak = Certificate::from_der(&patch(&node.certificate().to_der(), &sha256, &sha1)).unwrap();
    write_pair(dir.path(), IP, &weak, node.private_key());
    dir
}

#[test]
fn what_go_and_rustls_refuse_is_found() {
    // A negative serial number (the DER patched: the signature no longer verifies either).
    let dir = negative_serial_set();
    let r = Doctor::new()
        .path(dir.path().join(format!("{IP}.cert")))
        .path(dir.path().join("root.cert"))
        .run()
        .unwrap();
    assert!(
        r.with_code("serial-negative").count() == 1,
        "{:#?}",
        r.findings()
    );
    // SHA-1 (an RSA CA's sha256WithRSAEncryption patched to sha1WithRSAEncryption).
    let dir = sha1_set();
    let r = run(&[dir.path()]);
    assert_problems(&r, &["signature-sha1"], &[]);
    assert_eq!(
        r.findings()[0].etcd_says(),
        Some("x509: cannot verify signature: insecure algorithm SHA1-RSA")
    );
    // An X.509 v1 leaf.
    let (dir, conf) = with_member(|ca| Spec {
        v1: true,
        ..Spec::node(ca)
    });
    let r = run(&[dir.path(), &conf]);
    assert!(
        codes(&r, Severity::Warning).contains(&"cert-v1"),
        "{:#?}",
        r.findings()
    );
    assert!(
        codes(&r, Severity::Error).contains(&"san-missing"),
        "{:#?}",
        r.findings()
    );
}

#[test]
fn common_names_are_checked_against_users() {
    let dir = tempfile::tempdir().unwrap();
    let ca = gen_set(dir.path());
    ClientCert::new()
        .common_name("alice".parse().unwrap())
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&ca.issuer)
        .unwrap()
        .write(dir.path(), "alice-client", &WriteOptions::default())
        .unwrap();
    let r = Doctor::new()
        .path(dir.path())
        .etcd_users(["bob"])
        .run()
        .unwrap();
    assert_problems(&r, &["cn-not-a-user"], &["client-cert-no-cn"]);
    let r = Doctor::new()
        .path(dir.path())
        .etcd_users(["alice"])
        .run()
        .unwrap();
    assert_problems(&r, &[], &["client-cert-no-cn"]);
}

#[test]
fn bad_input_is_an_error_not_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let e = Doctor::new().path(dir.path()).run().unwrap_err();
    assert!(matches!(e, crate::Error::NothingToCheck { .. }), "{e}");
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "hello\n").unwrap();
    let e = Doctor::new().path(&garbage).run().unwrap_err();
    assert!(
        matches!(e, crate::Error::InvalidConfig { .. }) && e.to_string().contains("garbage.txt"),
        "{e}"
    );
    let yml = dir.path().join("etcd.conf.yml");
    std::fs::write(&yml, "name: [unclosed\n").unwrap();
    assert!(matches!(
        Doctor::new().path(&yml).run(),
        Err(crate::Error::InvalidConfig { .. })
    ));
    std::fs::write(&yml, "a: &a [x, x]\nb: [*a, *a]\n").unwrap();
    let e = Doctor::new().path(&yml).run().unwrap_err();
    assert!(e.to_string().contains("aliases"), "{e}");
    assert!(
        Doctor::new()
            .path(dir.path().join("missing"))
            .run()
            .is_err()
    );
    // A damaged certificate in a directory is a finding.
    std::fs::write(
        dir.path().join("x.cert"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::remove_file(&garbage).unwrap();
    std::fs::remove_file(&yml).unwrap();
    let r = run(&[dir.path()]);
    assert_problems(&r, &["file-unusable"], &[]);
}

#[test]
fn versions_select_rules() {
    assert_eq!(EtcdVersion::default(), EtcdVersion::CURRENT);
    let v: EtcdVersion = "3.5.1".parse().unwrap();
    assert!(!super::known_keys::top_level("tls-min-version", v));
    assert!(super::known_keys::top_level(
        "tls-min-version",
        "3.5.8".parse().unwrap()
    ));
}

/// Every reader of YAML text, as the inventory runs them (for the hostile-input tests).
fn read_yaml_every_way(text: &str, p: &Path, v: EtcdVersion) {
    if let Ok(docs) = config::load_yaml(text, p) {
        let _ = config::parse_yaml(&docs, p, v);
        let _ = config::parse_manifest(&docs, p, v);
        let _ = config::looks_like_etcd_yaml(&docs, v);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_configuration_text_never_panics(text in "(?s).{0,400}", words in proptest::collection::vec("[-a-z=:/.0-9 \"'\\\\]{0,20}", 0..12)) {
        let p = Path::new("x");
        for v in [EtcdVersion::CURRENT, "3.4".parse().unwrap()] {
            read_yaml_every_way(&text, p, v);
            let _ = config::parse_env(&text, p, v);
            let _ = config::etcd_arguments(&text).map(|a| config::parse_flags(&a, p, v));
            let _ = config::parse_flags(&words, p, v);
            let joined = words.join("\n");
            read_yaml_every_way(&joined, p, v);
            let _ = config::parse_env(&joined, p, v);
        }
    }

    #[test]
    fn hostile_yaml_shapes_never_panic(keys in proptest::collection::vec("(client-transport-security|peer-transport-security|cert-file|name|initial-cluster|[a-z-]{1,12})", 1..8), nest in 0usize..40) {
        let mut text = String::new();
        for (i, k) in keys.iter().enumerate() {
            text.push_str(&"  ".repeat(i % 3));
            text.push_str(k);
            text.push_str(": ");
            text.push_str(&"[".repeat(nest));
            text.push('\n');
        }
        read_yaml_every_way(&text, Path::new("x"), EtcdVersion::CURRENT);
        let manifest = format!("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n{text}");
        read_yaml_every_way(&manifest, Path::new("x"), EtcdVersion::CURRENT);
    }
}

/// Signs `spec` for the public key `spki` with `signer`.
fn make_spki(
    spec: Spec,
    spki: spki::SubjectPublicKeyInfoOwned,
    signer: &p256::ecdsa::SigningKey,
) -> Certificate {
    let builder = CertificateBuilder::new(
        spec,
        SerialNumber::new(&[0x43]).unwrap(),
        Validity::from_now(Duration::from_secs(86_400 * 365)).unwrap(),
        spki,
    )
    .unwrap();
    Certificate::from_x509(
        builder
            .build::<_, p256::ecdsa::DerSignature>(signer)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn small_rsa_keys_and_p521_are_found() {
    use der::Encode;
    let spki_of = |alg: &str, params: der::Any, key: Vec<u8>| spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: alg.parse().unwrap(),
            parameters: Some(params),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&key).unwrap(),
    };
    let rsa = |bits: usize| {
        let mut n = vec![0xc5u8; bits / 8];
        n[bits / 8 - 1] = 0x01;
        let key = rsa::pkcs1::RsaPublicKey {
            modulus: der::asn1::UintRef::new(&n).unwrap(),
            public_exponent: der::asn1::UintRef::new(&[1, 0, 1]).unwrap(),
        }
        .to_der()
        .unwrap();
        spki_of("1.2.840.113549.1.1.1", der::Any::from(der::asn1::Null), key)
    };
    let p521 = spki_of(
        "1.2.840.10045.2.1",
        der::Any::encode_from(&"1.3.132.0.35".parse::<ObjectIdentifier>().unwrap()).unwrap(),
        vec![0x04; 133],
    );
    for (spki, error, warning) in [
        (rsa(1024), None, Some("rsa-key-small")),
        (rsa(512), Some("rsa-key-too-small"), None),
        (p521, None, Some("p521-key")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ca = gen_set(dir.path());
        let cert = make_spki(Spec::node(&ca), spki, &ca.key);
        std::fs::write(
            dir.path().join(format!("{IP}.cert")),
            cert.to_pem().unwrap(),
        )
        .unwrap();
        std::fs::remove_file(dir.path().join(format!("{IP}.key"))).unwrap();
        let r = run(&[dir.path()]);
        assert_problems(&r, error.as_slice(), warning.as_slice());
    }
}

#[test]
fn a_ca_without_ca_true_and_a_leaf_not_yet_valid_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = p256_key();
    let pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
    let signer = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let spec = Spec {
        issuer: "O=test".parse().unwrap(),
        ca: false,
        eku: None,
        aki: None,
        ips: vec![],
        v1: false,
    };
    let root = make(spec, &key, &signer);
    std::fs::write(dir.path().join("root.cert"), root.to_pem().unwrap()).unwrap();
    assert_problems(&run(&[dir.path()]), &[], &["ca-not-ca"]);
    // Checked as of a time before the set was made.
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let r = Doctor::new()
        .path(dir.path())
        .at(SystemTime::now() - Duration::from_secs(86_400))
        .run()
        .unwrap();
    assert_eq!(
        r.with_code("cert-not-yet-valid").count(),
        3,
        "{:#?}",
        r.findings()
    );
}

#[test]
fn more_config_traps_are_found() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let conf = member_yaml(dir.path(), "");
    let d = dir.path().display();
    // Peers without a trusted CA (and without client-cert-auth).
    let text = std::fs::read_to_string(&conf).unwrap();
    let (head, peer) = text.split_at(text.find("peer-transport-security").unwrap());
    let peer = peer
        .replace(&format!("  trusted-ca-file: {d}/root.cert\n"), "")
        .replace("client-cert-auth: true", "client-cert-auth: false");
    std::fs::write(&conf, format!("{head}{peer}")).unwrap();
    assert_problems(&run(&[&conf]), &["peer-no-trusted-ca"], &[]);
    // Variables beside ETCD_CONFIG_FILE are ignored by etcd.
    let env = dir.path().join("etcd.env");
    std::fs::write(
        &env,
        format!("ETCD_CONFIG_FILE={d}/etcd.conf.yml\nETCD_NAME=m1\n"),
    )
    .unwrap();
    // ... and the config file it names is read (it still has the peer fault).
    assert_problems(
        &run(&[&env]),
        &["peer-no-trusted-ca"],
        &["config-flags-ignored"],
    );
    // A gateway certificate with a CN; a member certificate with one is only an info.
    let ca = ca();
    ClientCert::new()
        .common_name("gw".parse().unwrap())
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&ca.issuer)
        .unwrap()
        .write(dir.path(), "grpc-proxy", &WriteOptions::default())
        .unwrap();
    ca.issuer
        .certificate()
        .write(dir.path(), "grpc-proxy-ca.cert", &WriteOptions::default())
        .unwrap();
    let r = Doctor::new()
        .path(dir.path().join("grpc-proxy.cert"))
        .path(dir.path().join("grpc-proxy-ca.cert"))
        .run()
        .unwrap();
    assert_problems(&r, &[], &["proxy-cert-has-cn"]);
}

#[test]
fn separate_client_and_peer_certificates_are_checked_against_their_own_urls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = gen_set(dir.path());
    let d = dir.path().display();
    // The server certificate covers the client address 10.0.0.5 only, the peer certificate
    // the peer address 10.0.0.1 only: each is right for the listener it serves.
    let issue = |ip: &str, stem: &str| {
        ServerCert::new(ip.parse().unwrap())
            .key_algorithm(KeyAlgorithm::EcdsaP256)
            .issue(&ca.issuer)
            .unwrap()
            .write(dir.path(), stem, &WriteOptions::default())
            .unwrap();
    };
    issue("10.0.0.5", "server");
    issue(IP, "peer");
    let unit = dir.path().join("etcd.service");
    let flags = |client_ip: &str, peer_ip: &str| {
        format!(
            "[Service]\nExecStart=/usr/bin/etcd --name m1 \\\n  --listen-client-urls=https://{client_ip}:2379 \\\n  \
             --listen-peer-urls=https://{peer_ip}:2380 --initial-advertise-peer-urls=https://{peer_ip}:2380 \\\n  \
             --initial-cluster=m1=https://{peer_ip}:2380 \\\n  \
             --cert-file={d}/server.cert --key-file={d}/server.key --client-cert-auth --trusted-ca-file={d}/root.cert \\\n  \
             --peer-cert-file={d}/peer.cert --peer-key-file={d}/peer.key --peer-client-cert-auth --peer-trusted-ca-file={d}/root.cert\n"
        )
    };
    std::fs::write(&unit, flags("10.0.0.5", IP)).unwrap();
    let r = run(&[&unit]);
    assert_eq!(r.with_code("san-missing").count(), 0, "{r:?}");
    // Swapped addresses: each certificate now misses the address of its own listener, and the
    // finding names that listener's option.
    std::fs::write(&unit, flags(IP, "10.0.0.5")).unwrap();
    let r = run(&[&unit]);
    let found: Vec<(String, String)> = r
        .with_code("san-missing")
        .map(|f| {
            let file = f.files()[0]
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (file, f.message().to_owned())
        })
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    for (file, message) in &found {
        match file.as_str() {
            "server.cert" => assert!(
                message.contains("(in listen-client-urls https://10.0.0.1:2379)"),
                "{message}"
            ),
            "peer.cert" => assert!(
                message.contains("(in listen-peer-urls https://10.0.0.5:2380)"),
                "{message}"
            ),
            other => panic!("unexpected file {other}"),
        }
    }
}

/// One certificate file's finding `code` under etcd `v` (and a given Go).
fn severity_of(paths: &[&Path], code: &str, v: &str, go: Option<&str>) -> (Severity, String) {
    let mut d = paths
        .iter()
        .fold(Doctor::new(), Doctor::path)
        .etcd_version(v.parse().unwrap());
    if let Some(go) = go {
        d = d.go_version(go.parse().unwrap());
    }
    let r = d.run().unwrap();
    let f = r
        .with_code(code)
        .next()
        .unwrap_or_else(|| panic!("no {code} for {v}: {:#?}", r.findings()));
    (f.severity(), f.message().to_owned())
}

#[test]
fn what_go_refuses_is_an_error_only_where_etcds_go_refuses_it() {
    use Severity::{Error, Warning};
    // A negative serial number (Go 1.23: etcd 3.4.36+, 3.5.19+, 3.6.0+).
    let dir = negative_serial_set();
    let neg = [
        dir.path().join(format!("{IP}.cert")),
        dir.path().join("root.cert"),
    ];
    let neg: Vec<&Path> = neg.iter().map(PathBuf::as_path).collect();
    let (sev, msg) = severity_of(&neg, "serial-negative", "3.5.1", None);
    assert_eq!(sev, Warning, "{msg}");
    assert!(
        msg.contains("etcd 3.5.1 (official binaries: Go 1.16.3) accepts it")
            && msg.contains("3.4.36+, 3.5.19+, 3.6.0+"),
        "{msg}"
    );
    assert_eq!(
        severity_of(&neg, "serial-negative", "3.5.18", None).0,
        Warning
    );
    assert_eq!(
        severity_of(&neg, "serial-negative", "3.5.19", None).0,
        Error
    );
    assert_eq!(
        severity_of(&neg, "serial-negative", "3.4.36", None).0,
        Error
    );
    assert_eq!(severity_of(&neg, "serial-negative", "3.6.0", None).0, Error);
    assert_eq!(severity_of(&neg, "serial-negative", "3.4", None).0, Error);
    let (sev, msg) = severity_of(&neg, "serial-negative", "3.5.1", Some("go1.23.0"));
    assert_eq!(sev, Error);
    assert!(msg.contains("etcd 3.5.1 built with Go 1.23.0"), "{msg}");

    // SHA-1 (Go 1.18: etcd 3.4.25+, 3.5.8+).
    let dir = sha1_set();
    let sha = [dir.path()];
    // The official 3.4.23 is Go 1.17.13; Debian's 3.4.23 is Go 1.19.8.
    let (sev, msg) = severity_of(&sha, "signature-sha1", "3.4.23", None);
    assert_eq!(sev, Warning, "{msg}");
    assert!(msg.contains("3.4.25+, 3.5.8+"), "{msg}");
    assert_eq!(
        severity_of(&sha, "signature-sha1", "3.4.23", Some("1.19.8")).0,
        Error
    );
    assert_eq!(
        severity_of(&sha, "signature-sha1", "3.5.1", None).0,
        Warning
    );
    assert_eq!(
        severity_of(&sha, "signature-sha1", "3.5.7", None).0,
        Warning
    );
    assert_eq!(severity_of(&sha, "signature-sha1", "3.5.8", None).0, Error);
    assert_eq!(severity_of(&sha, "signature-sha1", "3.6", None).0, Error);
}

#[test]
fn rsa_keys_under_1024_bits_are_an_error_from_go_1_24() {
    use der::Encode;
    let mut n = vec![0xc5u8; 64];
    n[63] = 0x01;
    let key = rsa::pkcs1::RsaPublicKey {
        modulus: der::asn1::UintRef::new(&n).unwrap(),
        public_exponent: der::asn1::UintRef::new(&[1, 0, 1]).unwrap(),
    }
    .to_der()
    .unwrap();
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: "1.2.840.113549.1.1.1".parse().unwrap(),
            parameters: Some(der::Any::from(der::asn1::Null)),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&key).unwrap(),
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = gen_set(dir.path());
    let cert = make_spki(Spec::node(&ca), spki, &ca.key);
    std::fs::write(
        dir.path().join(format!("{IP}.cert")),
        cert.to_pem().unwrap(),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join(format!("{IP}.key"))).unwrap();
    let p = [dir.path()];
    // Go 1.24: etcd 3.4.38+, 3.5.23+, 3.6.5+.
    for (v, sev) in [
        ("3.4.37", Severity::Warning),
        ("3.4.38", Severity::Error),
        ("3.5.22", Severity::Warning),
        ("3.5.23", Severity::Error),
        ("3.6.4", Severity::Warning),
        ("3.6.5", Severity::Error),
        ("3.7", Severity::Error),
    ] {
        let (got, msg) = severity_of(&p, "rsa-key-too-small", v, None);
        assert_eq!(got, sev, "{v}: {msg}");
        if sev == Severity::Warning {
            assert!(msg.contains("3.4.38+, 3.5.23+, 3.6.5+"), "{msg}");
        }
    }
    assert_eq!(
        severity_of(&p, "rsa-key-too-small", "3.4.23", Some("1.24")).0,
        Severity::Error
    );
}

#[test]
fn bad_values_say_what_etcd_prints() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let d = dir.path().display();
    let says = |r: &Report, code: &str| {
        r.with_code(code)
            .next()
            .unwrap_or_else(|| panic!("no {code}: {:#?}", r.findings()))
            .etcd_says()
            .map(str::to_owned)
    };
    // A command line: Go's flag package.
    let unit = dir.path().join("etcd.service");
    let base = format!(
        "ExecStart=/usr/bin/etcd --name m1 --data-dir /var/lib/etcd --cert-file {d}/{IP}.cert --key-file {d}/{IP}.key"
    );
    for (extra, code, line) in [
        (
            " --client-cert-auth=maybe",
            "config-bad-value",
            "invalid boolean value \"maybe\" for -client-cert-auth: parse error",
        ),
        (
            " --bogus-flag x",
            "config-unknown-flag",
            "flag provided but not defined: -bogus-flag",
        ),
        (" stray", "config-bad-value", "'stray' is not a valid flag"),
        (
            " --initial-cluster",
            "config-bad-value",
            "flag needs an argument: -initial-cluster",
        ),
        // Not a flag of 3.5.1 (nor of 3.4.23): tls-min-version came with 3.5.8 and 3.4.25.
        (
            " --tls-min-version TLS1.3",
            "config-unknown-flag",
            "flag provided but not defined: -tls-min-version",
        ),
    ] {
        std::fs::write(&unit, format!("{base}{extra}\n")).unwrap();
        let r = Doctor::new()
            .path(&unit)
            .etcd_version("3.5.1".parse().unwrap())
            .run()
            .unwrap();
        assert_eq!(says(&r, code).as_deref(), Some(line), "{extra}");
        assert_eq!(r.errors(), 1, "{extra}: {:#?}", r.findings());
    }
    // ETCD_* variables.
    let env = dir.path().join("etcd.env");
    std::fs::write(
        &env,
        format!("ETCD_NAME=m1\nETCD_CERT_FILE={d}/{IP}.cert\nETCD_KEY_FILE={d}/{IP}.key\nETCD_CLIENT_CERT_AUTH=maybe\n"),
    )
    .unwrap();
    assert_eq!(
        says(&run(&[&env]), "config-bad-value").as_deref(),
        Some("invalid value \"maybe\" for ETCD_CLIENT_CERT_AUTH: parse error")
    );
    // YAML: etcd decodes it as JSON.
    let conf = member_yaml(dir.path(), "");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replacen("client-cert-auth: true", "client-cert-auth: maybe", 1),
    )
    .unwrap();
    assert_eq!(
        says(&run(&[&conf]), "config-bad-value").as_deref(),
        Some("json: cannot unmarshal string into Go struct field")
    );
    // An empty boolean is YAML null: etcd keeps the default.
    std::fs::write(
        &conf,
        text.replacen("client-cert-auth: true", "client-cert-auth:", 1),
    )
    .unwrap();
    assert!(run(&[&conf]).with_code("config-bad-value").next().is_none());
}

#[test]
fn a_command_line_with_a_config_file_is_followed_there() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let conf = member_yaml(dir.path(), "");
    // Any name: etcd reads it as YAML.
    let moved = dir.path().join("etcd.conf");
    std::fs::rename(&conf, &moved).unwrap();
    let text = std::fs::read_to_string(&moved).unwrap();
    std::fs::write(
        &moved,
        text.replace("https://127.0.0.1:2379", "https://10.0.0.9:2379"),
    )
    .unwrap();
    let unit = dir.path().join("etcd.service");
    std::fs::write(
        &unit,
        format!(
            "[Service]\nExecStart=/usr/local/bin/etcd --config-file {}\n",
            moved.display()
        ),
    )
    .unwrap();
    let r = run(&[&unit]);
    assert_problems(&r, &["san-missing"], &[]);
    assert!(
        r.with_code("san-missing")
            .next()
            .unwrap()
            .message()
            .contains("10.0.0.9")
    );
    // Flags beside it are ignored by etcd: not checked, only reported.
    std::fs::write(
        &unit,
        format!(
            "ExecStart=/usr/local/bin/etcd --config-file {} --listen-client-urls https://10.0.0.7:2379 --cert-file {}/nothing.cert\n",
            moved.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    assert_problems(&run(&[&unit]), &["san-missing"], &["config-flags-ignored"]);
    // A config file that is not there.
    std::fs::write(
        &unit,
        "ExecStart=/usr/local/bin/etcd --config-file /nonexistent/etcd.yml\n",
    )
    .unwrap();
    let r = run(&[&unit, dir.path()]);
    assert_problems(&r, &["config-file-missing"], &[]);
}

#[test]
fn kubeadm_manifests_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let etcd = pki.join("etcd");
    std::fs::create_dir_all(&etcd).unwrap();
    let ca = ca();
    ca.issuer
        .certificate()
        .write(&etcd, "ca.crt", &WriteOptions::default())
        .unwrap();
    let ca_key = etcd.join("ca.key");
    write_key(&ca_key, ca.issuer.certified_key().private_key());
    for name in ["server", "peer"] {
        let key = p256_key();
        let cert = make(Spec::node(&ca), &key, &ca.key);
        std::fs::write(etcd.join(format!("{name}.crt")), cert.to_pem().unwrap()).unwrap();
        write_key(&etcd.join(format!("{name}.key")), &key);
    }
    let client = |dir: &Path, name: &str| {
        let key = p256_key();
        let spec = Spec {
            eku: Some(vec![CLIENT_AUTH]),
            ips: vec![],
            ..Spec::node(&ca)
        };
        let cert = make(spec, &key, &ca.key);
        std::fs::write(dir.join(format!("{name}.crt")), cert.to_pem().unwrap()).unwrap();
        write_key(&dir.join(format!("{name}.key")), &key);
    };
    client(&etcd, "healthcheck-client");
    client(&pki, "apiserver-etcd-client");
    // The Kubernetes CA beside it, which did not sign the etcd client pair.
    let k8s = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    k8s.certificate()
        .write(&pki, "ca.crt", &WriteOptions::default())
        .unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    let e = etcd.display();
    let etcd_yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n  namespace: kube-system\nspec:\n  containers:\n  - command:\n    - etcd\n    - --advertise-client-urls=https://{IP}:2379\n    - --cert-file={e}/server.crt\n    - --client-cert-auth=true\n    - --data-dir=/var/lib/etcd\n    - --experimental-initial-corrupt-check=true\n    - --initial-advertise-peer-urls=https://{IP}:2380\n    - --initial-cluster=node1=https://{IP}:2380\n    - --key-file={e}/server.key\n    - --listen-client-urls=https://127.0.0.1:2379,https://{IP}:2379\n    - --listen-metrics-urls=http://127.0.0.1:2381\n    - --listen-peer-urls=https://{IP}:2380\n    - --name=node1\n    - --peer-cert-file={e}/peer.crt\n    - --peer-client-cert-auth=true\n    - --peer-key-file={e}/peer.key\n    - --peer-trusted-ca-file={e}/ca.crt\n    - --snapshot-count=10000\n    - --trusted-ca-file={e}/ca.crt\n    image: registry.k8s.io/etcd:3.5.15-0\n    name: etcd\n"
    );
    std::fs::write(manifests.join("etcd.yaml"), &etcd_yaml).unwrap();
    let p = pki.display();
    std::fs::write(
        manifests.join("kube-apiserver.yaml"),
        format!("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --etcd-cafile={e}/ca.crt\n    - --etcd-certfile={p}/apiserver-etcd-client.crt\n    - --etcd-keyfile={p}/apiserver-etcd-client.key\n    - --etcd-servers=https://127.0.0.1:2379\n"),
    )
    .unwrap();
    let r = Doctor::new()
        .path(&pki)
        .path(&manifests)
        .etcd_version("3.5".parse().unwrap())
        .run()
        .unwrap();
    assert_problems(&r, &[], &[]);
    // The CA key where kubeadm keeps it is only worth an info.
    assert_eq!(
        r.with_code("ca-key-on-member")
            .next()
            .map(super::Finding::severity),
        Some(Severity::Info),
        "{:#?}",
        r.findings()
    );
    assert_eq!(r.with_code("cert-expiry").count(), 6, "{:#?}", r.findings());
    // Without the manifests, the directory alone: the etcd client pair is checked against
    // the etcd CA in `etcd/`, not the Kubernetes CA beside it.
    assert_problems(&run(&[&pki]), &[], &[]);
    // A member certificate without the node's IP is found through the manifest.
    let key = p256_key();
    let spec = Spec {
        ips: vec![[127, 0, 0, 1].into()],
        ..Spec::node(&ca)
    };
    std::fs::write(
        etcd.join("server.crt"),
        make(spec, &key, &ca.key).to_pem().unwrap(),
    )
    .unwrap();
    write_key(&etcd.join("server.key"), &key);
    let r = run(&[&manifests]);
    assert_problems(&r, &["san-missing"], &[]);
    let f = r.with_code("san-missing").next().unwrap();
    assert_eq!(f.member(), "node1");
    assert_eq!(f.files()[0], etcd.join("server.crt"));
    // A manifest running something else is no configuration.
    let other = dir.path().join("other.yaml");
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command: [nginx]\n",
    )
    .unwrap();
    assert!(matches!(
        Doctor::new().path(&other).run(),
        Err(crate::Error::InvalidConfig { .. })
    ));
}

#[test]
fn files_without_pem_data_are_unusable() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    let conf = member_yaml(dir.path(), "");
    let text = std::fs::read_to_string(&conf).unwrap();
    let d = dir.path().display();
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "not a key\n").unwrap();
    for (key, line) in [
        ("key-file", "tls: failed to find any PEM data in key input"),
        (
            "cert-file",
            "tls: failed to find any PEM data in certificate input",
        ),
        (
            "trusted-ca-file",
            "x509: certificate signed by unknown authority",
        ),
    ] {
        let from = match key {
            "key-file" => format!("key-file: {d}/{IP}.key"),
            "cert-file" => format!("cert-file: {d}/{IP}.cert"),
            _ => format!("trusted-ca-file: {d}/root.cert"),
        };
        std::fs::write(
            &conf,
            text.replacen(&from, &format!("{key}: {}", junk.display()), 1),
        )
        .unwrap();
        let r = run(&[&conf]);
        let f = r
            .with_code("file-unusable")
            .next()
            .unwrap_or_else(|| panic!("{key}: {:#?}", r.findings()));
        assert_eq!(
            (f.severity(), f.etcd_says()),
            (Severity::Error, Some(line)),
            "{key}"
        );
        assert_eq!(f.files(), std::slice::from_ref(&junk));
    }
}

#[test]
fn yaml_found_in_a_directory_is_read_only_when_it_is_etcds() {
    let dir = tempfile::tempdir().unwrap();
    gen_set(dir.path());
    // Another tool's YAML beside the certificates: not an etcd configuration.
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  etcd:\n    image: quay.io/coreos/etcd:v3.5.1\n",
    )
    .unwrap();
    assert_problems(&run(&[dir.path()]), &[], &[]);
    // An etcd config whose only key is misspelt is still etcd's (its name says so), and
    // makes the directory a member's (where root.key does not belong).
    std::fs::write(dir.path().join("etcd.conf.yml"), "nmae: m1\n").unwrap();
    assert_problems(
        &run(&[dir.path()]),
        &[],
        &["config-unknown-key", "ca-key-on-member"],
    );
}
