//! Input files as other tools write them: PEM wrapped at any width, CRLF, white space and text
//! around blocks are read (as openssl reads them); DER is recognised and gets the `openssl`
//! command that converts it; files larger than the cap are refused without reading them whole.
#![cfg(all(feature = "plan", feature = "ecdsa", feature = "encrypted-keys"))]

mod common;

use std::path::Path;

use etcd_pki::CertificateRequest;
use etcd_pki::ClusterPlan;
use etcd_pki::{
    Certificate, Error, Issuer, KeyAlgorithm, KeyFormat, Passphrase, PrivateKey, RootCa, ServerCert,
};
use tempfile::TempDir;

/// The base64 body of a strict PEM text, its label.
fn parts(pem: &str) -> (String, String) {
    let label = pem
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("-----BEGIN ")
        .trim_end_matches("-----")
        .to_owned();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    (label, body)
}

/// The same PEM text as other tools write it.
fn variants(pem: &str) -> Vec<(&'static str, String)> {
    let (label, body) = parts(pem);
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let wrap = |n: usize, eol: &str| {
        body.as_bytes()
            .chunks(n)
            .map(|c| format!("{}{eol}", std::str::from_utf8(c).unwrap()))
            .collect::<String>()
    };
    vec![
        ("76 columns", format!("{begin}\n{}{end}\n", wrap(76, "\n"))),
        ("unwrapped", format!("{begin}\n{body}\n{end}\n")),
        ("CRLF", format!("{begin}\r\n{}{end}\r\n", wrap(64, "\r\n"))),
        (
            "76 columns, CRLF",
            format!("{begin}\r\n{}{end}\r\n", wrap(76, "\r\n")),
        ),
        (
            "trailing white space",
            format!("{begin}  \n{}{end}\t\n", wrap(64, " \t\n")),
        ),
        (
            "text around",
            format!(
                "Subject: x\nsome words\n\n{begin}\n{}{end}\nmore words\n",
                wrap(64, "\n")
            ),
        ),
        (
            "no final newline",
            format!("{begin}\n{}{end}", wrap(64, "\n")),
        ),
        ("short lines", format!("{begin}\n{}{end}\n", wrap(40, "\n"))),
    ]
}

#[test]
fn pem_as_other_tools_write_it_is_read() {
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let cert = ca.certificate();
    let rsa = PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
    let ec = ca.certified_key().private_key().clone();
    let pass = Passphrase::new("s3cret").unwrap();
    let csr = ServerCert::new("10.4.0.1".parse().unwrap())
        .request(&ec)
        .unwrap();
    let mut failures = Vec::new();
    for (name, text) in variants(&cert.to_pem().unwrap()) {
        match Certificate::from_pem(&text) {
            Ok(c) if c == *cert => {}
            other => failures.push(format!("certificate, {name}: {other:?}")),
        }
    }
    let keys = [
        (
            "PKCS#1",
            rsa.clone(),
            rsa.to_pem(KeyFormat::Traditional).unwrap(),
        ),
        (
            "PKCS#8 RSA",
            rsa.clone(),
            rsa.to_pem(KeyFormat::Pkcs8).unwrap(),
        ),
        (
            "SEC1",
            ec.clone(),
            ec.to_pem(KeyFormat::Traditional).unwrap(),
        ),
        (
            "PKCS#8 EC",
            ec.clone(),
            ec.to_pem(KeyFormat::Pkcs8).unwrap(),
        ),
    ];
    for (kind, key, pem) in &keys {
        for (name, text) in variants(pem) {
            match PrivateKey::from_pem(&text) {
                Ok(k) if k == *key => {}
                other => failures.push(format!("{kind} key, {name}: {other:?}")),
            }
        }
    }
    for (name, text) in variants(&ec.to_encrypted_pem(&pass).unwrap()) {
        match PrivateKey::from_encrypted_pem(&text, &pass) {
            Ok(k) if k == ec => {}
            other => failures.push(format!("encrypted key, {name}: {other:?}")),
        }
    }
    for (name, text) in variants(&csr.to_pem().unwrap()) {
        match CertificateRequest::from_pem(&text) {
            Ok(c) if c == csr => {}
            other => failures.push(format!("request, {name}: {other:?}")),
        }
    }
    // And a whole CA from such files.
    let (_, ck) = (
        0,
        Issuer::from_pem(
            &variants(&cert.to_pem().unwrap())[0].1,
            &variants(&ec.to_pem(KeyFormat::Pkcs8).unwrap())[1].1,
        ),
    );
    if let Err(e) = ck {
        failures.push(format!("Issuer::from_pem: {e}"));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn damaged_pem_is_still_refused() {
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let pem = ca.certificate().to_pem().unwrap();
    let (label, body) = parts(&pem);
    // A character that is not base64, a missing piece, a label mismatch.
    let bad = [
        format!(
            "-----BEGIN {label}-----\n{}*{}\n-----END {label}-----\n",
            &body[..10],
            &body[11..]
        ),
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            &body[..body.len() - 7]
        ),
        format!("-----BEGIN {label}-----\n{body}\n-----END PRIVATE KEY-----\n"),
    ];
    for text in bad {
        let e = Certificate::from_pem(&text).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidPem { .. } | Error::InvalidCertificate { .. }
            ),
            "{e:?}"
        );
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn der_files_get_the_conversion_command() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let key_pem = ca
        .certified_key()
        .private_key()
        .to_pem(KeyFormat::Pkcs8)
        .unwrap();
    let cert_pem = write(
        d,
        "root.cert",
        ca.certificate().to_pem().unwrap().as_bytes(),
    );
    let key_pem = write(d, "root.key", key_pem.as_bytes());
    let cert_der = write(d, "root.cert.der", &ca.certificate().to_der());
    let key_der = write(
        d,
        "root.key.der",
        &pem_rfc7468::decode_vec(std::fs::read(&key_pem).unwrap().as_slice())
            .unwrap()
            .1,
    );
    let e = Issuer::load(&cert_der, &key_pem).unwrap_err();
    assert!(matches!(e, Error::InvalidPem { .. }), "{e:?}");
    let want = format!(
        "openssl x509 -inform der -in {0} -out {0}.pem",
        cert_der.display()
    );
    assert!(e.to_string().contains(&want), "{e}");
    let e = Issuer::load(&cert_pem, &key_der).unwrap_err();
    assert!(matches!(e, Error::InvalidPem { .. }), "{e:?}");
    let want = format!(
        "openssl pkey -inform der -in {0} -out {0}.pem",
        key_der.display()
    );
    assert!(e.to_string().contains(&want), "{e}");
}

