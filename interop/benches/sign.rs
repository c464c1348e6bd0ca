//! RSA-2048 signing and the whole `gen_root_cert` command, against OpenSSL, side by side in one
//! run. See BENCHMARKS.md for the figures and how to reproduce them.
//!
//! - `cargo bench --bench sign`: criterion group `sign-rsa-2048`: a client certificate issued
//!   by an RSA-2048 CA with a ready key (`ClientCert::issue_with_key`: building, signing and
//!   encoding the certificate), `rsa` 0.10's PKCS#1 v1.5 SHA-256 signature of a message of a
//!   certificate's size, and the system OpenSSL's (`openssl` crate).
//! - `ETCD_PKI_SIGN_TABLE=N cargo bench --bench sign`: instead of criterion, N rounds of each,
//!   interleaved, and a table of medians and ratios; with `ETCD_PKI_SIGN_PYTHON=python3` (and
//!   Python's `cryptography`), the signature of the OpenSSL it bundles (4.0 with
//!   `cryptography` 48) takes its turn in every round (timed in Python, around
//!   `private_key.sign`).
//! - `ETCD_PKI_ROOT_COMMAND=N ETCD_PKI_SIGN_PYTHON=python3 cargo bench --bench sign` (after
//!   `cargo build --release --examples`): `gen_etcd_certs -c gen_root_cert -s DIR` run N times
//!   as a whole process, interleaved with an RSA-2048 key generated in process by that OpenSSL
//!   (Python's `rsa.generate_private_key`), and the ratio of the medians.
//! - `cargo test --benches` runs each criterion benchmark once, as a smoke test (milliseconds).

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use etcd_pki::{ClientCert, Issuer, KeyAlgorithm, PrivateKey, RootCa};
use rsa::signature::Signer as _;

/// The size of the message signed by the raw signatures: about a certificate's TBS.
const MESSAGE_LEN: usize = 700;

/// An RSA-2048 CA, a ready key for the certificates it issues, and the same CA key for `rsa`
/// and OpenSSL.
struct Setup {
    ca: Issuer,
    leaf_key: PrivateKey,
    client: ClientCert,
    rsa: rsa::pkcs1v15::SigningKey<rsa::sha2::Sha256>,
    openssl: openssl::pkey::PKey<openssl::pkey::Private>,
    message: Vec<u8>,
}

impl Setup {
    fn new() -> Self {
        use rsa::pkcs8::DecodePrivateKey as _;
        let key = PrivateKey::generate(KeyAlgorithm::Rsa2048).expect("key");
        let der = key.to_pkcs8_der().expect("pkcs8");
        let rsa_key = rsa::PrivateKey::from_pkcs8_der(&der).expect("rsa parses");
        let openssl = openssl::pkey::PKey::private_key_from_pkcs8(&der).expect("openssl parses");
        let ca = RootCa::new().self_sign_with_key(key).expect("ca");
        Self {
            ca,
            leaf_key: PrivateKey::generate(KeyAlgorithm::Rsa2048).expect("key"),
            client: ClientCert::new().common_name("bench".parse().expect("name")),
            rsa: rsa::pkcs1v15::SigningKey::new(rsa_key),
            openssl,
            message: vec![0x5a; MESSAGE_LEN],
        }
    }

    fn ours(&self) {
        let issued = self.client.issue_with_key(&self.ca, self.leaf_key.clone());
        black_box(issued.expect("issue"));
    }

    fn rsa(&self) {
        black_box(self.rsa.try_sign(&self.message).expect("sign"));
    }

    fn openssl(&self) {
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &self.openssl)
                .expect("signer");
        black_box(signer.sign_oneshot_to_vec(&self.message).expect("sign"));
    }
}

/// A Python interpreter with `cryptography`, on request signing with an RSA-2048 key or
/// generating one, answering with the milliseconds it took (measured in Python).
struct PythonOpenSsl {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    version: String,
}

const PYTHON_SERVER: &str = r#"
import sys, time
from cryptography.hazmat.backends.openssl import backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa, padding
print(backend.openssl_version_text(), flush=True)
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
message = b"\x5a" * int(sys.argv[1])
for line in sys.stdin:
    t = time.perf_counter()
    if line.strip() == "sign":
        key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    else:
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    print((time.perf_counter() - t) * 1e3, flush=True)
"#;

