//! The RSA private-key operation of signing (RSASP1, RFC 8017 §5.2.1) with the Chinese
//! remainder theorem, on the key generator's constant-time Montgomery arithmetic.
//!
//! It is `rsa` 0.10's own algorithm (`hazmat::rsa_decrypt_and_check` with its blinding), with
//! its precomputed values (`dP`, `dQ`, `qInv` and the Montgomery parameters of p and q, kept in
//! the `rsa` key), and two substitutions, which are why it is about three times faster:
//!
//! - the two exponentiations modulo the blinded primes run on [`super::mont`]'s product-scanning
//!   squaring and multiplication, in fixed windows of 4 bits with a masked table look-up
//!   ([`pow_window`]), instead of `crypto-bigint`'s `BoxedMontyForm::pow`;
//! - the base-blinding pair `(r^e, r^−1) mod n` is not drawn afresh for every signature (its
//!   modular inversion alone costs more than both exponentiations): as in OpenSSL
//!   (`BN_BLINDING_update`), it is squared after each use, `(r^2e, r^−2)`, and drawn afresh
//!   every [`BLINDING_REFRESH`] signatures. The exponent blinding (`dP + k·(p − 1)`, a fresh
//!   random `k` of 128 bits per signature and prime, as `rsa` 0.10 draws it) and the modulus
//!   blinding (the exponentiation is done modulo `p·g` for a fresh random odd `g` of 128 bits,
//!   127 of them random, where `rsa` 0.10's `g = 2r + 1` has 129 bits, 128 random) are fresh
//!   for every signature. Both are twice the 64 bits that the CFRG's RSA guidance (§6.4) asks
//!   for at least; 64-bit values (which this module used before) signed a certificate 13–20 %
//!   faster, measured side by side.
//!
//! Before the result is returned it is checked: `s^e mod n` must give back the message
//! representative (RSAVP1 with e = 65537, the defence against faults in the CRT computation
//! that `rsa` makes as well). The signature is deterministic, so it is byte for byte the one
//! `rsa` 0.10 makes (the tests check it on 10,000 random cases).
//!
//! Sizes: primes of 16, 24 or 32 words (RSA-2048, -3072, -4096) with a modulus whose size is a
//! multiple of 64 bits; [`sign_raw`] returns [`Failure::Unsupported`] for any other key, which the caller
//! signs with `rsa` instead.

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, ConcatenatingMul, CtEq, NonZero, Odd, RandomMod, Resize};
use rand::Rng;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use zeroize::{Zeroize, Zeroizing};

use super::ct::ct_mask;
use super::mont;

/// After this many signatures the base-blinding pair is drawn afresh (OpenSSL's
/// `BN_BLINDING_COUNTER`).
pub(crate) const BLINDING_REFRESH: u32 = 32;

/// Why [`sign_raw`] returned no signature.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A key this module does not handle (multi-prime, no precomputed values, an unusual size):
    /// sign with `rsa` instead.
    Unsupported,
    /// The representative is not below n (a bug in the caller).
    OutOfRange,
    /// The computed signature did not verify: a fault (or a bug); nothing may be released.
    Fault,
}

/// The base-blinding pair `(r^e mod n, r^−1 mod n)` of a key, and how often it has served.
/// Zeroized on drop.
pub(crate) struct Blinding {
    /// `r^e mod n`: multiplies the representative before the exponentiations.
    forward: BoxedUint,
    /// `r^−1 mod n`: multiplies their result.
    inverse: BoxedUint,
    /// Signatures made with this pair (or its squares).
    uses: u32,
}

impl Drop for Blinding {
    fn drop(&mut self) {
        self.forward.zeroize();
        self.inverse.zeroize();
    }
}

