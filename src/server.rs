//! The node (server and peer) certificate builder.

use std::net::IpAddr;

use rand::CryptoRng;

use crate::alt_names::{AltNames, LOOPBACK};
use crate::certified_key::CertifiedKey;
use crate::error::Error;
use crate::issuer::{Issuer, LeafRequest};
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::name::{CommonName, DnsName, Subject};
use crate::profile::Usage;
use crate::request::CertificateRequest;
use crate::validity::DEFAULT_DAYS;

/// Describes an etcd member's certificate; [`ServerCert::issue`] makes it.
///
/// etcd uses one certificate per member for three things: as the server certificate of its
/// client listener, as the server certificate of its peer listener, **and as the client
/// certificate it presents to the other members**. So the certificate carries
/// extendedKeyUsage serverAuth **and** clientAuth (the script's carries none, which only works
/// because etcd 3.4 does not insist).
///
/// Defaults are those of `gen_etcd_certs.py -c gen_server_cert -i <ip>`: subject
/// `C=CN, ST=CQ, L=YB, O=BC, OU=ZWC` with no CN, IP SANs `127.0.0.1` and the node IP, 3650 days,
/// RSA-2048. More IP addresses (IPv6 too) and DNS names can be added.
///
/// ```
/// use etcd_pki::{RootCa, ServerCert};
/// use std::net::IpAddr;
///
/// let ca = RootCa::new().self_sign()?;
/// let ip: IpAddr = "192.168.10.11".parse().unwrap();
/// let node = ServerCert::new(ip)
///     .dns_name("etcd-1.example.com".parse()?)
///     .issue(&ca)?;
/// let cert = node.certificate();
/// assert_eq!(cert.ip_addresses(), [IpAddr::from([127, 0, 0, 1]), ip]);
/// assert_eq!(cert.dns_names(), ["etcd-1.example.com"]);
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerCert {
    subject: Subject,
    days: u32,
    algorithm: KeyAlgorithm,
    alt_names: AltNames,
}

impl ServerCert {
    /// A node certificate for `ip`, with `127.0.0.1` too (as the script does).
    pub fn new(ip: IpAddr) -> Self {
        let mut alt_names = AltNames::default();
        alt_names.add_ip(LOOPBACK);
        alt_names.add_ip(ip);
        Self {
            subject: Subject::etcd_default(),
            days: DEFAULT_DAYS,
            algorithm: KeyAlgorithm::default(),
            alt_names,
        }
    }

    /// Keeps (default) or leaves out the `127.0.0.1` SAN. Members of a cluster that run on one
    /// host connect to each other from 127.0.0.1, so only leave it out when every member has a
    /// host of its own.
    pub fn loopback(mut self, include: bool) -> Self {
        if include {
            let mut with = AltNames::default();
            with.add_ip(LOOPBACK);
            for ip in &self.alt_names.ips {
                with.add_ip(*ip);
            }
            with.dns = std::mem::take(&mut self.alt_names.dns);
            self.alt_names = with;
        } else {
            self.alt_names.remove_ip(LOOPBACK);
        }
        self
    }

    /// Adds another IP address (IPv4 or IPv6). Repeated addresses are kept once.
    pub fn ip_address(mut self, ip: IpAddr) -> Self {
        self.alt_names.add_ip(ip);
        self
    }

    /// Adds a DNS name.
    pub fn dns_name(mut self, name: DnsName) -> Self {
        self.alt_names.add_dns(name);
        self
    }

    /// Sets a common name (the script sets none; etcd ignores it for servers).
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

    /// The IP addresses the certificate will name, in order.
    #[must_use]
    pub fn ip_addresses(&self) -> &[IpAddr] {
        &self.alt_names.ips
    }

    /// Generates a key and issues the certificate signed by `issuer`.
    ///
    /// # Errors
    /// [`Error::InvalidIpAddress`] (unspecified, multicast or broadcast address),
    /// [`Error::InvalidValidity`], [`Error::InvalidSubject`] (no subject and no SAN),
    /// [`Error::KeyGeneration`], [`Error::Signing`].
    pub fn issue(&self, issuer: &Issuer) -> Result<CertifiedKey, Error> {
        self.issue_with_rng(issuer, &mut rand::rng())
    }

    /// As [`ServerCert::issue`], with the given random number generator.
    ///
    /// # Errors
    /// As [`ServerCert::issue`].
    pub fn issue_with_rng<R: CryptoRng + ?Sized>(
        &self,
        issuer: &Issuer,
        rng: &mut R,
    ) -> Result<CertifiedKey, Error> {
        issuer.issue_leaf(self.leaf_request()?, self.algorithm, rng)
    }

    /// Issues the certificate for an existing key (renewal keeping the key).
    ///
    /// # Errors
    /// As [`ServerCert::issue`].
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
        if self.alt_names.is_empty() {
            return Err(Error::InvalidSubject {
                attribute: "CN",
                value: String::new(),
                reason: "a node certificate needs at least one IP address or DNS name",
            });
        }
        Ok(LeafRequest {
            subject: self.subject.to_name()?,
            usage: Usage::Node,
            alt_names: self.alt_names.to_general_names()?,
            days: self.days,
        })
    }
}
