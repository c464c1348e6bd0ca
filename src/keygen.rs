//! Fast RSA key generation: a deep sieve and a pool of threads searching for primes.
//!
//! [`KeyGenerator`] makes the same keys as `rsa` 0.10's `PrivateKey::new`, in a fraction of the
//! time. For a key of `bits` bits it draws two random odd starts of `bits / 2` bits with their top
//! two bits set (so that `n = p·q` has exactly `bits` bits), and looks for the first prime at or
//! above each start, stepping by 2 — exactly the search `rsa` 0.10 does, so that with the same
//! seeded random number generator both find the same primes. What differs is how fast:
//!
//! - **A deeper sieve.** Candidates divisible by an odd prime below 2<sup>18</sup> are struck
//!   out before any exponentiation (`rsa` 0.10 stops at 17,863), which removes about a fifth of
//!   the Miller-Rabin tests. The residues of a start modulo the 22,999 sieving primes are
//!   computed a machine word of primes at a time.
//! - **A faster Miller-Rabin test** (base 2) for the common prime sizes (1024, 1536 and 2048
//!   bits): Montgomery arithmetic specialised to the size, a product-scanning squaring with the
//!   reduction interleaved, and the exponent processed in windows of 6 bits whose
//!   multiplication by `2^digit` is a shift and a one-word quotient reduction — a little over
//!   twice as fast as `crypto-primes`' test.
//! - **A pool of threads** ([`KeyGenerator::threads`], by default the available parallelism)
//!   testing the candidates of the searches together, lowest candidate first. The result does not
//!   depend on the number of threads nor on their timing: a prime is only taken once every lower
//!   candidate of its search has been ruled out, and a cancel flag stops tests that can no longer
//!   matter. A batch ([`KeyGenerator::generate_rsa_batch`]) keeps every thread busy across keys.
//!
//! # Strength of the primality test
//!
//! A candidate that passes the Miller-Rabin test (base 2) is then put through a strong Lucas
//! test with the A\* base and the checks of Baillie, Fiori and Wagstaff (2021) — the same test
//! as `crypto-primes`' [`lucas_test`] with [`AStarBase`] and [`LucasCheck::Bpsw21`], whose base
//! selection it reuses, done here in constant time with the Montgomery arithmetic above (a
//! ladder over the bits of `n + 1`; `crypto-primes`' is used for other sizes). The two together
//! are Baillie-PSW as strengthened in 2021 — exactly what [`crypto_primes::is_prime`] runs, and
//! the whole test `rsa` 0.10 applies — without repeating the Miller-Rabin test. No composite is
//! known to pass it.
//!
//! Both halves are this module's own code, so every prime found is then confirmed
//! independently before a key is made from it: Miller-Rabin to the fixed bases 3 and 5 on
//! `crypto-bigint`'s constant-time exponentiation (`BoxedMontyForm::pow`), which shares nothing
//! with this module's arithmetic, p and q in parallel. A prime always passes (the keys stay
//! those of `rsa` 0.10 for a seed); a failure would mean a bug and makes key generation return
//! [`Error::KeyGeneration`] — it fails closed, it does not search again.
//!
//! The tests check both halves against `crypto-primes` on random numbers and primes, and run a
//! regression corpus (`tests/data/keygen/corpus.toml`): base-2 strong and Fermat pseudoprimes
//! of 512 to 2048 bits (the fast Miller-Rabin must let the strong ones through, the fast Lucas
//! test and the final check must stop them, a search started on one must return the next
//! prime), primes and pseudoprimes where the low word of `n ∓ 1` is zero, and Lucas composites
//! that only the strong check rejects. The key is then built by `rsa`'s `PrivateKey::from_p_q`
//! (d = e<sup>−1</sup> mod λ(n)), which validates it, and this module checks
//! `|p − q| > 2^(bits/2 − 100)` (FIPS 186-5, A.1.3) and that e = 65537 is invertible.
//!
//! # Side channels
//!
//! The candidates of a search are `start + 2k` for small `k`: a rejected candidate is not
//! independent of the prime that is eventually found, so the arithmetic on candidates takes
//! the same time whatever their value: the residues modulo the sieving primes (two-by-one-word
//! divisions and Barrett reductions with precomputed reciprocals, no hardware division), the
//! Miller-Rabin and Lucas tests (fixed sequences of Montgomery operations over all the bits of
//! `n ∓ 1`, no early exit on the value; the checks for ±1, resp. 0, are made at every step of
//! the low word — the only place they can matter when that word of `n ∓ 1` is not zero, which
//! is all but a 2^−63 fraction of candidates) and the final check. Every selection and
//! correction on secret data is made with masks that pass through an optimisation barrier
//! (`crypto-bigint`'s `Choice`), and `.ci/check-constant-time.sh` checks the release binary's
//! Montgomery, Miller-Rabin and Lucas functions for conditional jumps on data.
//!
//! What does depend on the secret values, exactly:
//!
//! - **The sieve's memory access pattern.** The marking pass writes the bitmap of struck out
//!   candidates at offsets `(−start/2 mod ℓ) + k·ℓ` for each of the ~23,000 sieving primes ℓ:
//!   the addresses are a function of the start's residues, which a cache-timing attacker on the
//!   same machine could in principle observe and use to learn the start (and so the prime).
//!   `rsa` 0.10 (`crypto-primes`' `SmallFactorsSieve`) leaks at least as much: it tests each
//!   candidate's residues one by one and branches on them, stopping at the first small factor.
//! - **Which candidates are tested, and how many**, which follows from the sieve's pattern and
//!   from where the first prime is.
//! - **The Lucas base**, chosen by `crypto-primes`' A\* method with variable-time Jacobi
//!   symbols `(D/n)` of a few small `D` (run on the prime only, as in `rsa` 0.10), and the
//!   Jacobi symbol `(Q/n)` (by reciprocity from `n mod |Q|`, itself computed in constant time):
//!   they tell a few residues of the prime modulo small numbers (which `D` is the first with
//!   `(D/n) = −1`, and `(Q/n)`), a few bits of information.
//! - **Whether the low word of `n − 1` (or `n + 1`) is zero**, which changes the sequence of
//!   operations, for a 2^−63 fraction of candidates.
//!
//! # Memory
//!
//! Every copy of a start, candidate, prime or residue this module makes on the heap is
//! zeroized when it is dropped, including the copies a prime leaves behind when a lower
//! candidate of its search wins and the arrays of the Montgomery arithmetic. Out of reach:
//! temporaries the compiler keeps on the stack or in registers, and the Montgomery parameters
//! that `crypto-bigint` keeps behind an `Arc` (`BoxedMontyParams`, in the final check, in
//! `crypto-primes`' tests of unusual sizes and in the `rsa` key itself), which it does not
//! zeroize.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use crypto_bigint::{BitOps, BoxedUint, Odd, RandomBits};
use crypto_primes::hazmat::{AStarBase, LucasBase as _, LucasCheck, MillerRabin, lucas_test};
use rand::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::key::PrivateKey;

/// The public exponent of every generated key.
const PUBLIC_EXPONENT: u64 = 65_537;
/// The smallest modulus [`KeyGenerator`] makes (the crate's minimum).
const MIN_BITS: usize = 2048;
/// The largest modulus [`KeyGenerator`] makes (`rsa` 0.10's `PublicKey::MAX_SIZE`).
const MAX_BITS: usize = 8192;
/// Odd primes up to this bound strike out candidates before any exponentiation.
const SIEVE_BOUND: u32 = 1 << 18;
/// FIPS 186-5 A.1.3: `|p − q| > 2^(nlen/2 − 100)`.
const PRIME_DISTANCE_MARGIN: u32 = 100;

/// Generates RSA keys with a pool of threads and a deep sieve.
///
/// The keys are those `rsa` 0.10's `PrivateKey::new` makes from the same random number generator
/// (same primes, same modulus; d is computed modulo λ(n) as FIPS 186-5 asks), whatever the
/// number of threads: see the [module documentation](self) for how, and for the side-channel
/// notes.
///
/// ```
/// use std::num::NonZeroUsize;
/// use etcd_pki::KeyGenerator;
///
/// // All available cores:
/// let key = KeyGenerator::new().generate_rsa(2048, &mut rand::rng())?;
/// assert_eq!(key.bits(), 2048);
///
/// // A fixed number of threads; one thread is fully sequential.
/// let sequential = KeyGenerator::new().with_threads(NonZeroUsize::MIN);
/// assert_eq!(sequential.threads().get(), 1);
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyGenerator {
    threads: NonZeroUsize,
}

