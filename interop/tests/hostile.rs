//! Hostile input: every bad input gives a specific error (a library variant, and in the CLI an
//! `ERROR: …` line naming the file and the fix with a non-zero exit), never a panic, and leaves
//! the output directory exactly as it was. Each row here is a row of the README's error table.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use etcd_pki::{Issuer, Passphrase};
use tempfile::TempDir;

/// Every file under `dir` with its contents: what "unchanged" is checked against.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            let p = e.unwrap().path();
            if p.is_file() {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn cli(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(common::cli_path())
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

struct Fixture {
    _dir: TempDir,
    d: PathBuf,
}

impl Fixture {
    /// A directory with a good root (`root.key`, `root.cert`), an output directory `out/`, and
    /// every bad input the rows use.
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let d = dir.path().to_path_buf();
        std::fs::create_dir(d.join("out")).unwrap();
        let ok = cli(&["-c", "gen_root_cert", "-s", "."], &d, &[]);
        assert!(ok.status.success());
        let ok = cli(
            &[
                "-c",
                "gen_client_cert",
                "-s",
                ".",
                "-k",
                "root.key",
                "-t",
                "root.cert",
            ],
            &d,
            &[],
        );
        assert!(ok.status.success());
        let put = |name: &str, data: &[u8]| std::fs::write(d.join(name), data).unwrap();
        let root_key = std::fs::read_to_string(d.join("root.key")).unwrap();
        let root_cert = std::fs::read_to_string(d.join("root.cert")).unwrap();
        put("empty.key", b"");
        put("garbage.key", b"this is not a key\n");
        put("binary.key", &[0x30, 0x82, 0xff, 0xfe, 0x00, 0x9c]);
        let truncated: String = root_key.lines().take(6).map(|l| format!("{l}\n")).collect();
        put(
            "truncated.key",
            format!("{truncated}-----END RSA PRIVATE KEY-----\n").as_bytes(),
        );
        let mut cut: String = root_key.lines().take(6).map(|l| format!("{l}\n")).collect();
        cut.truncate(cut.len() - 10);
        put(
            "cut.key",
            format!("{cut}\n-----END RSA PRIVATE KEY-----\n").as_bytes(),
        );
        let mut cut: String = root_key.lines().take(6).map(|l| format!("{l}\n")).collect();
        cut.truncate(cut.len() - 10);
        put(
            "cut.key",
            format!("{cut}\n-----END RSA PRIVATE KEY-----\n").as_bytes(),
        );
        put("chain.cert", format!("{root_cert}{root_cert}").as_bytes());
        put(
            "garbage.cert",
            b"-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJ\n-----END CERTIFICATE-----\n",
        );
        std::fs::create_dir(d.join("dir.key")).unwrap();
        put("pass.txt", b"correct horse\n");
        common::openssl_ok(
            &["genpkey", "-algorithm", "ed25519", "-out", "ed25519.key"],
            &d,
        );
        common::openssl_ok(&["genrsa", "-out", "other.key", "2048"], &d);
        common::openssl_ok(&["genrsa", "-out", "weak.key", "1024"], &d);
        common::openssl_ok(
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                "root.key",
                "-out",
                "enc.key",
                "-passout",
                "pass:correct horse",
            ],
            &d,
        );
        common::openssl_ok(
            &[
                "rsa",
                "-aes256",
                "-traditional",
                "-in",
                "root.key",
                "-out",
                "legacy.key",
                "-passout",
                "pass:correct horse",
            ],
            &d,
        );
        common::openssl_ok(
            &[
                "req",
                "-x509",
                "-key",
                "other.key",
                "-out",
                "nosign.cert",
                "-subj",
                "/CN=no keyCertSign",
                "-days",
                "30",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,digitalSignature",
            ],
            &d,
        );
        // DER files, a node request in DER, requests and roots with keys this crate refuses.
        common::openssl_ok(
            &[
                "x509",
                "-in",
                "root.cert",
                "-outform",
                "der",
                "-out",
                "root.der",
            ],
            &d,
        );
        common::openssl_ok(
            &[
                "pkey",
                "-in",
                "root.key",
                "-outform",
                "der",
                "-out",
                "rootkey.der",
            ],
            &d,
        );
        std::fs::create_dir(d.join("node")).unwrap();
        let ok = cli(
            &["-c", "gen_server_csr", "-s", "node", "-i", "10.0.0.5"],
            &d,
            &[],
        );
        assert!(ok.status.success());
        common::openssl_ok(
            &[
                "req",
                "-in",
                "node/10.0.0.5.csr",
                "-outform",
                "der",
                "-out",
                "node.der",
            ],
            &d,
        );
        common::openssl_ok(
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:1024",
                "-nodes",
                "-keyout",
                "node/weak.key",
                "-out",
                "weak.csr",
                "-subj",
                "/CN=weak",
                "-addext",
                "subjectAltName=IP:10.0.0.5",
            ],
            &d,
        );
        common::openssl_ok(
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-521",
                "-nodes",
                "-keyout",
                "node/p521.key",
                "-out",
                "p521.csr",
                "-subj",
                "/CN=p521",
                "-addext",
                "subjectAltName=IP:10.0.0.5",
            ],
            &d,
        );
        common::openssl_ok(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-521",
                "-nodes",
                "-keyout",
                "p521.key",
                "-out",
                "p521.cert",
                "-subj",
                "/CN=p521 CA",
                "-days",
                "30",
            ],
            &d,
        );
        // Expired and not-yet-valid roots for other.key, made with Python `cryptography`.
        let py = r#"
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
key = serialization.load_pem_private_key(open("other.key","rb").read(), None)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "time CA")])
now = datetime.datetime.now(datetime.timezone.utc)
for fname, start, end in [("expired.cert", now - datetime.timedelta(days=20), now - datetime.timedelta(days=10)),
                          ("future.cert", now + datetime.timedelta(days=10), now + datetime.timedelta(days=20))]:
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    open(fname, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
"#;
        let out = common::python(&["-c", py], &d);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { _dir: dir, d }
    }
}

