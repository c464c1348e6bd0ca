//! Generating keys: [`KeyGenerator`] and [`PrivateKey::generate`]. RSA keys come from the
//! crate's own prime search (the private `keygen` module), ECDSA keys from `p256`/`p384`.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

use rand::CryptoRng;

#[cfg(feature = "ecdsa")]
use super::Inner;
#[cfg(not(feature = "ecdsa"))]
use super::checks::ecdsa_not_built;
use super::{KeyAlgorithm, PrivateKey};
use crate::error::Error;
use crate::keygen::{self, Failure};

/// Generates keys; RSA keys with a pool of threads and a deep sieve.
///
/// The RSA keys are those `rsa` 0.10's `PrivateKey::new` makes from the same random number
/// generator (same primes, same modulus; d is computed modulo λ(n) as FIPS 186-5 asks),
/// whatever the number of threads, in a fraction of its time: the threads test the candidates
/// of the prime searches together, lowest first, after a sieve by the primes below 2^18; the
/// tests are Baillie-PSW (Miller-Rabin to base 2 and a strong Lucas test, in constant time),
/// and every prime found is confirmed by an independent Miller-Rabin test to the bases 3 and 5
/// before a key is made of it. ECDSA keys are generated directly (well under a millisecond).
///
/// ```
/// use std::num::NonZeroUsize;
/// use etcd_pki::{KeyAlgorithm, KeyGenerator};
///
/// // All available cores:
/// let key = KeyGenerator::new().generate(KeyAlgorithm::Rsa2048, &mut rand::rng())?;
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

    /// Generates a key of the given algorithm (RSA keys with public exponent 65537).
    ///
    /// `rng` is only used on the calling thread, to draw the starts of the prime searches (or
    /// the ECDSA scalar); with a seeded generator the key is the same for any number of
    /// threads. Use a seeded generator only in tests and benchmarks: a key is only as secret as
    /// its random source.
    ///
    /// ```
    /// use etcd_pki::{KeyAlgorithm, KeyGenerator};
    /// use rand::{SeedableRng, rngs::StdRng};
    ///
    /// let generator = KeyGenerator::new();
    /// let a = generator.generate(KeyAlgorithm::Rsa2048, &mut StdRng::seed_from_u64(7))?;
    /// let b = generator.generate(KeyAlgorithm::Rsa2048, &mut StdRng::seed_from_u64(7))?;
    /// assert_eq!(a.public_key_der()?, b.public_key_der()?);
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::Unsupported`] for an ECDSA algorithm in a build without the `ecdsa` feature;
    /// - [`Error::KeyGeneration`] if a prime found fails the final check or `rsa` rejects the
    ///   primes found (either is a bug).
    pub fn generate<R: CryptoRng + ?Sized>(
        &self,
        algorithm: KeyAlgorithm,
        rng: &mut R,
    ) -> Result<PrivateKey, Error> {
        let mut keys = self.generate_batch(std::slice::from_ref(&algorithm), rng)?;
        keys.pop().ok_or_else(fewer_keys)
    }

    /// Generates several keys at once, one per entry of `algorithms`, in that order — e.g. the
    /// root CA, client and node keys of a cluster.
    ///
    /// The threads search for the primes of all the RSA keys together, so that none waits
    /// while another key is being finished; ECDSA keys are generated directly. The starts of
    /// all the RSA searches are drawn from `rng` first, in order, then the ECDSA keys: with a
    /// seeded generator, the RSA keys are those that `rsa` 0.10's `PrivateKey::new` makes when
    /// called once per key, except in the rare case (about 1 in 30,000 keys) that a pair of
    /// primes has to be replaced because e divides `p − 1` or `q − 1`.
    ///
    /// ```
    /// use etcd_pki::{KeyAlgorithm, KeyGenerator};
    ///
    /// let algorithms = [KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa3072];
    /// let keys = KeyGenerator::new().generate_batch(&algorithms, &mut rand::rng())?;
    /// let sizes: Vec<usize> = keys.iter().map(|k| k.bits()).collect();
    /// assert_eq!(sizes, [2048, 2048, 3072]);
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`KeyGenerator::generate`]; no key is returned if one fails.
    pub fn generate_batch<R: CryptoRng + ?Sized>(
        &self,
        algorithms: &[KeyAlgorithm],
        rng: &mut R,
    ) -> Result<Vec<PrivateKey>, Error> {
        #[cfg(not(feature = "ecdsa"))]
        if let Some(ec) = algorithms.iter().find(|a| a.rsa_bits().is_none()) {
            return Err(ecdsa_not_built(ec.name()));
        }
        let sizes: Vec<usize> = algorithms.iter().filter_map(|a| a.rsa_bits()).collect();
        let mut rsa_keys = keygen::generate_rsa(&sizes, rng, self.threads)
            .map_err(from_failure)?
            .into_iter();
        algorithms
            .iter()
            .map(|&algorithm| match algorithm {
                KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => rsa_keys
                    .next()
                    .map(PrivateKey::from_rsa)
                    .ok_or_else(fewer_keys),
                #[cfg(feature = "ecdsa")]
                KeyAlgorithm::EcdsaP256 => Ok(PrivateKey {
                    inner: Inner::P256(Box::new(
                        <p256::ecdsa::SigningKey as rsa::Generate>::generate_from_rng(rng),
                    )),
                }),
                #[cfg(feature = "ecdsa")]
                KeyAlgorithm::EcdsaP384 => Ok(PrivateKey {
                    inner: Inner::P384(Box::new(
                        <p384::ecdsa::SigningKey as rsa::Generate>::generate_from_rng(rng),
                    )),
                }),
                #[cfg(not(feature = "ecdsa"))]
                KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                    Err(ecdsa_not_built(algorithm.name()))
                }
            })
            .collect()
    }
}