impl PythonOpenSsl {
    fn start(python: &str) -> Self {
        let mut child = Command::new(python)
            .args(["-c", PYTHON_SERVER, &MESSAGE_LEN.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("ETCD_PKI_SIGN_PYTHON: cannot start the interpreter");
        let input = child.stdin.take().expect("stdin");
        let mut output = BufReader::new(child.stdout.take().expect("stdout"));
        let mut version = String::new();
        output.read_line(&mut version).expect("python: version");
        let version = version.split_whitespace().take(2).collect::<Vec<_>>();
        Self {
            child,
            input,
            output,
            version: version.join(" "),
        }
    }

    fn request(&mut self, what: &str) -> f64 {
        writeln!(self.input, "{what}").expect("python: request");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("python: answer");
        line.trim().parse().expect("python: milliseconds")
    }
}

impl Drop for PythonOpenSsl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The median of `samples` (milliseconds).
fn median(samples: &[f64]) -> f64 {
    let mut ms = samples.to_vec();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    if n.is_multiple_of(2) {
        (ms[n / 2 - 1] + ms[n / 2]) / 2.0
    } else {
        ms[n / 2]
    }
}

/// Milliseconds `f` takes.
fn time(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e3
}

/// Prints a table: name, median, ratio to the last row's median (if `reference`).
fn print_table(title: &str, rows: &[(String, Vec<f64>)], reference: Option<usize>) {
    println!("\n{title}");
    let base = reference.map(|r| median(&rows[r].1));
    println!("| contender | runs | median ms | median ÷ reference |");
    println!("|---|---|---|---|");
    for (name, samples) in rows {
        let m = median(samples);
        println!(
            "| {name} | {} | {m:.3} | {} |",
            samples.len(),
            base.map_or("-".into(), |b| format!("{:.2}", m / b))
        );
    }
}

fn python() -> Option<PythonOpenSsl> {
    std::env::var("ETCD_PKI_SIGN_PYTHON")
        .ok()
        .map(|p| PythonOpenSsl::start(&p))
}

/// `ETCD_PKI_SIGN_TABLE=N`: N rounds of every signer, interleaved.
fn sign_table(rounds: usize) {
    let setup = Setup::new();
    let mut python = python();
    let mut rows: Vec<(String, Vec<f64>)> = vec![
        (
            "etcd-pki: a client certificate issued (built, signed)".into(),
            Vec::new(),
        ),
        ("rsa 0.10: PKCS#1 v1.5 SHA-256 signature".into(), Vec::new()),
        (
            format!("system {}: signature", openssl::version::version()),
            Vec::new(),
        ),
    ];
    if let Some(p) = &python {
        rows.push((
            format!("{} (Python cryptography): signature", p.version),
            Vec::new(),
        ));
    }
    // Warm-up: the blinding pair, library initialisation.
    setup.ours();
    setup.rsa();
    setup.openssl();
    for _ in 0..rounds {
        rows[0].1.push(time(|| setup.ours()));
        rows[1].1.push(time(|| setup.rsa()));
        rows[2].1.push(time(|| setup.openssl()));
        if let Some(p) = &mut python {
            let ms = p.request("sign");
            rows[3].1.push(ms);
        }
    }
    let reference = python.as_ref().map(|_| 3);
    print_table(
        &format!("RSA-2048 signing, {rounds} rounds interleaved"),
        &rows,
        reference,
    );
}

/// Where `cargo build --release --examples` puts an example, next to this benchmark's binary.
fn example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join(name);
    path.is_file().then_some(path)
}

/// `ETCD_PKI_ROOT_COMMAND=N`: the whole `gen_root_cert` process against OpenSSL's key.
fn root_command(runs: usize) {
    let cli = example("gen_etcd_certs").expect("run `cargo build --release --examples` first");
    let mut python = python();
    let root = tempfile::tempdir().expect("temp dir");
    let mut rows: Vec<(String, Vec<f64>)> = vec![(
        "`gen_etcd_certs -c gen_root_cert -s DIR`, whole process".into(),
        Vec::new(),
    )];
    if let Some(p) = &python {
        rows.push((
            format!(
                "{} (Python cryptography): RSA-2048 key in process",
                p.version
            ),
            Vec::new(),
        ));
    }
    let mut fresh = 0;
    let mut run = || {
        fresh += 1;
        let dir = root.path().join(fresh.to_string());
        // The command, like the guide's script, writes into an existing directory.
        std::fs::create_dir(&dir).expect("run dir");
        let ms = time(|| {
            let out = Command::new(&cli)
                .args(["-c", "gen_root_cert", "-s"])
                .arg(&dir)
                .output()
                .expect("run the CLI");
            assert!(out.status.success(), "{out:?}");
        });
        std::fs::remove_dir_all(&dir).expect("clean up");
        ms
    };
    run();
    for _ in 0..runs {
        rows[0].1.push(run());
        if let Some(p) = &mut python {
            let ms = p.request("keygen");
            rows[1].1.push(ms);
        }
    }
    let reference = python.as_ref().map(|_| 1);
    print_table(
        &format!("The root command, {runs} runs interleaved"),
        &rows,
        reference,
    );
}

/// Criterion's group (one iteration each under `cargo test --benches`).
fn criterion_sign(c: &mut Criterion) {
    let setup = Setup::new();
    let mut group = c.benchmark_group("sign-rsa-2048");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("etcd-pki issue_with_key", |b| b.iter(|| setup.ours()));
    group.bench_function("rsa 0.10", |b| b.iter(|| setup.rsa()));
    group.bench_function("system openssl", |b| b.iter(|| setup.openssl()));
    group.finish();
}

fn main() {
    let number = |var: &str| {
        std::env::var(var)
            .ok()
            .map(|v| v.parse().expect("a number"))
    };
    if let Some(rounds) = number("ETCD_PKI_SIGN_TABLE") {
        sign_table(rounds);
        return;
    }
    if let Some(runs) = number("ETCD_PKI_ROOT_COMMAND") {
        root_command(runs);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    criterion_sign(&mut c);
    c.final_summary();
}
