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
//! assert!(config.contains("initial-cluster: \"node1=https://192.168.10.11:2380,node2=https://192.168.10.12:2380,node3=https://192.168.10.13:2380\""));
//! assert!(config.contains("cert-file: \"/etc/etcd/pki/192.168.10.11.cert\""));
//! # let dir = tempfile::tempdir().unwrap();
//! # bundle.write(dir.path())?;
//! # Ok::<(), etcd_pki::Error>(())
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::cert::CertifiedKey;
use crate::client::ClientCert;
use crate::error::Error;
use crate::fs::{self, OutFile};
use crate::issuer::Issuer;
use crate::key::{KeyAlgorithm, KeyFormat, PrivateKey};
use crate::keygen::KeyGenerator;
use crate::name::{CommonName, DnsName};
use crate::root_ca::RootCa;
use crate::server::ServerCert;
use crate::validity::DEFAULT_DAYS;

/// An etcd member of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MemberSpec {
    /// The member's name (etcd `name`), also its directory and file names.
    pub name: String,
    /// Its addresses; the first one is advertised to clients and peers.
    pub ips: Vec<IpAddr>,
    /// DNS names to put in its certificate too.
    #[serde(default)]
    pub dns: Vec<String>,
    /// The member ID in an existing (http) cluster, for the migration commands (hexadecimal as
    /// `etcdctl member list` prints it). Without it the script looks the ID up by name.
    #[serde(default)]
    pub id: Option<String>,
}

impl MemberSpec {
    /// A member `name` at `ip`.
    #[must_use]
    pub fn new(name: &str, ip: IpAddr) -> Self {
        Self {
            name: name.to_owned(),
            ips: vec![ip],
            dns: Vec::new(),
            id: None,
        }
    }
}

/// A client user of a plan: a client certificate whose CN is the etcd user name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UserSpec {
    /// The etcd user name (the certificate's CN), also its directory and file names.
    pub name: String,
}

/// Where the member listeners bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Listen {
    /// `0.0.0.0`, as the guide (all interfaces, loopback included).
    #[default]
    All,
    /// Only the member's own addresses (e.g. several members on one host).
    MemberIps,
}

/// A cluster's PKI and configuration, before anything is generated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ClusterPlan {
    /// The members (TOML: `[[member]]`).
    #[serde(rename = "member")]
    pub members: Vec<MemberSpec>,
    /// The client users (TOML: `[[user]]`).
    #[serde(rename = "user", default)]
    pub users: Vec<UserSpec>,
    /// Validity of every certificate, in days (default 3650).
    #[serde(default = "default_days")]
    pub days: u32,
    /// Key algorithm: `rsa2048` (default), `rsa3072`, `rsa4096`, `p256`, `p384`.
    #[serde(default, deserialize_with = "de_algorithm")]
    pub key_algorithm: KeyAlgorithm,
    /// Client port (default 2379).
    #[serde(default = "default_client_port")]
    pub client_port: u16,
    /// Peer port (default 2380).
    #[serde(default = "default_peer_port")]
    pub peer_port: u16,
    /// `initial-cluster-token` (default `etcd-cluster`).
    #[serde(default = "default_token")]
    pub token: String,
    /// Where the member files will be on each member, for the paths in `etcd.conf.yml`; `{name}`
    /// is replaced by the member name. Default: the directory the bundle is written to.
    #[serde(default)]
    pub cert_dir: Option<String>,
    /// Where the client files will be, for `etcdctl.env`; `{name}` is the user. Default: the
    /// directory the bundle is written to.
    #[serde(default)]
    pub client_dir: Option<String>,
    /// etcd `data-dir`; `{name}` is replaced by the member name. Default: etcd's own
    /// (`<name>.etcd` in its working directory).
    #[serde(default)]
    pub data_dir: Option<String>,
    /// Where the listeners bind (default: all interfaces, as the guide).
    #[serde(default)]
    pub listen: Listen,
}

fn default_days() -> u32 {
    DEFAULT_DAYS
}
const fn default_client_port() -> u16 {
    2379
}
const fn default_peer_port() -> u16 {
    2380
}
fn default_token() -> String {
    "etcd-cluster".into()
}
fn de_algorithm<'de, D: serde::Deserializer<'de>>(d: D) -> Result<KeyAlgorithm, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

