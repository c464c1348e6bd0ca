//! Fast RSA key generation: a deep sieve and a pool of threads searching for primes.
//!
//! A leaf: [`generate_rsa`] returns `rsa` keys or a [`Failure`], and knows nothing of the
//! crate's `PrivateKey` or `Error`; the public `KeyGenerator` (module `key`) wraps it. It makes
//! the same keys as `rsa` 0.10's `PrivateKey::new`, in a fraction of the time. For a key of `bits` bits it draws two random odd starts of `bits / 2` bits with their top
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
//! - **A pool of threads** (`KeyGenerator::threads`, by default the available parallelism)
//!   testing the candidates of the searches together, lowest candidate first. The result does not
//!   depend on the number of threads nor on their timing: a prime is only taken once every lower
//!   candidate of its search has been ruled out, and a cancel flag stops tests that can no longer
//!   matter. A batch (several sizes given to [`generate_rsa`]) keeps every thread busy across
//!   keys.
//!
//! # Strength of the primality test
//!
//! A candidate that passes the Miller-Rabin test (base 2) is then put through a strong Lucas
//! test with the A\* base and the checks of Baillie, Fiori and Wagstaff (2021) — the same test
//! as `crypto-primes`' [`lucas_test`](crypto_primes::hazmat::lucas_test) with
//! [`AStarBase`](crypto_primes::hazmat::AStarBase) and
//! [`LucasCheck::Bpsw21`](crypto_primes::hazmat::LucasCheck::Bpsw21), whose base
//! selection it reuses, done here in constant time with the Montgomery arithmetic above (a
//! ladder over the bits of `n + 1`; `crypto-primes`' is used for other sizes). The two together
//! are Baillie-PSW as strengthened in 2021 — exactly what [`crypto_primes::is_prime`] runs, and
//! the whole test `rsa` 0.10 applies — without repeating the Miller-Rabin test. No composite is
//! known to pass it.
//!
//! Both halves are this module's own code, so every prime found is also confirmed
//! independently before a key is made from it: Miller-Rabin to the fixed bases 3 and 5 on
//! `crypto-bigint`'s constant-time exponentiation (`BoxedMontyForm::pow`), which shares nothing
//! with this module's arithmetic. Each base is a job of the search's pool, started as soon as
//! a candidate passes the Miller-Rabin test to base 2, beside its Lucas test: with several
//! threads the final check overlaps with the rest of the search instead of following it. It
//! does not decide which candidate is a search's prime, so a prime always passes (the keys stay
//! those of `rsa` 0.10 for a seed); a failure would mean a bug and makes key generation return
//! [`Failure::FinalCheck`] — it fails closed, it does not search again. It costs about 35
//! million instructions per RSA-2048 key (4 exponentiations of 8.3 million, each 2.4 times this
//! module's Miller-Rabin test to base 2): ~7 % of the work of an average key, ~13 % of a median
//! one (callgrind, one thread, against the search before the check). In wall-clock time, on the
//! same 300 seeds with and without it (and the optimisation barriers), side by side on an idle
//! machine: +8.5 % at the median on one thread, +3 % on two (BENCHMARKS.md).
//!
//! The tests check both halves against `crypto-primes` on random numbers and primes, and run a
//! regression corpus (`tests/data/keygen/corpus.toml`): base-2 strong and Fermat pseudoprimes
//! of 512 to 2048 bits (the fast Miller-Rabin must let the strong ones through, the fast Lucas
//! test and the final check must stop them, a search started on one must return the next
//! prime), primes and pseudoprimes where the low word of `n ∓ 1` is zero, and Lucas composites
//! that only the strong check rejects; each of the Lucas test's three checks is compared with
//! a reference on its own (given the strong check, the V and Euler checks are equivalent, so
//! no composite fails one of them alone: see [`lucas::lucas_bpsw21`]). The key is then built by `rsa`'s `PrivateKey::from_p_q`
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

pub(crate) mod crt;
mod ct;
mod divisor;
mod lucas;
mod mont;
mod primality;
mod search;
mod sieve;

use std::fmt;
use std::num::NonZeroUsize;

use crypto_bigint::{BitOps, BoxedUint, RandomBits};
use rand::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use self::ct::ct_mask;
use self::divisor::Divisor;
use self::search::search_primes;
use self::sieve::SieveTable;

/// The public exponent of every generated key.
const PUBLIC_EXPONENT: u64 = 65_537;
/// The smallest modulus made (the crate's minimum).
const MIN_BITS: usize = 2048;
/// The largest modulus made (`rsa` 0.10's `PublicKey::MAX_SIZE`).
const MAX_BITS: usize = 8192;
/// FIPS 186-5 A.1.3: `|p − q| > 2^(nlen/2 − 100)`.
const PRIME_DISTANCE_MARGIN: u32 = 100;

