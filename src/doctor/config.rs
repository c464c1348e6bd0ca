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

/// Reads an `etcd.conf.yml`.
///
/// # Errors
/// [`Error::InvalidConfig`] if it does not parse, or is not a mapping.
pub(super) fn parse_yaml(text: &str, path: &Path, v: EtcdVersion) -> Result<Settings, Error> {
    precheck_yaml(text, path)?;
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| Error::InvalidConfig {
        path: Some(path.to_path_buf()),
        reason: "the YAML does not parse".into(),
        source: Some(Box::new(e)),
    })?;
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
                None => problems.push(Problem::BadValue {
                    key: flag,
                    reason: "it is not a boolean (true or false)".into(),
                }),
            }
        } else if let Some(s) = scalar(value) {
            flat.insert(flag, s);
        } else {
            problems.push(Problem::BadValue {
                key: flag,
                reason: "it is a mapping where etcd expects a value".into(),
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
    Ok(Settings::from_flat(path, Source::Yaml, &flat, problems))
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
                    });
                    continue;
                }
            },
        };
        flat.insert(name, value);
    }
    Settings::from_flat(path, Source::Flags, &flat, problems)
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
    let member = (!etcd.is_empty() || !problems.is_empty())
        .then(|| Settings::from_flat(path, Source::Env, &etcd, problems));
    let ctl = (!ctl.is_empty()).then(|| CtlSettings::from_flat(path, &ctl));
    (member, ctl)
}