impl ClusterPlan {
    /// A plan for `members`, with the defaults (no users, 3650 days, RSA-2048, ports 2379/2380).
    #[must_use]
    pub fn new(members: Vec<MemberSpec>) -> Self {
        Self {
            members,
            users: Vec::new(),
            days: DEFAULT_DAYS,
            key_algorithm: KeyAlgorithm::default(),
            client_port: default_client_port(),
            peer_port: default_peer_port(),
            token: default_token(),
            cert_dir: None,
            client_dir: None,
            data_dir: None,
            listen: Listen::default(),
        }
    }

    /// Adds a client user (the CN of its certificate).
    #[must_use]
    pub fn user(mut self, name: &str) -> Self {
        self.users.push(UserSpec {
            name: name.to_owned(),
        });
        self
    }

    /// Parses a plan from TOML (see the module docs).
    ///
    /// # Errors
    /// [`Error::InvalidPlan`] naming the problem and its place in the text.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::InvalidPlan {
            reason: e.to_string().trim_end().to_owned(),
        })
    }

    /// Reads a TOML plan file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::InputTooLarge`] (over 1 MiB) and those of
    /// [`ClusterPlan::from_toml`].
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = crate::input::read_bounded(path)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| Error::InvalidPlan {
            reason: format!(
                "{}: not UTF-8 text ({e}); a plan is a TOML file",
                path.display()
            ),
        })?;
        Self::from_toml(text).map_err(|e| match e {
            Error::InvalidPlan { reason } => Error::InvalidPlan {
                reason: format!("{}: {reason}", path.display()),
            },
            e => e,
        })
    }

    fn check(&self) -> Result<(), Error> {
        let fail = |reason: String| Err(Error::InvalidPlan { reason });
        if self.members.is_empty() {
            return fail("a plan needs at least one member".into());
        }
        let mut names = BTreeSet::new();
        for m in &self.members {
            check_file_name("member", &m.name)?;
            if !names.insert(m.name.as_str()) {
                return fail(format!("member name {:?} is used twice", m.name));
            }
            if m.ips.is_empty() {
                return fail(format!("member {:?} needs at least one IP address", m.name));
            }
        }
        let mut users = BTreeSet::new();
        for u in &self.users {
            check_file_name("user", &u.name)?;
            if !users.insert(u.name.as_str()) {
                return fail(format!("user {:?} is listed twice", u.name));
            }
        }
        if self.client_port == self.peer_port {
            return fail("client_port and peer_port must differ".into());
        }
        Ok(())
    }

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

    /// `n` keys of the plan's algorithm; RSA keys as one batch, which keeps every core busy
    /// across keys.
    fn keys(&self, n: usize) -> Result<Vec<PrivateKey>, Error> {
        match self.key_algorithm.rsa_bits() {
            Some(bits) => KeyGenerator::new().generate_rsa_batch(&vec![bits; n], &mut rand::rng()),
            None => (0..n)
                .map(|_| PrivateKey::generate(self.key_algorithm))
                .collect(),
        }
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
            let client = ClientCert::new().common_name(&cn).validity_days(self.days);
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

    fn peer_url(&self, m: &MemberSpec) -> String {
        format!("https://{}", socket(m.ips[0], self.peer_port))
    }

    fn client_url(&self, m: &MemberSpec) -> String {
        format!("https://{}", socket(m.ips[0], self.client_port))
    }

    fn listen_urls(&self, m: &MemberSpec, port: u16) -> String {
        match self.listen {
            Listen::All => format!("https://0.0.0.0:{port}"),
            Listen::MemberIps => m
                .ips
                .iter()
                .map(|ip| format!("https://{}", socket(*ip, port)))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The client endpoints of all members, comma-separated (`ETCDCTL_ENDPOINTS`).
    #[must_use]
    pub fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|m| self.client_url(m))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A leaf certificate of a plan, to be signed.
enum Leaf {
    Node(ServerCert),
    Client(ClientCert),
}

/// Signs every leaf with `ca`, on as many threads as there are cores; results in job order.
fn sign_all(ca: &Issuer, jobs: Vec<(Leaf, PrivateKey)>) -> Result<Vec<CertifiedKey>, Error> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, jobs.len().max(1));
    let per_thread = jobs.len().div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<(Leaf, PrivateKey)>> = Vec::with_capacity(threads);
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        chunks.push(jobs.by_ref().take(per_thread).collect());
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(leaf, key)| match leaf {
                            Leaf::Node(node) => node.issue_with_key(ca, key),
                            Leaf::Client(client) => client.issue_with_key(ca, key),
                        })
                        .collect::<Result<Vec<_>, Error>>()
                })
            })
            .collect();
        let mut out = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(out)
    })
}