/// Whether `text` names a command-line flag (`--` and a letter): library messages never do.
fn names_a_flag(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'-' && w[1] == b'-' && w[2].is_ascii_alphabetic())
}

/// One row of the error table.
struct Row {
    what: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    /// Expected text in the CLI's `ERROR:` line.
    message: &'static str,
    /// Expected library error variant (for rows that go through `Issuer::load`), as its name.
    variant: Option<&'static str>,
}

fn row(
    what: &'static str,
    args: &str,
    message: &'static str,
    variant: Option<&'static str>,
) -> Row {
    Row {
        what,
        args: args.split_whitespace().map(String::from).collect(),
        env: Vec::new(),
        message,
        variant,
    }
}

fn client_row(
    what: &'static str,
    key: &str,
    cert: &str,
    message: &'static str,
    variant: &'static str,
) -> Row {
    row(
        what,
        &format!("-c gen_client_cert -s out -k {key} -t {cert}"),
        message,
        Some(variant),
    )
}

#[test]
fn every_bad_input_is_a_clear_error_and_writes_nothing() {
    let f = Fixture::new();
    let d = &f.d;
    let mut rows = vec![
        row(
            "missing savedir",
            "-c gen_root_cert -s nope",
            "Savedir `nope` does not exist.",
            None,
        ),
        row(
            "savedir is a file",
            "-c gen_root_cert -s root.cert",
            "root.cert is not a directory: it is a file",
            None,
        ),
        row(
            "existing output",
            "-c gen_client_cert -s . -k root.key -t root.cert",
            "refusing to overwrite existing file ./client.key: remove it or choose another directory (library: WriteOptions::overwrite replaces it); or give --force to replace it",
            None,
        ),
        client_row(
            "missing root key",
            "missing.key",
            "root.cert",
            "cannot read missing.key",
            "Io",
        ),
        client_row(
            "unreadable root key",
            "dir.key",
            "root.cert",
            "cannot read dir.key",
            "Io",
        ),
        client_row(
            "empty root key",
            "empty.key",
            "root.cert",
            "empty.key: expected a PEM 'RSA PRIVATE KEY' block, found an empty file",
            "InvalidPem",
        ),
        client_row(
            "root key not PEM",
            "garbage.key",
            "root.cert",
            "garbage.key: expected a PEM 'RSA PRIVATE KEY' block, found no PEM block",
            "InvalidPem",
        ),
        client_row(
            "root key binary (DER?)",
            "binary.key",
            "root.cert",
            "binary.key: expected a PEM",
            "InvalidPem",
        ),
        client_row(
            "certificate given as key",
            "root.cert",
            "root.cert",
            "found 'CERTIFICATE' (a certificate: were the key and certificate arguments swapped?)",
            "InvalidPem",
        ),
        client_row(
            "truncated root key",
            "truncated.key",
            "root.cert",
            "truncated.key: invalid private key: its contents are incomplete or damaged",
            "InvalidKey",
        ),
        client_row(
            "root key cut mid-line",
            "cut.key",
            "root.cert",
            "cut.key: expected a PEM 'RSA PRIVATE KEY' block, found a damaged 'RSA PRIVATE KEY' block",
            "InvalidPem",
        ),
        client_row(
            "unsupported key algorithm",
            "ed25519.key",
            "root.cert",
            "ed25519.key: unsupported key algorithm",
            "Unsupported",
        ),
        client_row(
            "RSA key under 2048 bits",
            "weak.key",
            "root.cert",
            "weak.key: unsupported key size: RSA-1024 is too weak",
            "Unsupported",
        ),
        client_row(
            "encrypted key, no passphrase",
            "enc.key",
            "root.cert",
            "enc.key: the private key is encrypted: give its passphrase",
            "EncryptedKey",
        ),
        client_row(
            "legacy encrypted key",
            "legacy.key",
            "root.cert",
            "legacy.key: the private key is encrypted: the legacy OpenSSL encryption",
            "EncryptedKey",
        ),
        client_row(
            "key of another root",
            "other.key",
            "root.cert",
            "other.key: the private key does not belong to the certificate",
            "KeyMismatch",
        ),
        client_row(
            "root cert garbage",
            "root.key",
            "garbage.cert",
            "garbage.cert: invalid certificate: its contents are incomplete or damaged",
            "InvalidCertificate",
        ),
        client_row(
            "root cert is a key",
            "root.key",
            "root.key",
            "root.key: expected a PEM 'CERTIFICATE' block, found 'RSA PRIVATE KEY'",
            "InvalidPem",
        ),
        client_row(
            "leaf given as root",
            "client.key",
            "client.cert",
            "client.cert: not a CA certificate: its basicConstraints say CA:FALSE",
            "NotACa",
        ),
        client_row(
            "root without keyCertSign",
            "other.key",
            "nosign.cert",
            "nosign.cert: not a CA certificate: its keyUsage does not include keyCertSign",
            "NotACa",
        ),
        client_row(
            "expired root",
            "other.key",
            "expired.cert",
            "expired.cert: the CA certificate is expired",
            "CaNotValidNow",
        ),
        client_row(
            "root not yet valid",
            "other.key",
            "future.cert",
            "future.cert: the CA certificate is not yet valid",
            "CaNotValidNow",
        ),
        client_row(
            "chain file as root",
            "root.key",
            "chain.cert",
            "chain.cert: invalid certificate: the file holds 2 PEM blocks",
            "InvalidCertificate",
        ),
        client_row(
            "root certificate in DER",
            "root.key",
            "root.der",
            "root.der: expected a PEM 'CERTIFICATE' block, found DER (binary ASN.1), not PEM text: convert it with `openssl x509 -inform der -in root.der -out root.der.pem`",
            "InvalidPem",
        ),
        client_row(
            "root key in DER",
            "rootkey.der",
            "root.cert",
            "convert it with `openssl pkey -inform der -in rootkey.der -out rootkey.der.pem`",
            "InvalidPem",
        ),
        client_row(
            "endless root certificate",
            "root.key",
            "/dev/zero",
            "/dev/zero is larger than 1 MiB",
            "InputTooLarge",
        ),
        client_row(
            "endless root key",
            "/dev/zero",
            "root.cert",
            "/dev/zero is larger than 1 MiB",
            "InputTooLarge",
        ),
        client_row(
            "P-521 root",
            "p521.key",
            "p521.cert",
            "p521.key: unsupported key algorithm: ECDSA P-521 (secp521r1) keys are not supported; use RSA (2048 to 8192 bits), ECDSA P-256 or ECDSA P-384",
            "Unsupported",
        ),
        row(
            "endless passphrase file",
            "-c gen_client_cert -s out -k enc.key -t root.cert --root-key-passphrase-file /dev/zero",
            "/dev/zero is larger than 1 MiB",
            None,
        ),
        row(
            "request in DER",
            "-c sign_server_csr -s out -k root.key -t root.cert -i 10.0.0.5 --csr node.der",
            "node.der: expected a PEM 'CERTIFICATE REQUEST' block, found DER (binary ASN.1), not PEM text: convert it with `openssl req -inform der -in node.der -out node.der.pem`",
            None,
        ),
        row(
            "request with an RSA-1024 key",
            "-c sign_server_csr -s out -k root.key -t root.cert -i 10.0.0.5 --csr weak.csr",
            "weak.csr: unsupported key size: RSA-1024 is too weak (TLS libraries refuse it); use an RSA key of 2048 to 8192 bits",
            None,
        ),
        row(
            "request with a P-521 key",
            "-c sign_server_csr -s out -k root.key -t root.cert -i 10.0.0.5 --csr p521.csr",
            "p521.csr: unsupported key algorithm: ECDSA P-521 (secp521r1) keys are not supported",
            None,
        ),
        row(
            "endless request",
            "-c sign_server_csr -s out -k root.key -t root.cert -i 10.0.0.5 --csr /dev/zero",
            "/dev/zero is larger than 1 MiB",
            None,
        ),
        row(
            "zero days",
            "-c gen_root_cert -s out -d 0",
            "--days must be at least 1",
            None,
        ),
        row(
            "negative days",
            "-c gen_root_cert -s out -d -1",
            "--days must be at least 1",
            None,
        ),
        row(
            "days past 9999",
            "-c gen_root_cert -s out -d 4000000",
            "9999-12-31",
            None,
        ),
        row(
            "not an IP",
            "-c gen_server_cert -s out -k root.key -t root.cert -i 10.0.0",
            "`10.0.0` is not an IP address",
            None,
        ),
        row(
            "unspecified IPv4",
            "-c gen_server_cert -s out -k root.key -t root.cert -i 0.0.0.0",
            "invalid IP address 0.0.0.0 for a certificate: the unspecified address",
            None,
        ),
        row(
            "unspecified IPv6",
            "-c gen_server_cert -s out -k root.key -t root.cert -i ::",
            "invalid IP address :: for a certificate",
            None,
        ),
        row(
            "multicast IP",
            "-c gen_server_cert -s out -k root.key -t root.cert -i 239.1.1.1",
            "a multicast address cannot identify a server",
            None,
        ),
        row(
            "CN too long",
            &format!(
                "-c gen_client_cert -s out -k root.key -t root.cert -n {}",
                "a".repeat(65)
            ),
            "longer than 64 characters",
            None,
        ),
        row(
            "encrypt root key without passphrase",
            "-c gen_root_cert -s out --encrypt-root-key",
            "--encrypt-root-key needs the passphrase",
            None,
        ),
        row(
            "passphrase variable unset",
            "-c gen_client_cert -s out -k enc.key -t root.cert --root-key-passphrase-env ETCD_PKI_TEST_UNSET",
            "no usable passphrase in environment variable ETCD_PKI_TEST_UNSET: it is not set",
            None,
        ),
    ];
    let mut ctl = row(
        "CN with a control character",
        "",
        "must not contain control characters",
        None,
    );
    ctl.args = [
        "-c",
        "gen_client_cert",
        "-s",
        "out",
        "-k",
        "root.key",
        "-t",
        "root.cert",
        "-n",
        "ali\tce",
    ]
    .map(String::from)
    .to_vec();
    rows.push(ctl);
    let mut wrong = client_row(
        "encrypted key, wrong passphrase",
        "enc.key",
        "root.cert",
        "enc.key: cannot decrypt the private key: wrong passphrase",
        "KeyDecryption",
    );
    wrong.args.extend([
        "--root-key-passphrase-env".into(),
        "ETCD_PKI_TEST_PASS".into(),
    ]);
    wrong.env.push(("ETCD_PKI_TEST_PASS", "wrong horse"));
    wrong.message = "enc.key: cannot decrypt the private key: wrong passphrase, or the file is damaged\n  caused by: ";
    rows.push(wrong);
    let mut nopass = client_row(
        "encrypted key, no passphrase (CLI advice)",
        "enc.key",
        "root.cert",
        "give the passphrase with --root-key-passphrase-env VAR or --root-key-passphrase-file FILE",
        "EncryptedKey",
    );
    nopass.what = "encrypted key, no passphrase: the CLI names its flags";
    rows.push(nopass);

    let before = (snapshot(d), snapshot(&d.join("out")));
    let mut failures = Vec::new();
    for r in &rows {
        let args: Vec<&str> = r.args.iter().map(String::as_str).collect();
        let out = cli(&args, d, &r.env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ok = out.status.code() == Some(1)
            && stderr.starts_with("ERROR: ")
            && stderr.contains(r.message)
            && !stderr.contains("panicked");
        if !ok {
            failures.push(format!(
                "{}: exit {:?}, stderr {stderr:?}, wanted {:?}",
                r.what,
                out.status.code(),
                r.message
            ));
        }
        if (snapshot(d), snapshot(&d.join("out"))) != before {
            failures.push(format!("{}: the directories changed", r.what));
        }
        if let Some(variant) = r.variant {
            let key = d.join(&r.args[5]);
            let cert = d.join(&r.args[7]);
            let result = if r.env.is_empty() {
                Issuer::load(&cert, &key)
            } else {
                Issuer::load_encrypted(&cert, &key, &Passphrase::new("wrong horse").unwrap())
            };
            match result {
                Err(e) if names_a_flag(&e.to_string()) => {
                    failures.push(format!("{}: library message names a flag: {e}", r.what));
                }
                Err(e) if format!("{e:?}").starts_with(variant) => {}
                other => failures.push(format!(
                    "{}: library gave {other:?}, wanted {variant}",
                    r.what
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn encrypted_root_keys_work_end_to_end() {
    let f = Fixture::new();
    let d = &f.d;
    // openssl's encrypted PKCS#8 (PBKDF2 + AES-256-CBC), passphrase from a file and from the
    // environment.
    let out = cli(
        &[
            "-c",
            "gen_client_cert",
            "-s",
            "out",
            "-k",
            "enc.key",
            "-t",
            "root.cert",
            "--root-key-passphrase-file",
            "pass.txt",
        ],
        d,
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(
        &[
            "-c",
            "gen_server_cert",
            "-s",
            "out",
            "-k",
            "enc.key",
            "-t",
            "root.cert",
            "-i",
            "10.0.0.1",
            "--root-key-passphrase-env",
            "P",
        ],
        d,
        &[("P", "correct horse")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Our encrypted root key: openssl reads it with the passphrase, we read it back.
    std::fs::create_dir(d.join("enc")).unwrap();
    let out = cli(
        &[
            "-c",
            "gen_root_cert",
            "-s",
            "enc",
            "--encrypt-root-key",
            "--root-key-passphrase-env",
            "P",
        ],
        d,
        &[("P", "s3cret")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = std::fs::read_to_string(d.join("enc/root.key")).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    common::openssl_ok(
        &[
            "pkey",
            "-in",
            "enc/root.key",
            "-passin",
            "pass:s3cret",
            "-noout",
        ],
        d,
    );
    let wrong = common::openssl(
        &[
            "pkey",
            "-in",
            "enc/root.key",
            "-passin",
            "pass:nope",
            "-noout",
        ],
        d,
    );
    assert!(!wrong.status.success());
    let out = cli(
        &[
            "-c",
            "gen_client_cert",
            "-s",
            "enc",
            "-k",
            "enc/root.key",
            "-t",
            "enc/root.cert",
            "--root-key-passphrase-env",
            "P",
        ],
        d,
        &[("P", "s3cret")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Node and client keys stay unencrypted: etcd must read them.
    let client_key = std::fs::read_to_string(d.join("enc/client.key")).unwrap();
    assert!(client_key.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
}

#[test]
fn odd_but_valid_inputs_work() {
    let f = Fixture::new();
    let d = &f.d;
    // A save directory with spaces and non-ASCII characters.
    let odd = d.join("my certs/证书");
    std::fs::create_dir_all(&odd).unwrap();
    let out = cli(&["-c", "gen_root_cert", "-s", "my certs/证书"], d, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Saved: my certs/证书/root.key\nSaved: my certs/证书/root.cert\n"
    );
    // The node IP given as 127.0.0.1: one SAN, not two.
    let out = cli(
        &[
            "-c",
            "gen_server_cert",
            "-s",
            "out",
            "-k",
            "root.key",
            "-t",
            "root.cert",
            "-i",
            "127.0.0.1",
        ],
        d,
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert = etcd_pki::Certificate::from_pem(
        &std::fs::read_to_string(d.join("out/127.0.0.1.cert")).unwrap(),
    )
    .unwrap();
    assert_eq!(cert.ip_addresses().len(), 1);
    // An empty --cn means no CN, as in the script.
    let out = cli(
        &[
            "-c",
            "gen_client_cert",
            "-s",
            "out",
            "-k",
            "root.key",
            "-t",
            "root.cert",
            "-n",
            "",
        ],
        d,
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert = etcd_pki::Certificate::from_pem(
        &std::fs::read_to_string(d.join("out/client.cert")).unwrap(),
    )
    .unwrap();
    assert_eq!(cert.common_name(), None);
}

/// Mounts a tmpfs of `size` (read-only if `ro`) at a new directory. Needs root (CI runs as
/// root); returns None otherwise, and the caller says so.
struct Tmpfs(
    PathBuf,
    #[allow(dead_code, reason = "keeps the mount point alive")] TempDir,
);

impl Tmpfs {
    fn mount(opts: &str) -> Option<Self> {
        let dir = TempDir::new().unwrap();
        let at = dir.path().join("mnt");
        std::fs::create_dir(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(at, dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

#[test]
fn write_failures_leave_no_half_pair() {
    if !is_root() {
        eprintln!(
            "write_failures_leave_no_half_pair: needs root to mount a tmpfs; the failing-publish case is covered by the fs unit tests"
        );
        return;
    }
    let f = Fixture::new();
    let d = &f.d;
    // A full disk: 8 KiB holds the key (1.7 KB) but, with the filesystem's own overhead, not
    // key + certificate + their temporary copies. Fill it up first so the second file fails.
    let full = Tmpfs::mount("size=8k").expect("mount a tmpfs (we are root)");
    std::fs::write(full.0.join("filler"), vec![0u8; 4096]).unwrap();
    let before = snapshot(&full.0);
    let at = full.0.to_str().unwrap();
    let out = cli(
        &[
            "-c",
            "gen_client_cert",
            "-s",
            at,
            "-k",
            "root.key",
            "-t",
            "root.cert",
            "-n",
            "x",
        ],
        d,
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(snapshot(&full.0), before, "neither file, no temporary file");
    let ro = Tmpfs::mount("ro,size=64k").expect("mount a read-only tmpfs");
    let at = ro.0.to_str().unwrap();
    let out = cli(&["-c", "gen_root_cert", "-s", at], d, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("ERROR: cannot create a file in {at}")),
        "{stderr}"
    );
    assert!(stderr.contains("Read-only file system"), "{stderr}");
}

#[test]
fn concurrent_writers_never_clobber_each_other() {
    let f = Fixture::new();
    let d = &f.d;
    // Eight processes race to write out/client.{key,cert}: exactly one wins, the others are
    // refused, and the winner's key matches its certificate.
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(common::cli_path())
                .args([
                    "-c",
                    "gen_client_cert",
                    "-s",
                    "out",
                    "-k",
                    "root.key",
                    "-t",
                    "root.cert",
                    "-n",
                    &format!("w{i}"),
                ])
                .current_dir(d)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let winners = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(winners, 1);
    for o in outs.iter().filter(|o| !o.status.success()) {
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("refusing to overwrite existing file"), "{e}");
    }
    let names: Vec<_> = snapshot(&d.join("out")).into_keys().collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let cert = std::fs::read_to_string(d.join("out/client.cert")).unwrap();
    let key = std::fs::read_to_string(d.join("out/client.key")).unwrap();
    let cert = etcd_pki::Certificate::from_pem(&cert).unwrap();
    let key = etcd_pki::PrivateKey::from_pem(&key).unwrap();
    assert_eq!(
        key.public_key_der().unwrap(),
        cert.public_key_der().unwrap(),
        "the key belongs to the certificate"
    );
}
