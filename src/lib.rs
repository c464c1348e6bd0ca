#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used)]

mod alt_names;
mod cert;
mod client;
mod error;
mod fs;
mod input;
mod issuer;
mod key;
mod keygen;
pub mod name;
mod parallel;
#[cfg(feature = "encrypted-keys")]
mod passphrase;
mod pem;
#[cfg(feature = "rustls")]
mod pki_types;
#[cfg(feature = "plan")]
pub mod plan;
pub mod profile;
pub mod request;
mod root_ca;
mod server;
pub mod validity;

pub use cert::{Certificate, CertifiedKey, WriteOptions, WrittenFiles};
pub use client::ClientCert;
pub use error::{BoxError, Error};
pub use issuer::Issuer;
pub use key::{KeyAlgorithm, KeyFormat, KeyGenerator, PrivateKey};
#[cfg(feature = "encrypted-keys")]
pub use passphrase::Passphrase;
pub use root_ca::RootCa;
pub use server::ServerCert;
