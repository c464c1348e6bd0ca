//! An etcd member's configuration as the doctor sees it, whatever it was written as (a config
//! file, a command line, `ETCD_*` variables): the TLS files of its client and peer listeners,
//! its URLs, and the problems found while reading it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// `etcd --config-file` YAML.
    Yaml,
    /// An etcd command line (also a systemd unit's `ExecStart=`).
    Flags,
    /// `ETCD_*` variables (an `EnvironmentFile`, `/etc/default/etcd`).
    Env,
}

/// The TLS settings of one listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Tls {
    pub(super) cert_file: Option<PathBuf>,
    pub(super) key_file: Option<PathBuf>,
    pub(super) client_cert_file: Option<PathBuf>,
    pub(super) client_key_file: Option<PathBuf>,
    pub(super) trusted_ca_file: Option<PathBuf>,
    pub(super) client_cert_auth: bool,
    pub(super) auto_tls: bool,
}

impl Tls {
    /// etcd's `TLSInfo.Empty()`: no certificate and no key given.
    pub(super) fn is_empty(&self) -> bool {
        self.cert_file.is_none() && self.key_file.is_none()
    }

    /// The files it names, with the key each is named by.
    pub(super) fn files(&self, prefix: &str) -> Vec<(String, &Path)> {
        [
            ("cert-file", &self.cert_file),
            ("key-file", &self.key_file),
            ("client-cert-file", &self.client_cert_file),
            ("client-key-file", &self.client_key_file),
            ("trusted-ca-file", &self.trusted_ca_file),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|p| (format!("{prefix}{k}"), p)))
        .collect()
    }
}

/// A problem found while reading a configuration (before any certificate is looked at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    /// A key etcd does not know here (it ignores it silently in a file); where it belongs, if
    /// it is a known key in the wrong place.
    UnknownKey {
        key: String,
        belongs: Option<String>,
    },
    /// A key etcd no longer reads (since the minor version given).
    RemovedKey { key: String, minor: u32 },
    /// A value of the wrong type or form, and what etcd says about it.
    BadValue {
        key: String,
        reason: String,
        says: Option<String>,
    },
    /// Settings that etcd ignores because a config file is also given.
    IgnoredBesideConfigFile { keys: Vec<String> },
}

/// One member's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Settings {
    pub(super) path: PathBuf,
    pub(super) source: Source,
    pub(super) name: Option<String>,
    pub(super) client: Tls,
    pub(super) peer: Tls,
    pub(super) listen_client: Vec<String>,
    pub(super) advertise_client: Vec<String>,
    pub(super) listen_peer: Vec<String>,
    pub(super) advertise_peer: Vec<String>,
    pub(super) initial_cluster: Vec<(String, String)>,
    pub(super) cipher_suites: Vec<String>,
    pub(super) tls_min_version: Option<String>,
    /// A `tls-min-version` this etcd does not read (before 3.4.25 / 3.5.8).
    pub(super) unread_tls_min_version: Option<String>,
    pub(super) logger: Option<String>,
    /// The config file a command line or `ETCD_CONFIG_FILE` names: etcd reads it and ignores
    /// every other flag and variable (so this configuration's other settings are empty).
    pub(super) config_file: Option<PathBuf>,
    pub(super) problems: Vec<Problem>,
}

/// What etcdctl is configured with (`ETCDCTL_*` variables, our plan's `etcdctl.env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CtlSettings {
    pub(super) path: PathBuf,
    pub(super) cacert: Option<PathBuf>,
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
    pub(super) endpoints: Vec<String>,
}