/// The generator returned fewer keys than asked for (a bug).
fn too_few_keys() -> Error {
    Error::KeyGeneration {
        source: "the key generator returned fewer keys than asked for".into(),
    }
}

/// `ip:port`, with brackets for IPv6.
fn socket(ip: IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(ip, port).to_string()
}

/// Names become directory and file names: keep them to a safe alphabet.
fn check_file_name(what: &str, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidPlan {
            reason: format!(
                "{what} name {name:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.', not starting with '.' or '-'"
            ),
        })
    }
}

/// A YAML double-quoted scalar: JSON string syntax is valid YAML.
fn yaml(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| unreachable!("strings always serialize"))
}

/// A POSIX shell single-quoted word.
fn sh(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A file to write: name, contents, mode.
type PlannedFile = (String, Zeroizing<String>, u32);

/// Everything a plan generated, ready to be written.
#[derive(Debug)]
pub struct ClusterBundle {
    plan: ClusterPlan,
    ca: Issuer,
    /// Whether the CA was made for this bundle (then its key is written to `ca/`).
    ca_generated: bool,
    members: Vec<CertifiedKey>,
    users: Vec<CertifiedKey>,
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

    fn member_dir(&self, base: &Path, m: &MemberSpec) -> String {
        match &self.plan.cert_dir {
            Some(t) => t.replace("{name}", &m.name),
            None => base
                .join("members")
                .join(&m.name)
                .to_string_lossy()
                .into_owned(),
        }
    }

    /// The etcd configuration of member `name`, with file paths under the plan's `cert_dir`
    /// (without one: under `/etc/etcd/pki`; [`ClusterBundle::write`] uses the directory it
    /// writes to).
    #[must_use]
    pub fn member_config(&self, name: &str) -> Option<String> {
        let m = self.plan.members.iter().find(|m| m.name == name)?;
        let dir = match &self.plan.cert_dir {
            Some(t) => t.replace("{name}", &m.name),
            None => "/etc/etcd/pki".into(),
        };
        Some(self.config(&dir, m))
    }

    fn config(&self, dir: &str, m: &MemberSpec) -> String {
        let p = &self.plan;
        let file = |f: &str| yaml(&format!("{dir}/{f}"));
        let initial = p
            .members
            .iter()
            .map(|o| format!("{}={}", o.name, p.peer_url(o)))
            .collect::<Vec<_>>()
            .join(",");
        let mut y = String::new();
        let _ = writeln!(
            y,
            "# etcd configuration of member {} (etcd --config-file).",
            m.name
        );
        let _ = writeln!(
            y,
            "# Generated by etcd-pki: client and peer TLS with client certificate authentication."
        );
        let _ = writeln!(y, "name: {}", yaml(&m.name));
        if let Some(d) = &p.data_dir {
            let _ = writeln!(y, "data-dir: {}", yaml(&d.replace("{name}", &m.name)));
        }
        let _ = writeln!(
            y,
            "listen-peer-urls: {}",
            yaml(&p.listen_urls(m, p.peer_port))
        );
        let _ = writeln!(
            y,
            "listen-client-urls: {}",
            yaml(&p.listen_urls(m, p.client_port))
        );
        let _ = writeln!(y, "advertise-client-urls: {}", yaml(&p.client_url(m)));
        let _ = writeln!(y, "initial-advertise-peer-urls: {}", yaml(&p.peer_url(m)));
        let _ = writeln!(y, "initial-cluster: {}", yaml(&initial));
        let _ = writeln!(y, "initial-cluster-token: {}", yaml(&p.token));
        let _ = writeln!(y, "initial-cluster-state: \"new\"");
        for section in ["client-transport-security", "peer-transport-security"] {
            let _ = writeln!(y, "{section}:");
            let _ = writeln!(y, "  cert-file: {}", file(&format!("{}.cert", m.ips[0])));
            let _ = writeln!(y, "  key-file: {}", file(&format!("{}.key", m.ips[0])));
            let _ = writeln!(y, "  client-cert-auth: true");
            let _ = writeln!(y, "  trusted-ca-file: {}", file("root.cert"));
            let _ = writeln!(y, "  auto-tls: false");
        }
        y
    }

    fn etcdctl_env(&self, base: &Path, user: &str) -> String {
        let dir = match &self.plan.client_dir {
            Some(t) => t.replace("{name}", user),
            None => base
                .join("clients")
                .join(user)
                .to_string_lossy()
                .into_owned(),
        };
        format!(
            "# etcdctl as etcd user {user}: `set -a; . ./etcdctl.env; set +a` then run etcdctl.\n\
             ETCDCTL_API=3\n\
             ETCDCTL_CACERT={}\n\
             ETCDCTL_CERT={}\n\
             ETCDCTL_KEY={}\n\
             ETCDCTL_ENDPOINTS={}\n",
            sh(&format!("{dir}/root.cert")),
            sh(&format!("{dir}/client.cert")),
            sh(&format!("{dir}/client.key")),
            sh(&self.plan.endpoints()),
        )
    }

    /// The guide's migration of a running http cluster to https peers: one
    /// `etcdctl member update <id> --peer-urls=https://…` per member, run while all members are
    /// up, before each member is restarted with its TLS configuration.
    #[must_use]
    pub fn migration_commands(&self) -> Vec<String> {
        self.plan
            .members
            .iter()
            .map(|m| {
                let id =
                    m.id.clone()
                        .unwrap_or_else(|| format!("\"$(member_id {})\"", sh(&m.name)));
                format!(
                    "etcdctl member update {id} --peer-urls={}",
                    sh(&self.plan.peer_url(m))
                )
            })
            .collect()
    }

    fn migration_script(&self) -> String {
        let http_endpoints = self
            .plan
            .members
            .iter()
            .map(|m| format!("http://{}", socket(m.ips[0], self.plan.client_port)))
            .collect::<Vec<_>>()
            .join(",");
        let mut s = String::new();
        let _ = writeln!(s, "#!/bin/sh");
        let _ = writeln!(
            s,
            "# Migrates the running http cluster to https peer URLs (the guide's step)."
        );
        let _ = writeln!(
            s,
            "# Run it while every member is up, then stop each member and start it again"
        );
        let _ = writeln!(s, "# with its members/<name>/etcd.conf.yml.");
        let _ = writeln!(s, "set -eu");
        let _ = writeln!(s, "ETCDCTL_API=3; export ETCDCTL_API");
        let _ = writeln!(
            s,
            "ETCDCTL_ENDPOINTS=\"${{ETCDCTL_ENDPOINTS:-{http_endpoints}}}\"; export ETCDCTL_ENDPOINTS"
        );
        let _ = writeln!(
            s,
            "member_id() {{ etcdctl member list | awk -F', ' -v n=\"$1\" '$3 == n {{ print $1 }}' | grep . || {{ echo \"no member named $1\" >&2; exit 1; }}; }}"
        );
        for c in self.migration_commands() {
            let _ = writeln!(s, "{c}");
        }
        s
    }

    /// Writes the bundle under `out` (see the module docs). Nothing is overwritten: if any file
    /// exists, nothing is written. The CA key is written (to `ca/` only) when the CA was made
    /// for this bundle, never when it was loaded ([`ClusterPlan::issue_with`]). Paths in the configuration files are absolute, under the
    /// plan's `cert_dir`/`client_dir` or else under `out`.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`], [`Error::NotADirectory`], [`Error::Io`], [`Error::Encoding`].
    pub fn write(&self, out: &Path) -> Result<Vec<PathBuf>, Error> {
        fs::check_dir(out)?;
        let base = std::fs::canonicalize(out).map_err(|e| Error::io("access", out, e))?;
        let root_cert = self.ca.certificate().to_pem()?;
        // Every directory's files, fully built in memory first.
        let mut dirs: Vec<(PathBuf, Vec<PlannedFile>)> = Vec::new();
        let pem = |ck: &CertifiedKey| -> Result<(Zeroizing<String>, Zeroizing<String>), Error> {
            Ok((
                Zeroizing::new(ck.cert_pem()?),
                ck.key_pem(KeyFormat::Pkcs1)?,
            ))
        };
        let mut ca_files = vec![
            (
                "root.cert".into(),
                Zeroizing::new(root_cert.clone()),
                fs::PUBLIC,
            ),
            (
                "migrate-to-https.sh".into(),
                Zeroizing::new(self.migration_script()),
                fs::EXECUTABLE,
            ),
        ];
        if self.ca_generated {
            let ca_key = self.ca.certified_key().key_pem(KeyFormat::Pkcs1)?;
            ca_files.insert(0, ("root.key".into(), ca_key, fs::SECRET));
        }
        dirs.push((base.join("ca"), ca_files));
        for (m, ck) in self.plan.members.iter().zip(&self.members) {
            let (cert, key) = pem(ck)?;
            dirs.push((
                base.join("members").join(&m.name),
                vec![
                    (
                        "root.cert".into(),
                        Zeroizing::new(root_cert.clone()),
                        fs::PUBLIC,
                    ),
                    (format!("{}.cert", m.ips[0]), cert, fs::PUBLIC),
                    (format!("{}.key", m.ips[0]), key, fs::SECRET),
                    (
                        "etcd.conf.yml".into(),
                        Zeroizing::new(self.config(&self.member_dir(&base, m), m)),
                        fs::PUBLIC,
                    ),
                ],
            ));
        }
        for (u, ck) in self.plan.users.iter().zip(&self.users) {
            let (cert, key) = pem(ck)?;
            dirs.push((
                base.join("clients").join(&u.name),
                vec![
                    (
                        "root.cert".into(),
                        Zeroizing::new(root_cert.clone()),
                        fs::PUBLIC,
                    ),
                    ("client.cert".into(), cert, fs::PUBLIC),
                    ("client.key".into(), key, fs::SECRET),
                    (
                        "etcdctl.env".into(),
                        Zeroizing::new(self.etcdctl_env(&base, &u.name)),
                        fs::PUBLIC,
                    ),
                ],
            ));
        }
        // Refuse before writing anything if any file exists.
        for (dir, files) in &dirs {
            for (name, _, _) in files {
                let path = dir.join(name);
                if path.symlink_metadata().is_ok() {
                    return Err(Error::AlreadyExists { path });
                }
            }
        }
        let mut written = Vec::new();
        for (dir, files) in &dirs {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
            let out_files: Vec<OutFile<'_>> = files
                .iter()
                .map(|(name, contents, mode)| OutFile {
                    name,
                    contents: contents.as_bytes(),
                    mode: *mode,
                })
                .collect();
            fs::write_set(dir, &out_files, false)?;
            written.extend(files.iter().map(|(name, _, _)| dir.join(name)));
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> ClusterPlan {
        ClusterPlan::new(vec![
            MemberSpec::new("node1", "192.168.10.11".parse().unwrap()),
            MemberSpec::new("node2", "fd00::12".parse().unwrap()),
        ])
        .user("alice")
    }

    #[test]
    fn bad_plans_are_refused() {
        let e = ClusterPlan::from_toml("[[member]]\nname = \"a\"\n").unwrap_err();
        assert!(e.to_string().contains("missing field `ips`"), "{e}");
        let e =
            ClusterPlan::from_toml("colour = 1\n[[member]]\nname = \"a\"\nips = []\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `colour`"), "{e}");
        let e = ClusterPlan::from_toml("key_algorithm = \"dsa\"\n").unwrap_err();
        assert!(e.to_string().contains("choose one of"), "{e}");
        let mut p = plan();
        p.members[1].name = "node1".into();
        assert!(p.check().unwrap_err().to_string().contains("used twice"));
        let mut p = plan();
        p.members[0].name = "../etc".into();
        assert!(matches!(p.check(), Err(Error::InvalidPlan { .. })));
    }

    #[test]
    fn a_loaded_ca_key_is_not_copied() {
        let mut p = plan();
        p.key_algorithm = KeyAlgorithm::EcdsaP256;
        let ca = RootCa::new()
            .key_algorithm(KeyAlgorithm::EcdsaP256)
            .self_sign()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let written = p.issue_with(ca).unwrap().write(dir.path()).unwrap();
        assert!(
            !written.iter().any(|f| f.ends_with("root.key")),
            "{written:?}"
        );
        assert!(dir.path().join("ca/root.cert").exists());
        // Writing again refuses, naming a file, and changes nothing.
        let err = p.issue().unwrap().write(dir.path()).unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
        assert!(!dir.path().join("ca/root.key").exists());
    }

    #[test]
    fn urls_and_quoting() {
        let p = plan();
        assert_eq!(
            p.endpoints(),
            "https://192.168.10.11:2379,https://[fd00::12]:2379"
        );
        assert_eq!(yaml("a \"b\"\n"), r#""a \"b\"\n""#);
        assert_eq!(sh("it's"), r"'it'\''s'");
    }
}