impl Default for KeyGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyGenerator {
    /// A generator using as many threads as [`std::thread::available_parallelism`] reported
    /// the first time it was asked (one if it cannot tell).
    #[must_use]
    pub fn new() -> Self {
        static PARALLELISM: OnceLock<NonZeroUsize> = OnceLock::new();
        let threads = *PARALLELISM
            .get_or_init(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
        Self { threads }
    }

    /// The same generator with `threads` worker threads; `1` searches sequentially (on a
    /// thread of its own).
    #[must_use]
    pub const fn with_threads(self, threads: NonZeroUsize) -> Self {
        Self { threads }
    }

    /// The number of worker threads searching for primes.
    #[must_use]
    pub const fn threads(&self) -> NonZeroUsize {
        self.threads
    }

    /// Generates an RSA key with a modulus of exactly `bits` bits and public exponent 65537.
    ///
    /// `rng` is only used on the calling thread, to draw the starts of the prime searches; with
    /// a seeded generator the key is the same for any number of threads. Use a seeded generator
    /// only in tests and benchmarks: a key is only as secret as its random source.
    ///
    /// ```
    /// use etcd_pki::KeyGenerator;
    /// use rand::{SeedableRng, rngs::StdRng};
    ///
    /// let generator = KeyGenerator::new();
    /// let a = generator.generate_rsa(2048, &mut StdRng::seed_from_u64(7))?;
    /// let b = generator.generate_rsa(2048, &mut StdRng::seed_from_u64(7))?;
    /// assert_eq!(a.public_key_der()?, b.public_key_der()?);
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::Unsupported`] if `bits` is below 2048 or above 8192;
    /// - [`Error::KeyGeneration`] if `rsa` rejects the primes found (a bug).
    pub fn generate_rsa<R: CryptoRng + ?Sized>(
        &self,
        bits: usize,
        rng: &mut R,
    ) -> Result<PrivateKey, Error> {
        let mut keys = self.generate_rsa_batch(&[bits], rng)?;
        keys.pop().ok_or_else(|| Error::KeyGeneration {
            source: "no key was generated".into(),
        })
    }

    /// Generates several RSA keys at once, one per entry of `bits` (each a modulus size), in
    /// that order — e.g. the root CA, client and node keys of a cluster.
    ///
    /// The threads search for the primes of all the keys together, so that none waits while
    /// another key is being finished. The starts of all the searches are drawn from `rng` first,
    /// in order: with a seeded generator, the keys are those that `rsa` 0.10's
    /// `PrivateKey::new` makes when called once per key, except in the rare case (about 1 in
    /// 30,000 keys) that a pair of primes has to be replaced because e divides `p − 1` or
    /// `q − 1`.
    ///
    /// ```
    /// use etcd_pki::KeyGenerator;
    ///
    /// let keys = KeyGenerator::new().generate_rsa_batch(&[2048, 2048, 3072], &mut rand::rng())?;
    /// let sizes: Vec<usize> = keys.iter().map(|k| k.bits()).collect();
    /// assert_eq!(sizes, [2048, 2048, 3072]);
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::Unsupported`] if a size is below 2048 or above 8192;
    /// - [`Error::KeyGeneration`] if `rsa` rejects the primes found (a bug).
    pub fn generate_rsa_batch<R: CryptoRng + ?Sized>(
        &self,
        bits: &[usize],
        rng: &mut R,
    ) -> Result<Vec<PrivateKey>, Error> {
        let sizes = bits
            .iter()
            .map(|&b| prime_sizes(b))
            .collect::<Result<Vec<_>, _>>()?;
        let table = SieveTable::default_table();
        let mut keys: Vec<Option<PrivateKey>> = vec![None; bits.len()];
        // Keys still to make: their index and the sizes of their two primes.
        let mut todo: Vec<(usize, (u32, u32))> = sizes.iter().copied().enumerate().collect();
        while !todo.is_empty() {
            // Two starts per key, p's then q's, in key order: what `rsa` draws.
            let starts: Vec<(u32, Zeroizing<Vec<u64>>)> = todo
                .iter()
                .flat_map(|&(_, (p_bits, q_bits))| [p_bits, q_bits])
                .map(|b| (b, random_start(rng, b)))
                .collect();
            let mut found = search_primes(table, &starts, self.threads);
            let mut pairs = Vec::with_capacity(todo.len());
            let mut retry = Vec::new();
            for (&(index, (p_bits, _)), pq) in todo.iter().zip(found.chunks_exact_mut(2)) {
                match (pq[0].take(), pq[1].take()) {
                    (Some(p), Some(q)) if acceptable_pair(&p, &q, p_bits) => {
                        pairs.push((index, p, q));
                    }
                    (p, q) => {
                        for mut prime in [p, q].into_iter().flatten() {
                            prime.zeroize();
                        }
                        retry.push((index, sizes[index]));
                    }
                }
            }
            for (index, key) in assemble_keys(pairs, self.threads) {
                keys[index] = Some(key?);
            }
            todo = retry;
        }
        Ok(keys.into_iter().flatten().collect())
    }
}

/// The sizes in bits of p and q for a modulus of `bits` bits, as `rsa` 0.10 splits it.
fn prime_sizes(bits: usize) -> Result<(u32, u32), Error> {
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(Error::Unsupported {
            path: None,
            what: "key size",
            detail: format!(
                "RSA-{bits}: choose a modulus of {MIN_BITS} to {MAX_BITS} bits (2048, 3072 or 4096 are usual)"
            ),
        });
    }
    let p_bits = u32::try_from(bits / 2).map_err(|e| Error::KeyGeneration {
        source: Box::new(e),
    })?;
    let q_bits = u32::try_from(bits - bits / 2).map_err(|e| Error::KeyGeneration {
        source: Box::new(e),
    })?;
    Ok((p_bits, q_bits))
}

/// A random odd integer of exactly `bits` bits with its top two bits set, drawn as `rsa` 0.10
/// draws the start of a prime search.
fn random_start<R: CryptoRng + ?Sized>(rng: &mut R, bits: u32) -> Zeroizing<Vec<u64>> {
    let mut start = BoxedUint::random_bits(rng, bits);
    start.set_bit_vartime(0, true);
    start.set_bit_vartime(bits - 1, true);
    start.set_bit_vartime(bits - 2, true);
    let words = Zeroizing::new(start.as_words().to_vec());
    start.zeroize();
    words
}

/// Whether p and q may form a key: distinct by more than `2^(p_bits − 100)` (FIPS 186-5 A.1.3),
/// and e invertible modulo `p − 1` and `q − 1` (e is prime: e must not divide them).
fn acceptable_pair(p: &BoxedUint, q: &BoxedUint, p_bits: u32) -> bool {
    let (p, q) = (p.as_words(), q.as_words());
    let len = p.len().max(q.len());
    let word = |w: &[u64], i: usize| w.get(i).copied().unwrap_or(0);
    // |p − q| in constant time: p − q, negated if it borrowed.
    let mut diff = Zeroizing::new(vec![0u64; len]);
    let mut borrow = 0u64;
    for (i, d) in diff.iter_mut().enumerate() {
        let (t, b1) = word(p, i).overflowing_sub(word(q, i));
        let (t, b2) = t.overflowing_sub(borrow);
        *d = t;
        borrow = u64::from(b1 | b2);
    }
    let negate = ct_mask(borrow);
    let mut carry = borrow;
    for d in diff.iter_mut() {
        let (t, c) = (*d ^ negate).overflowing_add(carry);
        *d = t;
        carry = u64::from(c);
    }
    // A bit set at position p_bits − 99 or above: |p − q| ≥ 2^(p_bits − 99), which implies
    // FIPS's |p − q| > 2^(p_bits − 100) and refuses only a negligible fraction more (~2^−98).
    let threshold = p_bits.saturating_sub(PRIME_DISTANCE_MARGIN) + 1;
    let mut high = 0u64;
    for (i, d) in diff.iter().enumerate() {
        let lo_bit = u32::try_from(i * 64).unwrap_or(u32::MAX);
        let mask = if lo_bit >= threshold {
            u64::MAX
        } else if threshold - lo_bit < 64 {
            u64::MAX << (threshold - lo_bit)
        } else {
            0
        };
        high |= d & mask;
    }
    let e = Divisor::new(PUBLIC_EXPONENT);
    let p_ok = e.rem(p) != 1;
    let q_ok = e.rem(q) != 1;
    high != 0 && p_ok && q_ok
}

/// Builds the keys from their primes, spreading the work over up to `threads` threads: first
/// the [final check](final_check) of every prime (p and q of a key in parallel), then `rsa`'s
/// `PrivateKey::from_p_q` for the pairs that passed it. A prime that fails the check makes its
/// key an [`Error::KeyGeneration`]: it would mean a bug in this module's primality tests, and
/// the key is refused rather than searched for again.
fn assemble_keys(
    pairs: Vec<(usize, BoxedUint, BoxedUint)>,
    threads: NonZeroUsize,
) -> Vec<(usize, Result<PrivateKey, Error>)> {
    let primes: Vec<&BoxedUint> = pairs.iter().flat_map(|(_, p, q)| [p, q]).collect();
    let verdicts = crate::parallel::map(primes, threads, final_check);
    let jobs: Vec<_> = pairs
        .into_iter()
        .zip(verdicts.chunks_exact(2))
        .map(|(pair, verdict)| (pair, verdict[0] && verdict[1]))
        .collect();
    crate::parallel::map(jobs, threads, |((index, mut p, mut q), checked)| {
        if !checked {
            p.zeroize();
            q.zeroize();
            return (
                index,
                Err(Error::KeyGeneration {
                    source: FINAL_CHECK_FAILED.into(),
                }),
            );
        }
        let key = rsa::PrivateKey::from_p_q(p, q, BoxedUint::from(PUBLIC_EXPONENT))
            .map(PrivateKey::from_rsa)
            .map_err(|e| Error::KeyGeneration {
                source: Box::new(e),
            });
        (index, key)
    })
}

/// Why a key is refused when one of its primes fails the [final check](final_check).
const FINAL_CHECK_FAILED: &str = "a prime found by the search failed the final Miller-Rabin \
     check (bases 3 and 5): this is a bug in etcd-pki's primality tests; no key was made, \
     please report it";

// ---------------------------------------------------------------------------------------------
// The final, independent check of every prime.

/// The bases of [`final_check`]: fixed, so that seeded keys stay those of `rsa` 0.10 (a prime
/// passes Miller-Rabin to every base), and other than 2, which the search already tested.
const FINAL_CHECK_BASES: [u64; 2] = [3, 5];

/// An independent confirmation of a prime that the search found: Miller-Rabin to the bases
/// [`FINAL_CHECK_BASES`] on `crypto-bigint`'s constant-time Montgomery exponentiation
/// (`BoxedMontyForm::pow`), which shares no code with this module's Montgomery arithmetic nor
/// with `crypto-primes`' Lucas test. A prime always passes; a composite that slipped through a
/// bug in the search's tests fails with overwhelming probability.
fn final_check(n: &BoxedUint) -> bool {
    FINAL_CHECK_BASES
        .iter()
        .all(|&base| strong_probable_prime_ct(n, base))
}

/// Whether `n` (odd, above `base + 1`) is a strong probable prime to `base`, in a time that
/// depends on `n` only through its size and whether the low word of `n − 1` is zero.
///
/// With `n − 1 = 2^s·d`: `x = base^d` by `crypto-bigint`'s fixed-window exponentiation over
/// every bit of `d`'s precision, then 63 squarings (all the bits of `n − 1` when its low word is
/// zero, a 2^−63 fraction of odd numbers): `n` passes if `x ≡ ±1`, or `x^(2^r) ≡ −1` for some
/// `1 ≤ r < s`, the comparisons made by `Choice` at every step.
fn strong_probable_prime_ct(n: &BoxedUint, base: u64) -> bool {
    use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
    use crypto_bigint::{Choice, CtEq as _, Resize as _};

    let precision = n.bits_precision();
    let mut modulus = n.clone();
    let Some(odd) = Odd::new(modulus.clone()).into_option() else {
        modulus.zeroize();
        return false;
    };
    modulus.zeroize();
    let params = BoxedMontyParams::new(odd);
    let mut n_minus_1 = n.wrapping_sub(BoxedUint::one());
    let s = n_minus_1.trailing_zeros();
    let mut d = n_minus_1.shr(s);
    let steps = if n_minus_1.as_words()[0] == 0 {
        precision
    } else {
        64
    };
    // Every Montgomery form (even of 1: R mod n) tells n: zeroized after use.
    let mut one = BoxedMontyForm::one(&params);
    let mut minus_one = -&one;
    let mut b = BoxedMontyForm::new(BoxedUint::from(base).resize(precision), &params);
    let mut x = b.pow(&d);
    let mut passed = x.ct_eq(&one) | x.ct_eq(&minus_one);
    for r in 1..steps {
        let next = x.square();
        x.zeroize();
        x = next;
        passed |= x.ct_eq(&minus_one) & Choice::from_u32_lt(r, s);
    }
    for form in [&mut one, &mut minus_one, &mut b, &mut x] {
        form.zeroize();
    }
    d.zeroize();
    n_minus_1.zeroize();
    passed.to_bool()
}

/// All ones if `bit` (0 or 1) is 1, else zero, through `crypto-bigint`'s [`Choice`]
/// optimisation barrier (`core::hint::black_box`): the compiler cannot see that the mask is all
/// ones or zero, so it cannot turn the masked selections and corrections it feeds back into
/// conditional jumps (which LLVM did for the corrections of `mont::reduce_wide`).
/// `.ci/check-constant-time.sh` checks the release binary for such jumps.
///
/// [`Choice`]: crypto_bigint::Choice
#[inline(always)]
fn ct_mask(bit: u64) -> u64 {
    crypto_bigint::Choice::from_u64_lsb(bit).to_u64_mask()
}

// ---------------------------------------------------------------------------------------------
// Division by one word with a precomputed reciprocal (Möller and Granlund, "Improved division by
// invariant integers", 2011, algorithm 4), in constant time.

/// A one-word divisor with its normalisation shift and reciprocal.
#[derive(Debug, Clone, Copy)]
struct Divisor {
    /// The divisor shifted left until its top bit is set.
    normalized: u64,
    /// The shift.
    shift: u32,
    /// `floor((2^128 − 1) / normalized) − 2^64`.
    reciprocal: u64,
    /// The divisor itself.
    #[cfg_attr(not(test), expect(dead_code, reason = "checked by the tests"))]
    value: u64,
}

impl Divisor {
    /// Precomputes the reciprocal of `value` (not secret: the division here is variable-time).
    fn new(value: u64) -> Self {
        assert!(value > 1, "divisor must be at least 2");
        let shift = value.leading_zeros();
        let normalized = value << shift;
        let numerator = (u128::from(!normalized) << 64) | u128::from(u64::MAX);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the quotient is below 2^64 for a normalised divisor"
        )]
        let reciprocal = (numerator / u128::from(normalized)) as u64;
        Self {
            normalized,
            shift,
            reciprocal,
            value,
        }
    }

    /// `(hi·2^64 + lo) mod normalized`, for `hi < normalized`, in constant time.
    #[inline(always)]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "splitting a 128-bit product into words"
    )]
    fn rem_2by1(&self, hi: u64, lo: u64) -> u64 {
        let d = self.normalized;
        let q = (u128::from(self.reciprocal).wrapping_mul(u128::from(hi)))
            .wrapping_add((u128::from(hi) << 64) | u128::from(lo));
        let q1 = ((q >> 64) as u64).wrapping_add(1);
        let q0 = q as u64;
        let mut r = lo.wrapping_sub(q1.wrapping_mul(d));
        r = r.wrapping_add(d & ct_mask(u64::from(r > q0)));
        r.wrapping_sub(d & ct_mask(u64::from(r >= d)))
    }

    /// The word `i` (from the least significant) of `words << shift`, for `i` in `0..=len`.
    #[inline(always)]
    fn shifted_word(&self, words: &[u64], i: usize) -> u64 {
        let below = if i == 0 { 0 } else { words[i - 1] };
        let this = words.get(i).copied().unwrap_or(0);
        // `>> 1 >> (63 − shift)` is `>> (64 − shift)` without overflowing for shift = 0.
        this.wrapping_shl(self.shift) | (below >> 1).wrapping_shr(63 - self.shift)
    }

    /// `x mod value` for `x` given as little-endian words, in constant time.
    fn rem(&self, words: &[u64]) -> u64 {
        let mut r = self.shifted_word(words, words.len());
        for i in (0..words.len()).rev() {
            r = self.rem_2by1(r, self.shifted_word(words, i));
        }
        r >> self.shift
    }

    /// `x mod value` for four divisors at once (independent chains, for instruction-level
    /// parallelism).
    #[inline(always)]
    fn rem4(divisors: &[Self; 4], words: &[u64]) -> [u64; 4] {
        let n = words.len();
        let mut r = divisors.map(|d| d.shifted_word(words, n));
        for i in (0..n).rev() {
            for (r, d) in r.iter_mut().zip(divisors) {
                *r = d.rem_2by1(*r, d.shifted_word(words, i));
            }
        }
        let mut out = [0; 4];
        for ((o, r), d) in out.iter_mut().zip(r).zip(divisors) {
            *o = r >> d.shift;
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The sieve.

/// The odd primes up to a bound, grouped in "packs" whose product fits in a word.
#[derive(Debug)]
struct SieveTable {
    /// Odd primes `3 ..= bound`, ascending.
    primes: Vec<u32>,
    /// For each prime p, `floor(2^64 / p)`, for constant-time Barrett reductions.
    barrett: Vec<u64>,
    /// Consecutive groups of `primes`: the product of each group, and where it ends in `primes`.
    packs: Vec<(Divisor, usize)>,
}

impl SieveTable {
    /// The table for [`SIEVE_BOUND`], built once per process (about a millisecond).
    fn default_table() -> &'static Self {
        static TABLE: OnceLock<SieveTable> = OnceLock::new();
        TABLE.get_or_init(|| Self::new(SIEVE_BOUND))
    }

    /// The table of the odd primes up to `bound`.
    fn new(bound: u32) -> Self {
        let primes = odd_primes_up_to(bound);
        let mut packs = Vec::new();
        let mut product: u64 = 1;
        for (i, &p) in primes.iter().enumerate() {
            match product.checked_mul(u64::from(p)) {
                Some(next) => product = next,
                None => {
                    packs.push((Divisor::new(product), i));
                    product = u64::from(p);
                }
            }
        }
        if product > 1 {
            packs.push((Divisor::new(product), primes.len()));
        }
        // p is odd, so floor((2^64 − 1)/p) = floor(2^64/p).
        let barrett = primes.iter().map(|&p| u64::MAX / u64::from(p)).collect();
        Self {
            primes,
            barrett,
            packs,
        }
    }

    /// The residues of `x` (little-endian words) modulo each prime of the table.
    fn residues(&self, words: &[u64], out: &mut Vec<u32>) {
        out.clear();
        out.reserve(self.primes.len());
        let mut pack_rems = Zeroizing::new(Vec::with_capacity(self.packs.len()));
        let mut chunks = self.packs.chunks_exact(4);
        for chunk in &mut chunks {
            let divisors = [chunk[0].0, chunk[1].0, chunk[2].0, chunk[3].0];
            pack_rems.extend(Divisor::rem4(&divisors, words));
        }
        for (d, _) in chunks.remainder() {
            pack_rems.push(d.rem(words));
        }
        let mut first = 0;
        for (&(_, end), &r) in self.packs.iter().zip(pack_rems.iter()) {
            let primes = self.primes[first..end]
                .iter()
                .zip(&self.barrett[first..end]);
            for (&p, &m) in primes {
                // Barrett: q = floor(r·m / 2^64) is the quotient or one less, so r − q·p < 2p.
                let p = u64::from(p);
                let q = ((u128::from(r) * u128::from(m)) >> 64) as u64;
                let mut rem = r - q * p;
                rem -= p & ct_mask(u64::from(rem >= p));
                #[expect(clippy::cast_possible_truncation, reason = "rem < p < 2^32")]
                out.push(rem as u32);
            }
            first = end;
        }
    }
}

/// The odd primes up to `bound` (sieve of Eratosthenes).
fn odd_primes_up_to(bound: u32) -> Vec<u32> {
    let bound = bound as usize;
    let mut composite = vec![false; bound + 1];
    let mut primes = Vec::new();
    let mut i = 3;
    while i <= bound {
        if !composite[i] {
            primes.push(u32::try_from(i).unwrap_or(u32::MAX));
            let mut j = i * i;
            while j <= bound {
                composite[j] = true;
                j += 2 * i;
            }
        }
        i += 2;
    }
    primes
}

/// One stretch of a prime search: the odd numbers `base + 2j` for `j < len`, of which those
/// with no factor in the sieve table survive.
#[derive(Debug)]
struct Segment {
    base: Zeroizing<Vec<u64>>,
    survivors: Zeroizing<Vec<u32>>,
    /// The search reached `2^bits`: there is no segment after this one.
    last: bool,
}

impl Segment {
    /// Sieves the `len` odd numbers from `base` (odd, below `2^bits`) with `table`.
    fn sieve(table: &SieveTable, base: Zeroizing<Vec<u64>>, bits: u32, len: usize) -> Self {
        // Candidates must stay below 2^bits: 2j ≤ 2^bits − 1 − base.
        let room = headroom(&base, bits);
        let (len, last) = match usize::try_from(room / 2) {
            Ok(max_j) if max_j < len => (max_j + 1, true),
            _ => (len, false),
        };
        let mut residues = Zeroizing::new(Vec::new());
        table.residues(&base, &mut residues);
        let mut struck = Zeroizing::new(vec![0u64; len.div_ceil(64)]);
        for (&p, &r) in table.primes.iter().zip(residues.iter()) {
            // base + 2j ≡ 0 (mod p) ⇔ j ≡ −r/2 (mod p).
            let (p, r) = (p as usize, r as usize);
            let t = p - r; // 1 ..= p
            // (t + p)/2 if t is odd, t/2 if even; then reduced below p (no branch on r).
            let mut j = (t + (p & (t & 1).wrapping_neg())) / 2;
            j -= p & usize::from(j >= p).wrapping_neg();
            while j < len {
                struck[j / 64] |= 1 << (j % 64);
                j += p;
            }
        }
        let mut survivors = Zeroizing::new(Vec::with_capacity(len / 8));
        for (w, &bits_struck) in struck.iter().enumerate() {
            let mut free = !bits_struck;
            while free != 0 {
                let j = w * 64 + free.trailing_zeros() as usize;
                if j >= len {
                    break;
                }
                survivors.push(u32::try_from(j).unwrap_or(u32::MAX));
                free &= free - 1;
            }
        }
        Self {
            base,
            survivors,
            last,
        }
    }

    /// The candidate `base + 2j` for survivor `index`.
    fn candidate(&self, index: usize) -> Zeroizing<Vec<u64>> {
        add_small(&self.base, 2 * u64::from(self.survivors[index]))
    }
}

/// `2^bits − 1 − x` for `x < 2^bits`, saturated at `u64::MAX`.
fn headroom(words: &[u64], bits: u32) -> u64 {
    let mut low = 0;
    let mut high = 0u64;
    for (i, &w) in words.iter().enumerate() {
        let lo_bit = u32::try_from(i * 64).unwrap_or(u32::MAX);
        let mask = if lo_bit >= bits {
            0
        } else if bits - lo_bit >= 64 {
            u64::MAX
        } else {
            (1 << (bits - lo_bit)) - 1
        };
        let complement = !w & mask;
        if i == 0 {
            low = complement;
        } else {
            high |= complement;
        }
    }
    if high == 0 { low } else { u64::MAX }
}

/// `x + small` (the carry out of the top word is dropped: callers stay below `2^bits`).
fn add_small(words: &[u64], small: u64) -> Zeroizing<Vec<u64>> {
    let mut out = Zeroizing::new(words.to_vec());
    let mut carry = small;
    for w in out.iter_mut() {
        let (t, c) = w.overflowing_add(carry);
        *w = t;
        carry = u64::from(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The primality tests.

/// `Some($f::<N>(n, args…))` with `words` as `n: &[u64; N]` for the sizes this module's
/// Montgomery arithmetic is specialised to (8, 16, 24 and 32 words: primes of 512, 1024, 1536
/// and 2048 bits), `None` for other sizes.
macro_rules! by_size {
    ($words:expr, $($f:ident)::+, $($arg:expr),*) => {
        if let Ok(n) = <&[u64; 8]>::try_from($words) {
            Some($($f)::+::<8>(n, $($arg),*))
        } else if let Ok(n) = <&[u64; 16]>::try_from($words) {
            Some($($f)::+::<16>(n, $($arg),*))
        } else if let Ok(n) = <&[u64; 24]>::try_from($words) {
            Some($($f)::+::<24>(n, $($arg),*))
        } else if let Ok(n) = <&[u64; 32]>::try_from($words) {
            Some($($f)::+::<32>(n, $($arg),*))
        } else {
            None
        }
    };
}

/// Miller-Rabin base 2: this module's for the common sizes (512, 1024, 1536, 2048 bits), else
/// `crypto-primes`'. `None` if `stop` asked to give up.
fn quick_test(words: &[u64], stop: &dyn Fn() -> bool) -> Option<bool> {
    let top_bit_set = words.last().is_some_and(|&w| w >> 63 == 1);
    if top_bit_set && let Some(result) = by_size!(words, mont::miller_rabin_base_2, stop) {
        return result;
    }
    let mut n = BoxedUint::from_words(words.iter().copied());
    let result = Odd::new(n.clone())
        .into_option()
        .is_some_and(|odd| MillerRabin::new(odd).test_base_two().is_probably_prime());
    n.zeroize();
    Some(result)
}

/// The second half of Baillie-PSW, for a candidate that passed [`quick_test`]: `crypto-primes`'
/// strong Lucas test with the A\* base and the checks of Baillie, Fiori and Wagstaff (2021) —
/// what [`crypto_primes::is_prime`] runs after its own Miller-Rabin base 2, so that the two
/// together are the whole test `rsa` 0.10 applies to its candidates.
///
/// This module's constant-time Lucas test ([`mont::lucas_bpsw21`]) for the common sizes, else
/// `crypto-primes`' (the same checks, the same answers).
fn confirm(n: &BoxedUint) -> bool {
    let Some(odd) = Odd::new(n.clone()).into_option() else {
        return false;
    };
    let result = confirm_odd(n, &odd);
    odd.get().zeroize();
    result
}

/// [`confirm`] of `n`, given as [`Odd`] too.
fn confirm_odd(n: &BoxedUint, odd: &Odd<BoxedUint>) -> bool {
    // `crypto-primes`' test takes its own copy (not zeroized: sizes other than ours only).
    let theirs = || lucas_test(odd.clone(), AStarBase, LucasCheck::Bpsw21).is_probably_prime();
    let words = n.as_words();
    let top_bit_set = words.last().is_some_and(|&w| w >> 63 == 1);
    // n + 1 must not overflow (n = 2^(64N) − 1 is divisible by 3 anyway).
    if !top_bit_set || words.iter().all(|&w| w == u64::MAX) {
        return theirs();
    }
    // The base: `crypto-primes`' own choice (Selfridge's method A*), which also rules out
    // squares; then gcd(n, Q) = 1 and the Jacobi symbol (Q/n) for the Euler criterion.
    let (p, abs_q, q_negative) = match AStarBase.generate(odd) {
        Ok(base) => base,
        Err(primality) => return primality.is_probably_prime(),
    };
    let q_jacobi = jacobi_of_small(abs_q, q_negative, words);
    if q_jacobi == 0 {
        return false; // gcd(n, Q) > 1, and n > |Q|
    }
    let base = mont::LucasBase {
        p,
        abs_q,
        q_negative,
        q_jacobi_negative: q_jacobi < 0,
    };
    match by_size!(words, mont::lucas_bpsw21, base) {
        Some(result) => result,
        None => theirs(),
    }
}

/// The Jacobi symbol `(a/m)` of small numbers, `m` odd: 1, −1, or 0 if `gcd(a, m) > 1`.
fn jacobi_words(mut a: u64, mut m: u64) -> i8 {
    debug_assert!(m & 1 == 1);
    a %= m;
    let mut result = 1;
    while a != 0 {
        let twos = a.trailing_zeros();
        a >>= twos;
        if twos & 1 == 1 && (m % 8 == 3 || m % 8 == 5) {
            result = -result;
        }
        if a % 4 == 3 && m % 4 == 3 {
            result = -result;
        }
        (a, m) = (m % a, a);
    }
    if m == 1 { result } else { 0 }
}

/// The Jacobi symbol `(±abs_a / n)` for odd `n` (little-endian words) and a small `abs_a`, by
/// quadratic reciprocity; `n mod a'` with [`Divisor`]'s constant-time remainder.
fn jacobi_of_small(abs_a: u64, a_negative: bool, n: &[u64]) -> i8 {
    let n_mod_8 = n[0] % 8;
    let mut result = 1;
    // (−1/n) = −1 iff n ≡ 3 (mod 4).
    if a_negative && n_mod_8 % 4 == 3 {
        result = -result;
    }
    if abs_a == 0 {
        return 0;
    }
    // (2/n) = −1 iff n ≡ 3, 5 (mod 8).
    let twos = abs_a.trailing_zeros();
    let odd_a = abs_a >> twos;
    if twos & 1 == 1 && (n_mod_8 == 3 || n_mod_8 == 5) {
        result = -result;
    }
    if odd_a == 1 {
        return result;
    }
    // (a/n) = (n/a), negated iff a ≡ n ≡ 3 (mod 4).
    if odd_a % 4 == 3 && n_mod_8 % 4 == 3 {
        result = -result;
    }
    result * jacobi_words(Divisor::new(odd_a).rem(n), odd_a)
}

// ---------------------------------------------------------------------------------------------
// The search: threads share the candidates of several searches, lowest first.

/// Where a candidate is in its search: segment, then survivor index.
type Pos = (usize, usize);

/// Encodes a position for the lock-free "found" marker (lower is earlier).
fn encode(pos: Pos) -> u64 {
    let seg = u64::try_from(pos.0).unwrap_or(u64::MAX >> 32);
    let idx = u64::try_from(pos.1).unwrap_or(u64::from(u32::MAX));
    (seg << 32) | idx
}

/// One prime search, from one start.
#[derive(Debug)]
struct Search {
    bits: u32,
    start: Zeroizing<Vec<u64>>,
    segment_len: usize,
    segments: Vec<Arc<Segment>>,
    /// A thread is sieving the next segment.
    building: bool,
    /// The next candidate to hand out.
    next: Pos,
    /// Candidates being tested.
    in_flight: Vec<Pos>,
    /// Candidates that passed the quick test and are being confirmed.
    confirming: Vec<Pos>,
    /// The lowest confirmed prime so far.
    found: Option<(Pos, BoxedUint)>,
    /// Every candidate was handed out (the search reached `2^bits`).
    exhausted: bool,
}

impl Search {
    /// Whether the result of the search is known: its lowest prime, or that it has none.
    fn resolved(&self) -> bool {
        match &self.found {
            Some((f, _)) => self.in_flight.iter().all(|p| p > f),
            None => self.exhausted && self.in_flight.is_empty(),
        }
    }
}

/// Work for a thread.
enum Job {
    /// Test the candidate at `pos` of search `search`.
    Test {
        search: usize,
        pos: Pos,
        candidate: Zeroizing<Vec<u64>>,
    },
    /// Sieve the next segment of search `search`: `len` odd numbers from `base`, below 2^`bits`.
    Sieve {
        search: usize,
        base: Zeroizing<Vec<u64>>,
        bits: u32,
        len: usize,
    },
}

/// The state shared by the threads of one search.
struct Shared<'t> {
    table: &'t SieveTable,
    state: Mutex<Vec<Search>>,
    wake: Condvar,
    /// Set once every search is resolved: the threads stop.
    done: AtomicBool,
    /// Per search, the encoded position of its lowest confirmed prime (`u64::MAX`: none yet),
    /// read without the lock to give up tests that can no longer matter.
    found_at: Vec<AtomicU64>,
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, Vec<Search>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next job, waiting while there is none; `None` when every search is resolved.
    fn next_job(&self) -> Option<Job> {
        let mut searches = self.lock();
        loop {
            if self.done.load(AtomicOrdering::Acquire) {
                return None;
            }
            if let Some(job) = take_job(&mut searches) {
                return Some(job);
            }
            // `take_job` may have just found a search exhausted.
            if searches.iter().all(Search::resolved) {
                self.done.store(true, AtomicOrdering::Release);
                drop(searches);
                self.wake.notify_all();
                return None;
            }
            searches = self
                .wake
                .wait(searches)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Records a change, wakes the waiting threads, and ends the search once all is resolved.
    fn update(&self, f: impl FnOnce(&mut Vec<Search>)) {
        let mut searches = self.lock();
        f(&mut searches);
        if searches.iter().all(Search::resolved) {
            self.done.store(true, AtomicOrdering::Release);
        }
        drop(searches);
        self.wake.notify_all();
    }

    /// A thread's loop.
    fn work(&self) {
        let _guard = StopOnPanic(self);
        while let Some(job) = self.next_job() {
            match job {
                Job::Sieve {
                    search,
                    base,
                    bits,
                    len,
                } => {
                    let segment = Segment::sieve(self.table, base, bits, len);
                    self.update(|s| {
                        let s = &mut s[search];
                        s.segments.push(Arc::new(segment));
                        s.building = false;
                    });
                }
                Job::Test {
                    search,
                    pos,
                    candidate,
                } => self.test(search, pos, &candidate),
            }
        }
    }

    /// Tests one candidate and records the outcome.
    fn test(&self, search: usize, pos: Pos, candidate: &[u64]) {
        let me = encode(pos);
        let stop = || {
            self.done.load(AtomicOrdering::Relaxed)
                || self.found_at[search].load(AtomicOrdering::Relaxed) < me
        };
        let finish = |s: &mut Search| s.in_flight.retain(|p| *p != pos);
        if quick_test(candidate, &stop) != Some(true) {
            return self.update(|s| finish(&mut s[search]));
        }
        self.update(|s| s[search].confirming.push(pos));
        let mut n = BoxedUint::from_words(candidate.iter().copied());
        let prime = !stop() && confirm(&n);
        self.update(|s| {
            let s = &mut s[search];
            s.confirming.retain(|p| *p != pos);
            finish(s);
            if prime && s.found.as_ref().is_none_or(|(f, _)| pos < *f) {
                self.found_at[search].store(me, AtomicOrdering::Relaxed);
                let winner = std::mem::replace(&mut n, BoxedUint::zero());
                if let Some((_, mut old)) = s.found.replace((pos, winner)) {
                    old.zeroize();
                }
            }
        });
        // A composite, or a prime that lost to a lower candidate of its search.
        n.zeroize();
    }
}

/// Stops the other threads if this one panics, so that the scope ends and re-raises the
/// panic instead of waiting forever for this thread's results.
struct StopOnPanic<'s, 't>(&'s Shared<'t>);

impl Drop for StopOnPanic<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.done.store(true, AtomicOrdering::Release);
            self.0.wake.notify_all();
        }
    }
}

