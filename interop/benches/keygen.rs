//! RSA key generation: etcd-pki's [`KeyGenerator`] against `rsa` 0.10, aws-lc-rs and the
//! system's OpenSSL, side by side in one run. See BENCHMARKS.md for the figures and how to
//! reproduce them.
//!
//! - `cargo bench --bench keygen`: criterion groups `rsa-2048`, `rsa-3072`, `rsa-4096` (random
//!   keys, every implementation), `rsa-2048-seeded` (the same seeded keys on every run, for the
//!   implementations that take an RNG) and `cluster-5-keys` (5 RSA-2048 keys, one batch against
//!   one by one).
//! - `ETCD_PKI_KEYGEN_TABLE=300 cargo bench --bench keygen`: instead of criterion, generates 300
//!   keys per implementation and size (`ETCD_PKI_KEYGEN_SIZES`, default `2048`), interleaved
//!   round-robin so that a change of load hits all alike, and prints per-key medians, means and
//!   ratios. With `ETCD_PKI_KEYGEN_PYTHON=python3` (and Python's `cryptography` installed), a
//!   Python process generating keys in a loop with the OpenSSL that `cryptography` bundles takes
//!   its turn in every round too (its times are measured in Python, around
//!   `rsa.generate_private_key`).
//! - `cargo test --benches` runs every benchmark once, as a smoke test (one key per
//!   implementation and size: a few seconds).

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode};
use etcd_pki::{KeyAlgorithm, KeyGenerator};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The implementations compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    /// etcd-pki's generator with its default number of threads (the available parallelism).
    Ours,
    /// etcd-pki's generator on one thread.
    OursOneThread,
    /// `rsa` 0.10's `PrivateKey::new` (what etcd-pki used before).
    Rsa010,
    /// aws-lc-rs (AWS-LC, C and assembly).
    AwsLc,
    /// The system's OpenSSL (libcrypto, C and assembly) through the `openssl` crate.
    OpenSsl,
}

impl Contender {
    const ALL: [Self; 5] = [
        Self::Ours,
        Self::OursOneThread,
        Self::Rsa010,
        Self::AwsLc,
        Self::OpenSsl,
    ];

    fn name(self) -> String {
        match self {
            Self::Ours => format!("etcd-pki ({} threads)", KeyGenerator::new().threads()),
            Self::OursOneThread => "etcd-pki (1 thread)".into(),
            Self::Rsa010 => "rsa 0.10".into(),
            Self::AwsLc => "aws-lc-rs".into(),
            Self::OpenSsl => {
                let version = openssl::version::version().split_whitespace().take(2);
                format!("system {}", version.collect::<Vec<_>>().join(" "))
            }
        }
    }

    /// Whether the implementation draws from the given RNG (and so can be seeded).
    fn seedable(self) -> bool {
        matches!(self, Self::Ours | Self::OursOneThread | Self::Rsa010)
    }

    /// Generates one key of `bits` bits (with `rng` if the implementation takes one).
    fn generate(self, bits: usize, rng: &mut StdRng) {
        match self {
            Self::Ours => {
                let algorithm = rsa_algorithm(bits);
                black_box(
                    KeyGenerator::new()
                        .generate(algorithm, rng)
                        .expect("keygen"),
                );
            }
            Self::OursOneThread => {
                let one = KeyGenerator::new().with_threads(NonZeroUsize::MIN);
                black_box(one.generate(rsa_algorithm(bits), rng).expect("keygen"));
            }
            Self::Rsa010 => {
                black_box(rsa::PrivateKey::new(rng, bits).expect("keygen"));
            }
            Self::AwsLc => {
                use aws_lc_rs::rsa::{KeyPair, KeySize};
                let size = match bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    _ => KeySize::Rsa8192,
                };
                black_box(KeyPair::generate(size).expect("keygen"));
            }
            Self::OpenSsl => {
                let bits = u32::try_from(bits).expect("size");
                black_box(openssl::rsa::Rsa::generate(bits).expect("keygen"));
            }
        }
    }
}

/// etcd-pki's algorithm for an RSA size (2048, 3072 or 4096 bits).
fn rsa_algorithm(bits: usize) -> KeyAlgorithm {
    format!("rsa{bits}")
        .parse()
        .expect("etcd-pki makes RSA keys of 2048, 3072 or 4096 bits")
}

