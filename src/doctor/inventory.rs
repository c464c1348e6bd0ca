//! Finding what an operator gave: certificate and key files and directories (any layout: our
//! CLI's and the script's `root.cert` / `<ip>.cert`, our plan's `ca/`, `members/<name>/`,
//! `clients/<user>/`, cfssl's `ca.pem` / `server-key.pem`, kubeadm's `pki/etcd/ca.crt`) and
//! etcd configurations, whose TLS files are then read too. Every file is read bounded
//! (1 MiB) and parsed with the crate's loaders.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::config;
use super::settings::{CtlSettings, Settings};
use super::version::EtcdVersion;
use crate::cert::Certificate;
use crate::error::Error;
use crate::input::{self, Kind};
use crate::key::PrivateKey;

/// How deep directories are searched, and how many entries at most are looked at.
const MAX_DEPTH: usize = 4;
const MAX_ENTRIES: usize = 4000;

/// A certificate file: its certificates in file order (a leaf, then its chain; or a bundle).
#[derive(Debug)]
pub(super) struct CertFile {
    pub(super) path: PathBuf,
    pub(super) certs: Vec<Certificate>,
}

/// What a key file holds.
#[derive(Debug)]
pub(super) enum KeyState {
    /// An unencrypted key this crate reads.
    Plain(Box<PrivateKey>),
    /// An encrypted key (etcd cannot read it).
    Encrypted,
    /// A key this crate does not read (too small, another algorithm, damaged): the reason.
    Unreadable(String),
}

/// A private key file.
#[derive(Debug)]
pub(super) struct KeyFile {
    pub(super) path: PathBuf,
    pub(super) state: KeyState,
    /// Unix permission bits.
    pub(super) mode: Option<u32>,
}

/// Everything found.
#[derive(Debug, Default)]
pub(super) struct Inventory {
    pub(super) certs: Vec<CertFile>,
    pub(super) keys: Vec<KeyFile>,
    pub(super) configs: Vec<Settings>,
    pub(super) ctls: Vec<CtlSettings>,
    /// Files that look like certificates or keys but cannot be used: the reason.
    pub(super) broken: Vec<(PathBuf, String)>,
    seen: BTreeSet<PathBuf>,
    entries: usize,
}

fn mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn has_ext(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// How a file came to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// Given by the caller: an error if it cannot be read or is nothing known.
    Given,
    /// Found in a directory given.
    Found,
    /// Named by a configuration as a TLS file.
    Named,
    /// Named by a command line or `ETCD_CONFIG_FILE` as etcd's config file (YAML, whatever
    /// its name).
    ConfigFile,
}

/// What a file is, judged by its contents (and, for configs, its name).
enum Found {
    Pem,
    Yaml,
    Env,
    Flags(Vec<String>),
    Nothing,
}

fn classify(path: &Path, text: &str) -> Found {
    if text.contains("-----BEGIN ") {
        return Found::Pem;
    }
    if has_ext(path, &["yml", "yaml"]) {
        return Found::Yaml;
    }
    let env = config::env_assignments(text)
        .iter()
        .any(|(n, _)| n.starts_with("ETCD_") || n.starts_with("ETCDCTL_"));
    if let Some(args) = config::etcd_arguments(text).filter(|a| !a.is_empty()) {
        return Found::Flags(args);
    }
    if env {
        return Found::Env;
    }
    Found::Nothing
}

impl Inventory {
    /// Reads `paths` (files or directories) and the TLS files their configurations name.
    ///
    /// # Errors
    /// [`Error::Io`] for a path that cannot be read, [`Error::InvalidConfig`] for a file given
    /// by name that is nothing the doctor knows, or a configuration that does not parse.
    pub(super) fn gather(paths: &[PathBuf], v: EtcdVersion) -> Result<Self, Error> {
        let mut inv = Self::default();
        for p in paths {
            let meta = std::fs::metadata(p).map_err(|e| Error::io("read", p, e))?;
            if meta.is_dir() {
                inv.walk(p, 0, v)?;
            } else if !inv.file(p, How::Given, v)? {
                return Err(Error::InvalidConfig {
                    path: Some(p.clone()),
                    reason: "it is neither a PEM certificate or key, nor an etcd configuration \
                             (etcd.conf.yml, an etcd command line, ETCD_* variables)"
                        .into(),
                    source: None,
                });
            }
        }
        // The config files that command lines and ETCD_CONFIG_FILE name (etcd reads only
        // them), then the TLS files the configurations name, wherever they are.
        let mut done = 0;
        while done < inv.configs.len() {
            let next: Vec<PathBuf> = inv.configs[done..]
                .iter()
                .filter_map(|s| s.config_file.clone())
                .collect();
            done = inv.configs.len();
            for p in next {
                if p.is_file() {
                    inv.file(&p, How::ConfigFile, v)?;
                }
            }
        }
        let mut named: Vec<PathBuf> = Vec::new();
        for s in &inv.configs {
            named.extend(s.tls_files().into_iter().map(|(_, p)| p.to_path_buf()));
        }
        for c in &inv.ctls {
            named.extend([&c.cacert, &c.cert, &c.key].into_iter().flatten().cloned());
        }
        for p in named {
            if p.is_file() {
                inv.file(&p, How::Named, v)?;
            }
        }
        Ok(inv)
    }

