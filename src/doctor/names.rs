//! Names: a member's subject alternative names against every https URL of its configuration
//! (client and peer, listen and advertise, its `initial-cluster` entry) and `127.0.0.1` for
//! local clients; etcdctl's endpoints against the members' certificates; common names against
//! etcd users (auth) and gateway/proxy certificates, which need an empty CN.

use std::net::{IpAddr, SocketAddr};

use super::context::{Ctx, reissue_member};
use super::deployment::{Deployment, Leaf, Use};
use super::finding::{Finding, Severity};
use super::settings::Settings;
use crate::cert::Certificate;

/// The host of an `https://` URL (`None` for other schemes and unparsable URLs).
pub(super) fn https_host(url: &str) -> Option<String> {
    let rest = url.trim().strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Ok(sa) = authority.parse::<SocketAddr>() {
        return Some(sa.ip().to_string());
    }
    if let Ok(ip) = authority
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Some(ip.to_string());
    }
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_wildcard(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

/// Whether `cert` is valid for `host` as Go's `VerifyHostname` sees it (IP SANs for an IP,
/// DNS SANs with a leftmost `*` label for a name; never the CN).
pub(super) fn covers(cert: &Certificate, host: &str) -> bool {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return cert.ip_addresses().contains(&ip);
    }
    cert.dns_names().iter().any(|n| {
        let n = n.to_ascii_lowercase();
        match n.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
            None => n == host,
        }
    })
}

/// Go's `x509.HostnameError` text for `cert` and `host`.
pub(super) fn go_hostname_error(cert: &Certificate, host: &str) -> String {
    if host.parse::<IpAddr>().is_ok() {
        let ips: Vec<String> = cert
            .ip_addresses()
            .iter()
            .map(ToString::to_string)
            .collect();
        if ips.is_empty() {
            return format!(
                "x509: cannot validate certificate for {host} because it doesn't contain any IP SANs"
            );
        }
        return format!(
            "x509: certificate is valid for {}, not {host}",
            ips.join(", ")
        );
    }
    let dns = cert.dns_names();
    if dns.is_empty() {
        return format!("x509: certificate is not valid for any names, but wanted to match {host}");
    }
    format!(
        "x509: certificate is valid for {}, not {host}",
        dns.join(", ")
    )
}

/// The URLs of a member's configuration a certificate must cover, with what each is for:
/// the client listener's when it is the `cert-file`, the peer listener's (and the member's
/// `initial-cluster` entry) when it is the `peer-cert-file`.
fn urls(s: &Settings, client: bool, peer: bool) -> Vec<(&'static str, &str)> {
    let mut v: Vec<(&'static str, &str)> = Vec::new();
    if client {
        v.extend(
            s.listen_client
                .iter()
                .map(|u| ("listen-client-urls", u.as_str())),
        );
        v.extend(
            s.advertise_client
                .iter()
                .map(|u| ("advertise-client-urls", u.as_str())),
        );
    }
    if !peer {
        return v;
    }
    v.extend(
        s.listen_peer
            .iter()
            .map(|u| ("listen-peer-urls", u.as_str())),
    );
    v.extend(
        s.advertise_peer
            .iter()
            .map(|u| ("initial-advertise-peer-urls", u.as_str())),
    );
    if let Some(name) = &s.name {
        v.extend(
            s.initial_cluster
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, u)| ("initial-cluster", u.as_str())),
        );
    }
    v
}