/// Whether criterion runs for real (`cargo bench`) rather than once per benchmark as a test.
fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// Random keys of each size, every implementation, in one group per size.
fn random_keys(c: &mut Criterion) {
    for bits in [2048, 3072, 4096] {
        let mut group = c.benchmark_group(format!("rsa-{bits}"));
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(if bits == 2048 { 30 } else { 10 });
        group.measurement_time(Duration::from_secs(if bits == 2048 { 10 } else { 20 }));
        let mut rng = StdRng::from_rng(&mut rand::rng());
        for contender in Contender::ALL {
            group.bench_function(BenchmarkId::from_parameter(contender.name()), |b| {
                b.iter(|| contender.generate(bits, &mut rng));
            });
        }
        group.finish();
    }
}

/// The same seeded keys on every run: each iteration generates the keys of seeds `0..keys`.
/// All three implementations find the very same primes.
fn seeded_keys(c: &mut Criterion) {
    let keys = if bench_mode() { 8 } else { 1 };
    let mut group = c.benchmark_group("rsa-2048-seeded");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    for contender in Contender::ALL.into_iter().filter(|c| c.seedable()) {
        let id = BenchmarkId::new(contender.name(), format!("{keys} keys"));
        group.bench_function(id, |b| {
            b.iter(|| {
                for seed in 0..keys {
                    contender.generate(2048, &mut StdRng::seed_from_u64(seed));
                }
            });
        });
    }
    group.finish();
}

/// The five keys of a cluster (root CA, client, three nodes): one batch, against one by one.
fn cluster_keys(c: &mut Criterion) {
    let mut group = c.benchmark_group("cluster-5-keys");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    let generator = KeyGenerator::new();
    let mut rng = StdRng::from_rng(&mut rand::rng());
    group.bench_function("etcd-pki batch", |b| {
        b.iter(|| black_box(generator.generate_batch(&[KeyAlgorithm::Rsa2048; 5], &mut rng)));
    });
    group.bench_function("etcd-pki one by one", |b| {
        b.iter(|| {
            for _ in 0..5 {
                let key = generator.generate(KeyAlgorithm::Rsa2048, &mut rng);
                black_box(key.expect("keygen"));
            }
        });
    });
    group.bench_function("rsa 0.10 one by one", |b| {
        b.iter(|| {
            for _ in 0..5 {
                black_box(rsa::PrivateKey::new(&mut rng, 2048).expect("keygen"));
            }
        });
    });
    group.finish();
}

/// Per-key statistics of one implementation at one size.
struct Stats {
    samples: Vec<Duration>,
}

impl Stats {
    /// The per-key times in milliseconds, ascending.
    fn sorted(&self) -> Vec<f64> {
        let mut ms: Vec<f64> = self.samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        ms
    }

    /// The `percent`-th percentile (nearest rank; the median is the mean of the middle two).
    fn percentile(&self, percent: usize) -> f64 {
        let ms = self.sorted();
        let n = ms.len();
        if percent == 50 && n.is_multiple_of(2) {
            return (ms[n / 2 - 1] + ms[n / 2]) / 2.0;
        }
        ms[(n - 1) * percent / 100]
    }

    fn mean(&self) -> f64 {
        let ms = self.sorted();
        ms.iter().sum::<f64>() / ms.len() as f64
    }
}

/// A Python interpreter with `cryptography` generating keys in a loop, on request: its
/// bundled OpenSSL (4.0 with `cryptography` 48) is not on this machine otherwise.
struct PythonOpenSsl {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: std::io::BufReader<std::process::ChildStdout>,
    version: String,
}

/// Generates one key per line read (a size in bits) and answers with the milliseconds the
/// generation took, measured in Python around `rsa.generate_private_key`.
const PYTHON_SERVER: &str = r#"
import sys, time
from cryptography.hazmat.backends.openssl import backend
from cryptography.hazmat.primitives.asymmetric import rsa
print(backend.openssl_version_text(), flush=True)
for line in sys.stdin:
    bits = int(line)
    t = time.perf_counter()
    rsa.generate_private_key(public_exponent=65537, key_size=bits)
    print((time.perf_counter() - t) * 1e3, flush=True)
