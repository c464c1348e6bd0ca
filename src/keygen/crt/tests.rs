//! The CRT signature against `rsa` 0.10 and `crypto-bigint`.

use std::num::NonZeroUsize;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, NonZero, Odd, Resize};
use rand::rngs::StdRng;
use rand::{Rng, RngExt as _, SeedableRng};
use rsa::signature::Signer as _;
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest as _, Sha256};

use super::*;

/// Seeded keys of the given sizes, made by the crate's key generator.
fn keys(bits: &[usize], seed: u64) -> Vec<rsa::PrivateKey> {
    let mut rng = StdRng::seed_from_u64(seed);
    super::super::generate_rsa(bits, &mut rng, NonZeroUsize::new(2).expect("two")).expect("keys")
}

/// The PKCS#1 v1.5 SHA-256 representative of `msg` for `key` (RFC 8017 §9.2).
fn representative(key: &rsa::PrivateKey, msg: &[u8]) -> BoxedUint {
    let k = key.size();
    let prefix = rsa::Pkcs1v15Sign::new::<Sha256>().prefix;
    let digest = Sha256::digest(msg);
    let mut em = vec![0xff; k];
    em[0] = 0;
    em[1] = 1;
    em[k - prefix.len() - digest.len() - 1] = 0;
    em[k - prefix.len() - digest.len()..k - digest.len()].copy_from_slice(&prefix);
    em[k - digest.len()..].copy_from_slice(&digest);
    BoxedUint::from_be_slice(&em, key.n_bits_precision()).expect("k bytes")
}

/// `rsa` 0.10's signature of `msg`.
fn rsa_signature(key: &rsa::PrivateKey, msg: &[u8]) -> Vec<u8> {
    let signature = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone())
        .try_sign(msg)
        .expect("rsa signs");
    Box::<[u8]>::from(signature).into_vec()
}

/// Ours, through [`sign_raw`], with one blinding state per key as the crate keeps it.
fn our_signature(
    key: &rsa::PrivateKey,
    blinding: &mut Option<Blinding>,
    msg: &[u8],
    rng: &mut StdRng,
) -> Vec<u8> {
    let s = sign_raw(key, &representative(key, msg), blinding, rng).expect("signs");
    s.to_be_bytes().to_vec()
}

/// `cases` random messages (of 0 to 2,000 bytes) signed with each of `keys` in turn, by both:
/// the number of cases where the signatures differ.
fn mismatches(keys: &[rsa::PrivateKey], cases: usize, seed: u64) -> usize {
    let jobs: Vec<(usize, u64)> = (0..cases)
        .map(|i| (i % keys.len(), seed + i as u64))
        .collect();
    let chunks: Vec<Vec<(usize, u64)>> =
        jobs.chunks(cases.div_ceil(2)).map(<[_]>::to_vec).collect();
    let results = crate::parallel::map(chunks, NonZeroUsize::new(2).expect("two"), |chunk| {
        let mut blindings: Vec<Option<Blinding>> = keys.iter().map(|_| None).collect();
        let mut bad = 0;
        for (k, case_seed) in chunk {
            let mut rng = StdRng::seed_from_u64(case_seed);
            let len = rng.random_range(0..2000);
            let mut msg = vec![0u8; len];
            rng.fill_bytes(&mut msg);
            let ours = our_signature(&keys[k], &mut blindings[k], &msg, &mut rng);
            if ours != rsa_signature(&keys[k], &msg) {
                bad += 1;
            }
        }
        bad
    });
    results.into_iter().sum()
}

#[test]
fn signatures_equal_rsa_010s() {
    let keys = keys(&[2048, 2048, 3072, 4096], 1);
    assert_eq!(mismatches(&keys, 120, 1000), 0);
}

/// The acceptance test: 10,000 random cases on 20 keys (16 of 2048 bits, 3 of 3072, 1 of
/// 4096), every signature byte for byte `rsa` 0.10's. ~10 s in release on two cores.
#[test]
#[ignore = "10,000 signatures by both implementations: run in release (CI does)"]
fn ten_thousand_signatures_equal_rsa_010s() {
    let mut sizes = vec![2048; 16];
    sizes.extend([3072, 3072, 3072, 4096]);
    let keys = keys(&sizes, 2);
    assert_eq!(mismatches(&keys, 10_000, 50_000), 0);
}

/// `pow_window` equals `crypto-bigint`'s exponentiation for random bases, exponents and odd
/// moduli of every width below `2^(64M)` (normalised or not), and at the edges.
fn pow_window_matches<const M: usize>(ops: (Square<M>, Mul<M>)) {
    let mut rng = StdRng::seed_from_u64(M as u64);
    let bits = u32::try_from(64 * M).expect("small");
    for case in 0..40 {
        let mut m = [0u64; M];
        rng.fill(&mut m[..]);
        // Moduli of fewer bits too (as p·g can be), always odd.
        let top_bits = 64 - (case % 64);
        m[M - 1] >>= 64 - top_bits;
        m[M - 1] |= 1 << (top_bits - 1);
        m[0] |= 1;
        let modulus = Odd::new(BoxedUint::from_words(m).resize_unchecked(bits)).expect("odd");
        let params = BoxedMontyParams::new(modulus);
        let mut x = [0u64; M];
        rng.fill(&mut x[..]);
        if case == 1 {
            x = [0; M];
        }
        let base = BoxedUint::from_words(x).resize_unchecked(bits);
        let base = BoxedMontyForm::new(
            base.rem(&NonZero::new(params.modulus().as_ref().clone()).expect("odd")),
            &params,
        );
        let mut e = [0u64; M];
        rng.fill(&mut e[..]);
        match case {
            2 => e = [0; M],
            3 => e = [u64::MAX; M],
            4 => {
                e = {
                    let mut one = [0; M];
                    one[0] = 1;
                    one
                }
            }
            _ => {}
        }
        let exponent = BoxedUint::from_words(e).resize_unchecked(bits);
        let expected = base.pow(&exponent);
        let words = |v: &BoxedUint| -> [u64; M] { v.as_words().try_into().expect("M words") };
        let got = pow_window::<M, M>(
            &words(base.as_montgomery()),
            &words(BoxedMontyForm::one(&params).as_montgomery()),
            &e,
            &words(params.modulus()),
            ops,
        );
        assert_eq!(got, words(expected.as_montgomery()), "case {case}, M = {M}");
    }
}

