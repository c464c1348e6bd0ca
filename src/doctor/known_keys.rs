//! The configuration keys etcd knows, by version: the config file's top-level keys, the keys
//! of its `client-transport-security` / `peer-transport-security` sections, and the flags (and
//! so the `ETCD_*` variables) that exist only on the command line.

use super::version::EtcdVersion;

/// Top-level keys of the config file that are also flags (`--name`, `ETCD_NAME`).
const COMMON: &[&str] = &[
    "name",
    "data-dir",
    "wal-dir",
    "snapshot-count",
    "heartbeat-interval",
    "election-timeout",
    "initial-election-tick-advance",
    "quota-backend-bytes",
    "backend-batch-interval",
    "backend-batch-limit",
    "backend-bbolt-freelist-type",
    "max-txn-ops",
    "max-request-bytes",
    "max-snapshots",
    "max-wals",
    "listen-peer-urls",
    "listen-client-urls",
    "listen-client-http-urls",
    "advertise-client-urls",
    "initial-advertise-peer-urls",
    "discovery",
    "discovery-fallback",
    "discovery-proxy",
    "discovery-srv",
    "discovery-srv-name",
    "initial-cluster",
    "initial-cluster-token",
    "initial-cluster-state",
    "strict-reconfig-check",
    "enable-v2",
    "auto-compaction-mode",
    "auto-compaction-retention",
    "grpc-keepalive-min-time",
    "grpc-keepalive-interval",
    "grpc-keepalive-timeout",
    "enable-pprof",
    "metrics",
    "listen-metrics-urls",
    "logger",
    "log-level",
    "log-outputs",
    "log-format",
    "enable-log-rotation",
    "log-rotation-config-json",
    "debug",
    "log-package-levels",
    "auth-token",
    "bcrypt-cost",
    "auth-token-ttl",
    "cors",
    "host-whitelist",
    "cipher-suites",
    "tls-min-version",
    "tls-max-version",
    "self-signed-cert-validity",
    "socket-reuse-port",
    "socket-reuse-address",
    "unsafe-no-fsync",
    "force-new-cluster",
    "proxy",
    "proxy-failure-wait",
    "proxy-refresh-interval",
    "proxy-dial-timeout",
    "proxy-write-timeout",
    "proxy-read-timeout",
    "pre-vote",
    "max-concurrent-streams",
    "v2-deprecation",
    "enable-grpc-gateway",
    "peer-cert-allowed-cn",
    "peer-cert-allowed-hostname",
    "feature-gates",
    "snapshot-catchup-entries",
    "compact-hash-check-enabled",
    "compact-hash-check-time",
    "corrupt-check-time",
    "initial-corrupt-check",
    "downgrade-check-time",
    "watch-progress-notify-interval",
    "warning-apply-duration",
    "warning-unary-request-duration",
    "bootstrap-defrag-threshold-megabytes",
    "max-learners",
    "memory-mlock",
    "txn-mode-write-with-shared-buffer",
    "distributed-tracing",
    "distributed-tracing-address",
    "distributed-tracing-service-name",
    "distributed-tracing-instance-id",
    "distributed-tracing-sampling-rate",
    "stop-grpc-service-on-defrag",
    "compaction-batch-limit",
    "compaction-sleep-interval",
    "enable-distributed-tracing",
    "unsafe-no-fsync",
    "auth-token-ttl",
];

/// Keys of the two `*-transport-security` sections of the config file.
const SECTION: &[&str] = &[
    "cert-file",
    "key-file",
    "client-cert-file",
    "client-key-file",
    "client-cert-auth",
    "trusted-ca-file",
    "auto-tls",
    "allowed-cn",
    "allowed-hostname",
    "skip-client-san-verification",
];

/// Flags with no top-level config-file key: the TLS flags (in the file they are section
/// keys) and the flag-only ones.
const FLAG_ONLY: &[&str] = &[
    "config-file",
    "cert-file",
    "key-file",
    "client-cert-file",
    "client-key-file",
    "trusted-ca-file",
    "client-cert-auth",
    "auto-tls",
    "client-crl-file",
    "peer-cert-file",
    "peer-key-file",
    "peer-client-cert-file",
    "peer-client-key-file",
    "peer-trusted-ca-file",
    "peer-client-cert-auth",
    "peer-auto-tls",
    "peer-crl-file",
    "version",
    "help",
    "peer-skip-client-san-verification",
];

/// Boolean flags: given alone they mean `true`, and they never take the next argument.
pub(super) const BOOL_FLAGS: &[&str] = &[
    "client-cert-auth",
    "auto-tls",
    "peer-client-cert-auth",
    "peer-auto-tls",
    "strict-reconfig-check",
    "enable-v2",
    "enable-pprof",
    "debug",
    "force-new-cluster",
    "pre-vote",
    "version",
    "help",
    "socket-reuse-port",
    "socket-reuse-address",
    "unsafe-no-fsync",
    "enable-log-rotation",
    "peer-skip-client-san-verification",
    "experimental-peer-skip-client-san-verification",
    "enable-grpc-gateway",
];

