//! [`ClusterDir`]: a directory written by [`ClusterBundle::write`], opened for its lifecycle
//! (renewal, CA rotation). Opening reads the recorded plan (`ca/plan.toml`), the CA, and every
//! member's and user's files, and checks all of them against the plan and the CA before
//! anything is written; it also works out where a CA rotation stands from the files themselves.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::cert::Certificate;
use crate::certified_key::CertifiedKey;
use crate::error::Error;
use crate::issuer::Issuer;
use crate::role::Role;

#[cfg(doc)]
use super::bundle::ClusterBundle;
use super::spec::ClusterPlan;

/// `ca/` files of the lifecycle (beside `root.cert`, `root.key` and `plan.toml`).
pub(super) const PLAN_FILE: &str = "plan.toml";
pub(super) const NEXT_CERT: &str = "next-root.cert";
pub(super) const NEXT_KEY: &str = "next-root.key";
pub(super) const PREVIOUS_CERT: &str = "previous-root.cert";
/// Written by a generated rotation script once every member passed its checks: the phase.
pub(super) const CHECKED: &str = "rotation-checked";

/// A member's or a user's directory, as found on disk.
#[derive(Debug)]
pub(super) struct Leaf {
    /// `member` or `user`.
    pub(super) kind: &'static str,
    /// The member's or user's name in the plan.
    pub(super) name: String,
    pub(super) dir: PathBuf,
    /// The file stem of its pair: the member's first IP, or `client`.
    pub(super) stem: String,
    pub(super) cert: Certificate,
    /// Whether its certificate was issued by the rotation's new root (else by the current).
    pub(super) by_next: bool,
    /// What its `root.cert` trusts.
    pub(super) trust: Trust,
}

impl Leaf {
    /// The path of its certificate file.
    pub(super) fn cert_path(&self) -> PathBuf {
        self.dir.join(format!("{}.cert", self.stem))
    }
}

/// What a directory's trusted-CA file (`root.cert`) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trust {
    /// The current root alone.
    Current,
    /// The current root and the rotation's new root.
    Both,
    /// The new root alone.
    Next,
}

/// Where a CA rotation stands, as the files show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// No rotation: every certificate is the root's, every directory trusts it alone.
    Idle,
    /// `begin` ran (perhaps not to the end): there is a new root, some directories trust both.
    Begun { complete: bool },
    /// `reissue` ran (perhaps not to the end): some certificates are the new root's.
    Reissued { complete: bool },
    /// `finish` ran but did not end: every certificate is the new root's, some directories
    /// trust it alone.
    Finishing,
}

/// A directory written by [`ClusterBundle::write`] (`ca/`, `members/<name>/`,
/// `clients/<user>/`, and the plan kept as `ca/plan.toml`), opened to renew its certificates
/// ([`ClusterDir::renew`]) or rotate its CA ([`ClusterDir::rotate_ca`]).
///
/// [`ClusterDir::open`] checks everything before anything is written: the plan, the CA's
/// certificate and key, that every member and user of the plan has its directory (and no
/// other directory is there), that every key matches its certificate, and that every
/// certificate was issued by the CA (or by the rotation's new root) for exactly that member's
/// names or that user's name.
#[derive(Debug)]
pub struct ClusterDir {
    pub(super) base: PathBuf,
    pub(super) plan: ClusterPlan,
    /// The current root (`ca/root.cert`, `ca/root.key`).
    pub(super) ca: Issuer,
    /// The rotation's new root (`ca/next-root.cert`, `ca/next-root.key`), during a rotation.
    pub(super) next: Option<Issuer>,
    /// The members' directories, in plan order, then the users'.
    pub(super) leaves: Vec<Leaf>,
    /// The phase whose generated script last completed its checks (`ca/rotation-checked`).
    pub(super) checked: Option<String>,
}

