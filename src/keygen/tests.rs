//! Unit tests of the key generator: each part against `crypto-bigint` and `crypto-primes`, the
//! search, and the keys against `rsa` 0.10's.

use std::num::NonZeroUsize;

use crypto_bigint::{BoxedUint, NonZero, Odd, Resize};
use crypto_primes::Flavor;
use crypto_primes::hazmat::{AStarBase, LucasBase as _, LucasCheck, MillerRabin, lucas_test};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zeroize::Zeroizing;

use super::divisor::Divisor;
use super::mont;
use super::primality::{confirm, jacobi_of_small, jacobi_words, quick_test};
use super::search::search_primes;
use super::sieve::{Segment, SieveTable, add_small, headroom, odd_primes_up_to};
use super::*;

fn random_words(rng: &mut StdRng, n: usize) -> Vec<u64> {
    (0..n).map(|_| rng.next_u64()).collect()
}

fn to_uint(words: &[u64]) -> BoxedUint {
    BoxedUint::from_words(words.iter().copied())
}

fn rem_direct(words: &[u64], d: u64) -> u64 {
    let r = to_uint(words).rem(&NonZero::new(BoxedUint::from(d)).unwrap());
    r.as_words()[0]
}

#[test]
fn divisor_matches_direct_remainders() {
    let mut rng = StdRng::seed_from_u64(1);
    let divisors = [
        2,
        3,
        65_537,
        (1 << 32) + 15,
        u64::MAX,
        u64::MAX - 58,
        1 << 63,
        (1 << 63) + 1,
    ];
    for _ in 0..200 {
        let len = (rng.next_u32() % 40 + 1) as usize;
        let words = random_words(&mut rng, len);
        let random_divisor = rng.next_u64() >> (rng.next_u32() % 62);
        for &d in divisors.iter().chain([&random_divisor.max(2)]) {
            assert_eq!(Divisor::new(d).rem(&words), rem_direct(&words, d), "{d}");
        }
        let four = [3, 1 << 40, u64::MAX, random_divisor.max(2)].map(Divisor::new);
        let got = Divisor::rem4(&four, &words);
        for (g, d) in got.iter().zip(&four) {
            assert_eq!(*g, rem_direct(&words, d.value));
        }
    }
    // Edge values.
    for words in [vec![0u64; 16], vec![u64::MAX; 16], vec![1], vec![u64::MAX]] {
        for d in [3, 17_863, u64::MAX] {
            assert_eq!(Divisor::new(d).rem(&words), rem_direct(&words, d));
        }
    }
}

#[test]
fn table_lists_the_odd_primes() {
    let table = SieveTable::new(1000);
    assert_eq!(&table.primes[..6], &[3, 5, 7, 11, 13, 17]);
    assert_eq!(table.primes.last(), Some(&997));
    assert_eq!(table.primes.len(), 167); // π(1000) − 1
    let big = SieveTable::default_table();
    assert_eq!(big.primes.len(), 23_000 - 1); // π(2^18) = 23,000
    assert_eq!(big.packs.last().map(|p| p.1), Some(big.primes.len()));
    // Every pack is the product of its primes.
    let mut first = 0;
    for &(d, end) in &big.packs {
        let product: u64 = big.primes[first..end]
            .iter()
            .map(|&p| u64::from(p))
            .product();
        assert_eq!(d.value, product);
        first = end;
    }
}

#[test]
fn residues_match_direct_computation() {
    let mut rng = StdRng::seed_from_u64(2);
    let table = SieveTable::default_table();
    for len in [1, 16, 24, 32, 7] {
        let words = random_words(&mut rng, len);
        let mut residues = Vec::new();
        table.residues(&words, &mut residues);
        assert_eq!(residues.len(), table.primes.len());
        let x = to_uint(&words);
        for (i, (&p, &r)) in table.primes.iter().zip(&residues).enumerate() {
            // Every prime for one size, a sample for the others.
            if len == 16 || i % 97 == 0 || i < 50 || i + 50 > table.primes.len() {
                let want = x.rem(&NonZero::new(BoxedUint::from(p)).unwrap());
                assert_eq!(u64::from(r), want.as_words()[0], "mod {p}");
            }
        }
    }
}