/// The name checks of a verified member leaf.
pub(super) fn check_member(
    dep: &Deployment<'_>,
    leaf: &Leaf,
    cert: &Certificate,
    out: &mut Vec<Finding>,
) {
    let Some(c) = leaf.config else { return };
    let s = &dep.inv.configs[c];
    // Which listeners this certificate serves: `cert-file` the client URLs, `peer-cert-file`
    // the peer URLs (both when one file is named for both, or when the configuration names
    // neither, as when the member was found by its directory).
    let names = |file: &Option<std::path::PathBuf>| {
        file.as_deref()
            .is_some_and(|f| super::deployment::same_file(f, &leaf.path))
    };
    let (mut serves_client, mut serves_peer) =
        (names(&s.client.cert_file), names(&s.peer.cert_file));
    if !serves_client && !serves_peer {
        (serves_client, serves_peer) = (true, true);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut loopback_needed = false;
    for (key, url) in urls(s, serves_client, serves_peer) {
        let Some(host) = https_host(url) else {
            continue;
        };
        if is_wildcard(&host) {
            loopback_needed |= key.starts_with("listen-client");
            continue;
        }
        if seen.contains(&host) || covers(cert, &host) {
            continue;
        }
        seen.push(host.clone());
        let who = if key.contains("client") {
            "clients (etcdctl, applications)"
        } else {
            "its peers"
        };
        out.push(
            Finding::new(
                Severity::Error,
                "san-missing",
                &leaf.label,
                &[&leaf.path, &s.path],
                format!("{host} (in {key} {url}) is not among the certificate's subject alternative names: {who} dialling it fail the TLS handshake"),
            )
            .says(go_hostname_error(cert, &host))
            .fix(reissue_member(&leaf.path)),
        );
    }
    let loopback: IpAddr = [127, 0, 0, 1].into();
    if loopback_needed && !cert.ip_addresses().contains(&loopback) {
        out.push(
            Finding::new(
                Severity::Warning,
                "san-no-loopback",
                &leaf.label,
                &[&leaf.path, &s.path],
                "the member listens for clients on all addresses but its certificate lacks 127.0.0.1: etcdctl and other local clients dialling 127.0.0.1 fail",
            )
            .says(go_hostname_error(cert, "127.0.0.1"))
            .fix(reissue_member(&leaf.path)),
        );
    }
}

/// etcdctl's endpoints against the certificates of the members found.
pub(super) fn check_endpoints(dep: &Deployment<'_>, out: &mut Vec<Finding>) {
    let members: Vec<&Leaf> = dep
        .leaves
        .iter()
        .filter(|l| l.role == Use::Member)
        .collect();
    if members.is_empty() {
        return;
    }
    for ctl in &dep.inv.ctls {
        for ep in &ctl.endpoints {
            let Some(host) = https_host(ep) else { continue };
            let certs: Vec<&Certificate> =
                members.iter().map(|l| &dep.file(l.cert).certs[0]).collect();
            if !certs.iter().any(|c| covers(c, &host)) {
                // The member that serves it: the one listening on the endpoint's port.
                let port = ep.trim().rsplit(':').next().unwrap_or_default();
                let serving = members
                    .iter()
                    .position(|l| {
                        l.config.is_some_and(|c| {
                            let s = &dep.inv.configs[c];
                            s.listen_client
                                .iter()
                                .chain(&s.advertise_client)
                                .any(|u| u.trim_end_matches('/').ends_with(&format!(":{port}")))
                        })
                    })
                    .unwrap_or(0);
                out.push(
                    Finding::new(
                        Severity::Error,
                        "san-missing",
                        &format!("etcdctl {}", ctl.path.display()),
                        &[&ctl.path],
                        format!("etcdctl's endpoint {ep}: no member certificate found has {host} among its subject alternative names"),
                    )
                    .says(go_hostname_error(certs[serving], &host)),
                );
            }
        }
    }
}

/// Common names: a client's CN is its etcd user when auth is on; gateway and proxy
/// certificates need an empty CN.
pub(super) fn check_cn(leaf: &Leaf, cert: &Certificate, ctx: &Ctx, out: &mut Vec<Finding>) {
    let cn = cert.common_name().filter(|c| !c.is_empty());
    let stem = leaf
        .path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let at = |sev, code, msg: String| Finding::new(sev, code, &leaf.label, &[&leaf.path], msg);
    if (stem.contains("proxy") || stem.contains("gateway"))
        && let Some(cn) = &cn
    {
        out.push(at(Severity::Warning, "proxy-cert-has-cn", format!("a gateway or proxy certificate must have an empty CN, this one has CN={cn:?}: with auth enabled, every request through it is made as user {cn:?}")));
    }
    match (leaf.role, &cn, &ctx.users) {
        (Use::Client, Some(cn), Some(users)) if !users.contains(cn) => out.push(
            at(Severity::Error, "cn-not-a-user", format!("its CN {cn:?} is not one of the etcd users given ({}): with auth enabled its requests are refused", users.join(", ")))
                .says("etcdserver: permission denied")
                .fix(format!("etcdctl user add {cn} --no-password, or re-issue the certificate with -n USER")),
        ),
        (Use::Client, None, Some(_)) => out.push(at(Severity::Warning, "client-cert-no-cn", "it has no CN: with auth enabled it authenticates as no user, and etcdctl needs --user as well".into())),
        (Use::Client, None, None) => out.push(at(Severity::Info, "client-cert-no-cn", "it has no CN: fine without auth; with auth enabled it authenticates as no user".into())),
        (Use::Member, Some(cn), _) => out.push(at(Severity::Info, "member-cert-has-cn", format!("it has CN={cn:?}: with auth enabled, requests through the member's gRPC gateway are made as user {cn:?}"))),
        _ => {}
    }
}