/// Hands out the lowest useful job, if any.
fn take_job(searches: &mut [Search]) -> Option<Job> {
    for (index, s) in searches.iter_mut().enumerate() {
        if s.found.is_some() || !s.confirming.is_empty() || s.exhausted {
            continue;
        }
        loop {
            if let Some(segment) = s.segments.get(s.next.0) {
                if s.next.1 < segment.survivors.len() {
                    let pos = s.next;
                    s.next.1 += 1;
                    s.in_flight.push(pos);
                    return Some(Job::Test {
                        search: index,
                        pos,
                        candidate: segment.candidate(pos.1),
                    });
                }
                if segment.last {
                    s.exhausted = true;
                    break;
                }
                s.next = (s.next.0 + 1, 0);
                continue;
            }
            if !s.building {
                s.building = true;
                let offset = 2 * s.segment_len * s.segments.len();
                return Some(Job::Sieve {
                    search: index,
                    base: add_small(&s.start, u64::try_from(offset).unwrap_or(u64::MAX)),
                    bits: s.bits,
                    len: s.segment_len,
                });
            }
            break;
        }
    }
    None
}

/// For each start (bits, words), the first prime at or above it (stepping by 2) below
/// `2^bits`, or `None` if there is none. The result does not depend on `threads`.
fn search_primes(
    table: &SieveTable,
    starts: &[(u32, Zeroizing<Vec<u64>>)],
    threads: NonZeroUsize,
) -> Vec<Option<BoxedUint>> {
    let searches = starts
        .iter()
        .map(|(bits, start)| Search {
            bits: *bits,
            start: start.clone(),
            // Expected gap between primes among odd numbers: ln(2^bits)/2 ≈ 0.35·bits; four
            // times the bit size leaves a second segment for about 1 search in 100,000.
            segment_len: (*bits as usize * 4).next_multiple_of(64),
            segments: Vec::new(),
            building: false,
            next: (0, 0),
            in_flight: Vec::new(),
            confirming: Vec::new(),
            found: None,
            exhausted: false,
        })
        .collect::<Vec<_>>();
    let shared = Shared {
        table,
        found_at: searches.iter().map(|_| AtomicU64::new(u64::MAX)).collect(),
        state: Mutex::new(searches),
        wake: Condvar::new(),
        done: AtomicBool::new(starts.is_empty()),
    };
    std::thread::scope(|scope| {
        for _ in 0..threads.get() {
            scope.spawn(|| shared.work());
        }
    });
    let searches = shared
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    searches
        .into_iter()
        .map(|mut s| s.found.take().map(|(_, prime)| prime))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Montgomery arithmetic for the fast Miller-Rabin test.

mod mont {
    //! Constant-time Montgomery arithmetic modulo an odd `n` of exactly `64·N` bits.

    use super::ct_mask;
    use zeroize::Zeroize as _;

    /// `−n^(−1) mod 2^64` for odd `n`.
    pub(super) fn neg_inverse(n0: u64) -> u64 {
        // Newton's iteration doubles the number of correct low bits: 1 → 64 in 6 steps.
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inv)));
        }
        inv.wrapping_neg()
    }

    /// `t − n` if `t_top` is set or `t ≥ n`, else `t` (for `t < 2n`), in constant time.
    #[inline(always)]
    fn reduce_once<const N: usize>(t: &[u64; N], t_top: u64, n: &[u64; N]) -> [u64; N] {
        let mut d = [0u64; N];
        let mut borrow = 0u64;
        for i in 0..N {
            let (x, b1) = t[i].overflowing_sub(n[i]);
            let (x, b2) = x.overflowing_sub(borrow);
            d[i] = x;
            borrow = u64::from(b1 | b2);
        }
        // Keep t only if it had no top word and borrowed.
        let keep_t = ct_mask(borrow & !t_top & 1);
        let mut out = [0u64; N];
        for i in 0..N {
            out[i] = (t[i] & keep_t) | (d[i] & !keep_t);
        }
        out
    }

    /// A three-word accumulator for product scanning.
    #[derive(Clone, Copy)]
    struct Acc {
        c0: u64,
        c1: u64,
        c2: u64,
    }

    impl Acc {
        const ZERO: Self = Self {
            c0: 0,
            c1: 0,
            c2: 0,
        };

        /// Adds `a·b`.
        #[inline(always)]
        #[expect(clippy::cast_possible_truncation, reason = "splitting into words")]
        fn add_product(&mut self, a: u64, b: u64) {
            let p = u128::from(a).wrapping_mul(u128::from(b));
            let t = u128::from(self.c0).wrapping_add(u128::from(p as u64));
            self.c0 = t as u64;
            let t = u128::from(self.c1)
                .wrapping_add(p >> 64)
                .wrapping_add(t >> 64);
            self.c1 = t as u64;
            self.c2 = self.c2.wrapping_add((t >> 64) as u64);
        }

        /// Adds another accumulator.
        #[inline(always)]
        #[expect(clippy::cast_possible_truncation, reason = "splitting into words")]
        fn add(&mut self, other: Self) {
            let t = u128::from(self.c0).wrapping_add(u128::from(other.c0));
            self.c0 = t as u64;
            let t = u128::from(self.c1)
                .wrapping_add(u128::from(other.c1))
                .wrapping_add(t >> 64);
            self.c1 = t as u64;
            self.c2 = self
                .c2
                .wrapping_add(other.c2)
                .wrapping_add((t >> 64) as u64);
        }

        /// Doubles the accumulator (which must be below 2^191).
        #[inline(always)]
        fn double(&mut self) {
            self.c2 = (self.c2 << 1) | (self.c1 >> 63);
            self.c1 = (self.c1 << 1) | (self.c0 >> 63);
            self.c0 <<= 1;
        }

        /// Takes the low word out, shifting the rest down.
        #[inline(always)]
        fn shift(&mut self) -> u64 {
            let low = self.c0;
            *self = Self {
                c0: self.c1,
                c1: self.c2,
                c2: 0,
            };
            low
        }
    }

    /// Column `K` of [`square`]: the words of weight `2^(64K)` of `a²` and of the reduction
    /// multiples `m[i]·n`, summed; `m[K]` is chosen (for `K < N`) to clear the column. All
    /// bounds are constants, so that the loops unroll completely.
    #[inline(always)]
    fn column<const N: usize, const K: usize>(
        a: &[u64; N],
        n: &[u64; N],
        n_inv: u64,
        m: &mut [u64; N],
        out: &mut [u64; N],
        acc: &mut Acc,
    ) {
        if K + 1 >= 2 * N {
            return;
        }
        let i_lo = if K >= N { K + 1 - N } else { 0 };
        // Cross products a[i]·a[K − i], i < K − i, doubled, and the square a[K/2]².
        let mut cross = Acc::ZERO;
        let mut i = i_lo;
        while 2 * i < K {
            cross.add_product(a[i], a[K - i]);
            i += 1;
        }
        cross.double();
        if K.is_multiple_of(2) {
            cross.add_product(a[K / 2], a[K / 2]);
        }
        acc.add(cross);
        // m[i]·n[K − i] for the multipliers already chosen.
        let mut i = i_lo;
        while i < K && i < N {
            acc.add_product(m[i], n[K - i]);
            i += 1;
        }
        if K < N {
            let mk = acc.c0.wrapping_mul(n_inv);
            m[K] = mk;
            acc.add_product(mk, n[0]);
            acc.shift();
        } else {
            out[K - N] = acc.shift();
        }
    }

    /// Calls [`column`] for each listed column index.
    macro_rules! columns {
        ($args:tt; $($k:literal)*) => {
            $( columns!(@one $args $k); )*
        };
        (@one ($a:ident, $n:ident, $inv:ident, $m:ident, $out:ident, $acc:ident) $k:literal) => {
            column::<N, $k>($a, $n, $inv, &mut $m, &mut $out, &mut $acc)
        };
    }

    /// `a²·2^(−64N) mod n`, for `a < n` and `N ≤ 32`: product scanning with the Montgomery
    /// reduction interleaved column by column (the "FIPS" method of Koç, Acar and Kaliski,
    /// 1996), which keeps the running sum in three registers.
    ///
    /// Not inlined: the body is fully unrolled (for 16 words, ~500 multiplications), and inlined
    /// into the (also unrolled) loops of the Miller-Rabin test it made functions so large that
    /// LLVM's scalar evolution analysis overflowed rustc's stack in builds with
    /// `codegen-units = 256` (the default of `dev` profiles with `opt-level = 3`). A call costs
    /// a few nanoseconds of its ~200.
    #[inline(never)]
    pub(super) fn square<const N: usize>(a: &[u64; N], n: &[u64; N], n_inv: u64) -> [u64; N] {
        const { assert!(N >= 1 && N <= 32) };
        let mut m = [0u64; N];
        let mut out = [0u64; N];
        let mut acc = Acc::ZERO;
        columns!((a, n, n_inv, m, out, acc);
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
            16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
            48 49 50 51 52 53 54 55 56 57 58 59 60 61 62
        );
        out[N - 1] = acc.shift();
        reduce_once(&out, acc.c0, n)
    }

    /// `2a mod n` if `bit` is 1, `a` if it is 0, for `a < n`, in constant time.
    #[inline(always)]
    pub(super) fn double_if<const N: usize>(a: &[u64; N], bit: u64, n: &[u64; N]) -> [u64; N] {
        let mask = ct_mask(bit);
        let mut t = [0u64; N];
        for i in 0..N {
            let below = if i == 0 { 0 } else { a[i - 1] >> 63 };
            t[i] = (((a[i] << 1) | below) & mask) | (a[i] & !mask);
        }
        reduce_once(&t, (a[N - 1] >> 63) & bit, n)
    }

    /// `floor((2^128 − 1) / d) − 2^64` for `d` with its top bit set (the reciprocal of Möller
    /// and Granlund's two-by-one division), in constant time: a restoring division, one
    /// quotient bit per step, selections by masks.
    pub(super) fn reciprocal(d: u64) -> u64 {
        debug_assert!(d >> 63 == 1);
        // The numerator is (2^64 − 1 − d)·2^64 + 2^64 − 1; its high word !d is below d.
        let mut rem = u128::from(!d);
        let mut q = 0u64;
        for _ in 0..64 {
            rem = (rem << 1) | 1;
            let (diff, borrow) = rem.overflowing_sub(u128::from(d));
            let take = u64::from(!borrow);
            let half = u128::from(ct_mask(take));
            let mask = (half << 64) | half;
            rem = (diff & mask) | (rem & !mask);
            q = (q << 1) | take;
        }
        q
    }

    /// `a·2^k mod n` for `a < n` and `k < 64`, in constant time; `v` is
    /// [`reciprocal`]`(n[N − 1])`. The shift overflows into one word `t`; the quotient of
    /// `t·2^(64N) + …` by `n` is estimated from the top two words and the top word of `n` with
    /// Möller and Granlund's division (masked corrections), which is at most 2 too large for
    /// a normalised `n` (Knuth, TAOCP vol. 2, 4.3.1, Theorem B), then the remainder is corrected
    /// by adding `n` back at most twice, by masks.
    #[inline(always)]
    pub(super) fn shl_mod<const N: usize>(a: &[u64; N], k: u32, n: &[u64; N], v: u64) -> [u64; N] {
        debug_assert!(k < 64 && n[N - 1] >> 63 == 1);
        // x = a·2^k = t·2^(64N) + x[..]; `>> 1 >> (63 − k)` is `>> (64 − k)`, defined for k = 0.
        let mut x = [0u64; N];
        let mut below = 0u64;
        for i in 0..N {
            x[i] = a[i].wrapping_shl(k) | (below >> 1).wrapping_shr(63u32.wrapping_sub(k));
            below = a[i];
        }
        let t = (below >> 1).wrapping_shr(63u32.wrapping_sub(k));
        reduce_wide(&x, t, n, v)
    }

    /// `a·c mod n` for `a < n` and `c < 2^63`, in constant time (as [`shl_mod`]).
    #[inline(always)]
    #[expect(clippy::cast_possible_truncation, reason = "splitting into words")]
    pub(super) fn mul_small<const N: usize>(
        a: &[u64; N],
        c: u64,
        n: &[u64; N],
        v: u64,
    ) -> [u64; N] {
        debug_assert!(c >> 63 == 0);
        let mut x = [0u64; N];
        let mut carry = 0u64;
        for i in 0..N {
            let p = u128::from(a[i])
                .wrapping_mul(u128::from(c))
                .wrapping_add(u128::from(carry));
            x[i] = p as u64;
            carry = (p >> 64) as u64;
        }
        reduce_wide(&x, carry, n, v)
    }

    /// `(t·2^(64N) + x) mod n` for `t < 2^63` and `t·2^(64N) + x < 2^63·n`; see [`shl_mod`].
    #[inline(always)]
    #[expect(clippy::cast_possible_truncation, reason = "splitting into words")]
    fn reduce_wide<const N: usize>(x: &[u64; N], t: u64, n: &[u64; N], v: u64) -> [u64; N] {
        // q = floor((t·2^64 + x[N − 1]) / n[N − 1]), with t < 2^63 ≤ n[N − 1].
        let d = n[N - 1];
        let qq = (u128::from(v).wrapping_mul(u128::from(t)))
            .wrapping_add((u128::from(t) << 64) | u128::from(x[N - 1]));
        let mut q = ((qq >> 64) as u64).wrapping_add(1);
        let r = x[N - 1].wrapping_sub(q.wrapping_mul(d));
        let adjust = ct_mask(u64::from(r > (qq as u64)));
        q = q.wrapping_add(adjust);
        let r = r.wrapping_add(d & adjust);
        q = q.wrapping_add(ct_mask(u64::from(r >= d)) & 1);
        // x − q·n, in [−2n, n), as N words and a two's complement top word.
        let mut out = [0u64; N];
        let mut carry = 0u64;
        let mut borrow = 0u64;
        for i in 0..N {
            let p = u128::from(q)
                .wrapping_mul(u128::from(n[i]))
                .wrapping_add(u128::from(carry));
            carry = (p >> 64) as u64;
            let (w, b1) = x[i].overflowing_sub(p as u64);
            let (w, b2) = w.overflowing_sub(borrow);
            out[i] = w;
            borrow = u64::from(b1 | b2);
        }
        let mut top = t.wrapping_sub(carry).wrapping_sub(borrow);
        for _ in 0..2 {
            let negative = ct_mask(top >> 63);
            let mut c = 0u64;
            for i in 0..N {
                let sum = u128::from(out[i])
                    .wrapping_add(u128::from(n[i] & negative))
                    .wrapping_add(u128::from(c));
                out[i] = sum as u64;
                c = (sum >> 64) as u64;
            }
            top = top.wrapping_add(c);
        }
        debug_assert_eq!(top, 0);
        out
    }

    /// `a·b·2^(−64N) mod n`, for `a, b < n`: product scanning with the Montgomery reduction
    /// interleaved, as [`square`] but without the symmetry.
    #[inline(always)]
    pub(super) fn mul<const N: usize>(
        a: &[u64; N],
        b: &[u64; N],
        n: &[u64; N],
        n_inv: u64,
    ) -> [u64; N] {
        let mut m = [0u64; N];
        let mut out = [0u64; N];
        let mut acc = Acc::ZERO;
        for k in 0..2 * N - 1 {
            let i_lo = (k + 1).saturating_sub(N);
            for i in i_lo..=k.min(N - 1) {
                acc.add_product(a[i], b[k - i]);
            }
            for i in i_lo..k.min(N) {
                acc.add_product(m[i], n[k - i]);
            }
            if k < N {
                let mk = acc.c0.wrapping_mul(n_inv);
                m[k] = mk;
                acc.add_product(mk, n[0]);
                acc.shift();
            } else {
                out[k - N] = acc.shift();
            }
        }
        out[N - 1] = acc.shift();
        reduce_once(&out, acc.c0, n)
    }

    /// `a − b mod n` for `a, b < n`, in constant time.
    #[inline(always)]
    pub(super) fn sub_mod<const N: usize>(a: &[u64; N], b: &[u64; N], n: &[u64; N]) -> [u64; N] {
        let mut d = [0u64; N];
        let mut borrow = 0u64;
        for i in 0..N {
            let (x, b1) = a[i].overflowing_sub(b[i]);
            let (x, b2) = x.overflowing_sub(borrow);
            d[i] = x;
            borrow = u64::from(b1 | b2);
        }
        let mask = ct_mask(borrow);
        let mut carry = 0u64;
        for i in 0..N {
            let (x, c1) = d[i].overflowing_add(n[i] & mask);
            let (x, c2) = x.overflowing_add(carry);
            d[i] = x;
            carry = u64::from(c1 | c2);
        }
        d
    }

    /// `b` where `mask` is all ones, else `a` (`mask` is all ones or zero).
    #[inline(always)]
    fn select<const N: usize>(a: &[u64; N], b: &[u64; N], mask: u64) -> [u64; N] {
        let mut out = [0u64; N];
        for i in 0..N {
            out[i] = (a[i] & !mask) | (b[i] & mask);
        }
        out
    }

    /// All ones if `a` is zero, else zero, in constant time.
    #[inline(always)]
    fn zero_mask<const N: usize>(a: &[u64; N]) -> u64 {
        let mut any = 0;
        for &w in a {
            any |= w;
        }
        ct_mask(((any | any.wrapping_neg()) >> 63) ^ 1)
    }

    /// 1 in Montgomery form, `2^(64N) mod n = 2^(64N) − n` for `n > 2^(64N − 1)`.
    #[inline(always)]
    fn montgomery_one<const N: usize>(n: &[u64; N]) -> [u64; N] {
        let mut one = [0u64; N];
        let mut borrow = 0u64;
        for i in 0..N {
            let (x, b1) = 0u64.overflowing_sub(n[i]);
            let (x, b2) = x.overflowing_sub(borrow);
            one[i] = x;
            borrow = u64::from(b1 | b2);
        }
        one
    }

    /// The number of trailing zero bits of a non-zero `e`, by a constant-time scan of its words.
    #[inline(always)]
    fn trailing_zeros<const N: usize>(e: &[u64; N]) -> u64 {
        let mut s: u64 = 0;
        let mut seen = 0u64; // all ones once a non-zero word was seen
        for (i, &w) in e.iter().enumerate() {
            let nonzero = ct_mask((w | w.wrapping_neg()) >> 63);
            let first = nonzero & !seen;
            s |= first & (64 * i as u64 + u64::from(w.trailing_zeros()));
            seen |= nonzero;
        }
        s
    }

    /// The base `(P, Q)` of [`lucas_bpsw21`] and the Jacobi symbol `(Q/n)` (±1).
    #[derive(Clone, Copy, Debug)]
    pub(super) struct LucasBase {
        /// `P`, below 2^62.
        pub(super) p: u64,
        /// `|Q|`, below 2^62.
        pub(super) abs_q: u64,
        /// `Q < 0`.
        pub(super) q_negative: bool,
        /// `(Q/n) = −1`.
        pub(super) q_jacobi_negative: bool,
    }

    /// The strong Lucas test with the checks of Baillie, Fiori and Wagstaff (2021) — what
    /// `crypto-primes`' `lucas_test(n, AStarBase, LucasCheck::Bpsw21)` does once it has the base
    /// (`(D/n) = −1` for `D = P² − 4Q`, gcd(n, Q) = 1) — in a time independent of `n`'s value.
    ///
    /// With `n + 1 = 2^s·d`, `d` odd, `n` passes if (`U_d ≡ 0` or `V_(d·2^r) ≡ 0` for some
    /// `0 ≤ r < s`) and `V_(n+1) ≡ 2Q` and `Q^((n+1)/2) ≡ Q·(Q/n)`, all modulo `n`. A Montgomery
    /// ladder over every bit of `n + 1` keeps `(V_k, V_(k+1), Q^k)`:
    /// `V_2k = V_k² − 2Q^k`, `V_(2k+1) = V_k·V_(k+1) − P·Q^k`, with selections by masks. `U_d`
    /// is not kept: `D·U_k = 2V_(k+1) − P·V_k`, and `D` is invertible modulo `n` as
    /// `(D/n) ≠ 0`, so `U_d ≡ 0` iff `2V_(d+1) ≡ P·V_d`. The checks concern the steps at and
    /// below bit `s`: when the low word of `n + 1` is not zero, only that word's steps make them.
    ///
    /// `n` must be odd with its top bit set, and `n + 1` must not overflow.
    pub(super) fn lucas_bpsw21<const N: usize>(n: &[u64; N], base: LucasBase) -> bool {
        debug_assert!(n[0] & 1 == 1 && n[N - 1] >> 63 == 1);
        debug_assert!(base.p >> 62 == 0 && base.abs_q >> 62 == 0);
        let n_inv = neg_inverse(n[0]);
        let v = reciprocal(n[N - 1]);
        // Montgomery forms: 1 = 2^(64N) − n (as n > 2^(64N − 1)), 2, P, Q, −Q·(Q/n)…
        let mut one = montgomery_one(n);
        let zero = [0u64; N];
        let neg = |a: &[u64; N]| sub_mod(&zero, a, n);
        let mut two = shl_mod(&one, 1, n, v);
        let mut p = mul_small(&one, base.p, n, v);
        let abs_q = mul_small(&one, base.abs_q, n, v);
        let mut q = if base.q_negative { neg(&abs_q) } else { abs_q };
        let mut two_q = shl_mod(&q, 1, n, v);
        let mut euler_target = if base.q_jacobi_negative { neg(&q) } else { q };
        // e = n + 1 = 2^s·d; s by a constant-time scan.
        let mut e = [0u64; N];
        let mut carry = 1u64;
        for i in 0..N {
            let (x, c) = n[i].overflowing_add(carry);
            e[i] = x;
            carry = u64::from(c);
        }
        let s = trailing_zeros(&e);
        let checked_below = if e[0] == 0 { 64 * N } else { 64 };
        // k = 0: V_0 = 2, V_1 = P, Q^0 = 1.
        let (mut v0, mut v1, mut qk) = (two, p, one);
        let (mut strong, mut lucas_v, mut euler) = (0u64, 0u64, 0u64);
        for i in (0..64 * N).rev() {
            let bit = (e[i / 64] >> (i % 64)) & 1;
            let mask = ct_mask(bit);
            // T = Q^(k + bit); Q^(2k + bit) = (Q^k)²·Q^bit.
            let q_bit = (base.abs_q & mask) | (1 & !mask);
            let two_t_abs = mul_small(&qk, 2 * q_bit, n, v);
            let negate = mask & u64::from(base.q_negative).wrapping_neg();
            let two_t = select(&two_t_abs, &neg(&two_t_abs), negate);
            let qk_sq = square(&qk, n, n_inv);
            let qk_next_abs = mul_small(&qk_sq, q_bit, n, v);
            let qk_next = select(&qk_next_abs, &neg(&qk_next_abs), negate);
            // V_(2k + 2·bit) = V_(k + bit)² − 2·Q^(k + bit); V_(2k+1) = V_k·V_(k+1) − P·Q^k.
            let x = select(&v0, &v1, mask);
            let sq = sub_mod(&square(&x, n, n_inv), &two_t, n);
            // P is 1 or 5 with the A* base (which P is tells only which base was chosen).
            let pqk = if base.p == 1 {
                qk
            } else {
                mul_small(&qk, base.p, n, v)
            };
            let m = sub_mod(&mul(&v0, &v1, n, n_inv), &pqk, n);
            v0 = select(&sq, &m, mask);
            v1 = select(&m, &sq, mask);
            qk = qk_next;
            if i < checked_below {
                // Now k = (n + 1) >> i.
                let i = i as u64;
                let at = |j: u64| ((j ^ i) | (j ^ i).wrapping_neg()) >> 63 ^ 1;
                let at_or_below_s = u64::from(i >= 1) & (s.wrapping_sub(i) >> 63 ^ 1);
                // At i = s: U_d ≡ 0 iff 2V_(d+1) − P·V_d ≡ 0.
                let u_d = sub_mod(&shl_mod(&v1, 1, n, v), &mul_small(&v0, base.p, n, v), n);
                strong |= at(s) & zero_mask(&u_d) & 1;
                strong |= at_or_below_s & zero_mask(&v0) & 1;
                euler |= at(1) & equal_mask(&qk, &euler_target) & 1;
                lucas_v |= at(0) & equal_mask(&v0, &two_q) & 1;
            }
        }
        // Every residue tells n: zeroized (temporaries in registers and on the stack aside).
        for a in [
            &mut v0,
            &mut v1,
            &mut qk,
            &mut e,
            &mut p,
            &mut q,
            &mut one,
            &mut two,
            &mut two_q,
            &mut euler_target,
        ] {
            a.zeroize();
        }
        strong & lucas_v & euler == 1
    }

    /// The windows in which a word of the exponent is processed by [`miller_rabin_base_2`]:
    /// (shift, width), from the top; widths up to 6 keep `2^digit` within one word.
    const WINDOWS: [(u32, u32); 11] = [
        (58, 6),
        (52, 6),
        (46, 6),
        (40, 6),
        (34, 6),
        (28, 6),
        (22, 6),
        (16, 6),
        (10, 6),
        (4, 6),
        (0, 4),
    ];

    /// All ones if `a == b`, else zero, in constant time.
    #[inline(always)]
    fn equal_mask<const N: usize>(a: &[u64; N], b: &[u64; N]) -> u64 {
        let mut diff = 0;
        for i in 0..N {
            diff |= a[i] ^ b[i];
        }
        // diff | −diff has its top bit set iff diff ≠ 0.
        ct_mask(((diff | diff.wrapping_neg()) >> 63) ^ 1)
    }

    /// The Miller-Rabin test of `n` to base 2: whether `n` is a strong probable prime to base 2.
    ///
    /// `n` must be odd with its top bit set. `2^(n − 1)` is computed left to right over the
    /// bits of `e = n − 1 = 2^s·d`. The checks for 1 and −1 concern the steps at and below bit
    /// `s`, so when the low word of `e` is not zero (`s < 64`: all odd `n` but a 2^−63 fraction),
    /// the words above it are processed in windows of up to 6 bits — that many squarings, then
    /// one multiplication by `2^digit` ([`shl_mod`]) — and the low word bit by bit: a squaring,
    /// a doubling by mask, the checks at every step. (If the low word is zero, every word is
    /// processed bit by bit; that branch tells only that the low word of `n − 1` is zero.)
    /// Either way the sequence of operations does not depend on the other bits of `n`, nor on
    /// `s`. Calls `stop` once per word and gives up (`None`) if it says so.
    pub(super) fn miller_rabin_base_2<const N: usize>(
        n: &[u64; N],
        stop: &dyn Fn() -> bool,
    ) -> Option<bool> {
        miller_rabin_base_2_with(n, stop, true)
    }

    /// [`miller_rabin_base_2`], with `windows` false: every bit one by one (for the tests).
    #[inline(always)]
    pub(super) fn miller_rabin_base_2_with<const N: usize>(
        n: &[u64; N],
        stop: &dyn Fn() -> bool,
        windows: bool,
    ) -> Option<bool> {
        debug_assert!(n[0] & 1 == 1 && n[N - 1] >> 63 == 1);
        let n_inv = neg_inverse(n[0]);
        // 1 in Montgomery form: 2^(64N) mod n = 2^(64N) − n, as n > 2^(64N − 1).
        let mut one = montgomery_one(n);
        // −1 in Montgomery form: n − one.
        let mut minus_one = [0u64; N];
        let mut borrow = 0u64;
        for i in 0..N {
            let (x, b1) = n[i].overflowing_sub(one[i]);
            let (x, b2) = x.overflowing_sub(borrow);
            minus_one[i] = x;
            borrow = u64::from(b1 | b2);
        }
        // e = n − 1 = 2^s·d with d odd; s by a constant-time scan.
        let mut e = *n;
        e[0] &= !1;
        let s = trailing_zeros(&e);
        // Left to right over the bits of e: y = 2^(e >> i) after bit i.
        let mut y = one;
        let bit_by_bit = if e[0] == 0 || !windows { 64 * N } else { 64 };
        if bit_by_bit < 64 * N {
            let v = reciprocal(n[N - 1]);
            for word in (1..N).rev() {
                if stop() {
                    for a in [&mut y, &mut one, &mut minus_one, &mut e] {
                        a.zeroize();
                    }
                    return None;
                }
                for (shift, width) in WINDOWS {
                    for _ in 0..width {
                        y = square(&y, n, n_inv);
                    }
                    let digit = (e[word] >> shift) & ((1 << width) - 1);
                    #[expect(clippy::cast_possible_truncation, reason = "below 64")]
                    let digit = digit as u32;
                    y = shl_mod(&y, digit, n, v);
                }
            }
        }
        let mut passed = 0u64;
        for i in (0..bit_by_bit).rev() {
            if i % 64 == 63 && stop() {
                for a in [&mut y, &mut one, &mut minus_one, &mut e] {
                    a.zeroize();
                }
                return None;
            }
            y = square(&y, n, n_inv);
            y = double_if(&y, (e[i / 64] >> (i % 64)) & 1, n);
            // After bit i, y = 2^(d·2^(s−i)) when i ≤ s: the test passes if y = 1 at i = s, or
            // y = −1 for some 1 ≤ i ≤ s.
            let i = i as u64;
            let at_s = ((s ^ i) | (s ^ i).wrapping_neg()) >> 63 ^ 1;
            let in_tail = u64::from(i >= 1) & (s.wrapping_sub(i) >> 63 ^ 1);
            let is_one = equal_mask(&y, &one) & 1;
            let is_minus_one = equal_mask(&y, &minus_one) & 1;
            passed |= (at_s & is_one) | (in_tail & is_minus_one);
        }
        for a in [&mut y, &mut one, &mut minus_one, &mut e] {
            a.zeroize();
        }
        Some(passed == 1)
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, reason = "test sizes are small")]
mod tests {
    use super::*;
    use crypto_bigint::{BoxedUint, NonZero, Resize};
    use crypto_primes::Flavor;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

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
        let survivors: std::collections::BTreeSet<u32> =
            segment.survivors.iter().copied().collect();
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
        let one = search_primes(table, &starts, NonZeroUsize::MIN);
        let three = search_primes(table, &starts, NonZeroUsize::new(3).unwrap());
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
        let found = search_primes(&table, &starts, NonZeroUsize::new(2).unwrap());
        assert_eq!(found, vec![None]);
        let starts = vec![(64, Zeroizing::new(vec![u64::MAX - 90]))];
        let found = search_primes(&table, &starts, NonZeroUsize::new(2).unwrap());
        assert_eq!(found, vec![Some(BoxedUint::from(u64::MAX - 82))]);
    }

    #[test]
    fn pairs_too_close_are_refused() {
        let mut rng = StdRng::seed_from_u64(7);
        let table = SieveTable::default_table();
        let starts: Vec<_> = (0..2)
            .map(|_| (1024, random_start(&mut rng, 1024)))
            .collect();
        let found = search_primes(table, &starts, NonZeroUsize::new(2).unwrap());
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
            let ours = KeyGenerator::new()
                .with_threads(NonZeroUsize::new(threads).unwrap())
                .generate_rsa(bits, &mut StdRng::seed_from_u64(seed))
                .unwrap();
            let theirs = rsa::PrivateKey::new(&mut StdRng::seed_from_u64(seed), bits).unwrap();
            assert_eq!(ours, PrivateKey::from_rsa(rsa_with_lambda(&theirs)));
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

    #[test]
    fn sizes_out_of_range_are_refused() {
        let g = KeyGenerator::new();
        let mut rng = StdRng::seed_from_u64(8);
        for bits in [0, 1024, 2047, 8193] {
            assert!(matches!(
                g.generate_rsa(bits, &mut rng),
                Err(Error::Unsupported { .. })
            ));
        }
        assert!(g.generate_rsa_batch(&[], &mut rng).unwrap().is_empty());
    }
}

#[cfg(test)]
mod corpus_tests;