#[test]
fn sieve_keeps_exactly_the_numbers_without_small_factors() {
    let mut rng = StdRng::seed_from_u64(3);
    let table = SieveTable::new(2000);
    let mut base = random_words(&mut rng, 4);
    base[0] |= 1;
    base[3] |= 3 << 62;
    let segment = Segment::sieve(&table, Zeroizing::new(base.clone()), 256, 1024);
    assert!(!segment.last);
    let survivors: std::collections::BTreeSet<u32> = segment.survivors.iter().copied().collect();
    for j in 0..1024u32 {
        let candidate = add_small(&base, 2 * u64::from(j));
        let has_factor = table
            .primes
            .iter()
            .any(|&p| Divisor::new(u64::from(p)).rem(&candidate) == 0);
        assert_eq!(!has_factor, survivors.contains(&j), "j = {j}");
    }
}

#[test]
fn sieve_stops_below_two_to_the_bits() {
    let table = SieveTable::new(100);
    // base = 2^64 − 101: candidates up to 2^64 − 1, i.e. j ≤ 50.
    let base = vec![u64::MAX - 100];
    let segment = Segment::sieve(&table, Zeroizing::new(base), 64, 1000);
    assert!(segment.last);
    assert!(segment.survivors.iter().all(|&j| j <= 50));
    assert!(!segment.survivors.contains(&50)); // 2^64 − 1 = 3·5·17·257·641·65537·6700417
    assert!(segment.survivors.contains(&21)); // 2^64 − 59 is prime
    assert_eq!(headroom(&[u64::MAX - 100], 64), 100);
    assert_eq!(headroom(&[5, 0], 70), u64::MAX);
    assert_eq!(headroom(&[5, (1 << 6) - 1], 70), u64::MAX - 5);
}

#[test]
fn montgomery_squaring_and_doubling_match_crypto_bigint() {
    fn check<const N: usize>(rng: &mut StdRng) {
        for round in 0..300 {
            let mut n: [u64; N] = std::array::from_fn(|_| rng.next_u64());
            n[0] |= 1;
            n[N - 1] |= 1 << 63;
            if round == 0 {
                n = [u64::MAX; N];
            }
            let n_big = to_uint(&n);
            let nz = NonZero::new(n_big.clone()).unwrap();
            let mut reduce = |edge: u64| -> [u64; N] {
                let w: [u64; N] = match edge {
                    0 => [0; N],
                    1 => {
                        let mut m = n;
                        m[0] -= 1;
                        m
                    }
                    _ => std::array::from_fn(|_| rng.next_u64()),
                };
                let r = to_uint(&w).rem(&nz);
                std::array::from_fn(|i| r.as_words()[i])
            };
            let a = reduce(round % 7);
            let n_inv = mont::neg_inverse(n[0]);
            assert_eq!(n[0].wrapping_mul(n_inv), u64::MAX);
            // Reference: a²·R^(−1) mod n, with R^(−1) computed by crypto-bigint.
            let r = BoxedUint::one_with_precision(64 * N as u32 + 64)
                .shl_vartime(64 * N as u32)
                .unwrap()
                .rem(&NonZero::new(n_big.resize(64 * N as u32 + 64)).unwrap())
                .resize(64 * N as u32);
            let r_inv = r.invert_mod(&nz).unwrap();
            let want_sq = to_uint(&a).mul_mod(&to_uint(&a), &nz).mul_mod(&r_inv, &nz);
            assert_eq!(to_uint(&mont::square(&a, &n, n_inv)), want_sq);
            let want_double = to_uint(&a).add_mod(&to_uint(&a), &nz);
            assert_eq!(to_uint(&mont::double_if(&a, 1, &n)), want_double);
            assert_eq!(mont::double_if(&a, 0, &n), a);
        }
    }
    let mut rng = StdRng::seed_from_u64(4);
    check::<1>(&mut rng);
    check::<2>(&mut rng);
    check::<16>(&mut rng);
    check::<24>(&mut rng);
    check::<32>(&mut rng);
}