"#;

impl PythonOpenSsl {
    fn start(python: &str) -> Self {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(python)
            .args(["-c", PYTHON_SERVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("ETCD_PKI_KEYGEN_PYTHON: cannot start the interpreter");
        let input = child.stdin.take().expect("stdin");
        let mut output = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut version = String::new();
        output.read_line(&mut version).expect("python: version");
        let version = version
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            child,
            input,
            output,
            version,
        }
    }

    fn name(&self) -> String {
        format!("{} (Python cryptography)", self.version)
    }

    fn generate(&mut self, bits: usize) -> Duration {
        use std::io::{BufRead, Write};
        writeln!(self.input, "{bits}").expect("python: request");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("python: answer");
        let ms: f64 = line.trim().parse().expect("python: milliseconds");
        Duration::from_secs_f64(ms / 1e3)
    }
}

impl Drop for PythonOpenSsl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ETCD_PKI_KEYGEN_TABLE=N`: N keys per implementation and size, interleaved key by key, and a
/// table. With `ETCD_PKI_KEYGEN_PYTHON=python3`, OpenSSL through Python's `cryptography` too.
fn table(rounds: usize) {
    let sizes: Vec<usize> = std::env::var("ETCD_PKI_KEYGEN_SIZES")
        .unwrap_or_else(|_| "2048".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("ETCD_PKI_KEYGEN_SIZES: comma-separated bit sizes")
        })
        .collect();
    let mut python = std::env::var("ETCD_PKI_KEYGEN_PYTHON")
        .ok()
        .map(|p| PythonOpenSsl::start(&p));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "machine: {cpu}, available parallelism {}",
        KeyGenerator::new().threads(),
    );
    let mut rng = StdRng::from_rng(&mut rand::rng());
    for bits in sizes {
        let mut names: Vec<String> = Contender::ALL.iter().map(|c| c.name()).collect();
        names.extend(python.as_ref().map(PythonOpenSsl::name));
        let mut stats: Vec<Stats> = names
            .iter()
            .map(|_| Stats {
                samples: Vec::with_capacity(rounds),
            })
            .collect();
        // One warm-up key each (tables, thread start-up, library initialisation).
        for contender in Contender::ALL {
            contender.generate(bits, &mut rng);
        }
        if let Some(python) = &mut python {
            python.generate(bits);
        }
        let start = Instant::now();
        for _ in 0..rounds {
            for (contender, stats) in Contender::ALL.iter().zip(&mut stats) {
                let t = Instant::now();
                contender.generate(bits, &mut rng);
                stats.samples.push(t.elapsed());
            }
            if let Some(python) = &mut python {
                let elapsed = python.generate(bits);
                stats[Contender::ALL.len()].samples.push(elapsed);
            }
        }
        println!(
            "\nRSA-{bits}: {rounds} keys per implementation, interleaved key by key, in {:.0} s",
            start.elapsed().as_secs_f64()
        );
        let ours = stats[1].percentile(50);
        let openssl = python
            .as_ref()
            .map(|_| stats[Contender::ALL.len()].percentile(50));
        println!(
            "| implementation | median ms | mean ms | p10 ms | p90 ms | median ÷ etcd-pki (1 thread) | median ÷ {} |",
            python.as_ref().map_or("-".into(), |p| p.version.clone())
        );
        println!("|---|---|---|---|---|---|---|");
        for (name, s) in names.iter().zip(&stats) {
            let median = s.percentile(50);
            println!(
                "| {name} | {median:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {} |",
                s.mean(),
                s.percentile(10),
                s.percentile(90),
                median / ours,
                openssl.map_or("-".into(), |o| format!("{:.2}", median / o)),
            );
        }
    }
}

fn main() {
    if let Ok(rounds) = std::env::var("ETCD_PKI_KEYGEN_TABLE") {
        table(
            rounds
                .parse()
                .expect("ETCD_PKI_KEYGEN_TABLE: a number of keys"),
        );
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    random_keys(&mut c);
    seeded_keys(&mut c);
    cluster_keys(&mut c);
    c.final_summary();
}
