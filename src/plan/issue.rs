//! Issuing a plan: the keys (RSA keys as one batch over every core), the root CA when the plan
//! makes its own, and every member's and user's certificate, signed on as many threads as there
//! are cores, gathered into a [`ClusterBundle`].

use crate::certified_key::CertifiedKey;
use crate::client::ClientCert;
use crate::error::Error;
use crate::issuer::Issuer;
use crate::key::{KeyGenerator, PrivateKey};
use crate::name::{CommonName, DnsName};
use crate::root_ca::RootCa;
use crate::server::ServerCert;

use super::bundle::ClusterBundle;
use super::spec::ClusterPlan;

impl ClusterPlan {
    /// Generates the root CA and every member's and user's key and certificate.
    ///
    /// # Errors
    /// [`Error::InvalidPlan`] for an inconsistent plan, and the errors of the builders
    /// (invalid addresses, names, validity).
    pub fn issue(&self) -> Result<ClusterBundle, Error> {
        self.check()?;
        let mut keys = self
            .keys(1 + self.members.len() + self.users.len())?
            .into_iter();
        let root_key = keys.next().ok_or_else(too_few_keys)?;
        let ca = RootCa::new()
            .validity_days(self.days)
            .key_algorithm(self.key_algorithm)
            .self_sign_with_key(root_key)?;
        self.issue_leaves(ca, true, keys)
    }

    /// Issues the members' and users' certificates with an existing CA (e.g. one loaded with
    /// [`Issuer::load`]); the bundle then writes no CA key.
    ///
    /// # Errors
    /// As [`ClusterPlan::issue`].
    pub fn issue_with(&self, ca: Issuer) -> Result<ClusterBundle, Error> {
        self.check()?;
        let keys = self.keys(self.members.len() + self.users.len())?;
        self.issue_leaves(ca, false, keys.into_iter())
    }

    /// `n` keys of the plan's algorithm, as one batch (RSA keys are searched together, which
    /// keeps every core busy across keys).
    fn keys(&self, n: usize) -> Result<Vec<PrivateKey>, Error> {
        KeyGenerator::new().generate_batch(&vec![self.key_algorithm; n], &mut rand::rng())
    }

    fn issue_leaves(
        &self,
        ca: Issuer,
        ca_generated: bool,
        mut keys: impl Iterator<Item = PrivateKey>,
    ) -> Result<ClusterBundle, Error> {
        // Every leaf's description first (checking names), then the signing, spread over the
        // cores like the key generation.
        let mut jobs = Vec::with_capacity(self.members.len() + self.users.len());
        for m in &self.members {
            let mut node = ServerCert::new(m.ips[0]).validity_days(self.days);
            for ip in &m.ips[1..] {
                node = node.ip_address(*ip);
            }
            for d in &m.dns {
                node = node.dns_name(d.parse::<DnsName>()?);
            }
            jobs.push((Leaf::Node(node), keys.next().ok_or_else(too_few_keys)?));
        }
        for u in &self.users {
            let cn: CommonName = u.name.parse()?;
            let client = ClientCert::new().common_name(cn).validity_days(self.days);
            jobs.push((Leaf::Client(client), keys.next().ok_or_else(too_few_keys)?));
        }
        let mut issued = sign_all(&ca, jobs)?;
        let users = issued.split_off(self.members.len());
        Ok(ClusterBundle {
            plan: self.clone(),
            ca,
            ca_generated,
            members: issued,
            users,
        })
    }
}

/// A leaf certificate of a plan, to be signed.
enum Leaf {
    Node(ServerCert),
    Client(ClientCert),
}

/// Signs every leaf with `ca`, on as many threads as there are cores; results in job order.
fn sign_all(ca: &Issuer, jobs: Vec<(Leaf, PrivateKey)>) -> Result<Vec<CertifiedKey>, Error> {
    let threads = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
    crate::parallel::map(jobs, threads, |(leaf, key)| match leaf {
        Leaf::Node(node) => node.issue_with_key(ca, key),
        Leaf::Client(client) => client.issue_with_key(ca, key),
    })
    .into_iter()
    .collect()
}

/// The generator returned fewer keys than asked for (a bug).
fn too_few_keys() -> Error {
    Error::KeyGeneration {
        source: "the key generator returned fewer keys than asked for".into(),
    }
}