#[test]
fn reciprocal_matches_the_division() {
    let mut rng = StdRng::seed_from_u64(10);
    let edges = [
        1 << 63,
        (1 << 63) + 1,
        u64::MAX,
        u64::MAX - 1,
        0xc000_0000_0000_0000,
    ];
    let random = (0..2000).map(|_| rng.next_u64() | 1 << 63);
    for d in edges.into_iter().chain(random) {
        let want = ((u128::from(!d) << 64) | u128::from(u64::MAX)) / u128::from(d);
        assert_eq!(u128::from(mont::reciprocal(d)), want, "{d:x}");
    }
}

#[test]
fn shifts_modulo_n_match_crypto_bigint() {
    fn check<const N: usize>(rng: &mut StdRng) {
        for round in 0..400 {
            let mut n: [u64; N] = std::array::from_fn(|_| rng.next_u64());
            match round % 5 {
                0 => n = [u64::MAX; N],
                1 => {
                    n = [0; N];
                    n[N - 1] = 1 << 63;
                }
                2 => n[N - 1] = 1 << 63,
                _ => {}
            }
            n[0] |= 1;
            n[N - 1] |= 1 << 63;
            let nz = NonZero::new(to_uint(&n).resize(64 * N as u32 + 64)).unwrap();
            let a: [u64; N] = match round % 4 {
                0 => [0; N],
                1 => {
                    let mut m = n;
                    m[0] -= 1;
                    m
                }
                _ => {
                    let w: [u64; N] = std::array::from_fn(|_| rng.next_u64());
                    let r = to_uint(&w).resize(64 * N as u32 + 64).rem(&nz);
                    std::array::from_fn(|i| r.as_words()[i])
                }
            };
            let v = mont::reciprocal(n[N - 1]);
            for k in [0, 1, 2, 31, 62, 63, rng.next_u32() % 64] {
                let want = to_uint(&a)
                    .resize(64 * N as u32 + 64)
                    .shl_vartime(k)
                    .unwrap()
                    .rem(&nz)
                    .resize(64 * N as u32);
                let got = mont::shl_mod(&a, k, &n, v);
                assert_eq!(to_uint(&got), want, "k = {k}, a = {a:x?}, n = {n:x?}");
            }
        }
    }
    let mut rng = StdRng::seed_from_u64(11);
    check::<1>(&mut rng);
    check::<2>(&mut rng);
    check::<8>(&mut rng);
    check::<16>(&mut rng);
    check::<32>(&mut rng);
}

#[test]
fn windows_and_bit_by_bit_agree() {
    fn check<const N: usize>(rng: &mut StdRng, rounds: usize) {
        let never = || false;
        for round in 0..rounds {
            let s = 1 + round % 12;
            let n: [u64; N] = random_odd_with_s(rng, N, s).try_into().unwrap();
            assert_eq!(
                mont::miller_rabin_base_2_with(&n, &never, true),
                mont::miller_rabin_base_2_with(&n, &never, false),
                "{n:x?}"
            );
        }
        for s in [1, 5, 63].into_iter().filter(|&s| s < 64 * N - 8) {
            let p: [u64; N] = random_prime_with_s(rng, N, s).try_into().unwrap();
            assert_eq!(mont::miller_rabin_base_2_with(&p, &never, true), Some(true));
        }
    }
    let mut rng = StdRng::seed_from_u64(12);
    check::<1>(&mut rng, 2000);
    check::<2>(&mut rng, 2000);
    check::<4>(&mut rng, 300);
    check::<16>(&mut rng, 200);
}

