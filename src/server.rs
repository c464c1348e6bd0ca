//! The node (server and peer) certificate builder.

use std::net::IpAddr;

use crate::alt_names::{AltNames, LOOPBACK};
use crate::params::{LeafParams, builder_methods, leaf_methods};
use crate::role::Role;

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
    leaf: LeafParams,
}

impl ServerCert {
    /// A node certificate for `ip`, with `127.0.0.1` too (as the script does).
    pub fn new(ip: IpAddr) -> Self {
        let mut alt_names = AltNames::default();
        alt_names.add_ip(LOOPBACK);
        alt_names.add_ip(ip);
        Self {
            leaf: LeafParams::new(Role::Node, alt_names),
        }
    }

    /// Keeps (default) or leaves out the `127.0.0.1` SAN. Members of a cluster that run on one
    /// host connect to each other from 127.0.0.1, so only leave it out when every member has a
    /// host of its own.
    pub fn loopback(mut self, include: bool) -> Self {
        let names = &mut self.leaf.alt_names;
        if include {
            let mut with = AltNames::default();
            with.add_ip(LOOPBACK);
            for ip in &names.ips {
                with.add_ip(*ip);
            }
            with.dns = std::mem::take(&mut names.dns);
            *names = with;
        } else {
            names.remove_ip(LOOPBACK);
        }
        self
    }

    /// The IP addresses the certificate will name, in order.
    #[must_use]
    pub fn ip_addresses(&self) -> &[IpAddr] {
        &self.leaf.alt_names.ips
    }

    builder_methods!(
        "Sets a common name (the script sets none; etcd ignores it for servers).",
        leaf.params
    );
    leaf_methods!(ServerCert);
}
