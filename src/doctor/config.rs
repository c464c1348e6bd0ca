//! Reading an etcd configuration: the config file (YAML, with yaml-rust2), a command line
//! (split as a POSIX shell does, with shlex; also a systemd unit's `ExecStart=`) or `ETCD_*` /
//! `ETCDCTL_*` variables (an `EnvironmentFile`), into [`Settings`] / [`CtlSettings`], noting
//! every key etcd would ignore or refuse.

use std::collections::BTreeMap;
use std::path::Path;

use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, Parser};

use super::known_keys::{self, BOOL_FLAGS};
use super::settings::{CtlSettings, Problem, Settings, Source};
use super::version::EtcdVersion;
use crate::error::Error;

/// The deepest nesting of YAML collections read (an etcd config has two levels).
const MAX_DEPTH: usize = 32;

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        path: Some(path.to_path_buf()),
        reason: reason.into(),
        source: None,
    }
}

/// Checks the YAML's event stream before building a document: no aliases (an etcd config has
/// none, and expanding them can take memory exponential in the input) and bounded nesting.
fn precheck_yaml(text: &str, path: &Path) -> Result<(), Error> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (event, _) = parser.next_token().map_err(|e| Error::InvalidConfig {
            path: Some(path.to_path_buf()),
            reason: "the YAML does not parse".into(),
            source: Some(Box::new(e)),
        })?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Alias(_) => {
                return Err(invalid(
                    path,
                    "it uses YAML aliases (`*name`), which an etcd configuration has no use for",
                ));
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(invalid(
                        path,
                        format!("its YAML is nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}

/// A scalar or a list of scalars as etcd would read it into a string flag.
fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        Yaml::Array(items) => Some(
            items
                .iter()
                .filter_map(scalar)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Yaml::Null => Some(String::new()),
        _ => None,
    }
}

/// What Go's encoding/json calls the kind of a YAML value (etcd turns its YAML into JSON
/// before decoding it), as in `json: cannot unmarshal string into Go struct field …`.
fn json_kind(v: &Yaml) -> &'static str {
    match v {
        Yaml::String(_) => "string",
        Yaml::Integer(_) | Yaml::Real(_) => "number",
        Yaml::Boolean(_) => "bool",
        Yaml::Array(_) => "array",
        Yaml::Hash(_) => "object",
        _ => "value",
    }
}

/// What etcd prints when its YAML has a value of the wrong kind.
fn unmarshal_says(v: &Yaml) -> Option<String> {
    Some(format!(
        "json: cannot unmarshal {} into Go struct field",
        json_kind(v)
    ))
}

/// A YAML value for a boolean key: YAML 1.1 words too (`yes`, `on`), as etcd's go-yaml reads them.
fn yaml_bool(v: &Yaml) -> Option<bool> {
    match v {
        Yaml::Boolean(b) => Some(*b),
        Yaml::String(s) => match s.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The documents of a YAML text (checked first by [`precheck_yaml`]), read once for
/// [`parse_manifest`], [`looks_like_etcd_yaml`] and [`parse_yaml`].
///
/// # Errors
/// [`Error::InvalidConfig`] if it does not parse, uses aliases or nests too deep.
pub(super) fn load_yaml(text: &str, path: &Path) -> Result<Vec<Yaml>, Error> {
    precheck_yaml(text, path)?;
    yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| Error::InvalidConfig {
        path: Some(path.to_path_buf()),
        reason: "the YAML does not parse".into(),
        source: Some(Box::new(e)),
    })
}

/// Whether YAML documents found in a directory (not given by name) are an etcd
/// configuration: a mapping with at least one key etcd knows at its top level.
pub(super) fn looks_like_etcd_yaml(docs: &[Yaml], v: EtcdVersion) -> bool {
    docs.first().and_then(Yaml::as_hash).is_some_and(|top| {
        top.keys()
            .filter_map(Yaml::as_str)
            .any(|k| known_keys::top_level(k, v))
    })
}

/// Reads an `etcd.conf.yml` (its documents, from [`load_yaml`]).
///
/// # Errors
/// [`Error::InvalidConfig`] if it is not a mapping, or a value is not what etcd reads.
pub(super) fn parse_yaml(docs: &[Yaml], path: &Path, v: EtcdVersion) -> Result<Settings, Error> {
    let Some(Yaml::Hash(top)) = docs.first() else {
        return Err(invalid(
            path,
            "it is not a YAML mapping of etcd settings (`key: value` lines)",
        ));
    };
    let mut flat = BTreeMap::new();
    let mut problems = Vec::new();
    let put = |flat: &mut BTreeMap<String, String>,
               problems: &mut Vec<Problem>,
               flag: String,
               value: &Yaml| {
        if BOOL_FLAGS.contains(&flag.trim_start_matches("peer-"))
            || BOOL_FLAGS.contains(&flag.as_str())
        {
            match yaml_bool(value) {
                Some(b) => {
                    flat.insert(flag, b.to_string());
                }
                // An empty value is JSON null, which leaves the default.
                None if matches!(value, Yaml::Null) => {}
                None => problems.push(Problem::BadValue {
                    key: flag,
                    reason: "it is not a boolean (true or false)".into(),
                    says: unmarshal_says(value),
                }),
            }
        } else if let Some(s) = scalar(value) {
            flat.insert(flag, s);
        } else {
            problems.push(Problem::BadValue {
                key: flag,
                reason: "it is a mapping where etcd expects a value".into(),
                says: unmarshal_says(value),
            });
        }
    };
    for (k, value) in top {
        let Some(key) = k.as_str() else {
            problems.push(Problem::UnknownKey {
                key: format!("{k:?}"),
                belongs: None,
            });
            continue;
        };
        if let Some(minor) = known_keys::removed_in(key).filter(|m| v.minor() >= *m) {
            problems.push(Problem::RemovedKey {
                key: key.to_owned(),
                minor,
            });
            continue;
        }
        if !known_keys::top_level(key, v) {
            problems.push(Problem::UnknownKey {
                key: key.to_owned(),
                belongs: known_keys::belongs(key, None, v),
            });
            continue;
        }
        let prefix = match key {
            "client-transport-security" => "",
            "peer-transport-security" => "peer-",
            _ => {
                put(&mut flat, &mut problems, key.to_owned(), value);
                continue;
            }
        };
        let Yaml::Hash(section) = value else {
            if !matches!(value, Yaml::Null) {
                problems.push(Problem::BadValue {
                    key: key.to_owned(),
                    reason: "it must be a mapping (`cert-file:`, `key-file:`, … indented below it)"
                        .into(),
                    says: unmarshal_says(value),
                });
            }
            continue;
        };
        for (sk, sv) in section {
            let Some(skey) = sk.as_str() else { continue };
            if !known_keys::section(skey, v) {
                problems.push(Problem::UnknownKey {
                    key: format!("{key}.{skey}"),
                    belongs: known_keys::belongs(skey, Some(key), v),
                });
                continue;
            }
            put(&mut flat, &mut problems, format!("{prefix}{skey}"), sv);
        }
    }
    let mut s = Settings::from_flat(path, Source::Yaml, &flat, problems);
    if !known_keys::top_level("tls-min-version", v) {
        s.unread_tls_min_version = top
            .get(&Yaml::String("tls-min-version".into()))
            .and_then(scalar);
    }
    Ok(s)
}

/// The words of a container's `command:` and `args:` (a list of scalars, or one string).
fn container_words(c: &yaml_rust2::yaml::Hash) -> Vec<String> {
    let mut words = Vec::new();
    for key in ["command", "args"] {
        match c.get(&Yaml::String(key.into())) {
            Some(Yaml::Array(items)) => words.extend(items.iter().filter_map(scalar)),
            Some(Yaml::String(line)) => words.extend(shlex::split(line).unwrap_or_default()),
            _ => {}
        }
    }
    words
}

/// The containers of a Kubernetes object, wherever they are (`spec.containers` of a Pod,
/// `spec.template.spec.containers` of a Deployment or StatefulSet, init containers too).
fn containers<'a>(v: &'a Yaml, depth: usize, out: &mut Vec<&'a yaml_rust2::yaml::Hash>) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Yaml::Hash(h) => {
            for (k, item) in h {
                if matches!(k.as_str(), Some("containers" | "initContainers"))
                    && let Yaml::Array(list) = item
                {
                    out.extend(list.iter().filter_map(Yaml::as_hash));
                } else {
                    containers(item, depth + 1, out);
                }
            }
        }
        Yaml::Array(items) => {
            for item in items {
                containers(item, depth + 1, out);
            }
        }
        _ => {}
    }
}

