//! The regression corpus of the primality tests (`tests/data/keygen/corpus.toml`, made by
//! `generate.py` beside it): base-2 strong pseudoprimes of the key sizes, primes at the
//! low-word corner, and Lucas cases that exactly one of the three checks of Baillie, Fiori and
//! Wagstaff (2021) rejects. Every claim of the file is first re-checked here with
//! `crypto-primes` and `crypto-bigint`; then the shipped tests must give the right answer on
//! each entry, so that removing any one of their checks makes a test fail.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd, Resize};
use crypto_primes::Flavor;
use crypto_primes::hazmat::{AStarBase, LucasBase, LucasCheck, MillerRabin, Primality, lucas_test};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::Failure;
use super::lucas;
use super::mont;
use super::primality::{
    by_size, confirm, final_check, jacobi_of_small, quick_test, strong_probable_prime_ct,
};
use super::search::{search_primes, search_primes_with};
use super::sieve::SieveTable;

#[derive(Debug, Deserialize)]
struct Corpus {
    spsp: Vec<Spsp>,
    corner_prime: Vec<CornerPrime>,
    lucas: Vec<LucasCase>,
}

/// `n = p·q`, `q = 2p − 1`: a Fermat pseudoprime to base 2, strong if `strong`.
#[derive(Debug, Deserialize)]
struct Spsp {
    bits: u32,
    corner: bool,
    strong: bool,
    p: String,
    q: String,
    n: String,
}

/// A prime with `v2(n − 1) = s` (`side = "minus"`) or `v2(n + 1) = s` (`"plus"`).
#[derive(Debug, Deserialize)]
struct CornerPrime {
    bits: u32,
    side: String,
    s: u32,
    n: String,
}

/// `n = p·q`, `q = 2p + 3`, and a base `(P, Q)` that only the check `fails` rejects.
#[derive(Debug, Deserialize)]
struct LucasCase {
    bits: u32,
    corner: bool,
    fails: String,
    astar: bool,
    base_p: u64,
    base_q: i64,
    p: String,
    q: String,
    n: String,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/keygen/corpus.toml"
        ));
        toml::from_str(text).expect("corpus.toml parses")
    })
}

/// The little-endian words of a hexadecimal number, `bits.div_ceil(64)` of them.
fn words(hex: &str, bits: u32) -> Vec<u64> {
    let digits = hex.as_bytes();
    let mut out = vec![0u64; bits.div_ceil(64) as usize];
    for (i, chunk) in digits.rchunks(16).enumerate() {
        let chunk = std::str::from_utf8(chunk).expect("ASCII");
        out[i] = u64::from_str_radix(chunk, 16).expect("hex");
    }
    out
}

fn uint(hex: &str, bits: u32) -> BoxedUint {
    BoxedUint::from_words(words(hex, bits))
}

fn is_prime(n: &BoxedUint) -> bool {
    crypto_primes::is_prime(Flavor::Any, n)
}

fn v2(n: &BoxedUint) -> u32 {
    n.trailing_zeros()
}

/// A fixed Lucas base, for `crypto-primes`' `lucas_test`.
struct FixedBase(u64, i64);

impl LucasBase for FixedBase {
    fn generate<T: crypto_bigint::UnsignedWithMontyForm>(
        &self,
        _n: &Odd<T>,
    ) -> Result<(u64, u64, bool), Primality> {
        Ok((self.0, self.1.unsigned_abs(), self.1 < 0))
    }
}

fn lucas_base(n: &[u64], p: u64, q: i64) -> lucas::LucasBase {
    let jacobi = jacobi_of_small(q.unsigned_abs(), q < 0, n);
    assert_ne!(jacobi, 0);
    lucas::LucasBase {
        p,
        abs_q: q.unsigned_abs(),
        q_negative: q < 0,
        q_jacobi_negative: jacobi < 0,
    }
}

/// Euler's criterion for Q: `Q^((n+1)/2) ≡ Q·(Q/n) (mod n)`, with crypto-bigint.
fn euler_criterion(n: &BoxedUint, q: i64) -> bool {
    let params = BoxedMontyParams::new(Odd::new(n.clone()).unwrap());
    let precision = n.bits_precision();
    let abs_q = BoxedMontyForm::new(BoxedUint::from(q.unsigned_abs()).resize(precision), &params);
    let q_m = if q < 0 { -&abs_q } else { abs_q };
    let e = n.wrapping_add(BoxedUint::one()).shr(1);
    let lhs = q_m.pow(&e);
    let jacobi = jacobi_of_small(q.unsigned_abs(), q < 0, n.as_words());
    let rhs = if jacobi < 0 { -&q_m } else { q_m };
    lhs == rhs
}

