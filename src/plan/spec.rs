//! The plan itself: the serde types a TOML plan is read into ([`ClusterPlan`], [`MemberSpec`],
//! [`UserSpec`], [`Listen`]), their defaults, and the validation of every value before any key
//! is made, against what etcd accepts and what the generated files can hold; also the URLs a
//! plan derives from its members' addresses.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::key::KeyAlgorithm;
use crate::name::{CommonName, DnsName};
use crate::validity::DEFAULT_DAYS;

/// An etcd member of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UserSpec {
    /// The etcd user name (the certificate's CN), also its directory and file names.
    pub name: String,
}

/// Where the member listeners bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Listen {
    /// `0.0.0.0`, as the guide (all interfaces, loopback included).
    #[default]
    All,
    /// Only the member's own addresses (e.g. several members on one host).
    MemberIps,
}

/// A cluster's PKI and etcd configuration, described once, before anything is generated.
///
/// The guide makes operators run the script once per certificate, copy **all** files,
/// `root.key` included, to every node, then hand-write each node's YAML. A [`ClusterPlan`]
/// describes the cluster once (members with their addresses, client users, validity, key
/// algorithm) and [`ClusterPlan::issue`] makes everything; [`ClusterBundle::write`](crate::ClusterBundle::write) lays it out:
///
/// ```text
/// <out>/ca/root.key                  the only copy of the CA key: it stays on the CA host
/// <out>/ca/root.cert
/// <out>/ca/migrate-to-https.sh       the guide's `etcdctl member update … --peer-urls=https://…`
/// <out>/ca/plan.toml                 the plan, for renewal and CA rotation (`ClusterDir`)
/// <out>/members/<name>/root.cert     copy this directory to the member: it needs nothing else
/// <out>/members/<name>/<ip>.cert     named after the member's first IP, as the script names it
/// <out>/members/<name>/<ip>.key
/// <out>/members/<name>/etcd.conf.yml etcd --config-file: URLs, initial cluster, TLS as the guide
/// <out>/clients/<user>/root.cert     for etcdctl as <user> (the certificate's CN)
/// <out>/clients/<user>/client.cert
/// <out>/clients/<user>/client.key
/// <out>/clients/<user>/etcdctl.env   ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY, ETCDCTL_ENDPOINTS
/// ```
///
/// `ca/`, `members/<name>/` and `clients/<user>/` hold keys and are created with mode 0700,
/// `members/` and `clients/` 0755, keys 0600, scripts 0755, other files 0644: exactly, whatever
/// the umask. Copy the directories with their modes (`cp -a`, `rsync -a`, `scp -rp`).
///
/// A plan comes from code or from a TOML file:
///
/// ```
/// use etcd_pki::ClusterPlan;
///
/// let plan = ClusterPlan::from_toml(r#"
///     days = 825
///     key_algorithm = "p256"
///     cert_dir = "/etc/etcd/pki"
///     data_dir = "/var/lib/etcd"
///
///     [[member]]
///     name = "node1"
///     ips = ["192.168.10.11"]
///     dns = ["etcd-1.example.com"]
///
///     [[member]]
///     name = "node2"
///     ips = ["192.168.10.12"]
///
///     [[member]]
///     name = "node3"
///     ips = ["192.168.10.13"]
///
///     [[user]]
///     name = "root"
///
///     [[user]]
///     name = "alice"
/// "#)?;
/// let bundle = plan.issue()?;
/// let config = bundle.member_config("node1").unwrap();
/// assert!(config.contains("initial-cluster: 'node1=https://192.168.10.11:2380,node2=https://192.168.10.12:2380,node3=https://192.168.10.13:2380'"));
/// assert!(config.contains("cert-file: '/etc/etcd/pki/192.168.10.11.cert'"));
/// # let dir = tempfile::tempdir().unwrap();
/// # bundle.write(dir.path())?;
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
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
    #[serde(
        default,
        deserialize_with = "de_algorithm",
        serialize_with = "ser_algorithm"
    )]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_dir: Option<String>,
    /// Where the client files will be, for `etcdctl.env`; `{name}` is the user. Default: the
    /// directory the bundle is written to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_dir: Option<String>,
    /// etcd `data-dir`; `{name}` is replaced by the member name. Default: etcd's own
    /// (`<name>.etcd` in its working directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
