//! What each file is for: which certificates are CAs, members' certificates (used as server
//! and, towards peers, as client) and clients' certificates; which key belongs to which
//! certificate; which configuration uses which files; and the member each belongs to.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::inventory::{CertFile, Inventory};
use super::settings::{CtlSettings, Settings};
use crate::cert::Certificate;
use crate::signature;

/// What a certificate is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    /// A CA (a trust anchor, `trusted-ca-file`).
    Ca,
    /// A member's certificate: server for clients and peers, client towards peers.
    Member,
    /// A client's certificate (etcdctl, an application, a gateway).
    Client,
}

/// A leaf certificate file and what it is tied to.
#[derive(Debug, Clone)]
pub(super) struct Leaf {
    pub(super) cert: usize,
    pub(super) path: PathBuf,
    pub(super) role: Use,
    pub(super) label: String,
    pub(super) key: Option<usize>,
    pub(super) config: Option<usize>,
    pub(super) ctl: Option<usize>,
}

/// The deployment: the inventory with every file's use.
#[derive(Debug)]
pub(super) struct Deployment<'a> {
    pub(super) inv: &'a Inventory,
    /// Indexes of the CA certificate files.
    pub(super) cas: Vec<usize>,
    pub(super) leaves: Vec<Leaf>,
}

/// Whether two paths name the same file.
pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for suffix in [".cert", ".crt", ".pem", ".cer"] {
        if let Some(s) = name.strip_suffix(suffix) {
            return s.to_owned();
        }
    }
    name
}

