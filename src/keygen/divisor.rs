//! Division by one word with a precomputed reciprocal (Möller and Granlund, "Improved division
//! by invariant integers", 2011, algorithm 4), in constant time: the remainders of a candidate
//! modulo the sieve's packs of small primes, modulo e and modulo the small `|Q|` of a Lucas base.
//!
//! `crypto-bigint`'s `Reciprocal` (with `BoxedUint::rem_limb_with_reciprocal`) is the same
//! algorithm, but one divisor at a time: measured in a release build, the sieve's residues of a
//! 1024-bit start modulo the 22,999 sieving primes took 1.67 ms with it against 0.77 ms with
//! [`Divisor::rem4`]'s four independent chains (3.4 against 1.2 ms at 1536 bits, 4.4 against
//! 1.9 ms at 2048 bits), about 2% of an RSA-2048 key (two such computations in ~90 ms on one
//! thread). So this module keeps its own.

use super::ct::ct_mask;

/// A one-word divisor with its normalisation shift and reciprocal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Divisor {
    /// The divisor shifted left until its top bit is set.
    normalized: u64,
    /// The shift.
    shift: u32,
    /// `floor((2^128 − 1) / normalized) − 2^64`.
    reciprocal: u64,
    /// The divisor itself.
    pub(super) value: u64,
}

impl Divisor {
    /// Precomputes the reciprocal of `value` (not secret: the division here is variable-time).
    /// A `const fn`: the sieve's divisors are built at compile time.
    pub(super) const fn new(value: u64) -> Self {
        assert!(value > 1, "divisor must be at least 2");
        let shift = value.leading_zeros();
        let normalized = value << shift;
        let numerator = ((!normalized as u128) << 64) | (u64::MAX as u128);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the quotient is below 2^64 for a normalised divisor"
        )]
        let reciprocal = (numerator / (normalized as u128)) as u64;
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
    pub(super) fn rem(&self, words: &[u64]) -> u64 {
        let mut r = self.shifted_word(words, words.len());
        for i in (0..words.len()).rev() {
            r = self.rem_2by1(r, self.shifted_word(words, i));
        }
        r >> self.shift
    }

    /// `x mod value` for four divisors at once (independent chains, for instruction-level
    /// parallelism).
    #[inline(always)]
    pub(super) fn rem4(divisors: &[Self; 4], words: &[u64]) -> [u64; 4] {
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