fn program_is(word: &str, name: &str) -> bool {
    Path::new(word).file_name().is_some_and(|n| n == name)
}

/// What a Kubernetes manifest configures: etcd members, and etcd clients (kube-apiserver).
pub(super) type Manifest = (Vec<Settings>, Vec<CtlSettings>);

/// Reads a Kubernetes manifest (kubeadm's `/etc/kubernetes/manifests/etcd.yaml`, a Pod,
/// Deployment or StatefulSet): the command line of every container running etcd, and the
/// etcd client settings of a kube-apiserver (`--etcd-cafile`, `--etcd-certfile`,
/// `--etcd-keyfile`, `--etcd-servers`). `Ok(None)` when the YAML is no Kubernetes object
/// (`apiVersion:` and `kind:`). `docs` are the file's documents, from [`load_yaml`].
pub(super) fn parse_manifest(docs: &[Yaml], path: &Path, v: EtcdVersion) -> Option<Manifest> {
    let is_object = |d: &Yaml| {
        d.as_hash().is_some_and(|h| {
            h.contains_key(&Yaml::String("apiVersion".into()))
                && h.contains_key(&Yaml::String("kind".into()))
        })
    };
    if !docs.iter().any(is_object) {
        return None;
    }
    let mut found = Vec::new();
    for d in docs.iter().filter(|d| is_object(d)) {
        containers(d, 0, &mut found);
    }
    let mut members = Vec::new();
    let mut ctls = Vec::new();
    for c in found {
        let words = container_words(c);
        if let Some(at) = words.iter().position(|w| program_is(w, "etcd")) {
            members.push(parse_flags(&words[at + 1..], path, v));
        } else if let Some(args) = words
            .iter()
            .filter(|w| w.contains(' '))
            .find_map(|w| etcd_arguments(w))
        {
            // `sh -c "exec etcd --name …"`
            members.push(parse_flags(&args, path, v));
        } else if words.iter().any(|w| program_is(w, "kube-apiserver")) {
            let mut flat = BTreeMap::new();
            for w in &words {
                let Some((name, value)) = w.trim_start_matches('-').split_once('=') else {
                    continue;
                };
                let var = match name {
                    "etcd-cafile" => "ETCDCTL_CACERT",
                    "etcd-certfile" => "ETCDCTL_CERT",
                    "etcd-keyfile" => "ETCDCTL_KEY",
                    "etcd-servers" => "ETCDCTL_ENDPOINTS",
                    _ => continue,
                };
                flat.insert(var.to_owned(), value.to_owned());
            }
            if !flat.is_empty() {
                ctls.push(CtlSettings::from_flat(path, &flat));
            }
        }
    }
    Some((members, ctls))
}