#[test]
fn jacobi_symbols_match_euler_criterion() {
    // (a/p) ≡ a^((p−1)/2) (mod p) for odd primes p.
    let pow = |a: u64, e: u64, m: u64| {
        let (mut r, mut b, mut e) = (1u128, u128::from(a % m), e);
        while e > 0 {
            if e & 1 == 1 {
                r = r * b % u128::from(m);
            }
            b = b * b % u128::from(m);
            e >>= 1;
        }
        r as u64
    };
    for p in odd_primes_up_to(2000) {
        for a in 0..200u64 {
            let euler = match pow(a, (u64::from(p) - 1) / 2, u64::from(p)) {
                0 => 0,
                1 => 1,
                _ => -1,
            };
            assert_eq!(jacobi_words(a, u64::from(p)), euler, "({a}/{p})");
            assert_eq!(
                jacobi_of_small(a, false, &[u64::from(p)]),
                euler,
                "({a}/{p})"
            );
            let minus = jacobi_words(u64::from(p) - a % u64::from(p), u64::from(p));
            assert_eq!(
                jacobi_of_small(a, true, &[u64::from(p)]),
                minus,
                "(−{a}/{p})"
            );
        }
    }
    // Multiplicative in the denominator, across several words.
    let mut rng = StdRng::seed_from_u64(13);
    for _ in 0..200 {
        let words = random_words(&mut rng, 4);
        let mut n = to_uint(&words);
        n.set_bit_vartime(0, true);
        for a in [2u64, 3, 5, 6, 7, 11, 12, 13, 1 << 40] {
            let r = n
                .rem(&NonZero::new(BoxedUint::from(a * 8)).unwrap())
                .as_words()[0];
            // (a/n) by reciprocity on n mod 8a, which determines it.
            let small = jacobi_of_small(a, false, &[r + 8 * a]);
            assert_eq!(jacobi_of_small(a, false, n.as_words()), small);
        }
    }
}

#[test]
fn montgomery_products_match_crypto_bigint() {
    fn check<const N: usize>(rng: &mut StdRng) {
        for round in 0..300 {
            let mut n: [u64; N] = std::array::from_fn(|_| rng.next_u64());
            if round == 0 {
                n = [u64::MAX; N];
            }
            n[0] |= 1;
            n[N - 1] |= 1 << 63;
            let wide = 64 * N as u32 + 64;
            let nz = NonZero::new(to_uint(&n)).unwrap();
            let nz_wide = NonZero::new(to_uint(&n).resize(wide)).unwrap();
            let mut element = |edge: usize| -> [u64; N] {
                let w: [u64; N] = match edge {
                    0 => [0; N],
                    1 => {
                        let mut m = n;
                        m[0] -= 1;
                        m
                    }
                    _ => std::array::from_fn(|_| rng.next_u64()),
                };
                let r = to_uint(&w).resize(wide).rem(&nz_wide);
                std::array::from_fn(|i| r.as_words()[i])
            };
            let a = element(round % 5);
            let b = element(round % 7);
            let c_random = rng.next_u64() >> 1;
            let r = BoxedUint::one_with_precision(wide)
                .shl_vartime(64 * N as u32)
                .unwrap()
                .rem(&nz_wide)
                .resize(64 * N as u32);
            let r_inv = r.invert_mod(&nz).unwrap();
            let n_inv = mont::neg_inverse(n[0]);
            let want = to_uint(&a).mul_mod(&to_uint(&b), &nz).mul_mod(&r_inv, &nz);
            assert_eq!(to_uint(&mont::mul(&a, &b, &n, n_inv)), want);
            let want = to_uint(&a).sub_mod(&to_uint(&b), &nz);
            assert_eq!(to_uint(&mont::sub_mod(&a, &b, &n)), want);
            let v = mont::reciprocal(n[N - 1]);
            for c in [0, 1, 5, 7, (1 << 62) - 1, c_random] {
                let want = to_uint(&a).mul_mod(&BoxedUint::from(c).resize(64 * N as u32), &nz);
                assert_eq!(to_uint(&mont::mul_small(&a, c, &n, v)), want, "c = {c}");
            }
        }
    }
    let mut rng = StdRng::seed_from_u64(14);
    check::<1>(&mut rng);
    check::<2>(&mut rng);
    check::<8>(&mut rng);
    check::<16>(&mut rng);
    check::<32>(&mut rng);
}

/// A random odd number of `64·limbs` bits with its top bit set and `v2(n + 1) = s`.
fn random_odd_with_s_plus(rng: &mut StdRng, limbs: usize, s: usize) -> Vec<u64> {
    let mut n = random_words(rng, limbs);
    for bit in 0..s {
        n[bit / 64] |= 1 << (bit % 64);
    }
    n[s / 64] &= !(1 << (s % 64));
    n[limbs - 1] |= 1 << 63;
    n
}

