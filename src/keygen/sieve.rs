//! The sieve: the odd primes below 2<sup>18</sup>, the residues of a start modulo each of them
//! (computed a machine word of primes at a time, in constant time), and the segments of a
//! prime search with the candidates that have a small factor struck out.

use zeroize::Zeroizing;

use super::ct::ct_mask;
use super::divisor::Divisor;

/// Odd primes up to this bound strike out candidates before any exponentiation.
const SIEVE_BOUND: u32 = 1 << 18;

/// The odd primes up to a bound, grouped in "packs" whose product fits in a word.
#[derive(Debug)]
pub(super) struct SieveTable {
    /// Odd primes `3 ..= bound`, ascending.
    pub(super) primes: Table<u32>,
    /// For each prime p, `floor(2^64 / p)`, for constant-time Barrett reductions.
    barrett: Table<u64>,
    /// Consecutive groups of `primes`: the product of each group, and where it ends in `primes`.
    pub(super) packs: Table<(Divisor, usize)>,
}

/// A table of the sieve: data built at compile time, or (for other bounds, in the tests) at
/// run time. Reads as a slice.
#[derive(Debug)]
pub(super) enum Table<T: 'static> {
    /// Built at compile time.
    Static(&'static [T]),
    /// Built at run time.
    #[cfg(test)]
    Owned(Vec<T>),
}

impl<T> std::ops::Deref for Table<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Self::Static(s) => s,
            #[cfg(test)]
            Self::Owned(v) => v,
        }
    }
}

impl<'a, T> IntoIterator for &'a Table<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Bit `i` of word `i / 64` is set if the odd number `2i + 1` is composite (or 1), for odd
/// numbers up to [`SIEVE_BOUND`]: a sieve of Eratosthenes run by the compiler.
static COMPOSITE: [u64; (SIEVE_BOUND as usize) / 128 + 1] = {
    let mut bits = [0u64; (SIEVE_BOUND as usize) / 128 + 1];
    bits[0] = 1; // 1 is not prime
    let bound = SIEVE_BOUND as usize;
    let mut i = 3;
    while i * i <= bound {
        if bits[i / 128] >> ((i / 2) % 64) & 1 == 0 {
            let mut j = i * i;
            while j <= bound {
                bits[j / 128] |= 1 << ((j / 2) % 64);
                j += 2 * i;
            }
        }
        i += 2;
    }
    bits
};

/// Whether the odd number `i ≤ SIEVE_BOUND` is prime, from [`COMPOSITE`].
const fn odd_is_prime(i: usize) -> bool {
    COMPOSITE[i / 128] >> ((i / 2) % 64) & 1 == 0
}

/// π(2^18) − 1: the number of odd primes below the bound.
const PRIME_COUNT: usize = {
    let mut count = 0;
    let mut i = 3;
    while i <= SIEVE_BOUND as usize {
        if odd_is_prime(i) {
            count += 1;
        }
        i += 2;
    }
    count
};

/// The odd primes up to [`SIEVE_BOUND`], ascending, built at compile time.
static PRIMES: [u32; PRIME_COUNT] = {
    let mut primes = [0u32; PRIME_COUNT];
    let mut k = 0;
    let mut i = 3;
    while i <= SIEVE_BOUND as usize {
        if odd_is_prime(i) {
            #[expect(clippy::cast_possible_truncation, reason = "i ≤ 2^18")]
            let p = i as u32;
            primes[k] = p;
            k += 1;
        }
        i += 2;
    }
    primes
};

/// `floor(2^64 / p)` for each of [`PRIMES`], built at compile time.
static BARRETT: [u64; PRIME_COUNT] = {
    let mut barrett = [0u64; PRIME_COUNT];
    let mut k = 0;
    while k < PRIME_COUNT {
        barrett[k] = u64::MAX / (PRIMES[k] as u64);
        k += 1;
    }
    barrett
};