fn ser_algorithm<S: serde::Serializer>(a: &KeyAlgorithm, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(a.name())
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
            path: None,
            reason: "it is not a plan in TOML (see the cause for where and why)".into(),
            source: Some(Box::new(e)),
        })
    }

    /// The plan as TOML, which [`ClusterPlan::from_toml`] reads back to an equal plan
    /// ([`ClusterBundle::write`](crate::ClusterBundle::write) keeps it as `ca/plan.toml`, the
    /// record the renewal and the CA rotation check a directory against).
    ///
    /// # Errors
    /// [`Error::Encoding`] (a bug).
    pub fn to_toml(&self) -> Result<String, Error> {
        toml::to_string(self).map_err(|e| Error::encoding("cluster plan", e))
    }

    /// Reads a TOML plan file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::InputTooLarge`] (over 1 MiB) and those of
    /// [`ClusterPlan::from_toml`].
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = crate::input::read_bounded(path)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| Error::InvalidPlan {
            path: Some(path.to_path_buf()),
            reason: "it is not UTF-8 text; a plan is a TOML file".into(),
            source: Some(Box::new(e)),
        })?;
        Self::from_toml(text).map_err(|e| e.in_file(path))
    }

    /// Checks everything that reaches a certificate or a generated file, before any key is
    /// made: each value against what etcd accepts, and against the syntax of the file it lands in
    /// (YAML, shell, env file; quoted by `render`).
    pub(super) fn check(&self) -> Result<(), Error> {
        let fail = |reason: String| Err(Error::invalid_plan(reason));
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

    pub(super) fn peer_url(&self, m: &MemberSpec) -> String {
        format!("https://{}", socket(m.ips[0], self.peer_port))
    }

    pub(super) fn client_url(&self, m: &MemberSpec) -> String {
        format!("https://{}", socket(m.ips[0], self.client_port))
    }

    pub(super) fn listen_urls(&self, m: &MemberSpec, port: u16) -> String {
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

/// `ip:port`, with brackets for IPv6.
pub(super) fn socket(ip: IpAddr, port: u16) -> String {
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
    ensure(ok, || {
        format!(
            "{what} name {name:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.', not starting with '.' or '-'"
        )
    })
}

/// The longest value accepted for a token or a path (bytes).
const MAX_VALUE_LEN: usize = 1024;

/// Refuses what a generated file cannot hold safely: an empty or overlong value, control
/// characters (C0, DEL, C1), the YAML 1.1 line separators U+2028/U+2029, a byte order mark, the
/// non-characters U+FFFE/U+FFFF, and the zero-width and bidirectional formatting characters that
/// make a value read differently from what it is.
pub(super) fn check_value(what: &str, value: &str) -> Result<(), Error> {
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
    Err(Error::invalid_plan(format!(
        "{what} {value:?} {reason}; give printable text"
    )))
}

/// A directory on the hosts: a valid value, and absolute (etcd resolves a relative file name
/// against its working directory, wherever that is).
pub(super) fn check_dir_value(what: &str, value: &str) -> Result<(), Error> {
    check_value(what, value)?;
    ensure(value.starts_with('/'), || {
        format!(
            "{what} {value:?} is not an absolute path; give the directory from the root, e.g. \"/etc/etcd/pki\""
        )
    })
}

/// A value written to `etcdctl.env`: it is single-quoted, and systemd's `EnvironmentFile=` has
/// no way to escape a single quote inside single quotes (the shell's `'\''` is read differently
/// there), so a single quote is refused.
pub(super) fn check_env_value(what: &str, value: &str) -> Result<(), Error> {
    ensure(!value.contains('\''), || {
        format!(
            "{what} {value:?} holds a single quote ('), which etcdctl.env cannot hold for both shells and systemd; choose a path without one"
        )
    })
}

/// A member id as `etcdctl member update` takes it: 1 to 16 hexadecimal digits (a 64-bit id).
fn check_member_id(member: &str, id: &str) -> Result<(), Error> {
    let ok = (1..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit());
    ensure(ok, || {
        format!(
            "member {member:?}: id {id:?} must be 1 to 16 hexadecimal digits, as `etcdctl member list` prints it"
        )
    })
}

/// `Ok` when `ok`, else [`Error::InvalidPlan`] with the reason `reason` gives.
fn ensure(ok: bool, reason: impl FnOnce() -> String) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_plan(reason()))
    }
}