/// A comma-separated list, without empty items.
fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Go's `strconv.ParseBool`, as etcd's flags and environment read booleans.
pub(super) fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl Settings {
    /// The settings of flat `flag-name → value` pairs (the config file's sections already
    /// flattened to their flag names: `peer-transport-security: cert-file` → `peer-cert-file`).
    pub(super) fn from_flat(
        path: &Path,
        source: Source,
        flat: &BTreeMap<String, String>,
        mut problems: Vec<Problem>,
    ) -> Self {
        let config_file = (source != Source::Yaml)
            .then(|| flat.get("config-file").filter(|v| !v.is_empty()))
            .flatten()
            .map(PathBuf::from);
        if config_file.is_some() {
            let keys: Vec<String> = flat
                .keys()
                .filter(|k| *k != "config-file")
                .cloned()
                .collect();
            if !keys.is_empty() {
                problems.push(Problem::IgnoredBesideConfigFile { keys });
            }
        }
        // With a config file, etcd reads nothing else.
        let none = BTreeMap::new();
        let flat = if config_file.is_some() { &none } else { flat };
        let get = |k: &str| flat.get(k).map(String::as_str);
        let file = |k: &str| get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let mut flag = |k: &str| match get(k) {
            None => false,
            Some(v) => go_bool(v).unwrap_or_else(|| {
                // Go's flag package, and etcd's reading of ETCD_* variables into flags.
                let says = match source {
                    Source::Env => format!(
                        "invalid value {v:?} for ETCD_{}: parse error",
                        k.to_ascii_uppercase().replace('-', "_")
                    ),
                    _ => format!("invalid boolean value {v:?} for -{k}: parse error"),
                };
                problems.push(Problem::BadValue {
                    key: k.to_owned(),
                    reason: format!("{v:?} is not a boolean (true or false)"),
                    says: Some(says),
                });
                false
            }),
        };
        let client = Tls {
            cert_file: file("cert-file"),
            key_file: file("key-file"),
            client_cert_file: file("client-cert-file"),
            client_key_file: file("client-key-file"),
            trusted_ca_file: file("trusted-ca-file"),
            client_cert_auth: flag("client-cert-auth"),
            auto_tls: flag("auto-tls"),
        };
        let peer = Tls {
            cert_file: file("peer-cert-file"),
            key_file: file("peer-key-file"),
            client_cert_file: file("peer-client-cert-file"),
            client_key_file: file("peer-client-key-file"),
            trusted_ca_file: file("peer-trusted-ca-file"),
            client_cert_auth: flag("peer-client-cert-auth"),
            auto_tls: flag("peer-auto-tls"),
        };
        let urls = |k: &str| get(k).map(list).unwrap_or_default();
        let initial_cluster = get("initial-cluster")
            .map(list)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                item.split_once('=')
                    .map(|(n, u)| (n.trim().to_owned(), u.trim().to_owned()))
            })
            .collect();
        Self {
            path: path.to_path_buf(),
            source,
            name: get("name").map(str::to_owned),
            client,
            peer,
            listen_client: urls("listen-client-urls"),
            advertise_client: urls("advertise-client-urls"),
            listen_peer: urls("listen-peer-urls"),
            advertise_peer: urls("initial-advertise-peer-urls"),
            initial_cluster,
            cipher_suites: urls("cipher-suites"),
            tls_min_version: get("tls-min-version").map(str::to_owned),
            unread_tls_min_version: None,
            logger: get("logger").map(str::to_owned),
            config_file,
            problems,
        }
    }

    /// The name findings about this member are grouped under.
    pub(super) fn label(&self) -> String {
        match &self.name {
            Some(n) if !n.is_empty() => n.clone(),
            _ => self.path.display().to_string(),
        }
    }

    /// Every TLS file the configuration names, with its key.
    pub(super) fn tls_files(&self) -> Vec<(String, &Path)> {
        let mut v = self.client.files("");
        v.extend(self.peer.files("peer-"));
        v
    }
}

impl CtlSettings {
    pub(super) fn from_flat(path: &Path, flat: &BTreeMap<String, String>) -> Self {
        let file = |k: &str| flat.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self {
            path: path.to_path_buf(),
            cacert: file("ETCDCTL_CACERT"),
            cert: file("ETCDCTL_CERT"),
            key: file("ETCDCTL_KEY"),
            endpoints: flat
                .get("ETCDCTL_ENDPOINTS")
                .map(|v| list(v))
                .unwrap_or_default(),
        }
    }
}
