//! Subject alternative names: IP addresses and DNS names, checked and de-duplicated.

use std::net::{IpAddr, Ipv4Addr};

use der::asn1::Ia5String;
use x509_cert::ext::pkix::name::GeneralName;

use crate::error::Error;
use crate::name::DnsName;

/// An ordered, de-duplicated set of alternative names: IP addresses first, then DNS names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AltNames {
    pub(crate) ips: Vec<IpAddr>,
    pub(crate) dns: Vec<DnsName>,
}

impl AltNames {
    /// Adds an IP address unless it is there already (a repeated address is not an error: the
    /// node IP may well be `127.0.0.1`).
    pub(crate) fn add_ip(&mut self, ip: IpAddr) {
        let ip = canonical(ip);
        if !self.ips.contains(&ip) {
            self.ips.push(ip);
        }
    }

    pub(crate) fn add_dns(&mut self, name: DnsName) {
        if !self.dns.contains(&name) {
            self.dns.push(name);
        }
    }

    pub(crate) fn remove_ip(&mut self, ip: IpAddr) {
        self.ips.retain(|i| *i != ip);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.dns.is_empty()
    }

    /// The names as X.509 `GeneralName`s, after checking every IP address.
    pub(crate) fn to_general_names(&self) -> Result<Vec<GeneralName>, Error> {
        let mut out = Vec::with_capacity(self.ips.len() + self.dns.len());
        for ip in &self.ips {
            check_ip(*ip)?;
            out.push(GeneralName::from(*ip));
        }
        for name in &self.dns {
            let ia5 = Ia5String::new(name.as_str()).map_err(|e| Error::encoding("DNS name", e))?;
            out.push(GeneralName::DnsName(ia5));
        }
        Ok(out)
    }
}

/// The loopback address the script always puts in a node certificate: on one host, etcd's
/// peer connections come from 127.0.0.1.
/// Why the subjectAltName of a request or certificate cannot be taken as it is.
pub(crate) enum BadAltName {
    /// An IP address entry that is neither 4 nor 16 bytes long.
    MalformedIp,
    /// A kind of name this crate does not issue (e-mail, URI, …), described.
    OtherKind(String),
}

/// Splits the names of a subjectAltName into IP addresses and DNS names (the latter not yet
/// validated), refusing any other kind of name.
pub(crate) fn split_general_names(
    names: Vec<GeneralName>,
) -> Result<(Vec<IpAddr>, Vec<String>), BadAltName> {
    let mut ips = Vec::new();
    let mut dns = Vec::new();
    for name in names {
        match name {
            GeneralName::IpAddress(o) => {
                let o = o.as_bytes();
                let ip = match o.len() {
                    4 => <[u8; 4]>::try_from(o).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(o).ok().map(IpAddr::from),
                    _ => None,
                };
                ips.push(ip.ok_or(BadAltName::MalformedIp)?);
            }
            GeneralName::DnsName(d) => dns.push(d.to_string()),
            other => return Err(BadAltName::OtherKind(format!("{other:?}"))),
        }
    }
    Ok((ips, dns))
}

pub(crate) const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address: store it as such, the
/// form TLS clients match against.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Refuses addresses that cannot name a server.
pub(crate) fn check_ip(ip: IpAddr) -> Result<(), Error> {
    let reason = if ip.is_unspecified() {
        Some(
            "the unspecified address (0.0.0.0 or ::) is what a server listens on, not an address clients connect to; give the node's own address",
        )
    } else if ip.is_multicast() {
        Some("a multicast address cannot identify a server")
    } else if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
        Some("the broadcast address cannot identify a server")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidIpAddress { value: ip, reason }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn duplicates_and_mapped_addresses_collapse() {
        let mut names = AltNames::default();
        names.add_ip(LOOPBACK);
        names.add_ip(ip("127.0.0.1"));
        names.add_ip(ip("::ffff:10.0.0.1"));
        names.add_ip(ip("10.0.0.1"));
        names.add_ip(ip("fd00::1"));
        assert_eq!(names.ips, [LOOPBACK, ip("10.0.0.1"), ip("fd00::1")]);
        assert_eq!(names.to_general_names().unwrap().len(), 3);
    }

    #[test]
    fn unusable_addresses_are_refused() {
        for bad in ["0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255"] {
            let mut names = AltNames::default();
            names.add_ip(ip(bad));
            let e = names.to_general_names().unwrap_err();
            assert!(matches!(e, Error::InvalidIpAddress { .. }), "{bad}: {e}");
        }
    }
}