/// Why [`generate_rsa`] made no key.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A modulus size outside [`MIN_BITS`]`..=`[`MAX_BITS`].
    UnsupportedSize {
        /// The size asked for, in bits.
        bits: usize,
    },
    /// A prime found by the search failed the [final check](primality::final_check_base): a bug in the
    /// search's primality tests. No key is made rather than searching again.
    FinalCheck,
    /// `rsa` refused to make a key of the primes found (a bug); its error is the source.
    Rejected(rsa::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedSize { bits } => write!(
                f,
                "RSA-{bits}: the modulus must have {MIN_BITS} to {MAX_BITS} bits"
            ),
            Self::FinalCheck => f.write_str(
                "a prime found by the search failed the final Miller-Rabin check (bases 3 and \
                 5): this is a bug in etcd-pki's primality tests; no key was made, please report it",
            ),
            Self::Rejected(_) => f.write_str(
                "the rsa crate refused to make a key of the primes found: this is a bug in \
                 etcd-pki's key generator, please report it",
            ),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rejected(e) => Some(e),
            Self::UnsupportedSize { .. } | Self::FinalCheck => None,
        }
    }
}

/// RSA keys with public exponent 65537, one per entry of `bits` (each a modulus size, exactly
/// that many bits), in that order, searched for by `threads` threads together.
///
/// The starts of all the searches are drawn from `rng` first, in order, on the calling thread:
/// with a seeded generator, the keys are those that `rsa` 0.10's `PrivateKey::new` makes when
/// called once per key, for any number of threads — except in the rare case (about 1 in
/// 30,000 keys) that a pair of primes has to be replaced because e divides `p − 1` or `q − 1`
/// (or the primes are too close), when new starts are drawn for that key after the others.
/// d is computed modulo λ(n), as FIPS 186-5 asks (`rsa::PrivateKey::from_p_q`).
pub(crate) fn generate_rsa<R: CryptoRng + ?Sized>(
    bits: &[usize],
    rng: &mut R,
    threads: NonZeroUsize,
) -> Result<Vec<rsa::PrivateKey>, Failure> {
    let sizes = bits
        .iter()
        .map(|&b| prime_sizes(b))
        .collect::<Result<Vec<_>, _>>()?;
    let table = SieveTable::default_table();
    let mut keys: Vec<Option<rsa::PrivateKey>> = vec![None; bits.len()];
    // Keys still to make: their index and the sizes of their two primes.
    let mut todo: Vec<(usize, (u32, u32))> = sizes.iter().copied().enumerate().collect();
    while !todo.is_empty() {
        // Two starts per key, p's then q's, in key order: what `rsa` draws.
        let starts: Vec<(u32, Zeroizing<Vec<u64>>)> = todo
            .iter()
            .flat_map(|&(_, (p_bits, q_bits))| [p_bits, q_bits])
            .map(|b| (b, random_start(rng, b)))
            .collect();
        let mut found = search_primes(table, &starts, threads)?;
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
        for (index, key) in assemble_keys(pairs, threads) {
            keys[index] = Some(key?);
        }
        todo = retry;
    }
    Ok(keys.into_iter().flatten().collect())
}

/// The sizes in bits of p and q for a modulus of `bits` bits, as `rsa` 0.10 splits it.
fn prime_sizes(bits: usize) -> Result<(u32, u32), Failure> {
    match u32::try_from(bits) {
        Ok(b) if (MIN_BITS..=MAX_BITS).contains(&bits) => Ok((b / 2, b - b / 2)),
        _ => Err(Failure::UnsupportedSize { bits }),
    }
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

/// Builds the keys from their primes (which passed the [final check](primality::final_check_base) in the
/// search), spreading the work over up to `threads` threads: `rsa`'s `PrivateKey::from_p_q`.
fn assemble_keys(
    pairs: Vec<(usize, BoxedUint, BoxedUint)>,
    threads: NonZeroUsize,
) -> Vec<(usize, Result<rsa::PrivateKey, Failure>)> {
    crate::parallel::map(pairs, threads, |(index, p, q)| {
        let key = rsa::PrivateKey::from_p_q(p, q, BoxedUint::from(PUBLIC_EXPONENT))
            .map_err(Failure::Rejected);
        (index, key)
    })
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, reason = "test sizes are small")]
mod tests;

#[cfg(test)]
mod corpus_tests;
