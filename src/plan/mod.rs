//! Whole-cluster plans: a cluster described once ([`ClusterPlan`]), issued into a
//! [`ClusterBundle`] of certificates and etcd/etcdctl configuration, and written out as one
//! directory tree (the user-facing documentation is on [`ClusterPlan`]).

// Layout (each file's `use super::` lines follow this order, no cycle):
// spec (types, validation, URLs) <- bundle (the issued bundle) <- issue (keys, signing);
// bundle <- render (etcd.conf.yml, etcdctl.env, migrate-to-https.sh) <- write (staged write);
// spec <- dir (a written directory, checked) <- lifecycle (renewal, CA rotation)
// <- rotation_script (the scripts of the rotation phases; uses render's quoting).

mod bundle;
mod dir;
mod issue;
mod lifecycle;
#[cfg(test)]
mod lifecycle_tests;
mod render;
mod rotation_script;
mod spec;
#[cfg(test)]
mod tests;
mod write;

pub use bundle::ClusterBundle;
pub use dir::ClusterDir;
pub use lifecycle::{LifecycleReport, Renewed, RotationPhase};
pub use spec::{ClusterPlan, Listen, MemberSpec, UserSpec};
