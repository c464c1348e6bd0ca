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
use crate::key::{KeyAlgorithm, KeyFormat, KeyGenerator, PrivateKey};
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

    /// Checks everything that reaches a certificate or a generated file, before any key is
    /// made: each value against what etcd accepts, and against the syntax of the file it lands in
    /// (YAML, shell, env file; see [`yaml`], [`sh`]).
    fn check(&self) -> Result<(), Error> {
        let fail = |reason: String| Err(Error::InvalidPlan { reason });
        if self.members.is_empty() {
            return fail("a plan needs at least one member".into());
        }
        // Names become directories: two that differ only in case are one directory on a
        // case-insensitive file system (the bundle may be copied to one).
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        let mut ips: BTreeSet<IpAddr> = BTreeSet::new();
        let mut dns_names = BTreeSet::new();
        for m in &self.members {
            check_file_name("member", &m.name)?;
            if !names.insert(m.name.to_ascii_lowercase()) {
                return fail(format!(
                    "member name {:?} is used twice (names are compared ignoring case, as they are also directory names)",
                    m.name
                ));
            }
            if let Some(id) = &m.id {
                check_member_id(&m.name, id)?;
                if !ids.insert(id.to_ascii_lowercase()) {
                    return fail(format!(
                        "member id {id:?} is used twice; give each member its own id from `etcdctl member list`"
                    ));
                }
            }
            if m.ips.is_empty() {
                return fail(format!("member {:?} needs at least one IP address", m.name));
            }
            for ip in &m.ips {
                crate::alt_names::check_ip(*ip)?;
                if let IpAddr::V6(v6) = ip
                    && let Some(v4) = v6.to_ipv4_mapped()
                {
                    return fail(format!(
                        "member {:?}: write the IPv4-mapped address {ip} as {v4}",
                        m.name
                    ));
                }
                // One address, one member: etcd refuses an initial cluster with a duplicate URL,
                // and two listeners on one address fail with "address already in use".
                if !ips.insert(*ip) {
                    return fail(format!(
                        "IP address {ip} is listed twice (member {:?}); each address belongs to one member, once",
                        m.name
                    ));
                }
            }
            for d in &m.dns {
                let parsed: DnsName = d.parse()?;
                if !dns_names.insert(parsed.as_str().to_ascii_lowercase()) {
                    return fail(format!(
                        "DNS name {d:?} is listed twice (member {:?}); each name belongs to one member, once",
                        m.name
                    ));
                }
            }
        }
        let mut users = BTreeSet::new();
        for u in &self.users {
            check_file_name("user", &u.name)?;
            u.name.parse::<CommonName>()?;
            if !users.insert(u.name.to_ascii_lowercase()) {
                return fail(format!(
                    "user {:?} is listed twice (names are compared ignoring case, as they are also directory names)",
                    u.name
                ));
            }
        }
        for (what, port) in [
            ("client_port", self.client_port),
            ("peer_port", self.peer_port),
        ] {
            if port == 0 {
                return fail(format!(
                    "{what} is 0: etcd would advertise port 0; give the port the member listens on"
                ));
            }
        }
        if self.client_port == self.peer_port {
            return fail("client_port and peer_port must differ".into());
        }
        check_value("token", &self.token)?;
        if let Some(d) = &self.data_dir {
            check_value("data_dir", d)?;
        }
        if let Some(d) = &self.cert_dir {
            check_dir_value("cert_dir", d)?;
        }
        if let Some(d) = &self.client_dir {
            check_dir_value("client_dir", d)?;
            check_env_value("client_dir", d)?;
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
            Some(_) => {
                KeyGenerator::new().generate_batch(&vec![self.key_algorithm; n], &mut rand::rng())
            }
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

/// The longest value accepted for a token or a path (bytes).
const MAX_VALUE_LEN: usize = 1024;

/// Refuses what a generated file cannot hold safely: an empty or overlong value, control
/// characters (C0, DEL, C1), the YAML 1.1 line separators U+2028/U+2029, a byte order mark, the
/// non-characters U+FFFE/U+FFFF, and the zero-width and bidirectional formatting characters that
/// make a value read differently from what it is.
fn check_value(what: &str, value: &str) -> Result<(), Error> {
    let bad = value.chars().find(|c| {
        c.is_control()
            || matches!(
                c,
                '\u{200b}'..='\u{200f}'
                    | '\u{2028}'..='\u{202e}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{feff}'
                    | '\u{fffe}'
                    | '\u{ffff}'
            )
    });
    let reason = if value.is_empty() {
        "is empty".to_owned()
    } else if value.len() > MAX_VALUE_LEN {
        format!("is longer than {MAX_VALUE_LEN} bytes")
    } else if let Some(c) = bad {
        format!(
            "holds the control or formatting character U+{:04X}, which etcd's YAML cannot hold or which disguises the value",
            u32::from(c)
        )
    } else {
        return Ok(());
    };
    Err(Error::InvalidPlan {
        reason: format!("{what} {value:?} {reason}; give printable text"),
    })
}

/// A directory on the hosts: a valid value, and absolute (etcd resolves a relative file name
/// against its working directory, wherever that is).
fn check_dir_value(what: &str, value: &str) -> Result<(), Error> {
    check_value(what, value)?;
    if value.starts_with('/') {
        Ok(())
    } else {
        Err(Error::InvalidPlan {
            reason: format!(
                "{what} {value:?} is not an absolute path; give the directory from the root, e.g. \"/etc/etcd/pki\""
            ),
        })
    }
}

/// A value written to `etcdctl.env`: it is single-quoted, and systemd's `EnvironmentFile=` has
/// no way to escape a single quote inside single quotes (the shell's `'\''` is read differently
/// there), so a single quote is refused.
fn check_env_value(what: &str, value: &str) -> Result<(), Error> {
    if value.contains('\'') {
        Err(Error::InvalidPlan {
            reason: format!(
                "{what} {value:?} holds a single quote ('), which etcdctl.env cannot hold for both shells and systemd; choose a path without one"
            ),
        })
    } else {
        Ok(())
    }
}

/// A member id as `etcdctl member update` takes it: 1 to 16 hexadecimal digits (a 64-bit id).
fn check_member_id(member: &str, id: &str) -> Result<(), Error> {
    if (1..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::InvalidPlan {
            reason: format!(
                "member {member:?}: id {id:?} must be 1 to 16 hexadecimal digits, as `etcdctl member list` prints it"
            ),
        })
    }
}

/// A YAML single-quoted scalar.
///
/// Single quotes rather than a YAML serializer: every value is first checked ([`check_value`],
/// names and ids to a small ASCII alphabet, URLs built from parsed addresses), so it holds no
/// control character or line break and the single-quoted style needs exactly one rule (a `'` is
/// written `''`); no backslash escapes, no folding, nothing a YAML 1.1 (etcd's go-yaml) or 1.2
/// parser reads differently. A serializer would be a new dependency for a dozen scalars.
fn yaml(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A POSIX shell single-quoted word (`'` written `'\''`).
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

    fn member_dir(&self, base: &str, m: &MemberSpec) -> String {
        match &self.plan.cert_dir {
            Some(t) => t.replace("{name}", &m.name),
            None => format!("{base}/members/{}", m.name),
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
        let _ = writeln!(y, "initial-cluster-state: 'new'");
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

    /// `etcdctl.env`: `KEY='value'` lines, read the same by a POSIX shell (`set -a; .
    /// ./etcdctl.env; set +a`) and by systemd's `EnvironmentFile=`: inside single quotes neither
    /// expands or escapes anything, and no value holds a single quote or a control character
    /// ([`check_env_value`], [`check_value`]).
    fn etcdctl_env(&self, base: &str, user: &str) -> String {
        let dir = match &self.plan.client_dir {
            Some(t) => t.replace("{name}", user),
            None => format!("{base}/clients/{user}"),
        };
        format!(
            "# etcdctl as etcd user {user}: `set -a; . ./etcdctl.env; set +a` then run etcdctl\n\
             # (or systemd EnvironmentFile=). Values are single-quoted.\n\
             ETCDCTL_API='3'\n\
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
    /// up, before each member is restarted with its TLS configuration. A member without an id in
    /// the plan is looked up by name (`"$(member_id 'name')"`, the function defined in
    /// `ca/migrate-to-https.sh`, which looks up every id before it updates any member).
    #[must_use]
    pub fn migration_commands(&self) -> Vec<String> {
        self.plan
            .members
            .iter()
            .map(|m| {
                let id = match &m.id {
                    Some(id) => sh(id),
                    None => format!("\"$(member_id {})\"", sh(&m.name)),
                };
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
        let _ = writeln!(s, "default_endpoints={}", sh(&http_endpoints));
        let _ = writeln!(
            s,
            "ETCDCTL_ENDPOINTS=\"${{ETCDCTL_ENDPOINTS:-$default_endpoints}}\"; export ETCDCTL_ENDPOINTS"
        );
        // Every id is found (or the script stops) before the first member is updated: an id
        // looked up inside the update command's arguments would not stop `set -e`.
        let _ = writeln!(s, "members=$(etcdctl member list)");
        let _ = writeln!(
            s,
            "member_id() {{ printf '%s\\n' \"$members\" | awk -F', ' -v n=\"$1\" '$3 == n {{ print $1; c++ }} END {{ exit c != 1 }}' || {{ echo \"no member named $1, or more than one\" >&2; exit 1; }}; }}"
        );
        for (i, m) in self.plan.members.iter().enumerate() {
            match &m.id {
                Some(id) => writeln!(s, "id{i}={}", sh(id)),
                None => writeln!(s, "id{i}=$(member_id {})", sh(&m.name)),
            }
            .unwrap_or_default();
        }
        for (i, m) in self.plan.members.iter().enumerate() {
            let _ = writeln!(
                s,
                "etcdctl member update \"$id{i}\" --peer-urls={}",
                sh(&self.plan.peer_url(m))
            );
        }
        s
    }

    /// The output directory as text, for the generated files that name files under it (when
    /// `cert_dir` or `client_dir` is not set): it must be valid UTF-8 and pass the checks of a
    /// planned directory, or etcd would be pointed at files that do not exist.
    fn check_base(&self, base: &Path) -> Result<String, Error> {
        let members_need = self.plan.cert_dir.is_none();
        let users_need = self.plan.client_dir.is_none() && !self.plan.users.is_empty();
        if !members_need && !users_need {
            return Ok(String::new());
        }
        let Some(text) = base.to_str() else {
            return Err(Error::InvalidPlan {
                reason: format!(
                    "the output directory {} is not valid UTF-8, and the generated files name their paths by it; write to a directory whose path is UTF-8, or set cert_dir and client_dir",
                    base.display()
                ),
            });
        };
        let what = "the output directory";
        check_dir_value(what, text)?;
        if users_need {
            check_env_value(what, text)?;
        }
        Ok(text.to_owned())
    }

    /// Writes the bundle under `out` (see the module docs): `ca/`, `members/<name>/` and
    /// `clients/<user>/`, none of which may exist yet (an empty directory is replaced).
    ///
    /// Every target is checked first; then the whole bundle is written into a hidden staging
    /// directory inside `out` and moved into place by `rename(2)`, one directory at a time. On
    /// any failure the directories already moved are moved back and the staging directory is
    /// removed: `out` is left as it was. Nothing is ever overwritten. The CA key is written (to
    /// `ca/` only) when the CA was made for this bundle, never when it was loaded
    /// ([`ClusterPlan::issue_with`]). Paths in the configuration files are absolute, under the
    /// plan's `cert_dir`/`client_dir` or else under `out`. Two writes to one `out` at once are
    /// serialised; the second then finds the first's files and is refused.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] (a planned file exists), [`Error::NotADirectory`] (`out` is not a
    /// directory, or a file stands where a directory goes), [`Error::DirectoryNotEmpty`],
    /// [`Error::InvalidPlan`] (an output path the generated files cannot name), [`Error::Io`],
    /// [`Error::Encoding`].
    pub fn write(&self, out: &Path) -> Result<Vec<PathBuf>, Error> {
        self.write_with(out, &mut || Ok(()))
    }

    /// [`ClusterBundle::write`], calling `step` before each directory is moved into place (a
    /// test makes it fail).
    fn write_with(
        &self,
        out: &Path,
        step: &mut dyn FnMut() -> std::io::Result<()>,
    ) -> Result<Vec<PathBuf>, Error> {
        fs::check_dir(out)?;
        let base = std::fs::canonicalize(out).map_err(|e| Error::io("access", out, e))?;
        let base_text = self.check_base(&base)?;
        let root_cert = self.ca.certificate().to_pem()?;
        // Every directory's files (relative to `out`), fully built in memory first.
        let mut dirs: Vec<(PathBuf, Vec<PlannedFile>)> = Vec::new();
        let pem = |ck: &CertifiedKey| -> Result<(Zeroizing<String>, Zeroizing<String>), Error> {
            Ok((
                Zeroizing::new(ck.cert_pem()?),
                ck.key_pem(KeyFormat::Traditional)?,
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
            let ca_key = self.ca.certified_key().key_pem(KeyFormat::Traditional)?;
            ca_files.insert(0, ("root.key".into(), ca_key, fs::SECRET));
        }
        dirs.push((PathBuf::from("ca"), ca_files));
        for (m, ck) in self.plan.members.iter().zip(&self.members) {
            let (cert, key) = pem(ck)?;
            dirs.push((
                Path::new("members").join(&m.name),
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
                        Zeroizing::new(self.config(&self.member_dir(&base_text, m), m)),
                        fs::PUBLIC,
                    ),
                ],
            ));
        }
        for (u, ck) in self.plan.users.iter().zip(&self.users) {
            let (cert, key) = pem(ck)?;
            dirs.push((
                Path::new("clients").join(&u.name),
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
                        Zeroizing::new(self.etcdctl_env(&base_text, &u.name)),
                        fs::PUBLIC,
                    ),
                ],
            ));
        }
        let _lock = fs::lock_dir(&base)?;
        check_targets(&base, &dirs)?;
        let staging = base.join(format!(
            ".etcd-pki-bundle.{:016x}.tmp",
            rand::random::<u64>()
        ));
        fs::create_dir(&staging, fs::PRIVATE_DIR)?;
        let result = stage(&staging, &dirs).and_then(|()| publish(&staging, &base, &dirs, step));
        // After a complete publish only empty directories are left in it.
        let _ = std::fs::remove_dir_all(&staging);
        result?;
        let mut written = Vec::new();
        for (dir, files) in &dirs {
            written.extend(files.iter().map(|(name, _, _)| base.join(dir).join(name)));
        }
        Ok(written)
    }
}

/// The directories of a bundle with their files, relative to the output directory.
type PlannedDirs = [(PathBuf, Vec<PlannedFile>)];

/// The parent of a bundle directory inside the output directory: `members`, `clients`, or
/// none (`ca`).
fn group(dir: &Path) -> Option<&Path> {
    dir.parent().filter(|p| !p.as_os_str().is_empty())
}

/// Refuses, before anything is written, every target that is in the way.
fn check_targets(base: &Path, dirs: &PlannedDirs) -> Result<(), Error> {
    let in_the_way = |path: PathBuf| Error::NotADirectory {
        path,
        reason: "it is in the way of a directory the bundle writes; move it away",
    };
    for (dir, files) in dirs {
        if let Some(parent) = group(dir) {
            match std::fs::metadata(base.join(parent)) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(in_the_way(base.join(parent))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("access", &base.join(parent), e)),
            }
        }
        let target = base.join(dir);
        match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("access", &target, e)),
            Ok(m) if !m.is_dir() => return Err(in_the_way(target)),
            Ok(_) => {
                for (name, _, _) in files {
                    let path = target.join(name);
                    if path.symlink_metadata().is_ok() {
                        return Err(Error::AlreadyExists { path });
                    }
                }
                let mut entries =
                    std::fs::read_dir(&target).map_err(|e| Error::io("read", &target, e))?;
                if entries.next().is_some() {
                    return Err(Error::DirectoryNotEmpty { path: target });
                }
            }
        }
    }
    Ok(())
}

/// Writes every directory and file of the bundle under `staging` (modes exact).
fn stage(staging: &Path, dirs: &PlannedDirs) -> Result<(), Error> {
    for (dir, files) in dirs {
        if let Some(parent) = group(dir) {
            let parent = staging.join(parent);
            if parent.symlink_metadata().is_err() {
                fs::create_dir(&parent, fs::PUBLIC_DIR)?;
            }
        }
        let dir = staging.join(dir);
        fs::create_dir(&dir, fs::PRIVATE_DIR)?;
        let out_files: Vec<OutFile<'_>> = files
            .iter()
            .map(|(name, contents, mode)| OutFile {
                name,
                contents: contents.as_bytes(),
                mode: *mode,
            })
            .collect();
        fs::write_set(&dir, &out_files, false)?;
    }
    Ok(())
}

/// Moves the staged bundle into `base`: a whole group (`members/`, `clients/`) at once when it
/// does not exist yet, else each of its directories; `ca/` as one. On failure, moves back what
/// was moved (re-creating an empty directory that was replaced).
fn publish(
    staging: &Path,
    base: &Path,
    dirs: &PlannedDirs,
    step: &mut dyn FnMut() -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut units: Vec<PathBuf> = Vec::new();
    for (dir, _) in dirs {
        let unit = match group(dir) {
            Some(parent) if !base.join(parent).exists() => parent.to_path_buf(),
            _ => dir.clone(),
        };
        if !units.contains(&unit) {
            units.push(unit);
        }
    }
    // (staged path, target, mode of an empty directory the move replaced)
    let mut moved: Vec<(PathBuf, PathBuf, Option<u32>)> = Vec::new();
    let mut run = || -> Result<(), Error> {
        for unit in &units {
            let (from, to) = (staging.join(unit), base.join(unit));
            let replaced = std::fs::symlink_metadata(&to).ok().map(|m| mode_of(&m));
            step()
                .and_then(|()| std::fs::rename(&from, &to))
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists => {
                        Error::DirectoryNotEmpty { path: to.clone() }
                    }
                    _ => Error::io("move into place", &to, e),
                })?;
            moved.push((from, to, replaced));
        }
        Ok(())
    };
    let outcome = run();
    if outcome.is_err() {
        for (from, to, replaced) in moved.into_iter().rev() {
            if std::fs::rename(&to, &from).is_ok()
                && let Some(mode) = replaced
            {
                let _ = fs::create_dir(&to, mode);
            }
        }
    } else {
        for dir in std::iter::once(base.to_path_buf())
            .chain(["members", "clients"].iter().map(|g| base.join(g)))
        {
            if let Ok(d) = std::fs::File::open(&dir) {
                // Make the new directory entries durable.
                let _ = d.sync_all();
            }
        }
    }
    outcome
}