#[test]
fn the_corpus_is_what_it_claims() {
    let c = corpus();
    for bits in [512, 1024, 1536, 2048] {
        let spsp = c.spsp.iter().filter(|s| s.bits == bits);
        assert!(
            spsp.clone().filter(|s| s.strong && !s.corner).count() >= 2,
            "{bits}"
        );
        assert!(spsp.clone().any(|s| s.strong && s.corner), "{bits}");
        assert!(spsp.clone().any(|s| !s.strong), "{bits}");
        for side in ["minus", "plus"] {
            for s in [63, 64, 65] {
                assert!(
                    c.corner_prime
                        .iter()
                        .any(|p| p.bits == bits && p.side == side && p.s == s),
                    "{bits} {side} {s}"
                );
            }
        }
        for corner in [false, true] {
            assert!(
                c.lucas
                    .iter()
                    .any(|l| l.bits == bits && l.fails == "strong" && l.corner == corner),
                "{bits} {corner}"
            );
        }
    }
    for s in &c.spsp {
        let (p, q, n) = (uint(&s.p, s.bits), uint(&s.q, s.bits), uint(&s.n, s.bits));
        assert!(is_prime(&p) && is_prime(&q));
        assert_eq!(q, p.shl_vartime(1).unwrap().wrapping_sub(BoxedUint::one()));
        assert_eq!(n, p.wrapping_mul(&q));
        assert_eq!(n.bit_width_vartime(), s.bits);
        assert_eq!(v2(&n.wrapping_sub(BoxedUint::one())) >= 64, s.corner);
        let mr = MillerRabin::new(Odd::new(n.clone()).unwrap());
        assert_eq!(mr.test_base_two().is_probably_prime(), s.strong, "{}", s.n);
        // Fermat: 2^(n−1) ≡ 1.
        let params = BoxedMontyParams::new(Odd::new(n.clone()).unwrap());
        let two = BoxedMontyForm::new(BoxedUint::from(2u64).resize(s.bits), &params);
        assert_eq!(
            two.pow(&n.wrapping_sub(BoxedUint::one())).retrieve(),
            BoxedUint::one_with_precision(s.bits)
        );
    }
    for p in &c.corner_prime {
        let n = uint(&p.n, p.bits);
        assert!(is_prime(&n));
        assert_eq!(n.bit_width_vartime(), p.bits);
        let next = if p.side == "minus" {
            n.wrapping_sub(BoxedUint::one())
        } else {
            n.wrapping_add(BoxedUint::one())
        };
        assert_eq!(v2(&next), p.s, "{}", p.n);
    }
    for l in &c.lucas {
        let (p, q, n) = (uint(&l.p, l.bits), uint(&l.q, l.bits), uint(&l.n, l.bits));
        assert!(is_prime(&p) && is_prime(&q));
        let three = BoxedUint::from(3u64).resize(l.bits);
        assert_eq!(q, p.shl_vartime(1).unwrap().wrapping_add(three));
        assert_eq!(n, p.wrapping_mul(&q));
        assert_eq!(n.bit_width_vartime(), l.bits);
        assert_eq!(v2(&n.wrapping_add(BoxedUint::one())) >= 64, l.corner);
        // (D/n) = −1 for D = P² − 4Q.
        let d = i128::from(l.base_p) * i128::from(l.base_p) - 4 * i128::from(l.base_q);
        let abs_d = u64::try_from(d.unsigned_abs()).unwrap();
        assert_eq!(jacobi_of_small(abs_d, d < 0, n.as_words()), -1);
        let odd = Odd::new(n.clone()).unwrap();
        let base = || FixedBase(l.base_p, l.base_q);
        let strong = lucas_test(odd.clone(), base(), LucasCheck::Strong).is_probably_prime();
        let v = lucas_test(odd.clone(), base(), LucasCheck::LucasV).is_probably_prime();
        let euler = euler_criterion(&n, l.base_q);
        let expect = match l.fails.as_str() {
            "strong" => (false, true, true),
            "v" => (true, false, true),
            "euler" => (true, true, false),
            other => panic!("unknown check {other}"),
        };
        assert_eq!((strong, v, euler), expect, "{}", l.n);
        assert!(!lucas_test(odd.clone(), base(), LucasCheck::Bpsw21).is_probably_prime());
        let (ap, aq, aneg) = AStarBase.generate(&odd).unwrap();
        let is_astar = ap == l.base_p && aq == l.base_q.unsigned_abs() && aneg == (l.base_q < 0);
        assert_eq!(is_astar, l.astar);
    }
}

