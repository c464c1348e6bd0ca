//! A whole cluster's PKI and etcd configuration in one step.
//!
//! The guide makes operators run the script once per certificate, copy **all** files,
//! `root.key` included, to every node, then hand-write each node's YAML. A [`ClusterPlan`]
//! describes the cluster once (members with their addresses, client users, validity, key
//! algorithm) and [`ClusterPlan::issue`] makes everything; [`ClusterBundle::write`] lays it out:
//!
//! ```text
//! <out>/ca/root.key                  the only copy of the CA key: it stays on the CA host
//! <out>/ca/root.cert
//! <out>/ca/migrate-to-https.sh       the guide's `etcdctl member update … --peer-urls=https://…`
//! <out>/members/<name>/root.cert     copy this directory to the member: it needs nothing else
//! <out>/members/<name>/<ip>.cert     named after the member's first IP, as the script names it
//! <out>/members/<name>/<ip>.key
//! <out>/members/<name>/etcd.conf.yml etcd --config-file: URLs, initial cluster, TLS as the guide
//! <out>/clients/<user>/root.cert     for etcdctl as <user> (the certificate's CN)
//! <out>/clients/<user>/client.cert
//! <out>/clients/<user>/client.key
//! <out>/clients/<user>/etcdctl.env   ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY, ETCDCTL_ENDPOINTS
//! ```
//!
//! `ca/`, `members/<name>/` and `clients/<user>/` hold keys and are created with mode 0700,
//! `members/` and `clients/` 0755, keys 0600, scripts 0755, other files 0644: exactly, whatever
//! the umask. Copy the directories with their modes (`cp -a`, `rsync -a`, `scp -rp`).
//!
//! A plan comes from code or from a TOML file:
//!
//! ```
//! use etcd_pki::plan::ClusterPlan;
//!
//! let plan = ClusterPlan::from_toml(r#"
//!     days = 825
//!     key_algorithm = "p256"
//!     cert_dir = "/etc/etcd/pki"
//!     data_dir = "/var/lib/etcd"
//!
//!     [[member]]
//!     name = "node1"
//!     ips = ["192.168.10.11"]
//!     dns = ["etcd-1.example.com"]
//!
//!     [[member]]
//!     name = "node2"
//!     ips = ["192.168.10.12"]
//!
//!     [[member]]
//!     name = "node3"
//!     ips = ["192.168.10.13"]
//!
//!     [[user]]
//!     name = "root"
//!
//!     [[user]]
//!     name = "alice"
//! "#)?;
//! let bundle = plan.issue()?;
//! let config = bundle.member_config("node1").unwrap();
//! assert!(config.contains("initial-cluster: 'node1=https://192.168.10.11:2380,node2=https://192.168.10.12:2380,node3=https://192.168.10.13:2380'"));
//! assert!(config.contains("cert-file: '/etc/etcd/pki/192.168.10.11.cert'"));
//! # let dir = tempfile::tempdir().unwrap();
//! # bundle.write(dir.path())?;
//! # Ok::<(), etcd_pki::Error>(())
//! ```

// Layout (each file's `use super::` lines follow this order, no cycle):
// spec (types, validation, URLs) <- bundle (the issued bundle) <- issue (keys, signing);
// bundle <- render (etcd.conf.yml, etcdctl.env, migrate-to-https.sh) <- write (staged write).

mod bundle;
mod issue;
mod render;
mod spec;
#[cfg(test)]
mod tests;
mod write;

pub use bundle::ClusterBundle;
pub use spec::{ClusterPlan, Listen, MemberSpec, UserSpec};
