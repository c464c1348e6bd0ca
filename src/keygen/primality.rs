//! The primality tests of a candidate, dispatched by size: Miller-Rabin to base 2 (this
//! module's Montgomery arithmetic for 512 to 2048-bit candidates, else `crypto-primes`'), then
//! the strong Lucas test that makes it Baillie-PSW, and the independent final check of every
//! prime found (Miller-Rabin to the bases 3 and 5 on `crypto-bigint`'s exponentiation).

use crypto_bigint::{BoxedUint, Odd};
use crypto_primes::hazmat::{AStarBase, LucasBase as _, LucasCheck, MillerRabin, lucas_test};
use zeroize::Zeroize;

use super::divisor::Divisor;
use super::{lucas, mont};

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
#[cfg(test)]
pub(super) use by_size;

/// Miller-Rabin base 2: this module's for the common sizes (512, 1024, 1536, 2048 bits), else
/// `crypto-primes`'. `None` if `stop` asked to give up.
pub(super) fn quick_test(words: &[u64], stop: &dyn Fn() -> bool) -> Option<bool> {
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
/// This module's constant-time Lucas test ([`lucas::lucas_bpsw21`]) for the common sizes, else
/// `crypto-primes`' (the same checks, the same answers).
pub(super) fn confirm(n: &BoxedUint) -> bool {
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
    let base = lucas::LucasBase {
        p,
        abs_q,
        q_negative,
        q_jacobi_negative: q_jacobi < 0,
    };
    match by_size!(words, lucas::lucas_bpsw21, base) {
        Some(checks) => checks.passed(),
        None => theirs(),
    }
}

/// The Jacobi symbol `(a/m)` of small numbers, `m` odd: 1, −1, or 0 if `gcd(a, m) > 1`.
pub(super) fn jacobi_words(mut a: u64, mut m: u64) -> i8 {
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
pub(super) fn jacobi_of_small(abs_a: u64, a_negative: bool, n: &[u64]) -> i8 {
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
// The final, independent check of every prime.

/// The bases of the final check ([`final_check_base`]): fixed, so that seeded keys stay those
/// of `rsa` 0.10 (a prime passes Miller-Rabin to every base), and other than 2, which the
/// search already tested.
pub(super) const FINAL_CHECK_BASES: [u64; 2] = [3, 5];

/// An independent confirmation of a prime that the search found, to its base number `index`
/// of [`FINAL_CHECK_BASES`] (`n` as little-endian words): Miller-Rabin on `crypto-bigint`'s
/// constant-time Montgomery exponentiation (`BoxedMontyForm::pow`), which shares no code with
/// this module's Montgomery arithmetic nor with `crypto-primes`' Lucas test. A prime always
/// passes; a composite that slipped through a bug in the search's tests fails with
/// overwhelming probability. The search runs one base per job, so that the bases of a prime
/// are checked in parallel.
pub(super) fn final_check_base(words: &[u64], index: usize) -> bool {
    let mut n = BoxedUint::from_words(words.iter().copied());
    let result = strong_probable_prime_ct(&n, FINAL_CHECK_BASES[index]);
    n.zeroize();
    result
}

/// [`final_check_base`] to every base (for the tests).
#[cfg(test)]
pub(super) fn final_check(n: &BoxedUint) -> bool {
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
pub(super) fn strong_probable_prime_ct(n: &BoxedUint, base: u64) -> bool {
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
