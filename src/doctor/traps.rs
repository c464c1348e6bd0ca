//! Configuration traps: keys etcd ignores silently (unknown, misplaced, removed), values it
//! refuses, TLS files that do not exist, listeners with https URLs but no TLS, the
//! `trusted-ca-file` / `client-cert-auth` pair, `cipher-suites` with TLS 1.3 only, and
//! `logger: capnslog` on 3.5+.

use super::context::Ctx;
use super::finding::{Finding, Severity};
use super::names::https_host;
use super::settings::{Problem, Settings, Source, Tls};

fn problem(s: &Settings, p: &Problem, label: &str, out: &mut Vec<Finding>) {
    let file = [s.path.as_path()];
    let f = match p {
        Problem::UnknownKey { key, belongs } => {
            let hint = belongs
                .as_ref()
                .map(|b| format!("; write it as {b}"))
                .unwrap_or_default();
            match s.source {
                Source::Yaml => Finding::new(
                    Severity::Warning,
                    "config-unknown-key",
                    label,
                    &file,
                    format!("`{key}` is not a key etcd reads here: it is ignored silently{hint}"),
                ),
                Source::Flags => Finding::new(
                    Severity::Error,
                    "config-unknown-flag",
                    label,
                    &file,
                    format!("`{key}` is not an etcd flag: etcd refuses to start{hint}"),
                )
                .says(format!(
                    "flag provided but not defined: -{}",
                    key.trim_start_matches('-')
                )),
                Source::Env => Finding::new(
                    Severity::Warning,
                    "config-unknown-env",
                    label,
                    &file,
                    format!("{key} is not a variable etcd reads: it is ignored{hint}"),
                )
                .says("unrecognized environment variable"),
            }
        }
        Problem::RemovedKey { key, minor } => Finding::new(
            Severity::Warning,
            "config-key-removed",
            label,
            &file,
            format!("`{key}` is no longer read since etcd 3.{minor}: it is ignored"),
        ),
        Problem::BadValue { key, reason, says } => {
            let f = Finding::new(
                Severity::Error,
                "config-bad-value",
                label,
                &file,
                format!("`{key}`: {reason}; etcd refuses to start"),
            );
            match says {
                Some(line) => f.says(line.clone()),
                None => f,
            }
        }
        Problem::IgnoredBesideConfigFile { keys } => Finding::new(
            Severity::Warning,
            "config-flags-ignored",
            label,
            &file,
            format!(
                "a config file is given, so etcd ignores the other settings here: {}",
                keys.join(", ")
            ),
        ),
    };
    out.push(f);
}

fn section_checks(s: &Settings, tls: &Tls, peer: bool, label: &str, out: &mut Vec<Finding>) {
    let file = [s.path.as_path()];
    let (urls, kind, sec) = if peer {
        (&s.listen_peer, "peer", "peer-transport-security")
    } else {
        (&s.listen_client, "client", "client-transport-security")
    };
    let https: Vec<&String> = urls.iter().filter(|u| https_host(u).is_some()).collect();
    if let Some(u) = https.first()
        && tls.is_empty()
        && !tls.auto_tls
    {
        let authority = u
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap_or_default();
        let says = if peer {
            format!("cannot listen on TLS for {authority}: KeyFile and CertFile are not presented")
        } else {
            format!(
                "TLS key/cert (--cert-file, --key-file) must be provided for client url {u} with HTTPS scheme"
            )
        };
        out.push(
            Finding::new(Severity::Error, if peer { "peer-tls-not-configured" } else { "client-tls-not-configured" }, label, &file,
                format!("the {kind} URL {u} is https but no certificate and key are configured for the {kind} listener (in a config file: `cert-file:` and `key-file:` inside `{sec}:`)"))
                .says(says),
        );
    }
    if tls.trusted_ca_file.is_some() && !tls.client_cert_auth && !tls.is_empty() {
        out.push(Finding::new(Severity::Warning, "trusted-ca-without-client-cert-auth", label, &file,
            format!("the {kind} listener has a trusted-ca-file but client-cert-auth is off: etcd requires and verifies client certificates anyway, so clients without one fail; say client-cert-auth: true to make it plain")));
    }
    if tls.client_cert_auth && tls.trusted_ca_file.is_none() && !tls.auto_tls {
        out.push(
            Finding::new(Severity::Error, "client-cert-auth-without-ca", label, &file,
                format!("the {kind} listener requires client certificates but names no trusted-ca-file: they are checked against the system's CAs, and certificates of your own CA fail"))
                .says("x509: certificate signed by unknown authority"),
        );
    }
    if peer
        && !https.is_empty()
        && !tls.is_empty()
        && tls.trusted_ca_file.is_none()
        && !tls.auto_tls
        && !tls.client_cert_auth
    {
        out.push(
            Finding::new(Severity::Error, "peer-no-trusted-ca", label, &file,
                "the peer listener has no trusted-ca-file: members verify each other's certificates against the system's CAs, those of your own CA fail, and the members never form a cluster (each member's prober logs it within seconds; the peers it dials log \"remote error: tls: bad certificate\")")
                .says("x509: certificate signed by unknown authority")
                .fix("peer-transport-security: trusted-ca-file: (the CA certificate) and client-cert-auth: true"),
        );
    }
}