/// Where each pack of [`PRIMES`] ends (the product of a pack fits in a word, one more prime
/// would not): the number of packs, then the packs, both at compile time.
const PACK_COUNT: usize = {
    let mut packs = 0;
    let mut product: u64 = 1;
    let mut k = 0;
    while k < PRIME_COUNT {
        match product.checked_mul(PRIMES[k] as u64) {
            Some(next) => product = next,
            None => {
                packs += 1;
                product = PRIMES[k] as u64;
            }
        }
        k += 1;
    }
    if product > 1 { packs + 1 } else { packs }
};

/// The packs of [`PRIMES`]: the product of each, with its divisor's reciprocal, and where it
/// ends; built at compile time, as [`SieveTable::new`] builds them at run time.
static PACKS: [(Divisor, usize); PACK_COUNT] = {
    let mut packs = [(Divisor::new(2), 0); PACK_COUNT];
    let mut n = 0;
    let mut product: u64 = 1;
    let mut k = 0;
    while k < PRIME_COUNT {
        match product.checked_mul(PRIMES[k] as u64) {
            Some(next) => product = next,
            None => {
                packs[n] = (Divisor::new(product), k);
                n += 1;
                product = PRIMES[k] as u64;
            }
        }
        k += 1;
    }
    if product > 1 {
        packs[n] = (Divisor::new(product), PRIME_COUNT);
    }
    packs
};

impl SieveTable {
    /// The table for [`SIEVE_BOUND`]: static data, built at compile time.
    pub(super) fn default_table() -> &'static Self {
        static TABLE: SieveTable = SieveTable {
            primes: Table::Static(&PRIMES),
            barrett: Table::Static(&BARRETT),
            packs: Table::Static(&PACKS),
        };
        &TABLE
    }

    /// The table of the odd primes up to `bound`, built at run time (for the tests).
    #[cfg(test)]
    pub(super) fn new(bound: u32) -> Self {
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
            primes: Table::Owned(primes),
            barrett: Table::Owned(barrett),
            packs: Table::Owned(packs),
        }
    }

    /// The residues of `x` (little-endian words) modulo each prime of the table.
    pub(super) fn residues(&self, words: &[u64], out: &mut Vec<u32>) {
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

/// The odd primes up to `bound` (sieve of Eratosthenes), at run time (for the tests).
#[cfg(test)]
pub(super) fn odd_primes_up_to(bound: u32) -> Vec<u32> {
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
pub(super) struct Segment {
    base: Zeroizing<Vec<u64>>,
    pub(super) survivors: Zeroizing<Vec<u32>>,
    /// The search reached `2^bits`: there is no segment after this one.
    pub(super) last: bool,
}

impl Segment {
    /// Sieves the `len` odd numbers from `base` (odd, below `2^bits`) with `table`.
    pub(super) fn sieve(
        table: &SieveTable,
        base: Zeroizing<Vec<u64>>,
        bits: u32,
        len: usize,
    ) -> Self {
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
    pub(super) fn candidate(&self, index: usize) -> Zeroizing<Vec<u64>> {
        add_small(&self.base, 2 * u64::from(self.survivors[index]))
    }
}

/// `2^bits − 1 − x` for `x < 2^bits`, saturated at `u64::MAX`.
pub(super) fn headroom(words: &[u64], bits: u32) -> u64 {
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
pub(super) fn add_small(words: &[u64], small: u64) -> Zeroizing<Vec<u64>> {
    let mut out = Zeroizing::new(words.to_vec());
    let mut carry = small;
    for w in out.iter_mut() {
        let (t, c) = w.overflowing_add(carry);
        *w = t;
        carry = u64::from(c);
    }
    out
}

#[cfg(test)]
mod static_tests {
    use super::*;

    /// The tables the compiler builds are those the run-time code builds.
    #[test]
    fn static_tables_equal_the_run_time_computation() {
        let built = SieveTable::new(SIEVE_BOUND);
        let table = SieveTable::default_table();
        assert!(matches!(table.primes, Table::Static(_)));
        assert_eq!(&*table.primes, &*built.primes);
        assert_eq!(&*table.barrett, &*built.barrett);
        assert_eq!(&*table.packs, &*built.packs);
        assert_eq!(table.primes.len(), 22_999);
    }
}