impl Blinding {
    /// A fresh pair for `key`: a random `r` below n (drawn until it is invertible).
    fn new<R: Rng + ?Sized>(key: &rsa::PrivateKey, rng: &mut R) -> Self {
        let n = key.n();
        let odd = Odd::new(n.as_ref().clone()).expect("an RSA modulus is odd");
        loop {
            let mut r = Zeroizing::new(BoxedUint::random_mod_vartime(rng, n));
            let inverse: Option<BoxedUint> = r.invert_odd_mod(&odd).into();
            if let Some(inverse) = inverse {
                let forward = to_monty(&r, key.n_params())
                    .pow_bounded_exp(key.e(), key.e().bit_width())
                    .retrieve();
                r.zeroize();
                return Self {
                    forward,
                    inverse,
                    uses: 0,
                };
            }
        }
    }

    /// Squares both halves of the pair (`r → r²`), for the next signature.
    fn advance(&mut self, n: &NonZero<BoxedUint>) {
        let forward = self.forward.mul_mod(&self.forward, n);
        let inverse = self.inverse.mul_mod(&self.inverse, n);
        self.forward.zeroize();
        self.inverse.zeroize();
        self.forward = forward;
        self.inverse = inverse;
        self.uses += 1;
    }
}

/// `x` in Montgomery form modulo `params`, for any width of `x` (Horner's rule over digits of
/// the modulus' width, as `rsa` 0.10 reduces): loop counts depend only on the widths.
fn to_monty(x: &BoxedUint, params: &BoxedMontyParams) -> BoxedMontyForm {
    let bits = params.bits_precision();
    if x.bits_precision() <= bits {
        return BoxedMontyForm::new(x.resize_unchecked(bits), params);
    }
    let radix = BoxedMontyForm::from_montgomery(params.as_ref().r2().clone(), params);
    let digit = |limbs: &[crypto_bigint::Limb]| {
        let mut value = Zeroizing::new(BoxedUint::zero_with_precision(bits));
        value.as_mut_limbs()[..limbs.len()].copy_from_slice(limbs);
        BoxedMontyForm::new((*value).clone(), params)
    };
    let mut chunks = x.as_limbs().chunks(params.modulus().as_limbs().len()).rev();
    let mut acc = digit(chunks.next().expect("a non-empty integer"));
    for chunk in chunks {
        acc *= &radix;
        let mut d = digit(chunk);
        acc += &d;
        d.zeroize();
    }
    acc
}

/// `x^e mod m` for `x` and the result in Montgomery form modulo the odd `m < 2^(64M)`
/// (`one` is 1 in that form), in constant time: the exponent's `64·E` bits from the top in
/// windows of 4 bits — four squarings, then a multiplication by the table entry of the digit,
/// fetched by reading all 16 entries under masks. `square` is [`mont::square`] for the sizes it
/// has, else [`mont::mul`] of `a` by itself; `mul` is [`mont::mul_unrolled`] for the sizes it
/// has, else [`mont::mul`]. The sequence of operations and memory accesses
/// depends only on `M` and `E`.
#[inline(never)]
fn pow_window<const M: usize, const E: usize>(
    x: &[u64; M],
    one: &[u64; M],
    e: &[u64; E],
    m: &[u64; M],
    (square, mul): (Square<M>, Mul<M>),
) -> [u64; M] {
    let m_inv = mont::neg_inverse(m[0]);
    let mut table = [[0u64; M]; 16];
    table[0] = *one;
    table[1] = *x;
    for i in 2..16 {
        table[i] = mul(&table[i - 1], x, m, m_inv);
    }
    let mut y = *one;
    let mut entry = [0u64; M];
    for word in (0..E).rev() {
        for shift in (0..16).rev() {
            for _ in 0..4 {
                y = square(&y, m, m_inv);
            }
            let digit = (e[word] >> (4 * shift)) & 15;
            entry = [0u64; M];
            for (j, t) in (0u64..).zip(table.iter()) {
                let diff = j ^ digit;
                let hit = ct_mask(((diff | diff.wrapping_neg()) >> 63) ^ 1);
                for (out, &w) in entry.iter_mut().zip(t) {
                    *out |= w & hit;
                }
            }
            y = mul(&y, &entry, m, m_inv);
        }
    }
    entry.zeroize();
    for t in &mut table {
        t.zeroize();
    }
    y
}