fn crypto_primes_lucas(words: &[u64]) -> bool {
    lucas_test(
        Odd::new(to_uint(words)).unwrap(),
        AStarBase,
        LucasCheck::Bpsw21,
    )
    .is_probably_prime()
}

/// Cross-checks the constant-time Lucas test against crypto-primes' on random odd numbers
/// (half of them free of small factors) and primes with varied `s` (of n + 1). Random odd
/// numbers are almost never pseudoprimes: the pseudoprimes are in the corpus tests
/// (`corpus_tests`).
fn check_lucas(rng: &mut StdRng, limbs: usize, rounds: usize) {
    let small = SieveTable::new(5000);
    let mut residues = Vec::new();
    let mut primes = 0;
    for round in 0..rounds {
        let s = match round % 4 {
            0 => 1,
            1 => 1 + rng.next_u32() as usize % 8,
            2 => 60 + rng.next_u32() as usize % 10,
            // Leave a random word above the fixed bits, for the loop below.
            _ => 1 + rng.next_u32() as usize % (64 * limbs - 128),
        };
        // Half random odd numbers, half numbers without small factors (primes among them).
        let n = loop {
            let n = random_odd_with_s_plus(rng, limbs, s);
            small.residues(&n, &mut residues);
            if round % 2 == 0 || !residues.contains(&0) {
                break n;
            }
        };
        let want = crypto_primes_lucas(&n);
        assert_eq!(confirm(&to_uint(&n)), want, "s = {s}: {n:x?}");
        primes += usize::from(want);
    }
    // Then primes with several s, until enough were seen.
    let mut s = [1, 2, 3, 7, 63].into_iter().cycle();
    while primes < 5 {
        let s = s.next().unwrap();
        let n = random_odd_with_s_plus(rng, limbs, s);
        small.residues(&n, &mut residues);
        if !residues.contains(&0) && crypto_primes::is_prime(Flavor::Any, &to_uint(&n)) {
            assert!(confirm(&to_uint(&n)), "s = {s}: {n:x?}");
            primes += 1;
        }
    }
}

#[test]
fn lucas_test_matches_crypto_primes() {
    let mut rng = StdRng::seed_from_u64(15);
    let rounds = 120;
    check_lucas(&mut rng, 8, rounds);
    check_lucas(&mut rng, 16, rounds);
    check_lucas(&mut rng, 24, rounds / 3);
    check_lucas(&mut rng, 32, rounds / 3);
    // Both bases: P = 1 (Selfridge) and P = Q = 5 (A*, when Selfridge gives Q = −1).
    let mut seen = [false; 2];
    while seen != [true; 2] {
        let s = 1 + rng.next_u32() as usize % 5;
        let p = random_prime_with_s(&mut rng, 16, s);
        let odd = Odd::new(to_uint(&p)).unwrap();
        let (base_p, _, _) = AStarBase.generate(&odd).unwrap();
        seen[usize::from(base_p == 5)] = true;
        assert!(confirm(&to_uint(&p)));
    }
}

fn crypto_primes_mr(words: &[u64]) -> bool {
    MillerRabin::new(Odd::new(to_uint(words)).unwrap())
        .test_base_two()
        .is_probably_prime()
}

/// A random odd number of `64·limbs` bits with its top bit set and `v2(n − 1) = s`.
fn random_odd_with_s(rng: &mut StdRng, limbs: usize, s: usize) -> Vec<u64> {
    let mut n = random_words(rng, limbs);
    n[0] |= 1;
    for bit in 1..s {
        n[bit / 64] &= !(1 << (bit % 64));
    }
    n[s / 64] |= 1 << (s % 64);
    n[limbs - 1] |= 1 << 63;
    n
}

