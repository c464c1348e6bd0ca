//! What a leaf certificate is for: the one role enum shared by the builders, the request
//! signer, renewal and verification.

use der::oid::ObjectIdentifier;

/// `id-kp-serverAuth` (RFC 5280 §4.2.1.12).
pub(crate) const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// `id-kp-clientAuth` (RFC 5280 §4.2.1.12).
pub(crate) const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// The role of a leaf certificate, which decides its extended key usages.
///
/// ```
/// use etcd_pki::{Role, RootCa, ServerCert};
///
/// let ca = RootCa::new().self_sign()?;
/// let node = ServerCert::new("10.0.0.1".parse().unwrap()).issue(&ca)?;
/// assert_eq!(ca.verify(node.certificate())?, Role::Node);
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// A client (`etcdctl`, applications): extendedKeyUsage clientAuth.
    Client,
    /// An etcd member: extendedKeyUsage serverAuth for its client and peer listeners, and
    /// clientAuth because it presents the same certificate as a client to its peers.
    Node,
}

impl Role {
    /// `"client"` or `"node"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Node => "node",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