#[test]
fn fast_miller_rabin_lets_the_pseudoprimes_through_and_finds_the_corner_primes() {
    let never = || false;
    let c = corpus();
    for s in &c.spsp {
        let n = words(&s.n, s.bits);
        assert_eq!(quick_test(&n, &never), Some(s.strong), "{}", s.n);
        // The fast path for every size of the corpus, windows or not.
        let by_bits = by_size!(&n[..], mont::miller_rabin_base_2_with, &never, false);
        assert_eq!(by_bits, Some(Some(s.strong)));
    }
    for p in &c.corner_prime {
        let n = words(&p.n, p.bits);
        assert_eq!(quick_test(&n, &never), Some(true), "{}", p.n);
    }
}

#[test]
fn fast_lucas_rejects_the_pseudoprimes_and_finds_the_corner_primes() {
    let c = corpus();
    for s in &c.spsp {
        assert!(!confirm(&uint(&s.n, s.bits)), "{}", s.n);
    }
    for p in &c.corner_prime {
        assert!(confirm(&uint(&p.n, p.bits)), "{}", p.n);
    }
}

#[test]
fn fast_lucas_rejects_each_lucas_case() {
    for l in &corpus().lucas {
        let n = words(&l.n, l.bits);
        let base = lucas_base(&n, l.base_p, l.base_q);
        let ours = by_size!(&n[..], lucas::lucas_bpsw21, base).map(lucas::LucasChecks::passed);
        assert_eq!(ours, Some(false), "{} fails {}", l.n, l.fails);
        if l.astar {
            assert!(!confirm(&uint(&l.n, l.bits)), "{}", l.n);
        }
    }
}

/// The reference outcome of each check for `n` and the base `(P, Q)`: `crypto-primes`'
/// `lucas_test` with `LucasCheck::Strong` and `LucasCheck::LucasV`, and Euler's criterion on
/// `crypto-bigint`.
fn reference_checks(n: &BoxedUint, p: u64, q: i64) -> lucas::LucasChecks {
    let odd = Odd::new(n.clone()).unwrap();
    let base = || FixedBase(p, q);
    lucas::LucasChecks {
        strong: lucas_test(odd.clone(), base(), LucasCheck::Strong).is_probably_prime(),
        v: lucas_test(odd, base(), LucasCheck::LucasV).is_probably_prime(),
        euler: euler_criterion(n, q),
    }
}

/// Composites of one word (the smallest size the fast Lucas test runs at, one limb) with a
/// base `(P, Q)`, `(D/n) = −1`, that pass the strong check: `n = 222510401 · 60950142049`
/// fails the V and Euler checks, `n = 54100801 · 199437621167` passes all three (a strong
/// Lucas and Euler pseudoprime for this base, which is not its A* base). Found among products
/// of two prime factors of `U_ω(P, Q)`, ω < 90, small P and Q, by the checks of
/// `tests/data/keygen/generate.py`, and re-checked here with `crypto-primes`.
const ONE_WORD_LUCAS: [(u64, u64, i64); 2] = [
    (13_562_040_548_329_951_649, 6, 2),
    (10_789_735_054_669_254_767, 10, -1),
];

/// Each check of the fast Lucas test gives the reference's answer, one by one, on the corpus'
/// composites (only the strong check fails), its primes (all pass; with an inverted `(Q/n)`
/// only the Euler check fails) and composites of one word that pass the strong check and fail
/// both others, or none: removing or breaking the computation of any one check changes one
/// of these. (No composite fails the V check alone, see [`lucas::lucas_bpsw21`]: that the
/// V check's failure alone rejects is [`lucas_verdict_needs_every_check`].)
#[test]
fn fast_lucas_computes_each_check() {
    for l in &corpus().lucas {
        let n = words(&l.n, l.bits);
        let ours = by_size!(
            &n[..],
            lucas::lucas_bpsw21,
            lucas_base(&n, l.base_p, l.base_q)
        );
        let theirs = reference_checks(&uint(&l.n, l.bits), l.base_p, l.base_q);
        assert_eq!(ours, Some(theirs), "{}", l.n);
    }
    for p in corpus().corner_prime.iter().take(6) {
        let n = words(&p.n, p.bits);
        let odd = Odd::new(BoxedUint::from_words(n.iter().copied())).unwrap();
        let (bp, aq, neg) = AStarBase.generate(&odd).unwrap();
        let q = i64::try_from(aq).unwrap() * if neg { -1 } else { 1 };
        let base = lucas_base(&n, bp, q);
        let all = lucas::LucasChecks {
            strong: true,
            v: true,
            euler: true,
        };
        assert_eq!(by_size!(&n[..], lucas::lucas_bpsw21, base), Some(all));
        let flipped = lucas::LucasBase {
            q_jacobi_negative: !base.q_jacobi_negative,
            ..base
        };
        let euler_fails = lucas::LucasChecks {
            euler: false,
            ..all
        };
        assert_eq!(
            by_size!(&n[..], lucas::lucas_bpsw21, flipped),
            Some(euler_fails)
        );
    }
    let mut seen = Vec::new();
    for (n, p, q) in ONE_WORD_LUCAS {
        assert!(n >> 63 == 1 && !is_prime(&BoxedUint::from(n)));
        let d = i128::from(p) * i128::from(p) - 4 * i128::from(q);
        let abs_d = u64::try_from(d.unsigned_abs()).unwrap();
        assert_eq!(jacobi_of_small(abs_d, d < 0, &[n]), -1);
        let theirs = reference_checks(&BoxedUint::from(n), p, q);
        assert!(theirs.strong, "{n}");
        assert_eq!(
            lucas::lucas_bpsw21::<1>(&[n], lucas_base(&[n], p, q)),
            theirs,
            "{n}"
        );
        seen.push((theirs.v, theirs.euler));
    }
    assert_eq!(seen, [(false, false), (true, true)]);
}

