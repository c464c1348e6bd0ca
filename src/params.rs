//! What the three builders share: the subject, validity and key algorithm of every certificate
//! ([`Params`]), the names and role of a leaf ([`LeafParams`]), and the builder methods made
//! from them (the `builder_methods!` and `leaf_methods!` macros), so that `RootCa`,
//! `ClientCert` and `ServerCert` differ only where their certificates do.

use rand::CryptoRng;

use crate::alt_names::AltNames;
use crate::certified_key::CertifiedKey;
use crate::error::Error;
use crate::issuer::Issuer;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::name::Subject;
use crate::profile::LeafRequest;
use crate::request::CertificateRequest;
use crate::role::Role;
use crate::validity::DEFAULT_DAYS;

/// The subject, validity and key algorithm of a certificate to make.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) subject: Subject,
    pub(crate) days: u32,
    pub(crate) algorithm: KeyAlgorithm,
}

impl Params {
    /// `subject`, 3650 days, the default key algorithm (RSA-2048).
    pub(crate) fn new(subject: Subject) -> Self {
        Self {
            subject,
            days: DEFAULT_DAYS,
            algorithm: KeyAlgorithm::default(),
        }
    }
}

/// A leaf certificate to make: its [`Params`], names and role.
#[derive(Debug, Clone)]
pub(crate) struct LeafParams {
    pub(crate) params: Params,
    pub(crate) alt_names: AltNames,
    pub(crate) role: Role,
}

impl LeafParams {
    /// The script's subject for a leaf of `role` with `alt_names`.
    pub(crate) fn new(role: Role, alt_names: AltNames) -> Self {
        Self {
            params: Params::new(Subject::etcd_default()),
            alt_names,
            role,
        }
    }

    /// Generates a key and issues the certificate signed by `issuer`.
    pub(crate) fn issue_with_rng<R: CryptoRng + ?Sized>(
        &self,
        issuer: &Issuer,
        rng: &mut R,
    ) -> Result<CertifiedKey, Error> {
        issuer.issue_leaf(self.leaf_request()?, self.params.algorithm, rng)
    }

    /// Issues the certificate for an existing key.
    pub(crate) fn issue_with_key(
        &self,
        issuer: &Issuer,
        key: PrivateKey,
    ) -> Result<CertifiedKey, Error> {
        issuer.issue_leaf_for_key(self.leaf_request()?, key, &mut rand::rng())
    }

    /// A certificate signing request for the subject and names, signed with `key`.
    pub(crate) fn request(&self, key: &PrivateKey) -> Result<CertificateRequest, Error> {
        CertificateRequest::build(&self.params.subject, &self.alt_names, key)
    }

    /// What goes into the certificate; the issuer refuses it if it names nothing it must
    /// ([`Error::NoSubjectAltName`]).
    fn leaf_request(&self) -> Result<LeafRequest, Error> {
        Ok(LeafRequest {
            subject: self.params.subject.to_name()?,
            role: self.role,
            alt_names: self.alt_names.to_general_names()?,
            days: self.params.days,
        })
    }
}

/// The setters every builder has, on a builder whose [`Params`] are reached by `$($p).+`
/// (`params` or `leaf.params`); `$cn` documents the common name's meaning for this builder.
macro_rules! builder_methods {
    ($cn:literal, $($p:ident).+) => {
        #[doc = $cn]
        pub fn common_name(mut self, cn: $crate::name::CommonName) -> Self {
            self.$($p).+.subject = self.$($p).+.subject.with_common_name(cn);
            self
        }

        /// Replaces the whole subject.
        pub fn subject(mut self, subject: $crate::name::Subject) -> Self {
            self.$($p).+.subject = subject;
            self
        }

        /// Sets the validity in days (default 3650; a leaf's never reaches beyond its CA's
        /// expiry).
        pub fn validity_days(mut self, days: u32) -> Self {
            self.$($p).+.days = days;
            self
        }

        /// Sets the key algorithm (default RSA-2048).
        pub fn key_algorithm(mut self, algorithm: $crate::key::KeyAlgorithm) -> Self {
            self.$($p).+.algorithm = algorithm;
            self
        }
    };
}

/// The methods a leaf builder (with a `leaf: LeafParams` field) has beyond
/// [`builder_methods!`]: names, issuing and requests.
macro_rules! leaf_methods {
    ($ty:ident) => {
        /// Adds an IP address subject alternative name (IPv4 or IPv6; repeated addresses are
        /// kept once).
        pub fn ip_address(mut self, ip: std::net::IpAddr) -> Self {
            self.leaf.alt_names.add_ip(ip);
            self
        }

        /// Adds a DNS name subject alternative name.
        pub fn dns_name(mut self, name: $crate::name::DnsName) -> Self {
            self.leaf.alt_names.add_dns(name);
            self
        }

        /// Generates a key and issues the certificate signed by `issuer`.
        ///
        /// # Errors
        /// [`Error::InvalidIpAddress`](crate::Error::InvalidIpAddress) (unspecified, multicast
        /// or broadcast address), [`Error::InvalidValidity`](crate::Error::InvalidValidity),
        /// [`Error::InvalidSubject`](crate::Error::InvalidSubject),
        /// [`Error::NoSubjectAltName`](crate::Error::NoSubjectAltName) (a node certificate
        /// without names, or an empty subject without names),
        /// [`Error::KeyGeneration`](crate::Error::KeyGeneration),
        /// [`Error::Signing`](crate::Error::Signing).
        pub fn issue(
            &self,
            issuer: &$crate::Issuer,
        ) -> Result<$crate::CertifiedKey, $crate::Error> {
            self.leaf.issue_with_rng(issuer, &mut rand::rng())
        }

        #[doc = concat!("As [`", stringify!($ty), "::issue`], with the given random number generator.")]
        ///
        /// # Errors
        #[doc = concat!("As [`", stringify!($ty), "::issue`].")]
        pub fn issue_with_rng<R: rand::CryptoRng + ?Sized>(
            &self,
            issuer: &$crate::Issuer,
            rng: &mut R,
        ) -> Result<$crate::CertifiedKey, $crate::Error> {
            self.leaf.issue_with_rng(issuer, rng)
        }

        /// Issues the certificate for an existing key (e.g. to renew a certificate before it
        /// expires, keeping the key).
        ///
        /// # Errors
        #[doc = concat!("As [`", stringify!($ty), "::issue`].")]
        pub fn issue_with_key(
            &self,
            issuer: &$crate::Issuer,
            key: $crate::PrivateKey,
        ) -> Result<$crate::CertifiedKey, $crate::Error> {
            self.leaf.issue_with_key(issuer, key)
        }

        /// A certificate signing request for this certificate's subject and names, signed
        /// with `key`: for a host that keeps its key and sends only the request to the CA host
        /// (see [`Issuer::sign_request`](crate::Issuer::sign_request)).
        ///
        /// # Errors
        /// [`Error::InvalidIpAddress`](crate::Error::InvalidIpAddress) and those of signing.
        pub fn request(
            &self,
            key: &$crate::PrivateKey,
        ) -> Result<$crate::CertificateRequest, $crate::Error> {
            self.leaf.request(key)
        }
    };
}

pub(crate) use {builder_methods, leaf_methods};
