//! The constant-time mask every secret-dependent selection and correction of the key generator
//! goes through, so that the optimiser cannot turn it back into a branch.

/// All ones if `bit` (0 or 1) is 1, else zero, through `crypto-bigint`'s [`Choice`]
/// optimisation barrier (`core::hint::black_box`): the compiler cannot see that the mask is all
/// ones or zero, so it cannot turn the masked selections and corrections it feeds back into
/// conditional jumps (which LLVM did for the corrections of `mont::reduce_wide`).
/// `.ci/check-constant-time.sh` checks the release binary for such jumps.
///
/// [`Choice`]: crypto_bigint::Choice
#[inline(always)]
pub(super) fn ct_mask(bit: u64) -> u64 {
    crypto_bigint::Choice::from_u64_lsb(bit).to_u64_mask()
}