/// The test passes only if every check passed: each one failing alone rejects.
#[test]
fn lucas_verdict_needs_every_check() {
    for bits in 0..8u8 {
        let checks = lucas::LucasChecks {
            strong: bits & 1 != 0,
            v: bits & 2 != 0,
            euler: bits & 4 != 0,
        };
        assert_eq!(checks.passed(), bits == 7, "{checks:?}");
    }
}

/// Only the Euler criterion looks at `(Q/n)`: a prime with the sign of that symbol inverted
/// passes the strong and V checks and must fail the Euler check. (No composite fails only the
/// Euler check, nor only the V check: given the strong check they are equivalent, see
/// [`lucas::lucas_bpsw21`].)
#[test]
fn fast_lucas_applies_the_euler_criterion() {
    for p in &corpus().corner_prime {
        let n = words(&p.n, p.bits);
        let odd = Odd::new(BoxedUint::from_words(n.iter().copied())).unwrap();
        let (bp, aq, neg) = AStarBase.generate(&odd).unwrap();
        let q = if neg {
            -i64::try_from(aq).unwrap()
        } else {
            i64::try_from(aq).unwrap()
        };
        let base = lucas_base(&n, bp, q);
        assert_eq!(
            by_size!(&n[..], lucas::lucas_bpsw21, base).map(lucas::LucasChecks::passed),
            Some(true)
        );
        let flipped = lucas::LucasBase {
            q_jacobi_negative: !base.q_jacobi_negative,
            ..base
        };
        assert_eq!(
            by_size!(&n[..], lucas::lucas_bpsw21, flipped).map(lucas::LucasChecks::passed),
            Some(false),
            "{}",
            p.n
        );
    }
}

#[test]
fn a_search_started_on_a_pseudoprime_finds_the_next_prime() {
    let table = SieveTable::default_table();
    let starts: Vec<(u32, Zeroizing<Vec<u64>>)> = corpus()
        .spsp
        .iter()
        .filter(|s| s.strong && s.bits <= 1024)
        .map(|s| (s.bits, Zeroizing::new(words(&s.n, s.bits))))
        .collect();
    assert!(starts.len() >= 4);
    let found = search_primes(table, &starts, NonZeroUsize::new(2).unwrap()).unwrap();
    for ((_, start), prime) in starts.iter().zip(found) {
        let prime = prime.expect("a prime");
        assert!(is_prime(&prime));
        let mut c = BoxedUint::from_words(start.iter().copied());
        assert!(c < prime);
        while c < prime {
            assert!(!is_prime(&c), "{c}");
            c = c.wrapping_add(BoxedUint::from(2u64));
        }
    }
}

#[test]
fn the_final_check_passes_primes_and_refuses_pseudoprimes() {
    let c = corpus();
    for p in &c.corner_prime {
        assert!(final_check(&uint(&p.n, p.bits)), "{}", p.n);
    }
    for s in &c.spsp {
        assert!(!final_check(&uint(&s.n, s.bits)), "{}", s.n);
        assert!(final_check(&uint(&s.p, s.bits)) && final_check(&uint(&s.q, s.bits)));
    }
    for l in &c.lucas {
        assert!(!final_check(&uint(&l.n, l.bits)), "{}", l.n);
    }
}