/// Since which 3.x.y a key exists (keys not listed exist in 3.4).
fn since(key: &str) -> (u32, u32) {
    match key {
        "client-cert-file"
        | "client-key-file"
        | "peer-client-cert-file"
        | "peer-client-key-file"
        | "log-format"
        | "max-learners"
        | "v2-deprecation"
        | "listen-client-http-urls"
        | "socket-reuse-port"
        | "socket-reuse-address"
        | "self-signed-cert-validity"
        | "enable-grpc-gateway" => (5, 0),
        "allowed-cn" | "allowed-hostname" => (5, 14),
        "feature-gates"
        | "snapshot-catchup-entries"
        | "compact-hash-check-enabled"
        | "compact-hash-check-time"
        | "corrupt-check-time"
        | "initial-corrupt-check"
        | "downgrade-check-time"
        | "watch-progress-notify-interval"
        | "warning-apply-duration"
        | "bootstrap-defrag-threshold-megabytes"
        | "memory-mlock"
        | "txn-mode-write-with-shared-buffer"
        | "stop-grpc-service-on-defrag"
        | "compaction-batch-limit"
        | "compaction-sleep-interval"
        | "distributed-tracing"
        | "distributed-tracing-address"
        | "distributed-tracing-service-name"
        | "distributed-tracing-instance-id"
        | "distributed-tracing-sampling-rate"
        | "enable-distributed-tracing"
        | "peer-skip-client-san-verification"
        | "skip-client-san-verification"
        | "warning-unary-request-duration" => (6, 0),
        _ => (4, 0),
    }
}

/// The minor version from which etcd no longer knows the key (it ignores it in the file).
pub(super) fn removed_in(key: &str) -> Option<u32> {
    match key {
        "enable-v2" | "debug" | "log-package-levels" => Some(6),
        k if k.starts_with("experimental-") => Some(7),
        _ => None,
    }
}

fn known(list: &[&str], key: &str, v: EtcdVersion) -> bool {
    if key.starts_with("experimental-") {
        return removed_in(key).is_none_or(|m| v.minor() < m);
    }
    let (minor, patch) = since(key);
    // Backported to 3.4.25 and 3.5.8.
    let exists = if matches!(key, "tls-min-version" | "tls-max-version") {
        v.has_tls_version_keys()
    } else {
        v.at_least(minor, patch)
    };
    list.contains(&key) && exists && removed_in(key).is_none_or(|m| v.minor() < m)
}

/// Whether `key` is a top-level key of the config file of etcd `v`.
pub(super) fn top_level(key: &str, v: EtcdVersion) -> bool {
    matches!(key, "client-transport-security" | "peer-transport-security") || known(COMMON, key, v)
}

/// Whether `key` is a key of a `*-transport-security` section for etcd `v`.
pub(super) fn section(key: &str, v: EtcdVersion) -> bool {
    known(SECTION, key, v)
}

/// Whether `--key` is a flag of etcd `v` (and `ETCD_KEY` one of its variables).
pub(super) fn flag(key: &str, v: EtcdVersion) -> bool {
    known(COMMON, key, v) || known(FLAG_ONLY, key, v)
}

/// Where a key written in the wrong place belongs: inside a section, the flag name of a
/// section key (`peer-cert-file` → `cert-file`); at the top level, a section key or TLS flag
/// (`cert-file` → `client-transport-security: cert-file`). `None` when it is no known key.
pub(super) fn belongs(key: &str, in_section: Option<&str>, v: EtcdVersion) -> Option<String> {
    let canon = key.replace('_', "-").to_ascii_lowercase();
    match in_section {
        Some(sec) => {
            let bare = canon.strip_prefix("peer-").unwrap_or(&canon);
            let bare = match bare {
                "ca-file" | "cacert" | "ca" => "trusted-ca-file",
                "cert" => "cert-file",
                "key" => "key-file",
                b => b,
            };
            if section(bare, v) && bare != key {
                Some(format!("`{bare}:` inside `{sec}:`"))
            } else if top_level(&canon, v) {
                Some(format!("`{canon}:` at the top level, not inside `{sec}:`"))
            } else {
                None
            }
        }
        None => {
            if section(&canon, v) {
                Some(format!(
                    "`{canon}:` inside `client-transport-security:` (or `peer-transport-security:`)"
                ))
            } else if let Some(bare) = canon.strip_prefix("peer-").filter(|b| section(b, v)) {
                Some(format!("`{bare}:` inside `peer-transport-security:`"))
            } else if canon != key && top_level(&canon, v) {
                Some(format!("`{canon}:`"))
            } else {
                None
            }
        }
    }
}