    fn walk(&mut self, dir: &Path, depth: usize, v: EtcdVersion) -> Result<(), Error> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io("read directory", dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            self.entries += 1;
            if self.entries > MAX_ENTRIES {
                return Ok(());
            }
            let Ok(meta) = std::fs::metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    self.walk(&p, depth + 1, v)?;
                }
            } else if meta.is_file() {
                self.file(&p, How::Found, v)?;
            }
        }
        Ok(())
    }

    /// Reads one file; `Ok(false)` if it is nothing the doctor knows.
    fn file(&mut self, path: &Path, how: How, v: EtcdVersion) -> Result<bool, Error> {
        let id = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if !self.seen.insert(id) {
            return Ok(true);
        }
        // Where a PEM file is expected: a file a configuration names, or one named like one.
        let tls_expected = how == How::Named || looks_like_tls_file(path);
        let bytes = match input::read_bounded(path) {
            Ok(b) => b,
            Err(e) if matches!(how, How::Given | How::ConfigFile) => return Err(e),
            Err(e) => {
                if tls_expected {
                    self.broken.push((path.to_path_buf(), e.to_string()));
                }
                return Ok(false);
            }
        };
        let text = match input::pem_text(&bytes, Kind::Certificate, path) {
            Ok(t) => t,
            Err(e) => {
                // DER or binary data: only worth a word where a PEM file was expected.
                if tls_expected {
                    self.broken.push((path.to_path_buf(), e.to_string()));
                    return Ok(true);
                }
                return Ok(false);
            }
        };
        let found = match classify(path, &text) {
            Found::Pem => Found::Pem,
            _ if how == How::ConfigFile => Found::Yaml,
            Found::Nothing if tls_expected => {
                self.broken.push((
                    path.to_path_buf(),
                    "it holds no PEM block (no -----BEGIN line)".into(),
                ));
                return Ok(true);
            }
            f => f,
        };
        match found {
            Found::Pem => self.pem(path, &text),
            Found::Yaml => {
                let docs = config::load_yaml(&text, path)?;
                match config::parse_manifest(&docs, path, v) {
                    Some((members, ctls)) => {
                        let any = !members.is_empty() || !ctls.is_empty();
                        self.configs.extend(members);
                        self.ctls.extend(ctls);
                        if !any && how == How::Given {
                            return Err(Error::InvalidConfig {
                                path: Some(path.to_path_buf()),
                                reason: "it is a Kubernetes manifest, but no container in it runs etcd (or a kube-apiserver with etcd client settings)".into(),
                                source: None,
                            });
                        }
                        Ok(any)
                    }
                    // A YAML file found in a directory that is no etcd configuration (none of
                    // its keys is etcd's, and its name does not say etcd).
                    None if how == How::Found
                        && !config::looks_like_etcd_yaml(&docs, v)
                        && !path
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().contains("etcd")) =>
                    {
                        Ok(false)
                    }
                    None => {
                        self.configs.push(config::parse_yaml(&docs, path, v)?);
                        Ok(true)
                    }
                }
            }
            Found::Flags(args) => {
                self.configs.push(config::parse_flags(&args, path, v));
                Ok(true)
            }
            Found::Env => {
                let (member, ctl) = config::parse_env(&text, path, v);
                self.configs.extend(member);
                self.ctls.extend(ctl);
                Ok(true)
            }
            Found::Nothing => Ok(false),
        }
    }

    fn pem(&mut self, path: &Path, text: &str) -> Result<bool, Error> {
        let has_cert = text.contains("-----BEGIN CERTIFICATE-----");
        let has_key = text.contains("PRIVATE KEY-----");
        if has_cert {
            let parsed = if has_key {
                Certificate::from_pem(text).map(|c| vec![c])
            } else {
                Certificate::bundle_from_pem(text)
            };
            match parsed {
                Ok(certs) => self.certs.push(CertFile {
                    path: path.to_path_buf(),
                    certs,
                }),
                Err(e) => self.broken.push((path.to_path_buf(), e.to_string())),
            }
        }
        if has_key {
            let state = match PrivateKey::from_pem(text) {
                Ok(k) => KeyState::Plain(Box::new(k)),
                Err(Error::EncryptedKey { .. }) => KeyState::Encrypted,
                Err(e) => KeyState::Unreadable(e.to_string()),
            };
            self.keys.push(KeyFile {
                path: path.to_path_buf(),
                state,
                mode: mode(path),
            });
        }
        Ok(has_cert || has_key)
    }
}

/// Whether the file's name says it should be a certificate or key.
fn looks_like_tls_file(path: &Path) -> bool {
    has_ext(path, &["cert", "crt", "pem", "key", "cer", "der"])
}