/// The logical lines of a text: `\`-newline continuations joined, comments dropped.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let trimmed = line.trim_end();
        if let Some(head) = trimmed.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
            continue;
        }
        cur.push_str(trimmed);
        let l = std::mem::take(&mut cur);
        if !l.trim_start().starts_with('#') && !l.trim().is_empty() {
            out.push(l);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// The arguments after the `etcd` program in a command line or systemd unit, if it has one.
pub(super) fn etcd_arguments(text: &str) -> Option<Vec<String>> {
    for line in logical_lines(text) {
        let line = line.trim_start();
        let line = line.strip_prefix("ExecStart=").unwrap_or(line);
        let line = line.trim_start_matches(['-', '@', '+', '!', ':']);
        let Some(words) = shlex::split(line) else {
            continue;
        };
        if let Some(at) = words
            .iter()
            .position(|w| Path::new(w).file_name().is_some_and(|n| n == "etcd"))
        {
            return Some(words[at + 1..].to_vec());
        }
    }
    // Or the flags alone (`--name m1 --cert-file …`).
    let words = shlex::split(&logical_lines(text).join(" "))?;
    words
        .first()
        .is_some_and(|w| w.starts_with("--") && w.len() > 2)
        .then_some(words)
}

/// Reads the flags of an etcd command line (`args`: the words after `etcd`), as Go's `flag`
/// package does: `-f`, `--f`, `--f=v`, `--f v`; boolean flags never take the next word.
pub(super) fn parse_flags(args: &[String], path: &Path, v: EtcdVersion) -> Settings {
    let mut flat = BTreeMap::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        let Some(body) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            problems.push(Problem::BadValue {
                key: word.clone(),
                reason: "it is not a flag (etcd takes no arguments besides flags)".into(),
                says: Some(format!("'{word}' is not a valid flag")),
            });
            continue;
        };
        let (name, value) = match body.split_once('=') {
            Some((n, val)) => (n.to_owned(), Some(val.to_owned())),
            None => (body.to_owned(), None),
        };
        if !known_keys::flag(&name, v) {
            // Its value, if it has one, is not an argument of its own.
            if value.is_none() && args.get(i).is_some_and(|n| !n.starts_with('-')) {
                i += 1;
            }
            problems.push(Problem::UnknownKey {
                belongs: known_keys::belongs(&name, None, v),
                key: format!("--{name}"),
            });
            continue;
        }
        let value = match value {
            Some(val) => val,
            None if BOOL_FLAGS.contains(&name.as_str()) => "true".into(),
            None => match args.get(i) {
                Some(next) => {
                    i += 1;
                    next.clone()
                }
                None => {
                    problems.push(Problem::BadValue {
                        key: format!("--{name}"),
                        reason: "it needs a value".into(),
                        says: Some(format!("flag needs an argument: -{name}")),
                    });
                    continue;
                }
            },
        };
        flat.insert(name, value);
    }
    let mut s = Settings::from_flat(path, Source::Flags, &flat, problems);
    if !known_keys::flag("tls-min-version", v) {
        s.unread_tls_min_version = args.iter().enumerate().find_map(|(i, w)| {
            let body = w.trim_start_matches('-');
            if body == "tls-min-version" {
                args.get(i + 1).cloned()
            } else {
                body.strip_prefix("tls-min-version=").map(str::to_owned)
            }
        });
    }
    s
}