impl ClusterDir {
    /// Opens the directory `base` and checks it (see the type's docs).
    ///
    /// # Errors
    /// [`Error::ClusterMismatch`] naming the first file or directory that does not match the
    /// plan or the CA (a missing `ca/plan.toml` or `ca/root.key` included);
    /// [`Error::InvalidPlan`] for a recorded plan that does not parse or check; the errors of
    /// reading the files ([`Error::Io`], [`Error::InvalidPem`], [`Error::KeyMismatch`], …).
    pub fn open(base: &Path) -> Result<Self, Error> {
        crate::fs::check_dir(base)?;
        let base = std::fs::canonicalize(base).map_err(|e| Error::io("access", base, e))?;
        let ca_dir = base.join("ca");
        let plan_path = ca_dir.join(PLAN_FILE);
        let root_key = ca_dir.join("root.key");
        for (path, what) in [
            (
                &plan_path,
                "the plan the directory was written from is missing (etcd-pki keeps it as ca/plan.toml since 0.1.0); copy the plan file there",
            ),
            (
                &root_key,
                "the CA key is missing: renewing and rotating need the CA's key in ca/ (bring it back from where it is kept, as ca/root.key, mode 0600)",
            ),
        ] {
            if path.symlink_metadata().is_err() {
                return Err(mismatch(path, what.into(), None));
            }
        }
        let plan = ClusterPlan::load(&plan_path)?;
        plan.check().map_err(|e| e.in_file(&plan_path))?;
        let ca = Issuer::load(&ca_dir.join("root.cert"), &root_key)?;
        let next = load_next(&ca_dir, &ca)?;
        let checked = match crate::input::read_bounded(&ca_dir.join(CHECKED)) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).trim().to_owned()),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let mut dir = Self {
            base,
            plan,
            ca,
            next,
            leaves: Vec::new(),
            checked,
        };
        dir.leaves = dir.load_leaves()?;
        dir.stage()?;
        Ok(dir)
    }

    /// The plan recorded in `ca/plan.toml`.
    #[must_use]
    pub fn plan(&self) -> &ClusterPlan {
        &self.plan
    }

    /// The CA (`ca/root.cert` and `ca/root.key`; during a CA rotation, the old root).
    #[must_use]
    pub fn ca(&self) -> &Issuer {
        &self.ca
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.base
    }

    /// Every member's and user's directory, checked against the plan.
    fn load_leaves(&self) -> Result<Vec<Leaf>, Error> {
        for group in ["members", "clients"] {
            self.check_no_extra(group)?;
        }
        let mut leaves = Vec::new();
        for m in &self.plan.members {
            let dir = self.base.join("members").join(&m.name);
            let leaf = self.load_leaf("member", &m.name, &dir, &m.ips[0].to_string())?;
            let mut want: BTreeSet<IpAddr> = m.ips.iter().copied().collect();
            want.insert(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let have: BTreeSet<IpAddr> = leaf.cert.ip_addresses().into_iter().collect();
            let want_dns: BTreeSet<String> = m.dns.iter().map(|d| d.to_ascii_lowercase()).collect();
            let have_dns: BTreeSet<String> = leaf
                .cert
                .dns_names()
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect();
            if have != want || have_dns != want_dns {
                return Err(mismatch(
                    &leaf.cert_path(),
                    format!(
                        "member {}'s certificate is for {:?} and {:?}, the plan gives it {:?} and {:?}; re-issue it with the plan, or correct the plan",
                        m.name, have, have_dns, want, want_dns
                    ),
                    None,
                ));
            }
            leaves.push(leaf);
        }
        for u in &self.plan.users {
            let dir = self.base.join("clients").join(&u.name);
            let leaf = self.load_leaf("user", &u.name, &dir, "client")?;
            if leaf.cert.common_name().as_deref() != Some(u.name.as_str())
                || !leaf.cert.ip_addresses().is_empty()
                || !leaf.cert.dns_names().is_empty()
            {
                return Err(mismatch(
                    &leaf.cert_path(),
                    format!(
                        "user {}'s certificate is for {:?}, not for the user {:?} alone",
                        u.name,
                        leaf.cert.subject(),
                        u.name
                    ),
                    None,
                ));
            }
            leaves.push(leaf);
        }
        Ok(leaves)
    }

    /// Refuses a directory under `members/` or `clients/` that the plan does not name.
    fn check_no_extra(&self, group: &str) -> Result<(), Error> {
        let path = self.base.join(group);
        let names: BTreeSet<&str> = if group == "members" {
            self.plan.members.iter().map(|m| m.name.as_str()).collect()
        } else {
            self.plan.users.iter().map(|u| u.name.as_str()).collect()
        };
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && names.is_empty() => {
                return Ok(());
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read", &path, e))?;
            let name = entry.file_name();
            if !name.to_str().is_some_and(|n| names.contains(n)) {
                return Err(mismatch(
                    &entry.path(),
                    format!(
                        "the plan has no {} of that name; remove it, or add it to the plan",
                        if group == "members" { "member" } else { "user" }
                    ),
                    None,
                ));
            }
        }
        Ok(())
    }

    /// One member's or user's directory: its pair (the key must match), which root issued its
    /// certificate (with the role the plan gives it), and what its `root.cert` trusts.
    fn load_leaf(
        &self,
        kind: &'static str,
        name: &str,
        dir: &Path,
        stem: &str,
    ) -> Result<Leaf, Error> {
        let ck = CertifiedKey::load(dir, stem)?;
        let (cert, _key) = ck.into_parts();
        let cert_path = dir.join(format!("{stem}.cert"));
        let role = if kind == "member" {
            Role::Node
        } else {
            Role::Client
        };
        let by_current = self.ca.issued_role(&cert);
        let (issued, by_next) = match (&by_current, &self.next) {
            (Ok(r), _) => (*r, false),
            (Err(_), Some(next)) => match next.issued_role(&cert) {
                Ok(r) => (r, true),
                Err(_) => {
                    return Err(not_issued(&cert_path, by_current.err()));
                }
            },
            (Err(_), None) => return Err(not_issued(&cert_path, by_current.err())),
        };
        if issued != role {
            return Err(mismatch(
                &cert_path,
                format!(
                    "it is a {issued} certificate, and the plan's {kind} {name} needs a {role} certificate"
                ),
                None,
            ));
        }
        let trust = self.trust_of(&dir.join("root.cert"))?;
        Ok(Leaf {
            kind,
            name: name.to_owned(),
            dir: dir.to_path_buf(),
            stem: stem.to_owned(),
            cert,
            by_next,
            trust,
        })
    }

    /// What the trusted-CA file at `path` holds, in terms of the current and new roots.
    fn trust_of(&self, path: &Path) -> Result<Trust, Error> {
        let certs = Certificate::load_bundle(path)?;
        let ders: Vec<Vec<u8>> = certs.iter().map(Certificate::to_der).collect();
        let current = self.ca.certificate().to_der();
        let next = self.next.as_ref().map(|n| n.certificate().to_der());
        match (ders.as_slice(), next) {
            ([one], _) if *one == current => Ok(Trust::Current),
            ([a, b], Some(n)) if *a == current && *b == n => Ok(Trust::Both),
            ([one], Some(n)) if *one == n => Ok(Trust::Next),
            _ => Err(mismatch(
                path,
                "it does not hold the CA's root certificate (during a CA rotation: the current root then the new root, or the new root alone)".into(),
                None,
            )),
        }
    }

    /// Where the rotation stands (see [`Stage`]), or a mismatch no rotation explains.
    pub(super) fn stage(&self) -> Result<Stage, Error> {
        let by_next = self.leaves.iter().filter(|l| l.by_next).count();
        let all_next = by_next == self.leaves.len();
        let count = |t: Trust| self.leaves.iter().filter(|l| l.trust == t).count();
        let (current, both, next) = (
            count(Trust::Current),
            count(Trust::Both),
            count(Trust::Next),
        );
        let odd = |what: &str| {
            let leaf = self
                .leaves
                .first()
                .map_or_else(|| self.base.clone(), |l| l.dir.clone());
            Err(mismatch(
                &leaf,
                format!("{what}; the directory is in no state a CA rotation leaves it in"),
                None,
            ))
        };
        if self.next.is_none() {
            return Ok(Stage::Idle);
        }
        if by_next == 0 && next == 0 {
            return Ok(Stage::Begun {
                complete: current == 0,
            });
        }
        if current > 0 {
            return odd(
                "some directories trust only the current root while some certificates are already the new root's",
            );
        }
        if !all_next {
            return if next == 0 {
                Ok(Stage::Reissued { complete: false })
            } else {
                odd(
                    "some directories trust only the new root while some certificates are still the old root's",
                )
            };
        }
        Ok(if both > 0 && next == 0 {
            Stage::Reissued { complete: true }
        } else {
            Stage::Finishing
        })
    }
}

