//! Issuing certificates with etcd-pki alone: one client certificate with a pre-made key
//! (signing only), and the whole set of an etcd cluster (root CA, client and three nodes) with
//! fresh RSA-2048 keys, generated as one batch, one by one, or with `rsa` 0.10. Comparisons
//! with OpenSSL, aws-lc and the reference Python script are in the `interop` workspace member.
//! See BENCHMARKS.md.
//!
//! `cargo bench --bench pki`; `cargo test --benches` runs each benchmark once.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use etcd_pki::{
    ClientCert, CommonName, KeyAlgorithm, KeyFormat, KeyGenerator, PrivateKey, RootCa, ServerCert,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsa::pkcs8::LineEnding;

/// The three nodes of the cluster.
const NODES: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(192, 168, 10, 11)),
    IpAddr::V4(Ipv4Addr::new(192, 168, 10, 12)),
    IpAddr::V4(Ipv4Addr::new(192, 168, 10, 13)),
];

/// Issues the root, client and node certificates with the given five keys.
fn issue_set(keys: Vec<PrivateKey>, client: &ClientCert) -> usize {
    let mut keys = keys.into_iter();
    let mut next_key = || keys.next().expect("five keys");
    let root = RootCa::new().self_sign_with_key(next_key()).expect("root");
    let mut issued = vec![client.issue_with_key(&root, next_key()).expect("client")];
    for ip in NODES {
        let server = ServerCert::new(ip).issue_with_key(&root, next_key());
        issued.push(server.expect("node"));
    }
    issued.len()
}

/// One client certificate, signed with a pre-made root key, for a pre-made key.
fn issue_one(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let generator = KeyGenerator::new();
    let root_key = generator
        .generate(KeyAlgorithm::Rsa2048, &mut rng)
        .expect("keygen");
    let root = RootCa::new().self_sign_with_key(root_key).expect("root");
    let key = generator
        .generate(KeyAlgorithm::Rsa2048, &mut rng)
        .expect("keygen");
    let cn: CommonName = "alice".parse().expect("common name");
    let client = ClientCert::new().common_name(cn);
    let mut group = c.benchmark_group("issue");
    group.bench_function("client certificate, pre-made RSA-2048 key", |b| {
        b.iter(|| black_box(client.issue_with_key(&root, key.clone()).expect("issue")));
    });
    group.bench_function("client certificate and key PEM", |b| {
        b.iter(|| {
            let issued = client.issue_with_key(&root, key.clone()).expect("issue");
            black_box(issued.certificate().to_pem().expect("pem"));
            black_box(key.to_pem(KeyFormat::Traditional).expect("pem"));
        });
    });
    group.finish();
}

/// The whole cluster: five fresh keys and five certificates.
fn cluster(c: &mut Criterion) {
    let mut group = c.benchmark_group("cluster-set");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    let cn: CommonName = "root".parse().expect("common name");
    let client = ClientCert::new().common_name(cn);
    let generator = KeyGenerator::new();
    let mut rng = StdRng::from_rng(&mut rand::rng());
    group.bench_function("5 RSA-2048 keys as one batch, then 5 certificates", |b| {
        b.iter(|| {
            let keys = generator
                .generate_batch(&[KeyAlgorithm::Rsa2048; 5], &mut rng)
                .expect("keygen");
            black_box(issue_set(keys, &client))
        });
    });
    group.bench_function("5 certificates, each generating its key", |b| {
        b.iter(|| {
            let root = RootCa::new().self_sign_with_rng(&mut rng).expect("root");
            black_box(client.issue_with_rng(&root, &mut rng).expect("client"));
            for ip in NODES {
                let node = ServerCert::new(ip).issue_with_rng(&root, &mut rng);
                black_box(node.expect("node"));
            }
        });
    });
    group.bench_function("5 rsa 0.10 keys, then 5 certificates", |b| {
        b.iter(|| {
            let keys = (0..5)
                .map(|_| {
                    let key = rsa::PrivateKey::new(&mut rng, 2048).expect("keygen");
                    let pem = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&key, LineEnding::LF)
                        .expect("pem");
                    PrivateKey::from_pem(&pem).expect("key")
                })
                .collect();
            black_box(issue_set(keys, &client))
        });
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    issue_one(&mut c);
    cluster(&mut c);
    c.final_summary();
}