fn dir_name(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

/// Whether the certificate is self-issued and verifies under its own key (a root).
pub(super) fn self_signed(cert: &Certificate) -> bool {
    let tbs = cert.x509().tbs_certificate();
    tbs.subject() == tbs.issuer()
        && cert
            .public_key_der()
            .ok()
            .and_then(|k| signature::verify_certificate(cert, &k).ok())
            .is_some_and(|r| r.is_ok())
}

const CA_STEMS: &[&str] = &[
    "root",
    "ca",
    "ca-cert",
    "cacert",
    "root-ca",
    "etcd-ca",
    "ca-bundle",
];

/// The key file names that go with certificate `<stem>`: the script's and our CLI's
/// `<stem>.key`, cfssl's `<stem>-key.pem`, and `<stem>.key.pem`.
fn key_candidates(cert_path: &Path) -> Vec<PathBuf> {
    let s = stem(cert_path);
    let dir = cert_path.parent().unwrap_or(Path::new("."));
    vec![
        dir.join(format!("{s}.key")),
        dir.join(format!("{s}-key.pem")),
        dir.join(format!("{s}.key.pem")),
        cert_path.to_path_buf(),
    ]
}

impl<'a> Deployment<'a> {
    pub(super) fn new(inv: &'a Inventory) -> Self {
        let mut cas = Vec::new();
        let mut leaves = Vec::new();
        for (i, f) in inv.certs.iter().enumerate() {
            let named_by = |pick: &dyn Fn(&Settings) -> Vec<&Path>| {
                inv.configs
                    .iter()
                    .position(|s| pick(s).iter().any(|p| same_file(p, &f.path)))
            };
            let as_member = named_by(&|s: &Settings| {
                [
                    &s.client.cert_file,
                    &s.peer.cert_file,
                    &s.client.client_cert_file,
                    &s.peer.client_cert_file,
                ]
                .into_iter()
                .flatten()
                .map(PathBuf::as_path)
                .collect()
            });
            let as_ca = named_by(&|s: &Settings| {
                [&s.client.trusted_ca_file, &s.peer.trusted_ca_file]
                    .into_iter()
                    .flatten()
                    .map(PathBuf::as_path)
                    .collect()
            })
            .is_some()
                || inv
                    .ctls
                    .iter()
                    .any(|c| c.cacert.as_deref().is_some_and(|p| same_file(p, &f.path)));
            let ctl = inv.ctls.iter().position(|c: &CtlSettings| {
                c.cert.as_deref().is_some_and(|p| same_file(p, &f.path))
            });
            let first = &f.certs[0];
            let s = stem(&f.path).to_ascii_lowercase();
            let role = if as_member.is_some() {
                Use::Member
            } else if as_ca
                || first.is_ca()
                || self_signed(first)
                || CA_STEMS.contains(&s.as_str())
                || f.certs.len() > 1 && f.certs.iter().all(Certificate::is_ca)
            {
                Use::Ca
            } else if ctl.is_some() || s.contains("client") {
                Use::Client
            } else if !first.ip_addresses().is_empty()
                || !first.dns_names().is_empty()
                || first.is_server_auth()
            {
                Use::Member
            } else {
                Use::Client
            };
            if role == Use::Ca {
                cas.push(i);
                continue;
            }
            let config = as_member;
            let label = match (role, config) {
                (_, Some(c)) => inv.configs[c].label(),
                (Use::Member, None) if s.parse::<IpAddr>().is_ok() => stem(&f.path),
                (Use::Member, None) => dir_name(&f.path),
                _ if f
                    .path
                    .parent()
                    .and_then(Path::parent)
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == "clients") =>
                {
                    format!("client {}", dir_name(&f.path))
                }
                _ if s.starts_with("client") => stem(&f.path),
                _ => format!("client {}", stem(&f.path)),
            };
            let key = Self::find_key(
                inv,
                f,
                config.map(|c| &inv.configs[c]),
                ctl.map(|c| &inv.ctls[c]),
            );
            leaves.push(Leaf {
                cert: i,
                path: f.path.clone(),
                role,
                label,
                key,
                config,
                ctl,
            });
        }
        Self { inv, cas, leaves }
    }

    fn find_key(
        inv: &Inventory,
        f: &CertFile,
        config: Option<&Settings>,
        ctl: Option<&CtlSettings>,
    ) -> Option<usize> {
        let mut wanted: Vec<PathBuf> = Vec::new();
        if let Some(s) = config {
            for (cert, key) in [
                (&s.client.cert_file, &s.client.key_file),
                (&s.peer.cert_file, &s.peer.key_file),
                (&s.client.client_cert_file, &s.client.client_key_file),
                (&s.peer.client_cert_file, &s.peer.client_key_file),
            ] {
                if let (Some(c), Some(k)) = (cert, key)
                    && same_file(c, &f.path)
                {
                    wanted.push(k.clone());
                }
            }
        }
        if let Some(k) = ctl.and_then(|c| c.key.clone()) {
            wanted.push(k);
        }
        wanted.extend(key_candidates(&f.path));
        wanted
            .iter()
            .find_map(|w| inv.keys.iter().position(|k| same_file(&k.path, w)))
    }

    /// The CA files a leaf is checked against: the CA its configuration trusts (the
    /// `trusted-ca-file` of its member, or etcdctl's `ETCDCTL_CACERT`), else (for kubeadm's
    /// `apiserver-etcd-client.crt`) those in the `etcd/` directory beside it, else the CAs in
    /// its directory, else every CA found.
    pub(super) fn scope(&self, leaf: &Leaf) -> Vec<usize> {
        let inv = self.inv;
        let mut named: Vec<&Path> = Vec::new();
        if let Some(c) = leaf.config {
            let s = &inv.configs[c];
            named.extend(
                [&s.client.trusted_ca_file, &s.peer.trusted_ca_file]
                    .into_iter()
                    .flatten()
                    .map(PathBuf::as_path),
            );
        }
        if let Some(c) = leaf.ctl {
            named.extend(inv.ctls[c].cacert.as_deref());
        }
        let pick = |f: &dyn Fn(&Path) -> bool| -> Vec<usize> {
            self.cas
                .iter()
                .copied()
                .filter(|&i| f(&inv.certs[i].path))
                .collect()
        };
        let by_config = pick(&|p| named.iter().any(|n| same_file(n, p)));
        if !by_config.is_empty() {
            return by_config;
        }
        let dir = inv.certs[leaf.cert].path.parent().map(Path::to_path_buf);
        // kubeadm keeps the etcd CA in `pki/etcd/` and kube-apiserver's etcd client pair
        // (`apiserver-etcd-client.crt`) one level up, beside the Kubernetes CA.
        if stem(&leaf.path).to_ascii_lowercase().contains("etcd")
            && let Some(d) = &dir
        {
            let etcd_dir = d.join("etcd");
            let by_etcd_dir = pick(&|p| p.parent() == Some(etcd_dir.as_path()));
            if !by_etcd_dir.is_empty() {
                return by_etcd_dir;
            }
        }
        let by_dir = pick(&|p| p.parent().map(Path::to_path_buf) == dir);
        if !by_dir.is_empty() {
            return by_dir;
        }
        self.cas.clone()
    }

    /// The certificate file at `i`.
    pub(super) fn file(&self, i: usize) -> &CertFile {
        &self.inv.certs[i]
    }
}