/// The rotation's new root, if `ca/next-root.cert` is there (its key must be too).
fn load_next(ca_dir: &Path, ca: &Issuer) -> Result<Option<Issuer>, Error> {
    let cert = ca_dir.join(NEXT_CERT);
    let key = ca_dir.join(NEXT_KEY);
    match (cert.symlink_metadata().is_ok(), key.symlink_metadata().is_ok()) {
        (false, false) => Ok(None),
        (true, true) => {
            let next = Issuer::load(&cert, &key)?;
            // A finish that promoted the new root but did not remove these files.
            Ok((next.certificate().to_der() != ca.certificate().to_der()).then_some(next))
        }
        (true, false) => Err(mismatch(
            &key,
            "the new root's key is missing, beside its certificate; bring it back, or remove ca/next-root.cert and begin the rotation again".into(),
            None,
        )),
        (false, true) => Err(mismatch(
            &cert,
            "the new root's certificate is missing, beside its key; bring it back, or remove ca/next-root.key and begin the rotation again".into(),
            None,
        )),
    }
}

/// An [`Error::ClusterMismatch`].
pub(super) fn mismatch(path: &Path, reason: String, source: Option<Error>) -> Error {
    Error::ClusterMismatch {
        path: path.to_path_buf(),
        reason,
        source: source.map(|e| -> crate::error::BoxError { Box::new(e) }),
    }
}

/// A certificate neither root issued.
fn not_issued(path: &Path, cause: Option<Error>) -> Error {
    mismatch(
        path,
        "it was not issued by the directory's CA (nor by a CA rotation's new root); re-issue it with the CA, or restore the CA it came from".into(),
        cause,
    )
}