impl PrivateKey {
    /// Generates a new key with the operating system's random number generator, as
    /// [`KeyGenerator::generate`] does.
    ///
    /// # Errors
    /// As [`KeyGenerator::generate`].
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, Error> {
        Self::generate_with_rng(&mut rand::rng(), algorithm)
    }

    /// Generates a new key with the given random number generator, as
    /// [`KeyGenerator::generate`] does.
    ///
    /// Use a seeded generator only in tests and benchmarks: a key is only as secret as its
    /// random source.
    ///
    /// # Errors
    /// As [`KeyGenerator::generate`].
    pub fn generate_with_rng<R: CryptoRng + ?Sized>(
        rng: &mut R,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, Error> {
        KeyGenerator::new().generate(algorithm, rng)
    }
}

/// The crate's error for a failure of the key generator: [`Error::Unsupported`] for a size it
/// does not make, else [`Error::KeyGeneration`] with the failure as its source.
fn from_failure(failure: Failure) -> Error {
    match failure {
        Failure::UnsupportedSize { bits } => Error::Unsupported {
            path: None,
            what: "key size",
            detail: format!(
                "RSA-{bits}: choose RSA-2048, RSA-3072 or RSA-4096 (or ECDSA P-256 or P-384)"
            ),
        },
        other => Error::KeyGeneration {
            source: Box::new(other),
        },
    }
}

/// The key generator returned fewer keys than asked for (a bug).
fn fewer_keys() -> Error {
    Error::KeyGeneration {
        source: "the key generator returned fewer keys than were asked for: this is a bug, \
                 please report it"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    /// Each failure of the generator becomes the crate error a caller can act on, the failure
    /// kept as the source and not repeated in the message.
    #[test]
    fn failures_map_to_the_crate_error() {
        let e = from_failure(Failure::UnsupportedSize { bits: 1024 });
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("RSA-1024"), "{e}");
        for failure in [
            Failure::FinalCheck,
            Failure::Rejected(rsa::Error::InvalidPrime),
        ] {
            let text = failure.to_string();
            let e = from_failure(failure);
            assert!(matches!(e, Error::KeyGeneration { .. }), "{e:?}");
            let source = e.source().expect("the failure as the source");
            assert_eq!(source.to_string(), text);
            assert!(!e.to_string().contains(&text), "{e}");
        }
    }

    /// A mixed batch: each key of its algorithm, in order; the RSA keys those of an RSA-only
    /// batch from the same seed (their starts are drawn first), the EC keys drawn after them.
    #[test]
    #[cfg(feature = "ecdsa")]
    fn a_batch_may_mix_rsa_and_ecdsa() {
        use KeyAlgorithm::{EcdsaP256, EcdsaP384, Rsa2048};
        let generator = KeyGenerator::new();
        let mixed = [EcdsaP256, Rsa2048, EcdsaP384, Rsa2048];
        let keys = generator
            .generate_batch(&mixed, &mut StdRng::seed_from_u64(3))
            .unwrap();
        let got: Vec<_> = keys.iter().map(|k| k.algorithm().unwrap()).collect();
        assert_eq!(got, mixed);
        let rsa_only = generator
            .generate_batch(&[Rsa2048, Rsa2048], &mut StdRng::seed_from_u64(3))
            .unwrap();
        assert!(keys[1] == rsa_only[0] && keys[3] == rsa_only[1]);
        // Same seed, same batch: same keys; and one key is a batch of one.
        let again = generator
            .generate_batch(&mixed, &mut StdRng::seed_from_u64(3))
            .unwrap();
        assert!(keys == again);
        let one = generator
            .generate(EcdsaP384, &mut StdRng::seed_from_u64(4))
            .unwrap();
        let batch = generator
            .generate_batch(&[EcdsaP384], &mut StdRng::seed_from_u64(4))
            .unwrap();
        assert!(batch == [one]);
        assert!(
            generator
                .generate_batch(&[], &mut rand::rng())
                .unwrap()
                .is_empty()
        );
    }

    /// Without ECDSA support an ECDSA key in a batch is refused before any RSA key is searched.
    #[test]
    #[cfg(not(feature = "ecdsa"))]
    fn a_batch_with_ecdsa_is_refused_without_the_feature() {
        use rand::Rng as _;
        let algorithms = [KeyAlgorithm::Rsa4096, KeyAlgorithm::EcdsaP256];
        let mut rng = StdRng::seed_from_u64(5);
        let e = KeyGenerator::new()
            .generate_batch(&algorithms, &mut rng)
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("`ecdsa` feature"), "{e}");
        // Nothing was drawn from the RNG: no start of a prime search.
        assert_eq!(rng.next_u64(), StdRng::seed_from_u64(5).next_u64());
    }
}