#[test]
fn pow_window_matches_crypto_bigint() {
    // The sizes signing uses: primes of 16, 24 and 32 words, plus two for the 128-bit modulus
    // blinding.
    pow_window_matches::<18>((mont::square, mont::mul_unrolled));
    pow_window_matches::<26>((mont::square, mont::mul_unrolled));
    pow_window_matches::<34>((square_by_mul, mul_rolled));
    // The other pairings, so that each squaring and multiplication is checked on its own.
    pow_window_matches::<18>((square_by_mul, mont::mul_unrolled));
    pow_window_matches::<18>((mont::square, mul_rolled));
}

#[test]
fn exponent_and_modulus_blinding_are_128_bits() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut top_words_used = [false; 2];
    for _ in 0..64 {
        let (k, g) = blinding_factors(&mut rng);
        assert_eq!((k.bits_precision(), g.bits_precision()), (128, 128));
        assert_eq!(g.as_words()[0] & 1, 1, "g is odd");
        top_words_used[0] |= k.as_words()[1] != 0;
        top_words_used[1] |= g.as_words()[1] != 0;
    }
    // Random 128-bit values: their high words are not all zero (as 64-bit ones would be).
    assert_eq!(top_words_used, [true, true]);
}

#[test]
fn blinding_pair_stays_inverse_and_is_renewed() {
    let key = &keys(&[2048], 3)[0];
    let n = key.n();
    let mut rng = StdRng::seed_from_u64(4);
    let mut blinding = None;
    let mut previous_forward = None;
    for i in 0..=BLINDING_REFRESH {
        our_signature(key, &mut blinding, b"message", &mut rng);
        let pair = blinding.as_ref().expect("made on first use");
        // forward = r^e and inverse = r^−1 (of the current r): forward·inverse^e = 1.
        let inv_e = to_monty(&pair.inverse, key.n_params())
            .pow_bounded_exp(key.e(), 17)
            .retrieve();
        assert_eq!(
            inv_e.mul_mod(&pair.forward, n),
            BoxedUint::one_with_precision(2048)
        );
        if i + 1 == BLINDING_REFRESH {
            assert_eq!(pair.uses, BLINDING_REFRESH);
        }
        if let Some(f) = previous_forward.replace(pair.forward.clone()) {
            if i == BLINDING_REFRESH {
                // Renewed: a fresh r, not the square of the last.
                assert_eq!(pair.uses, 1);
                assert_ne!(pair.forward, f.mul_mod(&f, n));
            } else {
                assert_eq!(pair.forward, f.mul_mod(&f, n), "squared after use {i}");
            }
        }
    }
}

#[test]
fn a_fault_is_caught_and_nothing_is_released() {
    let key = &keys(&[2048], 5)[0];
    let mut rng = StdRng::seed_from_u64(6);
    let mut blinding = None;
    our_signature(key, &mut blinding, b"first", &mut rng);
    // A blinding pair that does not match (as a fault in memory would make it): the result is
    // wrong, and the check before release refuses it.
    blinding.as_mut().expect("made").inverse = BoxedUint::one_with_precision(2048);
    let em = representative(key, b"second");
    assert_eq!(
        sign_raw(key, &em, &mut blinding, &mut rng),
        Err(Failure::Fault)
    );
}

#[test]
fn out_of_range_and_unusual_keys_are_refused() {
    let key = &keys(&[2048], 7)[0];
    let mut rng = StdRng::seed_from_u64(8);
    let mut blinding = None;
    let n = key.n().as_ref().clone();
    assert_eq!(
        sign_raw(key, &n, &mut blinding, &mut rng),
        Err(Failure::OutOfRange)
    );
    let short = BoxedUint::one_with_precision(1024);
    assert_eq!(
        sign_raw(key, &short, &mut blinding, &mut rng),
        Err(Failure::Unsupported)
    );
    // Without precomputed values, or of a size that is not a multiple of 128 bits.
    let mut bare = key.clone();
    bare.clear_precomputed();
    let em = representative(key, b"m");
    assert_eq!(
        sign_raw(&bare, &em, &mut blinding, &mut rng),
        Err(Failure::Unsupported)
    );
    let odd_size = rsa::PrivateKey::new(&mut rng, 2056).expect("key");
    let em = representative(&odd_size, b"m");
    assert_eq!(
        sign_raw(&odd_size, &em, &mut None, &mut rng),
        Err(Failure::Unsupported)
    );
}