/// A random prime of `64·limbs` bits with `v2(p − 1) = s`.
fn random_prime_with_s(rng: &mut StdRng, limbs: usize, s: usize) -> Vec<u64> {
    let small = SieveTable::new(5000);
    let mut residues = Vec::new();
    loop {
        let n = random_odd_with_s(rng, limbs, s);
        small.residues(&n, &mut residues);
        if residues.contains(&0) {
            continue;
        }
        if crypto_primes::is_prime(Flavor::Any, &to_uint(&n)) {
            return n;
        }
    }
}

/// Cross-checks the constant-time test against crypto-primes' on `rounds` random odd
/// numbers of `N` words with varied `s`, and on primes with varied `s`.
fn check_miller_rabin<const N: usize>(rng: &mut StdRng, rounds: usize) {
    let never = || false;
    let mut passed = 0;
    for round in 0..rounds {
        let max_s = 64 * N - 2;
        let s = match round % 4 {
            0 => 1,
            1 => 1 + rng.next_u32() as usize % 8,
            2 => 1 + rng.next_u32() as usize % 70.min(max_s),
            _ => 1 + rng.next_u32() as usize % max_s,
        };
        let n = random_odd_with_s(rng, N, s);
        let ours = mont::miller_rabin_base_2::<N>(&n.clone().try_into().unwrap(), &never);
        assert_eq!(ours, Some(crypto_primes_mr(&n)), "{n:x?}");
        passed += usize::from(ours == Some(true));
    }
    // Random odd numbers are almost all composite.
    assert!(passed <= rounds / 8 + 1, "{passed} of {rounds}");
    for s in [1, 2, 3, 7, 63, 64, 65, 100]
        .into_iter()
        .filter(|&s| s < 64 * N - 8)
    {
        let p = random_prime_with_s(rng, N, s);
        let ours = mont::miller_rabin_base_2::<N>(&p.clone().try_into().unwrap(), &never);
        assert_eq!(ours, Some(true), "s = {s}: {p:x?}");
    }
}

#[test]
fn miller_rabin_matches_crypto_primes_on_small_sizes() {
    let mut rng = StdRng::seed_from_u64(5);
    check_miller_rabin::<1>(&mut rng, 3000);
    check_miller_rabin::<2>(&mut rng, 2000);
    check_miller_rabin::<4>(&mut rng, 500);
}

#[test]
fn miller_rabin_matches_crypto_primes_on_key_sizes() {
    // Each test costs ~10 ms unoptimised at 1024 bits: a few of each; `cargo test
    // --release` runs the same code optimised.
    let mut rng = StdRng::seed_from_u64(6);
    let rounds = 200;
    check_miller_rabin::<8>(&mut rng, rounds);
    check_miller_rabin::<16>(&mut rng, rounds);
    check_miller_rabin::<24>(&mut rng, rounds / 2);
    check_miller_rabin::<32>(&mut rng, rounds / 2);
    // The dispatch: top bit clear, or an unsupported size, goes to crypto-primes.
    let never = || false;
    for limbs in [3, 16, 20] {
        let mut p = random_prime_with_s(&mut rng, limbs, 1);
        assert_eq!(quick_test(&p, &never), Some(true));
        p[limbs - 1] >>= 1;
        assert_eq!(quick_test(&p, &never), Some(crypto_primes_mr(&p)));
    }
    assert_eq!(quick_test(&[2047], &never), Some(true)); // 23·89, a base-2 spsp
    assert_eq!(quick_test(&[2049], &never), Some(false));
    assert_eq!(quick_test(&[u64::MAX; 16], &|| true), None);
}

