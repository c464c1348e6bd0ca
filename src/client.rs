//! The client certificate builder.

use crate::alt_names::AltNames;
use crate::params::{LeafParams, builder_methods, leaf_methods};
use crate::role::Role;

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
/// let alice = ClientCert::new().common_name("alice".parse()?).issue(&ca)?;
/// assert_eq!(alice.certificate().common_name().as_deref(), Some("alice"));
/// assert!(alice.certificate().is_client_auth() && !alice.certificate().is_server_auth());
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientCert {
    leaf: LeafParams,
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
            leaf: LeafParams::new(Role::Client, AltNames::default()),
        }
    }

    builder_methods!(
        "Sets the common name: the etcd user name when authentication is enabled.",
        leaf.params
    );
    leaf_methods!(ClientCert);
}