/// A Montgomery squaring modulo `m` (with `m_inv`).
type Square<const M: usize> = fn(&[u64; M], &[u64; M], u64) -> [u64; M];
/// A Montgomery multiplication modulo `m` (with `m_inv`).
type Mul<const M: usize> = fn(&[u64; M], &[u64; M], &[u64; M], u64) -> [u64; M];

/// [`mont::mul`] of `a` by itself: the squaring for sizes [`mont::square`] does not have.
fn square_by_mul<const M: usize>(a: &[u64; M], m: &[u64; M], m_inv: u64) -> [u64; M] {
    mont::mul(a, a, m, m_inv)
}

/// [`mont::mul`], not inlined: the multiplication for sizes [`mont::mul_unrolled`] does not
/// have.
fn mul_rolled<const M: usize>(a: &[u64; M], b: &[u64; M], m: &[u64; M], m_inv: u64) -> [u64; M] {
    mont::mul(a, b, m, m_inv)
}

/// The exponent blinding `k` and the modulus blinding `g` of one exponentiation, fresh from
/// `rng`: 128 bits each (as `rsa` 0.10 draws them), `g` odd.
fn blinding_factors<R: Rng + ?Sized>(rng: &mut R) -> (Zeroizing<BoxedUint>, Zeroizing<BoxedUint>) {
    let k = Zeroizing::new(BoxedUint::from_words([rng.next_u64(), rng.next_u64()]));
    let g = Zeroizing::new(BoxedUint::from_words([rng.next_u64() | 1, rng.next_u64()]));
    (k, g)
}

/// `base^exponent mod p` computed modulo `p·g` for a fresh random odd `g` of 128 bits, with the
/// exponent blinded as `exponent + k·(p − 1)` for a fresh random `k` of 128 bits; returned in
/// Montgomery form modulo `p` (`p_params`). `M` is the number of words of `p` plus two.
fn pow_blinded<const M: usize, R: Rng + ?Sized>(
    rng: &mut R,
    base: &BoxedUint,
    exponent: &BoxedUint,
    p_params: &BoxedMontyParams,
    ops: (Square<M>, Mul<M>),
) -> BoxedMontyForm {
    let p = p_params.modulus();
    let bits = u32::try_from(64 * M).expect("a small size");
    let (k, g) = blinding_factors(rng);
    // The blinded exponent: below 2^(64(M − 2)) · 2^128.
    let pm1 = Zeroizing::new(p.as_ref().wrapping_sub(BoxedUint::one()));
    let mut blinded = Zeroizing::new(pm1.concatenating_mul(&*k));
    blinded.wrapping_add_assign(exponent);
    let blinded = Zeroizing::new((&*blinded).resize_unchecked(bits));
    // The blinded modulus p·g, g odd (and so p·g odd), below 2^(64(M − 2)) · 2^128.
    let m = Odd::new(p.as_ref().concatenating_mul(&*g).resize_unchecked(bits))
        .expect("odd times odd is odd");
    let m_params = BoxedMontyParams::new(m);
    let mut x = to_monty(base, &m_params);
    let words = |v: &BoxedUint| -> Zeroizing<[u64; M]> {
        let mut out = Zeroizing::new([0u64; M]);
        out.copy_from_slice(v.as_words());
        out
    };
    let (xw, onew, mw) = (
        words(x.as_montgomery()),
        words(BoxedMontyForm::one(&m_params).as_montgomery()),
        words(m_params.modulus()),
    );
    x.zeroize();
    let ew = words(&blinded);
    let y = Zeroizing::new(pow_window::<M, M>(&xw, &onew, &ew, &mw, ops));
    let mut y = BoxedMontyForm::from_montgomery(
        BoxedUint::from_words(y.iter().copied()).resize_unchecked(bits),
        &m_params,
    );
    let residue = Zeroizing::new(y.retrieve());
    y.zeroize();
    to_monty(&residue, p_params)
}