/// Base-2 strong pseudoprimes `n = p·(2p − 1)`: the constant-time test must let them through
/// exactly when crypto-primes' Miller-Rabin does, and the final confirmation must stop them.
#[test]
fn strong_pseudoprimes_pass_miller_rabin_and_fail_the_confirmation() {
    fn find<const N: usize>(rng: &mut StdRng) -> usize {
        let never = || false;
        let mut found = 0;
        let half_bits = 32 * N as u32;
        for _ in 0..200_000 {
            // p of half the size with p ≡ 1 (mod 4), so that 2 is a square modulo
            // q = 2p − 1 ≡ 1 (mod 8); n = p·q has 64·N bits for 2^(32N−1) ≤ p < 2^(32N−½).
            let mut p = BoxedUint::random_bits(rng, half_bits);
            p.set_bit_vartime(half_bits - 1, true);
            p.set_bit_vartime(half_bits - 2, false);
            p.set_bit_vartime(0, true);
            p.set_bit_vartime(1, false);
            let wide = 64 * N as u32 + 64;
            let p = p.resize(wide);
            let q = p.shl_vartime(1).unwrap().wrapping_sub(BoxedUint::one());
            let n = p.wrapping_mul(&q);
            if n.bit_width_vartime() != 64 * N as u32 {
                continue;
            }
            if !crypto_primes::is_prime(Flavor::Any, &p)
                || !crypto_primes::is_prime(Flavor::Any, &q)
            {
                continue;
            }
            let n = n.resize(64 * N as u32);
            let words: [u64; N] = n.as_words().try_into().unwrap();
            let theirs = crypto_primes_mr(&words);
            assert_eq!(mont::miller_rabin_base_2::<N>(&words, &never), Some(theirs));
            if theirs {
                assert!(!crypto_primes::is_prime(Flavor::Any, &n));
                assert!(!confirm(&n));
                found += 1;
                if found == 3 {
                    break;
                }
            }
        }
        found
    }
    let mut rng = StdRng::seed_from_u64(9);
    assert!(find::<1>(&mut rng) > 0);
    assert!(find::<2>(&mut rng) > 0);
}

#[test]
fn search_finds_the_first_prime_whatever_the_threads() {
    let table = SieveTable::default_table();
    let mut rng = StdRng::seed_from_u64(6);
    let starts: Vec<_> = (0..4).map(|_| (512, random_start(&mut rng, 512))).collect();
    let one = search_primes(table, &starts, NonZeroUsize::MIN).unwrap();
    let three = search_primes(table, &starts, NonZeroUsize::new(3).unwrap()).unwrap();
    assert_eq!(one, three);
    for ((_, start), prime) in starts.iter().zip(&one) {
        let prime = prime.as_ref().unwrap();
        assert!(crypto_primes::is_prime(Flavor::Any, prime));
        // No prime between the start and the one found.
        let mut c = to_uint(start);
        while c < *prime {
            assert!(!crypto_primes::is_prime(Flavor::Any, &c), "{c}");
            c = c.wrapping_add(BoxedUint::from(2u64));
        }
    }
}

#[test]
fn search_reports_an_exhausted_range() {
    let table = SieveTable::new(1000);
    // The odd numbers from 2^64 − 57 up are 2^64 − 57, …, 2^64 − 1: the primes below 2^64
    // closest to it are 2^64 − 59 and 2^64 − 83, so there is none.
    let starts = vec![(64, Zeroizing::new(vec![u64::MAX - 56]))];
    let found = search_primes(&table, &starts, NonZeroUsize::new(2).unwrap()).unwrap();
    assert_eq!(found, vec![None]);
    let starts = vec![(64, Zeroizing::new(vec![u64::MAX - 90]))];
    let found = search_primes(&table, &starts, NonZeroUsize::new(2).unwrap()).unwrap();
    assert_eq!(found, vec![Some(BoxedUint::from(u64::MAX - 82))]);
}

#[test]
fn pairs_too_close_are_refused() {
    let mut rng = StdRng::seed_from_u64(7);
    let table = SieveTable::default_table();
    let starts: Vec<_> = (0..2)
        .map(|_| (1024, random_start(&mut rng, 1024)))
        .collect();
    let found = search_primes(table, &starts, NonZeroUsize::new(2).unwrap()).unwrap();
    let (p, q) = (found[0].clone().unwrap(), found[1].clone().unwrap());
    assert!(acceptable_pair(&p, &q, 1024));
    assert!(!acceptable_pair(&p, &p, 1024));
    let close = p.wrapping_add(
        BoxedUint::one_with_precision(1024)
            .shl_vartime(923)
            .unwrap(),
    );
    assert!(!acceptable_pair(&p, &close, 1024));
    assert!(!acceptable_pair(&close, &p, 1024));
    let far = p.wrapping_add(
        BoxedUint::one_with_precision(1024)
            .shl_vartime(926)
            .unwrap(),
    );
    assert!(acceptable_pair(&p, &far, 1024));
    // e | p − 1 is refused: p' = p − (p mod e) + 1 ≡ 1 (mod e).
    let e = NonZero::new(BoxedUint::from(PUBLIC_EXPONENT)).unwrap();
    let one_mod_e = p.wrapping_sub(p.rem(&e)).wrapping_add(BoxedUint::one());
    assert!(!acceptable_pair(&one_mod_e, &q, 1024));
    assert!(!acceptable_pair(&q, &one_mod_e, 1024));
}