/// The checks of one configuration.
pub(super) fn check(s: &Settings, ctx: &Ctx, out: &mut Vec<Finding>) {
    let label = s.label();
    let file = [s.path.as_path()];
    for p in &s.problems {
        problem(s, p, &label, out);
    }
    if let Some(cf) = &s.config_file
        && !cf.is_file()
    {
        out.push(
            Finding::new(
                Severity::Error,
                "config-file-missing",
                &label,
                &[s.path.as_path(), cf],
                format!(
                    "config-file names {}, which {}",
                    cf.display(),
                    if cf.exists() {
                        "is not a file"
                    } else {
                        "does not exist"
                    }
                ),
            )
            .says(if cf.is_dir() {
                format!("read {}: is a directory", cf.display())
            } else {
                format!("open {}: no such file or directory", cf.display())
            }),
        );
    }
    for (key, path) in s.tls_files() {
        if !path.exists() {
            out.push(
                Finding::new(
                    Severity::Error,
                    "config-file-missing",
                    &label,
                    &[s.path.as_path(), path],
                    format!("{key} names {}, which does not exist", path.display()),
                )
                .says(format!(
                    "open {}: no such file or directory",
                    path.display()
                )),
            );
        } else if !path.is_file() {
            out.push(
                Finding::new(
                    Severity::Error,
                    "config-file-missing",
                    &label,
                    &[s.path.as_path(), path],
                    format!("{key} names {}, which is not a file", path.display()),
                )
                .says(format!("read {}: is a directory", path.display())),
            );
        }
    }
    section_checks(s, &s.client, false, &label, out);
    section_checks(s, &s.peer, true, &label, out);
    if let Some(v) = &s.tls_min_version
        && !matches!(v.as_str(), "" | "TLS1.2" | "TLS1.3")
    {
        out.push(
            Finding::new(Severity::Error, "config-bad-value", &label, &file,
                format!("`tls-min-version`: {v:?} is not TLS1.2 or TLS1.3 (etcd compares it exactly); etcd refuses to start"))
                .says(format!("unexpected TLS version {v:?} (must be one of: TLS1.2, TLS1.3)")),
        );
    }
    let tls13 = |v: &Option<String>| v.as_deref().is_some_and(|v| v == "TLS1.3");
    if !s.cipher_suites.is_empty() && tls13(&s.tls_min_version) {
        out.push(
            Finding::new(Severity::Error, "cipher-suites-with-tls13", &label, &file,
                format!("cipher-suites is set together with tls-min-version TLS1.3: TLS 1.3's cipher suites cannot be configured, and etcd {} refuses to start", ctx.version))
                .says("cipher suites cannot be configured when only TLS1.3 is enabled")
                .fix("remove cipher-suites, or lower tls-min-version to TLS1.2"),
        );
    } else if !s.cipher_suites.is_empty() && tls13(&s.unread_tls_min_version) {
        // etcd before 3.4.25 / 3.5.8 has no tls-min-version: a config file's key is ignored
        // (and reported as unknown), a flag or variable is refused or ignored on its own.
        out.push(
            Finding::new(Severity::Warning, "cipher-suites-with-tls13", &label, &file,
                format!("cipher-suites is set together with tls-min-version TLS1.3, which etcd {} does not know (it is read from 3.4.25 and 3.5.8 on), so TLS 1.2 stays on and the cipher suites apply; after an upgrade etcd refuses to start with them", ctx.version))
                .fix("remove cipher-suites before upgrading (or tls-min-version)"),
        );
    }
    if s.logger.as_deref() == Some("capnslog") {
        if ctx.version.at_least(5, 0) {
            out.push(
                Finding::new(
                    Severity::Error,
                    "logger-capnslog",
                    &label,
                    &file,
                    format!(
                        "logger capnslog was removed in etcd 3.5: etcd {} refuses to start",
                        ctx.version
                    ),
                )
                .says("--logger=capnslog is removed in v3.5")
                .fix("use logger: zap (the default)"),
            );
        } else {
            out.push(Finding::new(
                Severity::Warning,
                "logger-capnslog",
                &label,
                &file,
                "logger capnslog is deprecated in 3.4 and a startup error from 3.5 on: use zap",
            ));
        }
    }
}
