//! The strong Lucas test of Baillie, Fiori and Wagstaff (2021) in constant time, on the
//! Montgomery arithmetic of [`mont`](super::mont): the second half of Baillie-PSW for the
//! common prime sizes. `.ci/check-constant-time.sh` checks [`lucas_bpsw21`] of the release
//! binary for conditional jumps on data.

use zeroize::Zeroize as _;

use super::ct::ct_mask;
use super::mont::{
    equal_mask, montgomery_one, mul, mul_small, neg_inverse, reciprocal, select, shl_mod, square,
    sub_mod, trailing_zeros, zero_mask,
};

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

/// The outcome of each check of [`lucas_bpsw21`] (public: only which checks passed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LucasChecks {
    /// `U_d ≡ 0` or `V_(d·2^r) ≡ 0` for some `0 ≤ r < s`.
    pub(super) strong: bool,
    /// `V_(n+1) ≡ 2Q`.
    pub(super) v: bool,
    /// `Q^((n+1)/2) ≡ Q·(Q/n)`.
    pub(super) euler: bool,
}

impl LucasChecks {
    /// Whether `n` passed the test: every check passed.
    pub(super) fn passed(self) -> bool {
        self.strong && self.v && self.euler
    }
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
///
/// Given the strong check, the V check and the Euler check accept the same `n` — for every odd
/// `n` prime to `Q·D` with `(D/n) = −1`, prime or not: with `γ = α/β` (α, β the roots of
/// `x² − Px + Q`), the strong check gives `γ^((n+1)/2) ≡ τ = ±1` modulo every prime factor
/// alike, so `V_(n+1) ≡ 2τ·Q^((n+1)/2)` and the V check holds iff `Q^((n−1)/2) ≡ τ`; modulo a
/// prime `ℓ`, `γ^((ℓ−(D/ℓ))/2) ≡ (Q/ℓ)`, and comparing the 2-adic valuations of `ℓ − (D/ℓ)`
/// and of `n + 1` gives `τ = (Q/n)`, which is what the Euler check compares with. (No composite
/// below 20,000 passes exactly one of the two with P ≤ 10, |Q| ≤ 5, checked by exhaustive
/// search.) So no composite fails the V check alone, nor the Euler check alone: a test can only
/// tell their removal apart with a wrong `(Q/n)` ([`LucasBase::q_jacobi_negative`]), which
/// makes the Euler check fail a prime. Both are kept, as in `crypto-primes`' `Bpsw21` check,
/// and the outcome of each is returned ([`LucasChecks`]), so that the tests compare each with
/// a reference (a composite that fails both shows whether the V check is computed) and check
/// that [`LucasChecks::passed`] requires all three.
///
/// The same ladder on `crypto-bigint`'s `FixedMontyForm<16>` (constant-time selections by
/// `Choice`, six Montgomery products per bit as the API has no product by a small number)
/// takes 42.0 million instructions per 1024-bit test against this function's 18.1 million
/// (2.3 times), which would add ~48 million instructions to an RSA-2048 key: ~10 % of the work
/// of an average key and ~19 % of a median one (callgrind, same seeds), on top of the final
/// check. Measured for issue #12; this module's arithmetic is kept.
pub(super) fn lucas_bpsw21<const N: usize>(n: &[u64; N], base: LucasBase) -> LucasChecks {
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
    LucasChecks {
        strong: strong == 1,
        v: lucas_v == 1,
        euler: euler == 1,
    }
}
