//! Constant-time Montgomery arithmetic modulo an odd `n` of exactly `64·N` bits, and on it the
//! fast Miller-Rabin test to base 2 of the common prime sizes (`N` = 8, 16, 24, 32 words).
//!
//! Every function here runs a sequence of operations that depends on `n` only through `N` (and,
//! for the Miller-Rabin test, whether the low word of `n − 1` is zero); selections and
//! corrections go through [`ct_mask`]. `.ci/check-constant-time.sh` checks [`square`] and
//! [`miller_rabin_base_2`] of the release binary for conditional jumps on data.

use zeroize::Zeroize as _;

use super::ct::ct_mask;

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
    reduce_column::<N, K>(n, n_inv, m, out, acc);
}

/// The Montgomery reduction's part of column `K` (of [`square`] and [`mul_unrolled`]): adds
/// `m[i]·n[K − i]` for the multipliers already chosen, then chooses `m[K]` to clear the
/// column (for `K < N`) or takes out the result word `K − N`.
#[inline(always)]
fn reduce_column<const N: usize, const K: usize>(
    n: &[u64; N],
    n_inv: u64,
    m: &mut [u64; N],
    out: &mut [u64; N],
    acc: &mut Acc,
) {
    let mut i = if K >= N { K + 1 - N } else { 0 };
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

/// Calls the column function `$f` ([`column()`] or [`mul_column()`]) for each listed column
/// index.
macro_rules! columns {
    ($f:ident $args:tt; $($k:literal)*) => {
        $( columns!(@one $f $args $k); )*
    };
    (@one $f:ident ($a:expr, $n:ident, $inv:ident, $m:ident, $out:ident, $acc:ident) $k:literal) => {
        $f::<N, $k>($a, $n, $inv, &mut $m, &mut $out, &mut $acc)
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
    columns!(column (a, n, n_inv, m, out, acc);
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
pub(super) fn mul_small<const N: usize>(a: &[u64; N], c: u64, n: &[u64; N], v: u64) -> [u64; N] {
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

/// Column `K` of [`mul_unrolled`]: the words of weight `2^(64K)` of `a·b` and of the reduction
/// multiples `m[i]·n`, summed; `m[K]` is chosen (for `K < N`) to clear the column. All bounds
/// are constants, so that the loops unroll completely.
#[inline(always)]
fn mul_column<const N: usize, const K: usize>(
    (a, b): (&[u64; N], &[u64; N]),
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
    let mut i = i_lo;
    while i <= K && i < N {
        acc.add_product(a[i], b[K - i]);
        i += 1;
    }
    reduce_column::<N, K>(n, n_inv, m, out, acc);
}

/// [`mul`] fully unrolled, for `N ≤ 32`, and not inlined (as [`square`], for the same reason):
/// the signature's exponentiation ([`super::crt`]) multiplies by a table entry after every
/// four squarings, and the rolled loop of [`mul`] cost about twice as much per product as the
/// unrolled squaring.
#[inline(never)]
pub(super) fn mul_unrolled<const N: usize>(
    a: &[u64; N],
    b: &[u64; N],
    n: &[u64; N],
    n_inv: u64,
) -> [u64; N] {
    const { assert!(N >= 1 && N <= 32) };
    let mut m = [0u64; N];
    let mut out = [0u64; N];
    let mut acc = Acc::ZERO;
    columns!(mul_column ((a, b), n, n_inv, m, out, acc);
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
        16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
        32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
        48 49 50 51 52 53 54 55 56 57 58 59 60 61 62
    );
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
pub(super) fn select<const N: usize>(a: &[u64; N], b: &[u64; N], mask: u64) -> [u64; N] {
    let mut out = [0u64; N];
    for i in 0..N {
        out[i] = (a[i] & !mask) | (b[i] & mask);
    }
    out
}

/// All ones if `a` is zero, else zero, in constant time.
#[inline(always)]
pub(super) fn zero_mask<const N: usize>(a: &[u64; N]) -> u64 {
    let mut any = 0;
    for &w in a {
        any |= w;
    }
    ct_mask(((any | any.wrapping_neg()) >> 63) ^ 1)
}

/// 1 in Montgomery form, `2^(64N) mod n = 2^(64N) − n` for `n > 2^(64N − 1)`.
#[inline(always)]
pub(super) fn montgomery_one<const N: usize>(n: &[u64; N]) -> [u64; N] {
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
pub(super) fn trailing_zeros<const N: usize>(e: &[u64; N]) -> u64 {
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
pub(super) fn equal_mask<const N: usize>(a: &[u64; N], b: &[u64; N]) -> u64 {
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
