//! [`ClusterBundle`]: what [`ClusterPlan::issue`] made (the CA and every member's and user's
//! certificate and key, with the plan they came from), and the accessors to its parts. Its
//! rendering and writing live in `render` and `write`.

use crate::certified_key::CertifiedKey;
use crate::issuer::Issuer;

use super::spec::ClusterPlan;

/// Everything a plan generated, ready to be written.
#[derive(Debug)]
pub struct ClusterBundle {
    /// The plan the bundle was made from.
    pub(super) plan: ClusterPlan,
    pub(super) ca: Issuer,
    /// Whether the CA was made for this bundle (then its key is written to `ca/`).
    pub(super) ca_generated: bool,
    /// The members' certificates and keys, in the order of [`ClusterPlan::members`].
    pub(super) members: Vec<CertifiedKey>,
    /// The users' certificates and keys, in the order of [`ClusterPlan::users`].
    pub(super) users: Vec<CertifiedKey>,
}

impl ClusterBundle {
    /// The CA.
    #[must_use]
    pub fn ca(&self) -> &Issuer {
        &self.ca
    }

    /// A member's certificate and key.
    #[must_use]
    pub fn member(&self, name: &str) -> Option<&CertifiedKey> {
        let i = self.plan.members.iter().position(|m| m.name == name)?;
        self.members.get(i)
    }

    /// A user's certificate and key.
    #[must_use]
    pub fn user(&self, name: &str) -> Option<&CertifiedKey> {
        let i = self.plan.users.iter().position(|u| u.name == name)?;
        self.users.get(i)
    }
}