/// The `NAME=value` assignments of an environment file (`export`, comments and systemd's
/// `Environment=` lines allowed; values unquoted as a shell does).
pub(super) fn env_assignments(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in logical_lines(text) {
        let line = line.trim();
        let line = line.strip_prefix("Environment=").unwrap_or(line);
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some(words) = shlex::split(line) else {
            continue;
        };
        for w in words {
            if let Some((name, value)) = w.split_once('=')
                && !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                out.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    out
}

/// Reads `ETCD_*` variables (a member) and `ETCDCTL_*` variables (etcdctl) from an
/// environment file; `None` for a kind that is absent.
pub(super) fn parse_env(
    text: &str,
    path: &Path,
    v: EtcdVersion,
) -> (Option<Settings>, Option<CtlSettings>) {
    let mut etcd = BTreeMap::new();
    let mut ctl = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in env_assignments(text) {
        if let Some(rest) = name.strip_prefix("ETCDCTL_") {
            if !rest.is_empty() {
                ctl.insert(name, value);
            }
        } else if let Some(rest) = name.strip_prefix("ETCD_") {
            let flag = rest.to_ascii_lowercase().replace('_', "-");
            if known_keys::flag(&flag, v) {
                etcd.insert(flag, value);
            } else {
                problems.push(Problem::UnknownKey {
                    key: name,
                    belongs: None,
                });
            }
        }
    }
    let unread = (!known_keys::flag("tls-min-version", v))
        .then(|| {
            env_assignments(text)
                .into_iter()
                .find(|(n, _)| n == "ETCD_TLS_MIN_VERSION")
                .map(|(_, val)| val)
        })
        .flatten();
    let member = (!etcd.is_empty() || !problems.is_empty()).then(|| {
        let mut s = Settings::from_flat(path, Source::Env, &etcd, problems);
        s.unread_tls_min_version = unread;
        s
    });
    let ctl = (!ctl.is_empty()).then(|| CtlSettings::from_flat(path, &ctl));
    (member, ctl)
}