#[test]
fn keys_match_rsa_0_10() {
    // Same seed: same primes as rsa's own PrivateKey::new, for any number of threads.
    for (seed, bits, threads) in [(11, 2048, 1), (12, 2048, 2), (13, 3072, 3)] {
        let threads = NonZeroUsize::new(threads).unwrap();
        let ours = generate_rsa(&[bits], &mut StdRng::seed_from_u64(seed), threads).unwrap();
        let theirs = rsa::PrivateKey::new(&mut StdRng::seed_from_u64(seed), bits).unwrap();
        assert_eq!(ours, [rsa_with_lambda(&theirs)]);
    }
}

/// rsa 0.10's key with d recomputed modulo λ(n), as from_p_q does.
fn rsa_with_lambda(key: &rsa::PrivateKey) -> rsa::PrivateKey {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let primes = key.primes();
    rsa::PrivateKey::from_p_q(
        primes[0].as_ref().clone(),
        primes[1].as_ref().clone(),
        key.e().clone(),
    )
    .unwrap()
}

/// Sizes that are not a multiple of 128 bits (primes of sizes the fast tests do not cover,
/// p and q of different sizes) make valid keys, those of rsa 0.10 for a seed: a batch from one
/// RNG is the keys of successive calls.
#[test]
fn odd_sizes_make_the_keys_of_rsa_0_10() {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let sizes = [2050, 2049, 2048];
    let ours = generate_rsa(&sizes, &mut StdRng::seed_from_u64(21), NonZeroUsize::MIN).unwrap();
    let mut rng = StdRng::seed_from_u64(21);
    for (key, bits) in ours.iter().zip(sizes) {
        key.validate().unwrap();
        assert_eq!(key.n().as_ref().bit_width_vartime() as usize, bits);
        let primes = key.primes();
        assert_eq!(primes[0].as_ref().bit_width_vartime() as usize, bits / 2);
        assert_eq!(
            primes[1].as_ref().bit_width_vartime() as usize,
            bits - bits / 2
        );
        let theirs = rsa::PrivateKey::new(&mut rng, bits).unwrap();
        assert_eq!(*key, rsa_with_lambda(&theirs), "RSA-{bits}");
    }
}

#[test]
fn sizes_out_of_range_are_refused() {
    let mut rng = StdRng::seed_from_u64(8);
    for bits in [0, 1024, 2047, 8193, usize::MAX] {
        for threads in [1, 2] {
            let threads = NonZeroUsize::new(threads).unwrap();
            match generate_rsa(&[2048, bits], &mut rng, threads) {
                Err(Failure::UnsupportedSize { bits: b }) => assert_eq!(b, bits),
                other => panic!("RSA-{bits}: {other:?}"),
            }
        }
    }
    assert!(
        generate_rsa(&[], &mut rng, NonZeroUsize::MIN)
            .unwrap()
            .is_empty()
    );
}

/// The failure's message is its own, its cause (for `rsa`'s refusal) the source, not repeated.
#[test]
fn failures_say_what_failed_without_repeating_the_cause() {
    use std::error::Error as _;
    let rejected = Failure::Rejected(rsa::Error::InvalidPrime);
    let source = rejected.source().expect("rsa's error as the source");
    assert!(!rejected.to_string().contains(&source.to_string()));
    assert!(rejected.to_string().contains("bug"), "{rejected}");
    assert!(Failure::FinalCheck.source().is_none());
    let size = Failure::UnsupportedSize { bits: 1024 };
    assert!(size.to_string().contains("RSA-1024") && size.source().is_none());
}
