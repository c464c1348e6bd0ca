//! Properties of the keys [`KeyGenerator`] makes, over a number of keys: `rsa`'s own
//! validation, exact modulus size, e = 65537, balanced and distant primes, and equality with `rsa` 0.10's keys for the same seeded RNG.

use std::num::NonZeroUsize;

use etcd_pki::{KeyAlgorithm, KeyFormat, KeyGenerator, PrivateKey};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsa::BoxedUint;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};

/// The `rsa` view of a key, through its PKCS#1 encoding.
fn rsa_key(key: &PrivateKey) -> rsa::PrivateKey {
    let pem = key.to_pem(KeyFormat::Traditional).expect("PKCS#1 encoding");
    rsa::PrivateKey::from_pkcs1_pem(&pem).expect("rsa parses the key")
}

/// Checks everything a generated key must satisfy.
fn check_key(key: &PrivateKey, bits: usize) {
    assert_eq!(key.bits(), bits.div_ceil(8) * 8); // whole bytes
    let key = rsa_key(key);
    key.validate().expect("rsa validates the key");
    assert_eq!(key.n().as_ref().bit_width_vartime() as usize, bits);
    assert_eq!(key.e(), &BoxedUint::from(65_537u64));
    let primes = key.primes();
    assert_eq!(primes.len(), 2);
    let (p, q) = (primes[0].as_ref(), primes[1].as_ref());
    // Balanced: p has bits/2 bits, q the rest; both have their top two bits set, so that
    // p, q > √2·2^(bits/2 − 1) (FIPS 186-5 A.1.3).
    let p_bits = u32::try_from(bits / 2).expect("size");
    let q_bits = u32::try_from(bits - bits / 2).expect("size");
    assert_eq!(p.bit_width_vartime(), p_bits);
    assert_eq!(q.bit_width_vartime(), q_bits);
    assert!(p.bit_vartime(p_bits - 2) && q.bit_vartime(q_bits - 2));
    // Distant: |p − q| > 2^(bits/2 − 100).
    let diff = if p > q {
        p.wrapping_sub(q)
    } else {
        q.wrapping_sub(p)
    };
    assert!(diff.bit_width_vartime() > p_bits - 100);
    // Prime, by a test of crypto-primes' that is independent of the generator's (FIPS 186-5
    // Miller-Rabin with random bases).
    let mut rng = StdRng::seed_from_u64(0);
    for prime in [p, q] {
        let options = crypto_primes::fips::FipsOptions::with_error_bound(p_bits, 100);
        let options = options.expect("FIPS options");
        assert!(crypto_primes::fips::is_prime(
            &mut rng,
            crypto_primes::Flavor::Any,
            prime,
            options
        ));
    }
}

#[test]
fn generated_keys_are_valid() {
    let mut rng = rand::rng();
    // A batch, as for a cluster, and single keys with one and several threads.
    let batch = KeyGenerator::new()
        .generate_batch(&[KeyAlgorithm::Rsa2048; 6], &mut rng)
        .unwrap();
    assert_eq!(batch.len(), 6);
    for key in &batch {
        check_key(key, 2048);
    }
    for threads in [1, 2, 3] {
        let generator = KeyGenerator::new().with_threads(NonZeroUsize::new(threads).unwrap());
        let key = generator.generate(KeyAlgorithm::Rsa2048, &mut rng).unwrap();
        check_key(&key, 2048);
    }
    // All keys differ.
    let mut moduli: Vec<_> = batch.iter().map(|k| rsa_key(k).n().clone()).collect();
    moduli.sort();
    moduli.dedup();
    assert_eq!(moduli.len(), 6);
}

/// The other sizes, in a batch. (Sizes that are not a multiple of 128 bits, which the key
/// generator makes too but `KeyAlgorithm` does not offer, are tested by its unit tests.)
#[test]
fn other_sizes_are_valid() {
    let mut rng = rand::rng();
    let keys = KeyGenerator::new()
        .generate_batch(&[KeyAlgorithm::Rsa3072, KeyAlgorithm::Rsa2048], &mut rng)
        .unwrap();
    for (key, bits) in keys.iter().zip([3072, 2048]) {
        check_key(key, bits);
    }
    let key = PrivateKey::generate_with_rng(&mut rng, KeyAlgorithm::Rsa4096).unwrap();
    check_key(&key, 4096);
}

#[test]
fn seeded_keys_are_those_of_rsa_0_10_for_any_number_of_threads() {
    for (seed, threads) in [(1, 1), (2, 2), (3, 4)] {
        let generator = KeyGenerator::new().with_threads(NonZeroUsize::new(threads).unwrap());
        let ours = rsa_key(
            &generator
                .generate(KeyAlgorithm::Rsa2048, &mut StdRng::seed_from_u64(seed))
                .unwrap(),
        );
        let theirs = rsa::PrivateKey::new(&mut StdRng::seed_from_u64(seed), 2048).unwrap();
        assert_eq!(ours.n(), theirs.n(), "seed {seed}");
        assert_eq!(ours.primes(), theirs.primes(), "seed {seed}");
    }
    // A batch from one RNG: the keys of successive calls to rsa 0.10.
    let batch = KeyGenerator::new()
        .generate_batch(&[KeyAlgorithm::Rsa2048; 3], &mut StdRng::seed_from_u64(4))
        .unwrap();
    let mut rng = StdRng::seed_from_u64(4);
    for key in &batch {
        let theirs = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
        assert_eq!(rsa_key(key).n(), theirs.n());
    }
    // PrivateKey::generate_with_rng uses the generator.
    let key = PrivateKey::generate_with_rng(&mut StdRng::seed_from_u64(5), KeyAlgorithm::Rsa2048)
        .unwrap();
    let theirs = rsa::PrivateKey::new(&mut StdRng::seed_from_u64(5), 2048).unwrap();
    assert_eq!(rsa_key(&key).n(), theirs.n());
}

/// The same as above over many seeds and thread counts; slow unoptimised, so run on demand:
/// `cargo test --release --test keygen -- --ignored` (`ETCD_PKI_KEYGEN_SEEDS`, default 100).
#[test]
#[ignore = "slow: run with --release --ignored"]
fn many_seeded_keys_are_those_of_rsa_0_10() {
    let seeds: u64 = std::env::var("ETCD_PKI_KEYGEN_SEEDS").map_or(100, |s| s.parse().unwrap());
    for seed in 0..seeds {
        let threads = NonZeroUsize::new(1 + (seed % 3) as usize).unwrap();
        let (algorithm, bits) = if seed % 10 == 9 {
            (KeyAlgorithm::Rsa3072, 3072)
        } else {
            (KeyAlgorithm::Rsa2048, 2048)
        };
        let generator = KeyGenerator::new().with_threads(threads);
        let ours = generator
            .generate(algorithm, &mut StdRng::seed_from_u64(seed))
            .unwrap();
        let theirs = rsa::PrivateKey::new(&mut StdRng::seed_from_u64(seed), bits).unwrap();
        assert_eq!(rsa_key(&ours).primes(), theirs.primes(), "seed {seed}");
        check_key(&ours, bits);
    }
}