/// Whether `e` is `Error::InputTooLarge` (by name, so that this file also builds against the
/// code before the variant existed, to see the test fail there).
fn is_too_large(e: &Error) -> bool {
    format!("{e:?}").starts_with("InputTooLarge")
}

#[test]
fn oversized_inputs_are_refused() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let cert = write(
        d,
        "root.cert",
        ca.certificate().to_pem().unwrap().as_bytes(),
    );
    let key = write(
        d,
        "root.key",
        ca.certified_key()
            .private_key()
            .to_pem(KeyFormat::Pkcs8)
            .unwrap()
            .as_bytes(),
    );
    // A valid PEM block after 2 MiB of explanatory text: refused for its size, not searched.
    let mut padded = vec![b'#'; 2 << 20];
    padded.push(b'\n');
    padded.extend(std::fs::read(&cert).unwrap());
    let big_cert = write(d, "big.cert", &padded);
    let mut padded = vec![b'#'; 2 << 20];
    padded.push(b'\n');
    padded.extend(std::fs::read(&key).unwrap());
    let big_key = write(d, "big.key", &padded);
    let big_pass = write(d, "big.pass", &[b'p'; 2 << 20]);
    let big_plan = write(
        d,
        "big.toml",
        format!("# {}\n", "x".repeat(2 << 20)).as_bytes(),
    );
    let too_large = |r: Result<(), Error>, what: &str| match r {
        Err(e) if is_too_large(&e) => assert!(e.to_string().contains("1 MiB"), "{e}"),
        other => panic!("{what}: {other:?}"),
    };
    too_large(Issuer::load(&big_cert, &key).map(drop), "certificate");
    too_large(Issuer::load(&cert, &big_key).map(drop), "key");
    too_large(Passphrase::from_file(&big_pass).map(drop), "passphrase");
    too_large(ClusterPlan::load(&big_plan).map(drop), "plan");
}

#[test]
fn endless_streams_stop_at_the_cap() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let cert = write(
        d,
        "root.cert",
        ca.certificate().to_pem().unwrap().as_bytes(),
    );
    let zero = Path::new("/dev/zero");
    let start = std::time::Instant::now();
    assert!(is_too_large(&Issuer::load(zero, zero).unwrap_err()));
    assert!(is_too_large(&Issuer::load(&cert, zero).unwrap_err()));
    assert!(is_too_large(&Passphrase::from_file(zero).unwrap_err()));
    assert!(is_too_large(&ClusterPlan::load(zero).unwrap_err()));
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn other_blocks_before_or_beside_the_wanted_one_are_skipped() {
    // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key; a combined
    // file holds a key and its certificate. openssl reads the block it wants from both.
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let key = ca.certified_key().private_key();
    let sec1 = key.to_pem(KeyFormat::Traditional).unwrap();
    let params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    let k = PrivateKey::from_pem(&format!("{params}{}", &*sec1)).unwrap();
    assert!(k == *key);
    let cert = ca.certificate().to_pem().unwrap();
    let both = format!("{}{cert}", &*sec1);
    assert!(PrivateKey::from_pem(&both).unwrap() == *key);
    assert!(Certificate::from_pem(&both).unwrap() == *ca.certificate());
    Issuer::from_pem(&both, &both).unwrap();
    // Two certificates are still refused (which one is meant?).
    let e = Certificate::from_pem(&format!("{cert}{cert}")).unwrap_err();
    assert!(e.to_string().contains("holds 2 PEM blocks"), "{e}");
    // A file with no block of the wanted kind names what it holds.
    let e = Certificate::from_pem(&format!("{params}{}", &*sec1)).unwrap_err();
    assert!(e.to_string().contains("found 'EC PRIVATE KEY'"), "{e}");
}
