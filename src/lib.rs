#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used)]

mod alt_names;
mod cert;
mod certified_key;
mod client;
#[cfg(feature = "doctor")]
mod doctor;
mod error;
mod fs;
mod input;
mod issuer;
mod key;
mod keygen;
mod name;
mod parallel;
mod params;
#[cfg(feature = "encrypted-keys")]
mod passphrase;
mod pem;
#[cfg(feature = "rustls")]
mod pki_types;
#[cfg(feature = "plan")]
mod plan;
mod policy;
mod profile;
mod request;
mod role;
mod root_ca;
mod server;
mod signature;
mod validity;
mod write_options;

pub use cert::Certificate;
pub use certified_key::CertifiedKey;
pub use client::ClientCert;
#[cfg(feature = "doctor")]
pub use doctor::{DEFAULT_WARN_DAYS, Doctor, EtcdVersion, Finding, GoVersion, Report, Severity};
pub use error::{BoxError, Error};
pub use issuer::Issuer;
pub use key::{KeyAlgorithm, KeyFormat, KeyGenerator, PrivateKey};
pub use name::{CommonName, DnsName, NameAttribute, Subject};
#[cfg(feature = "encrypted-keys")]
pub use passphrase::Passphrase;
#[cfg(feature = "plan")]
pub use plan::{
    ClusterBundle, ClusterDir, ClusterPlan, LifecycleReport, Listen, MemberSpec, Renewed,
    RotationPhase, UserSpec,
};
pub use policy::RequestPolicy;
pub use request::CertificateRequest;
pub use role::Role;
pub use root_ca::RootCa;
pub use server::ServerCert;
pub use validity::{BACKDATE, DEFAULT_DAYS as DEFAULT_VALIDITY_DAYS};
pub use write_options::{WriteOptions, WrittenFiles};
