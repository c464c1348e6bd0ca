//! The client certificate builder.

use std::net::IpAddr;

use rand::CryptoRng;

use crate::alt_names::AltNames;
use crate::certified_key::CertifiedKey;
use crate::error::Error;
use crate::issuer::{Issuer, LeafRequest};
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::name::{CommonName, DnsName, Subject};
use crate::profile::Usage;
use crate::request::CertificateRequest;
use crate::validity::DEFAULT_DAYS;

/// Describes a client certificate (for `etcdctl` and applications); [`ClientCert::issue`] makes
/// it.
///
/// Defaults are those of `gen_etcd_certs.py -c gen_client_cert`: subject
/// `C=CN, ST=CQ, L=YB, O=BC, OU=ZWC` with no CN, 3650 days, RSA-2048. With etcd's
/// authentication enabled, the CN is the etcd user name the client acts as (unless it also
/// sends a user name and password, which take precedence).
///
/// The certificate carries extendedKeyUsage clientAuth (the script's has no usages at all).
///
/// ```
/// use etcd_pki::{ClientCert, RootCa};
///
/// let ca = RootCa::new().self_sign()?;
/// let alice = ClientCert::new().common_name(&"alice".parse()?).issue(&ca)?;
/// assert_eq!(alice.certificate().common_name().as_deref(), Some("alice"));
/// assert!(alice.certificate().is_client_auth() && !alice.certificate().is_server_auth());
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientCert {
    subject: Subject,
    days: u32,
    algorithm: KeyAlgorithm,
    alt_names: AltNames,
}

impl Default for ClientCert {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientCert {
    /// The script's client certificate: `C=CN, ST=CQ, L=YB, O=BC, OU=ZWC`, no CN, 3650 days.
    pub fn new() -> Self {
        Self {
            subject: Subject::etcd_default(),
            days: DEFAULT_DAYS,
            algorithm: KeyAlgorithm::default(),
            alt_names: AltNames::default(),
        }
    }

    /// Sets the common name: the etcd user name when authentication is enabled.
    pub fn common_name(mut self, cn: &CommonName) -> Self {
        self.subject = self.subject.with_common_name(cn);
        self
    }

    /// Replaces the whole subject.
    pub fn subject(mut self, subject: Subject) -> Self {
        self.subject = subject;
        self
    }

    /// Sets the validity in days (default 3650; never beyond the CA's own expiry).
    pub fn validity_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    /// Sets the key algorithm (default RSA-2048).
    pub fn key_algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Adds an IP address subject alternative name (clients need none; some tools want one).
    pub fn ip_address(mut self, ip: IpAddr) -> Self {
        self.alt_names.add_ip(ip);
        self
    }

    /// Adds a DNS name subject alternative name.
    pub fn dns_name(mut self, name: DnsName) -> Self {
        self.alt_names.add_dns(name);
        self
    }

    /// Generates a key and issues the certificate signed by `issuer`.
    ///
    /// # Errors
    /// [`Error::InvalidValidity`], [`Error::InvalidIpAddress`], [`Error::InvalidSubject`],
    /// [`Error::KeyGeneration`], [`Error::Signing`].
    pub fn issue(&self, issuer: &Issuer) -> Result<CertifiedKey, Error> {
        self.issue_with_rng(issuer, &mut rand::rng())
    }

    /// As [`ClientCert::issue`], with the given random number generator.
    ///
    /// # Errors
    /// As [`ClientCert::issue`].
    pub fn issue_with_rng<R: CryptoRng + ?Sized>(
        &self,
        issuer: &Issuer,
        rng: &mut R,
    ) -> Result<CertifiedKey, Error> {
        issuer.issue_leaf(self.leaf_request()?, self.algorithm, rng)
    }

    /// Issues the certificate for an existing key (e.g. to renew a certificate before it
    /// expires, keeping the key).
    ///
    /// # Errors
    /// As [`ClientCert::issue`].
    pub fn issue_with_key(&self, issuer: &Issuer, key: PrivateKey) -> Result<CertifiedKey, Error> {
        issuer.issue_leaf_for_key(self.leaf_request()?, key, &mut rand::rng())
    }

    /// A certificate signing request for this certificate's subject and names, signed with
    /// `key`: for a node that keeps its key and sends only the request to the CA host (see
    /// [`Issuer::sign_request`]).
    ///
    /// # Errors
    /// [`Error::InvalidIpAddress`] and those of signing.
    pub fn request(&self, key: &PrivateKey) -> Result<CertificateRequest, Error> {
        CertificateRequest::build(&self.subject, &self.alt_names, key)
    }

    fn leaf_request(&self) -> Result<LeafRequest, Error> {
        Ok(LeafRequest {
            subject: self.subject.to_name()?,
            usage: Usage::Client,
            alt_names: self.alt_names.to_general_names()?,
            days: self.days,
        })
    }
}