/// RSASP1 of the representative `em` (below n) with `key`'s CRT values, blinded as the module
/// says, the result checked before it is returned. `blinding` is the key's base-blinding pair
/// (made, advanced and renewed here).
pub(crate) fn sign_raw<R: Rng + ?Sized>(
    key: &rsa::PrivateKey,
    em: &BoxedUint,
    blinding: &mut Option<Blinding>,
    rng: &mut R,
) -> Result<BoxedUint, Failure> {
    let n_bits = key.n_bits_precision();
    let p_bits = key.p().map_or(0, |p| p.modulus().bits_precision());
    if key.primes().len() != 2
        || key.dp().is_none()
        || key.q().map(|q| q.modulus().bits_precision()) != Some(p_bits)
        || n_bits != 2 * p_bits
        || key.size() * 8 != n_bits as usize
        || em.bits_precision() != n_bits
    {
        return Err(Failure::Unsupported);
    }
    if em >= key.n().as_ref() {
        return Err(Failure::OutOfRange);
    }
    match p_bits / 64 {
        16 => crt::<18, R>(key, em, blinding, rng, (mont::square, mont::mul_unrolled)),
        24 => crt::<26, R>(key, em, blinding, rng, (mont::square, mont::mul_unrolled)),
        32 => crt::<34, R>(key, em, blinding, rng, (square_by_mul, mul_rolled)),
        _ => Err(Failure::Unsupported),
    }
}

/// [`sign_raw`] for primes of `M − 2` words.
fn crt<const M: usize, R: Rng + ?Sized>(
    key: &rsa::PrivateKey,
    em: &BoxedUint,
    blinding: &mut Option<Blinding>,
    rng: &mut R,
    ops: (Square<M>, Mul<M>),
) -> Result<BoxedUint, Failure> {
    let (Some(dp), Some(dq), Some(qinv), Some(q)) = (key.dp(), key.dq(), key.qinv(), key.q())
    else {
        return Err(Failure::Unsupported);
    };
    let n = key.n();
    let n_bits = key.n_bits_precision();
    // The base-blinding pair: fresh, or the previous one squared.
    match blinding {
        Some(b) if b.uses < BLINDING_REFRESH => {}
        _ => *blinding = Some(Blinding::new(key, rng)),
    }
    let pair = blinding.as_mut().expect("just made");
    let c = Zeroizing::new(em.mul_mod(&pair.forward, n));
    let p_params = qinv.params();
    let q_params = BoxedMontyParams::from(q.clone());
    let mut m1 = pow_blinded::<M, R>(rng, &c, dp, p_params, ops);
    let mut m2 = Zeroizing::new(pow_blinded::<M, R>(rng, &c, dq, &q_params, ops).retrieve());
    // h = qInv·(m1 − m2) mod p; s = m2 + h·q (< n), as rsa 0.10 recombines.
    let mut m2r = to_monty(&m2, p_params);
    m1 -= &m2r;
    m2r.zeroize();
    let mut hm = qinv * &m1;
    m1.zeroize();
    let h = Zeroizing::new(hm.retrieve());
    hm.zeroize();
    let m2w = Zeroizing::new((&*m2).resize_unchecked(n_bits));
    m2.zeroize();
    let hq = Zeroizing::new(
        h.concatenating_mul(key.primes()[1].as_ref())
            .resize_unchecked(n_bits),
    );
    let blinded = Zeroizing::new(m2w.wrapping_add(&*hq));
    let s = blinded.mul_mod(&pair.inverse, n);
    pair.advance(n);
    // RSAVP1: s^e mod n must be the representative again.
    let check = to_monty(&s, key.n_params())
        .pow_bounded_exp(key.e(), key.e().bit_width())
        .retrieve();
    if bool::from(check.ct_eq(em)) {
        Ok(s)
    } else {
        Err(Failure::Fault)
    }
}

#[cfg(test)]
mod tests;