/// The constant-time Miller-Rabin of the final check against crypto-primes' on numbers that
/// pass and fail at every step: strong pseudoprimes to bases 3 and 5, Carmichael numbers,
/// primes and random odd numbers, and the low-word corner.
#[test]
fn the_final_check_matches_crypto_primes() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let reference = |n: &BoxedUint, base: u64| {
        let mr = MillerRabin::new(Odd::new(n.clone()).unwrap());
        mr.test(&BoxedUint::from(base).resize(n.bits_precision()))
            .is_probably_prime()
    };
    // Strong pseudoprimes to base 3 (121, 703, 1891, 3281, 8401, 8911) and 5 (781, 1541,
    // 5461, 5611), Carmichael numbers (561, 1105, 1729), 3215031751 (spsp to 2, 3, 5, 7).
    let small = [
        121u64,
        703,
        1891,
        3281,
        8401,
        8911,
        781,
        1541,
        5461,
        5611,
        561,
        1105,
        1729,
        3_215_031_751,
        25_326_001,
        7,
        11,
        13,
        65_537,
    ];
    for n in small {
        let n = BoxedUint::from(n);
        for base in [3, 5] {
            assert_eq!(
                strong_probable_prime_ct(&n, base),
                reference(&n, base),
                "{n} base {base}"
            );
        }
    }
    assert!(strong_probable_prime_ct(&BoxedUint::from(121u64), 3));
    assert!(strong_probable_prime_ct(&BoxedUint::from(781u64), 5));
    assert!(
        !final_check(&BoxedUint::from(3_215_031_751u64))
            || reference(&BoxedUint::from(3_215_031_751u64), 3)
    );
    let mut rng = StdRng::seed_from_u64(21);
    for round in 0..400 {
        let limbs = [1, 2, 8, 16][round % 4];
        let mut w: Vec<u64> = (0..limbs).map(|_| rng.next_u64()).collect();
        w[0] |= 1;
        if round % 5 == 0 {
            // The low word of n − 1 zero.
            w[0] = 1;
        }
        let n = BoxedUint::from_words(w);
        if n <= BoxedUint::from(7u64) {
            continue;
        }
        for base in [3, 5] {
            assert_eq!(
                strong_probable_prime_ct(&n, base),
                reference(&n, base),
                "{n} base {base}"
            );
        }
    }
}

/// A composite that the search's own tests let through — here a broken strong Lucas test that
/// passes everything, given a base-2 strong pseudoprime that the fast Miller-Rabin test lets
/// through — fails the final check, and the search fails with an error instead of returning
/// it, which `rsa`'s own construction would not do: it accepts the composite.
#[test]
fn a_composite_prime_makes_keygen_fail() {
    let c = corpus();
    let s = c
        .spsp
        .iter()
        .find(|s| s.strong && s.bits == 1024)
        .expect("a 1024-bit pseudoprime");
    let composite = uint(&s.n, 1024);
    let prime_n = &c
        .corner_prime
        .iter()
        .find(|p| p.bits == 1024)
        .expect("a 1024-bit prime")
        .n;
    let prime = uint(prime_n, 1024);
    // Without the final check, the key would be made.
    let e = BoxedUint::from(super::PUBLIC_EXPONENT);
    assert!(rsa::PrivateKey::from_p_q(composite.clone(), prime.clone(), e).is_ok());
    let table = SieveTable::default_table();
    let bad = (1024, Zeroizing::new(words(&s.n, 1024)));
    let good = (1024, Zeroizing::new(words(prime_n, 1024)));
    let broken_lucas = |_: &BoxedUint| true;
    for threads in [1, 2] {
        let threads = NonZeroUsize::new(threads).unwrap();
        // The composite first or second, alongside a search that finds a prime.
        for starts in [
            vec![bad.clone(), good.clone()],
            vec![good.clone(), bad.clone()],
        ] {
            match search_primes_with(table, &starts, threads, &broken_lucas) {
                Err(e @ Failure::FinalCheck) => {
                    assert!(e.to_string().contains("final Miller-Rabin check"), "{e}");
                }
                other => panic!("expected the final check to fail, got {other:?}"),
            }
        }
        // With the good start alone, the broken test still finds the prime (the final check
        // passes primes), and with the real test the pseudoprime start finds the next prime.
        let found =
            search_primes_with(table, std::slice::from_ref(&good), threads, &broken_lucas).unwrap();
        assert_eq!(found, vec![Some(prime.clone())]);
        let found = search_primes(table, std::slice::from_ref(&bad), threads).unwrap();
        assert!(found[0].as_ref().is_some_and(|p| *p > composite));
    }
}