/// The permission bits of `m`.
fn mode_of(m: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        fs::PRIVATE_DIR
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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

    /// A fast plan (ECDSA keys) with the values given.
    fn fast(mut p: ClusterPlan) -> ClusterPlan {
        p.key_algorithm = KeyAlgorithm::EcdsaP256;
        p
    }

    fn refused(p: &ClusterPlan, what: &str) -> String {
        match p.check() {
            Err(Error::InvalidPlan { reason }) => reason,
            Err(e) => panic!("{what}: wrong error {e}"),
            Ok(()) => panic!("{what}: accepted"),
        }
    }

    #[test]
    fn member_ids_must_be_what_etcdctl_accepts() {
        for bad in [
            "8e9e05c52164694d; touch /tmp/x",
            "$(touch /tmp/x)",
            "`id`",
            "",
            "8e9e05c52164694d0",
            "0x8e9e",
            "8e9e 05",
            "8e9e\n",
            "'8e9e'",
        ] {
            let mut p = plan();
            p.members[0].id = Some(bad.into());
            let reason = refused(&p, bad);
            assert!(
                reason.contains("1 to 16 hexadecimal digits"),
                "{bad}: {reason}"
            );
        }
        let mut p = plan();
        p.members[0].id = Some("8E9E05C52164694D".into());
        p.members[1].id = Some("8e9e05c52164694d".into());
        assert!(refused(&p, "same id").contains("twice"));
        p.members[1].id = Some("1".into());
        p.check().unwrap();
    }

    #[test]
    fn values_with_control_characters_are_refused() {
        // C0, DEL, C1 (NEL), the YAML 1.1 line and paragraph separators, a byte order mark, bidi
        // overrides: any of them breaks or disguises a YAML or shell file.
        for bad in [
            "\n",
            "\r",
            "\t",
            "\0",
            "\u{1b}[2J",
            "\u{7f}",
            "\u{85}",
            "\u{9b}",
            "\u{2028}",
            "\u{2029}",
            "\u{feff}",
            "\u{202e}",
            "\u{ffff}",
        ] {
            let value = format!("/srv/a{bad}b");
            type Set = fn(&mut ClusterPlan, String);
            let set: [(&str, Set); 4] = [
                ("token", |p, v| p.token = v),
                ("data_dir", |p, v| p.data_dir = Some(v)),
                ("cert_dir", |p, v| p.cert_dir = Some(v)),
                ("client_dir", |p, v| p.client_dir = Some(v)),
            ];
            for (field, f) in set {
                let mut p = plan();
                f(&mut p, value.clone());
                let reason = refused(&p, &format!("{field} {value:?}"));
                assert!(reason.contains(field), "{field}: {reason}");
            }
        }
    }

    #[test]
    fn empty_and_relative_values_are_refused() {
        let mut p = plan();
        p.token = String::new();
        assert!(refused(&p, "empty token").contains("token"));
        let mut p = plan();
        p.data_dir = Some(String::new());
        assert!(refused(&p, "empty data_dir").contains("data_dir"));
        let mut p = plan();
        p.cert_dir = Some("pki/{name}".into());
        assert!(refused(&p, "relative cert_dir").contains("absolute"));
        let mut p = plan();
        p.client_dir = Some("it's/{name}".into());
        assert!(refused(&p, "relative client_dir").contains("absolute"));
        // etcdctl.env is also read by systemd's EnvironmentFile=, which has no quote escaping.
        let mut p = plan();
        p.client_dir = Some("/home/it's/{name}".into());
        assert!(refused(&p, "quote in client_dir").contains('\''));
    }

    /// A YAML mapping parsed by a real YAML parser, as `key path` → string value.
    fn parse_yaml(text: &str) -> BTreeMap<String, String> {
        use yaml_rust2::{Yaml, YamlLoader};
        let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(docs.len(), 1);
        let mut out = BTreeMap::new();
        fn walk(prefix: &str, y: &Yaml, out: &mut BTreeMap<String, String>) {
            match y {
                Yaml::Hash(h) => {
                    for (k, v) in h {
                        let k = k.as_str().expect("string keys");
                        let path = if prefix.is_empty() {
                            k.to_owned()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&path, v, out);
                    }
                }
                Yaml::String(s) => {
                    out.insert(prefix.to_owned(), s.clone());
                }
                Yaml::Boolean(b) => {
                    out.insert(prefix.to_owned(), b.to_string());
                }
                other => panic!("{prefix}: unexpected {other:?}"),
            }
        }
        walk("", &docs[0], &mut out);
        out
    }

    #[test]
    fn every_config_value_parses_back_as_planned() {
        let mut p = fast(plan());
        p.members
            .push(MemberSpec::new("node-3_x.y", "10.1.2.3".parse().unwrap()));
        p.members[2].ips.push("10.1.2.4".parse().unwrap());
        p.listen = Listen::MemberIps;
        // Valid but hostile to a careless quoter: quotes, backslashes, `#`, `: `, `$(…)`, non-ASCII.
        p.token = r#"tok'en "x" \n # a: b $(touch /tmp/x) `id` é"#.into();
        p.data_dir = Some("/var/lib/etcd's data/{name} #1".into());
        p.cert_dir = Some(r#"/etc/etcd "pki"/'{name}'\x: y"#.into());
        let bundle = p.issue().unwrap();
        for m in &p.members {
            let y = parse_yaml(&bundle.member_config(&m.name).unwrap());
            let dir = p.cert_dir.as_ref().unwrap().replace("{name}", &m.name);
            let ip0 = m.ips[0];
            let url = |port| format!("https://{}", socket(ip0, port));
            let listen = |port| {
                m.ips
                    .iter()
                    .map(|ip| format!("https://{}", socket(*ip, port)))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let initial = p
                .members
                .iter()
                .map(|o| format!("{}=https://{}", o.name, socket(o.ips[0], p.peer_port)))
                .collect::<Vec<_>>()
                .join(",");
            let mut want: BTreeMap<String, String> = [
                ("name", m.name.clone()),
                (
                    "data-dir",
                    p.data_dir.as_ref().unwrap().replace("{name}", &m.name),
                ),
                ("listen-peer-urls", listen(p.peer_port)),
                ("listen-client-urls", listen(p.client_port)),
                ("advertise-client-urls", url(p.client_port)),
                ("initial-advertise-peer-urls", url(p.peer_port)),
                ("initial-cluster", initial),
                ("initial-cluster-token", p.token.clone()),
                ("initial-cluster-state", "new".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            for s in ["client-transport-security", "peer-transport-security"] {
                want.insert(format!("{s}.cert-file"), format!("{dir}/{ip0}.cert"));
                want.insert(format!("{s}.key-file"), format!("{dir}/{ip0}.key"));
                want.insert(format!("{s}.trusted-ca-file"), format!("{dir}/root.cert"));
                want.insert(format!("{s}.client-cert-auth"), "true".into());
                want.insert(format!("{s}.auto-tls"), "false".into());
            }
            assert_eq!(y, want, "{}", m.name);
        }
    }

    /// Runs `sh` with `args` and `path_dir` first on `PATH`.
    fn sh_run(args: &[&str], path_dir: &Path, envs: &[(&str, &str)]) -> std::process::Output {
        let path = format!(
            "{}:{}",
            path_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        std::process::Command::new("sh")
            .args(args)
            .env("PATH", path)
            .envs(envs.iter().copied())
            .output()
            .expect("run sh")
    }

    #[test]
    #[cfg(unix)]
    fn the_generated_shell_files_run_as_written() {
        use std::os::unix::fs::PermissionsExt;
        let mut p = fast(plan());
        p.members
            .push(MemberSpec::new("node-3_x.y", "10.1.2.3".parse().unwrap()));
        p.members[0].id = Some("8E9E05C52164694D".into());
        // Everything but a single quote (see `check_env_value`) survives `. etcdctl.env`.
        p.client_dir = Some(r#"/srv/a b/$(touch pwned)/`id`/"q"/\/;|&*?/{name}"#.into());
        let bundle = p.issue().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir(&out).unwrap();
        bundle.write(&out).unwrap();
        let script = out.join("ca/migrate-to-https.sh");
        let script = script.to_str().unwrap();
        let o = sh_run(&["-n", script], tmp.path(), &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // A stub etcdctl: lists the running members, records every update.
        let stub = tmp.path().join("etcdctl");
        std::fs::write(
            &stub,
            "#!/bin/sh\ncase \"$1 $2\" in\n\
             'member list') printf '%s\\n' \"$STUB_LIST\" ;;\n\
             'member update') printf '%s|%s|%s\\n' \"$3\" \"$4\" \"$ETCDCTL_ENDPOINTS\" >> \"$STUB_LOG\" ;;\n\
             *) echo \"unexpected: $*\" >&2; exit 3 ;;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let log = tmp.path().join("log");
        let list = "aaaa1, started, node-3_x.y-not, http://10.9.9.9:2380, http://10.9.9.9:2379, false\n\
                    2b, started, node2, http://[fd00::12]:2380, http://[fd00::12]:2379, false\n\
                    3c, started, node-3_x.y, http://10.1.2.3:2380, http://10.1.2.3:2379, false";
        let o = sh_run(
            &[script],
            tmp.path(),
            &[
                ("STUB_LIST", list),
                ("STUB_LOG", log.to_str().unwrap()),
                ("ETCDCTL_ENDPOINTS", ""),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let default = "http://192.168.10.11:2379,http://[fd00::12]:2379,http://10.1.2.3:2379";
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            format!(
                "8E9E05C52164694D|--peer-urls=https://192.168.10.11:2380|{default}\n\
                 2b|--peer-urls=https://[fd00::12]:2380|{default}\n\
                 3c|--peer-urls=https://10.1.2.3:2380|{default}\n"
            )
        );
        // A member missing from the running cluster stops the script before any update.
        std::fs::remove_file(&log).unwrap();
        let o = sh_run(
            &[script],
            tmp.path(),
            &[
                ("STUB_LIST", "2b, started, node2, x, y, false"),
                ("STUB_LOG", log.to_str().unwrap()),
            ],
        );
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("no member named node-3_x.y"));
        assert!(!log.exists() || std::fs::read_to_string(&log).unwrap().lines().count() < 3);
        // etcdctl.env, read by a shell as documented, gives back exactly the planned paths.
        let env = out.join("clients/alice/etcdctl.env");
        let env = env.to_str().unwrap();
        let o = sh_run(&["-n", env], tmp.path(), &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = sh_run(
            &[
                "-c",
                "cd \"$(dirname \"$1\")\" && set -a && . ./etcdctl.env && set +a && env",
                "sh",
                env,
            ],
            tmp.path(),
            &[],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(!tmp.path().join("pwned").exists() && !out.join("clients/alice/pwned").exists());
        let vars: BTreeMap<String, String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("ETCDCTL_"))
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        let dir = p.client_dir.as_ref().unwrap().replace("{name}", "alice");
        let want: BTreeMap<String, String> = [
            ("ETCDCTL_API", "3".to_owned()),
            ("ETCDCTL_CACERT", format!("{dir}/root.cert")),
            ("ETCDCTL_CERT", format!("{dir}/client.cert")),
            ("ETCDCTL_KEY", format!("{dir}/client.key")),
            ("ETCDCTL_ENDPOINTS", p.endpoints()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(vars, want);
    }

    #[test]
    fn plans_that_etcd_would_refuse_or_misserve_are_refused() {
        type Edit = fn(&mut ClusterPlan);
        let cases: [(&str, Edit, &str); 19] = [
            (
                "same IP on two members",
                |p| p.members[1].ips = p.members[0].ips.clone(),
                "listed twice",
            ),
            (
                "an IP listed twice",
                |p| {
                    p.listen = Listen::MemberIps;
                    let ip = p.members[0].ips[0];
                    p.members[0].ips.push(ip);
                },
                "listed twice",
            ),
            (
                "a second IP shared",
                |p| {
                    let ip = p.members[0].ips[0];
                    p.members[1].ips.push(ip);
                },
                "listed twice",
            ),
            (
                "IPv4-mapped duplicate",
                |p| p.members[1].ips = vec!["::ffff:192.168.10.11".parse().unwrap()],
                "IPv4-mapped",
            ),
            ("client port 0", |p| p.client_port = 0, "client_port is 0"),
            ("peer port 0", |p| p.peer_port = 0, "peer_port is 0"),
            ("same ports", |p| p.peer_port = p.client_port, "must differ"),
            (
                "unspecified IP",
                |p| p.members[0].ips = vec!["0.0.0.0".parse().unwrap()],
                "unspecified",
            ),
            (
                "unspecified IPv6",
                |p| p.members[1].ips.push("::".parse().unwrap()),
                "unspecified",
            ),
            (
                "multicast IP",
                |p| p.members[0].ips = vec!["224.0.0.1".parse().unwrap()],
                "multicast",
            ),
            (
                "broadcast IP",
                |p| p.members[0].ips = vec!["255.255.255.255".parse().unwrap()],
                "broadcast",
            ),
            (
                "member names equal ignoring case",
                |p| p.members[1].name = "NODE1".into(),
                "used twice",
            ),
            (
                "user names equal ignoring case",
                |p| {
                    p.users.push(UserSpec {
                        name: "Alice".into(),
                    });
                },
                "listed twice",
            ),
            (
                "user listed twice",
                |p| {
                    p.users.push(UserSpec {
                        name: "alice".into(),
                    });
                },
                "listed twice",
            ),
            (
                "DNS name shared",
                |p| {
                    p.members[0].dns = vec!["etcd.example.com".into()];
                    p.members[1].dns = vec!["ETCD.example.com".into()];
                },
                "listed twice",
            ),
            (
                "member name with a slash",
                |p| p.members[0].name = "a/b".into(),
                "member name",
            ),
            (
                "member name ..",
                |p| p.members[0].name = "..".into(),
                "member name",
            ),
            (
                "empty user name",
                |p| p.users[0].name = String::new(),
                "user name",
            ),
            (
                "user name with a comma",
                |p| p.users[0].name = "a,b".into(),
                "user name",
            ),
        ];
        for (what, edit, expect) in cases {
            let mut p = plan();
            edit(&mut p);
            let reason = match p.check() {
                Err(e) => e.to_string(),
                Ok(()) => panic!("{what}: accepted"),
            };
            assert!(reason.contains(expect), "{what}: {reason}");
        }
        // Not refused: a member with several addresses of its own and DNS names.
        let mut p = plan();
        p.listen = Listen::MemberIps;
        p.members[0].ips.push("10.0.0.1".parse().unwrap());
        p.members[0].dns = vec!["a.example.com".into(), "b.example.com".into()];
        p.check().unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn a_non_utf8_output_path_is_refused_before_writing() {
        use std::os::unix::ffi::OsStrExt;
        let bundle = fast(plan()).issue().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(std::ffi::OsStr::from_bytes(b"out\xff"));
        std::fs::create_dir(&out).unwrap();
        let e = bundle.write(&out).unwrap_err();
        assert!(e.to_string().contains("not valid UTF-8"), "{e}");
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
        // An output path with a line break would break the YAML: refused too.
        let out = tmp.path().join("a\nb");
        std::fs::create_dir(&out).unwrap();
        let e = bundle.write(&out).unwrap_err();
        assert!(e.to_string().contains("U+000A"), "{e}");
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
        // With cert_dir and client_dir set, the output path is not written into any file.
        let mut p = fast(plan());
        p.cert_dir = Some("/etc/etcd/pki".into());
        p.client_dir = Some("/home/{name}/.etcd".into());
        let out = tmp.path().join(std::ffi::OsStr::from_bytes(b"ok\xff"));
        std::fs::create_dir(&out).unwrap();
        p.issue().unwrap().write(&out).unwrap();
    }

    /// Every path under `dir` with its mode and, for files, contents.
    #[cfg(unix)]
    fn tree(dir: &Path) -> BTreeMap<PathBuf, (u32, Option<Vec<u8>>)> {
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                out.insert(p.clone(), (mode_of(&m), None));
                out.extend(tree(&p));
            } else {
                out.insert(p.clone(), (mode_of(&m), Some(std::fs::read(&p).unwrap())));
            }
        }
        out
    }

    #[test]
    #[cfg(unix)]
    fn a_failure_at_any_step_of_a_bundle_write_leaves_the_directory_as_it_was() {
        use std::os::unix::fs::PermissionsExt;
        let bundle = fast(plan().user("bob")).issue().unwrap();
        let mut n = 1;
        loop {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path();
            // members/ exists (each member moved on its own), with an empty members/node1/ (to be
            // replaced); clients/ does not (moved as one).
            std::fs::create_dir_all(out.join("members/node1")).unwrap();
            std::fs::set_permissions(
                out.join("members/node1"),
                std::fs::Permissions::from_mode(0o750),
            )
            .unwrap();
            std::fs::write(out.join("notes"), b"mine").unwrap();
            let before = tree(out);
            let mut step = 0;
            let result = bundle.write_with(out, &mut || {
                step += 1;
                if step == n {
                    Err(std::io::Error::other("injected"))
                } else {
                    Ok(())
                }
            });
            match result {
                Err(e) => {
                    assert!(e.to_string().contains("injected"), "step {n}: {e}");
                    assert_eq!(
                        tree(out).keys().collect::<Vec<_>>(),
                        before.keys().collect::<Vec<_>>(),
                        "step {n}"
                    );
                    assert_eq!(tree(out), before, "step {n}");
                }
                Ok(written) => {
                    assert_eq!(step, n - 1, "every step was failed once");
                    assert_eq!(written.len(), 3 + 2 * 4 + 2 * 4);
                    assert!(written.iter().all(|p| p.is_file()));
                    let names: Vec<_> = std::fs::read_dir(out)
                        .unwrap()
                        .map(|e| e.unwrap().file_name())
                        .collect();
                    assert_eq!(names.len(), 4, "no staging directory left: {names:?}");
                    break;
                }
            }
            n += 1;
        }
        assert_eq!(
            n, 5,
            "ca, members/node1, members/node2, clients: four moves"
        );
    }

    #[test]
    fn urls_and_quoting() {
        let p = plan();
        assert_eq!(
            p.endpoints(),
            "https://192.168.10.11:2379,https://[fd00::12]:2379"
        );
        assert_eq!(yaml("it's \"b\""), r#"'it''s "b"'"#);
        assert_eq!(sh("it's"), r"'it'\''s'");
    }
}
