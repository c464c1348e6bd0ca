//! What a CA allows a certificate signing request to ask for, and the check of a request's
//! names against it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::alt_names::AltNames;
use crate::error::Error;
use crate::name::{CommonName, DnsName, NameAttribute, Subject};
use crate::profile::LeafRequest;
use crate::role::Role;
use crate::validity::DEFAULT_DAYS;

/// What a CA allows a request to ask for.
///
/// Names not listed are refused, not silently dropped: a request for an unexpected name is a
/// sign of a mistake or an attack and deserves an error.
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestPolicy {
    ips: BTreeSet<IpAddr>,
    /// The IP addresses every certificate signed under this policy carries, in this order,
    /// whether the request asks for them or not.
    required_ips: Vec<IpAddr>,
    dns: BTreeSet<DnsName>,
    common_names: BTreeSet<CommonName>,
    subject: Subject,
    days: u32,
}

impl RequestPolicy {
    /// Allows nothing yet; subject attributes as the script's, 3650 days.
    pub fn new() -> Self {
        Self {
            ips: BTreeSet::new(),
            required_ips: Vec::new(),
            dns: BTreeSet::new(),
            common_names: BTreeSet::new(),
            subject: Subject::etcd_default(),
            days: DEFAULT_DAYS,
        }
    }

    /// The policy for a node at `ip`: `127.0.0.1` and `ip` required, as
    /// [`ServerCert::new`](crate::ServerCert::new) puts them in. The CA adds them to the
    /// certificate when the request does not ask for them (a node certificate without its own
    /// address is rejected by its peers, one without `127.0.0.1` by local clients); it refuses
    /// any other name the policy does not allow.
    pub fn for_node(ip: IpAddr) -> Self {
        Self::new()
            .require_ip(IpAddr::from([127, 0, 0, 1]))
            .require_ip(ip)
    }

    /// Requires an IP address: every certificate signed under this policy carries it, first
    /// (in the order required), whether the request asks for it or not. Implies
    /// [`RequestPolicy::allow_ip`].
    pub fn require_ip(mut self, ip: IpAddr) -> Self {
        let mut canonical = AltNames::default();
        canonical.add_ip(ip);
        for ip in canonical.ips {
            if !self.required_ips.contains(&ip) {
                self.required_ips.push(ip);
            }
            self.ips.insert(ip);
        }
        self
    }

    /// The policy for a client acting as etcd user `cn` (or none).
    pub fn for_client(cn: Option<CommonName>) -> Self {
        match cn {
            Some(cn) => Self::new().allow_common_name(cn),
            None => Self::new(),
        }
    }

    /// Allows an IP address.
    pub fn allow_ip(mut self, ip: IpAddr) -> Self {
        let mut canonical = AltNames::default();
        canonical.add_ip(ip);
        self.ips.extend(canonical.ips);
        self
    }

    /// Allows a DNS name.
    pub fn allow_dns_name(mut self, name: DnsName) -> Self {
        self.dns.insert(name);
        self
    }

    /// Allows a common name (for clients: the etcd user the certificate acts as).
    pub fn allow_common_name(mut self, cn: CommonName) -> Self {
        self.common_names.insert(cn);
        self
    }

    /// The subject attributes other than the CN (default: the script's).
    pub fn subject(mut self, subject: Subject) -> Self {
        self.subject = subject.without(NameAttribute::CommonName);
        self
    }

    /// The validity in days (default 3650; never beyond the CA's own expiry).
    pub fn validity_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }
}

impl Default for RequestPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestPolicy {
    /// What a request for `role` asking for `ips`, `dns` and common name `cn` gets under this
    /// policy: the required addresses first, then those asked for, each of which must be
    /// allowed; the policy's subject with the CN if it is allowed.
    pub(crate) fn leaf_request(
        &self,
        role: Role,
        ips: Vec<IpAddr>,
        dns: Vec<String>,
        cn: Option<String>,
    ) -> Result<LeafRequest, Error> {
        let mut alt_names = AltNames::default();
        for ip in self.required_ips.iter().copied().chain(ips) {
            alt_names.add_ip(ip);
        }
        if let Some(ip) = alt_names.ips.iter().find(|ip| !self.ips.contains(ip)) {
            return Err(Error::IpAddressNotAllowed {
                ip: *ip,
                allowed: self.ips.iter().copied().collect(),
            });
        }
        for name in dns {
            let name: DnsName = name.parse()?;
            if !self.dns.contains(&name) {
                return Err(Error::DnsNameNotAllowed {
                    name: name.as_str().to_owned(),
                    allowed: self.dns.iter().map(|d| d.as_str().to_owned()).collect(),
                });
            }
            alt_names.add_dns(name);
        }
        let mut subject = self.subject.clone();
        if let Some(cn) = cn {
            let cn: CommonName = cn.parse()?;
            if !self.common_names.contains(&cn) {
                return Err(Error::CommonNameNotAllowed {
                    name: cn.as_str().to_owned(),
                    role,
                });
            }
            subject = subject.with_common_name(cn);
        }
        Ok(LeafRequest {
            subject: subject.to_name()?,
            role,
            alt_names: alt_names.to_general_names()?,
            days: self.days,
        })
    }
}
