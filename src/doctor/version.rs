//! [`EtcdVersion`]: the etcd release the rules are for.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// An etcd release series (`3.5`) or release (`3.5.1`): the doctor's version-specific rules
/// (what a config key means, what is a startup error) follow it. Without a patch number the
/// latest release of the series is meant.
///
/// ```
/// use etcd_pki::EtcdVersion;
///
/// let v: EtcdVersion = "v3.5.1".parse()?;
/// assert_eq!(v.to_string(), "3.5.1");
/// assert!(v < EtcdVersion::CURRENT);
/// assert_eq!(EtcdVersion::CURRENT.to_string(), "3.6");
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EtcdVersion {
    minor: u32,
    /// `u32::MAX` for "the latest release of the series".
    patch: u32,
}

impl EtcdVersion {
    /// The current stable series, 3.6: the doctor's default.
    pub const CURRENT: Self = Self {
        minor: 6,
        patch: u32::MAX,
    };

    /// etcd `3.<minor>.<patch>`.
    #[must_use]
    pub const fn new(minor: u32, patch: Option<u32>) -> Self {
        Self {
            minor,
            patch: match patch {
                Some(p) => p,
                None => u32::MAX,
            },
        }
    }

    /// Whether this is `3.<minor>.<patch>` or later.
    pub(super) fn at_least(self, minor: u32, patch: u32) -> bool {
        (self.minor, self.patch) >= (minor, patch)
    }

    /// The minor version (3.x).
    #[must_use]
    pub fn minor(self) -> u32 {
        self.minor
    }

    /// The Go release etcd's official binaries of this release are built with (the
    /// `.go-version` file, or before it `.github/workflows/tests.yaml`, which etcd's release
    /// script checks, at the release's tag; its CHANGELOG says the same). What Go's
    /// crypto/x509 and crypto/rsa refuse follows it. A series without a patch number means its
    /// latest release; a release newer than the table knows, the newest Go known for it.
    ///
    /// ```
    /// use etcd_pki::{EtcdVersion, GoVersion};
    ///
    /// let go = |v: &str| v.parse::<EtcdVersion>().unwrap().go_version();
    /// assert_eq!(go("3.5.1"), GoVersion::new(16, Some(3)));
    /// assert_eq!(go("3.4.23").to_string(), "1.17.13");
    /// assert!(go("3.6") >= GoVersion::new(24, None));
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    #[must_use]
    pub fn go_version(self) -> GoVersion {
        // (etcd minor, first patch, Go minor, Go patch), in order.
        const TABLE: &[(u32, u32, u32, u32)] = &[
            (4, 0, 12, 9),
            (4, 3, 12, 12),
            (4, 5, 12, 17),
            (4, 19, 16, 15),
            (4, 23, 17, 13),
            (4, 25, 19, 8),
            (4, 26, 19, 9),
            (4, 27, 19, 10),
            (4, 28, 20, 11),
            (4, 29, 20, 12),
            (4, 30, 20, 13),
            (4, 31, 21, 8),
            (4, 32, 21, 9),
            (4, 33, 21, 11),
            (4, 34, 22, 7),
            (4, 35, 22, 9),
            (4, 36, 23, 6),
            (4, 37, 23, 8),
            (4, 38, 24, 9),
            (4, 39, 24, 10),
            (4, 40, 24, 11),
            (4, 41, 24, 13),
            (4, 42, 25, 8),
            (4, 44, 25, 9),
            (4, 45, 25, 10),
            (5, 0, 16, 3),
            (5, 3, 16, 15),
            (5, 7, 17, 13),
            (5, 8, 19, 8),
            (5, 9, 19, 9),
            (5, 10, 20, 10),
            (5, 11, 20, 12),
            (5, 12, 20, 13),
            (5, 13, 21, 8),
            (5, 14, 21, 10),
            (5, 15, 21, 12),
            (5, 16, 22, 7),
            (5, 17, 22, 9),
            (5, 18, 22, 11),
            (5, 19, 23, 7),
            (5, 22, 23, 11),
            (5, 23, 24, 7),
            (5, 24, 24, 9),
            (5, 25, 24, 10),
            (5, 26, 24, 11),
            (5, 27, 24, 13),
            (5, 28, 25, 8),
            (5, 30, 25, 9),
            (5, 31, 25, 10),
            (5, 32, 25, 11),
            (5, 33, 25, 12),
            (6, 0, 23, 9),
            (6, 1, 23, 10),
            (6, 2, 23, 11),
            (6, 5, 24, 7),
            (6, 6, 24, 10),
            (6, 7, 24, 11),
            (6, 8, 24, 13),
            (6, 9, 25, 8),
            (6, 11, 25, 9),
            (6, 12, 25, 10),
            (6, 13, 25, 11),
            (6, 14, 25, 12),
            (7, 0, 26, 5),
        ];
        let minor = self.minor.min(7);
        let patch = if self.minor > 7 { u32::MAX } else { self.patch };
        TABLE
            .iter()
            .rev()
            .find(|&&(m, p, _, _)| m == minor && p <= patch)
            .or_else(|| TABLE.iter().find(|&&(m, _, _, _)| m == minor))
            .map_or(GoVersion::new(26, None), |&(_, _, g, gp)| {
                GoVersion::new(g, Some(gp))
            })
    }

    /// The first release of each series (3.4, 3.5, ...) whose official binaries are built
    /// with Go `1.<go_minor>` or later, as `3.4.36+, 3.5.19+, 3.6.0+`.
    pub(super) fn first_with_go(go_minor: u32) -> String {
        let mut out: Vec<String> = Vec::new();
        for minor in 4..=7 {
            let first = (0..100)
                .map(|p| Self::new(minor, Some(p)))
                .find(|v| v.go_version().minor() >= go_minor);
            if let Some(v) = first {
                out.push(format!("{v}+"));
            }
        }
        out.join(", ")
    }

    /// Whether this release reads `tls-min-version` / `tls-max-version` (3.4.25+, 3.5.8+, 3.6+).
    pub(super) fn has_tls_version_keys(self) -> bool {
        self.at_least(5, 8) || (self.minor == 4 && self.at_least(4, 25))
    }
}

/// A Go release (`1.19`, `1.19.8`): the Go an etcd binary is built with, which decides what
/// its TLS stack refuses (SHA-1 signatures from 1.18, negative serial numbers from 1.23, RSA
/// keys under 1024 bits from 1.24). `etcd --version` prints it (`Go Version: go1.19.8`);
/// distributions build their own binaries, often with another Go than etcd's releases
/// ([`EtcdVersion::go_version`]).
///
/// ```
/// use etcd_pki::GoVersion;
///
/// let go: GoVersion = "go1.19.8".parse()?;
/// assert_eq!((go.minor(), go.to_string().as_str()), (19, "1.19.8"));
/// assert!(go < "1.23".parse()?);
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoVersion {
    minor: u32,
    /// `0` when not given: `1.19` orders before `1.19.1`.
    patch: Option<u32>,
}

impl GoVersion {
    /// Go `1.<minor>.<patch>`.
    #[must_use]
    pub const fn new(minor: u32, patch: Option<u32>) -> Self {
        Self { minor, patch }
    }

    /// The minor version (1.x).
    #[must_use]
    pub fn minor(self) -> u32 {
        self.minor
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "1.{}.{p}", self.minor),
            None => write!(f, "1.{}", self.minor),
        }
    }
}

impl FromStr for GoVersion {
    type Err = Error;

    /// `1.19`, `1.19.8` or `go1.19.8` (as `etcd --version` prints it).
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidGoVersion {
            value: s.chars().take(40).collect(),
            reason: reason.to_owned(),
        };
        let t = s.trim();
        let t = t.strip_prefix("go").unwrap_or(t);
        let parts: Vec<&str> = t.split('.').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(bad(
                "write the Go version as 1.MINOR or 1.MINOR.PATCH, such as 1.19 or go1.19.8",
            ));
        }
        let num = |p: &str| {
            if p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
                Err(bad(
                    "the Go version's parts must be decimal numbers, such as 1.19.8",
                ))
            } else {
                p.parse::<u32>().map_err(|_| bad("a part is too large"))
            }
        };
        if num(parts[0])? != 1 {
            return Err(bad("only Go 1.x is known"));
        }
        let minor = num(parts[1])?;
        let patch = parts.get(2).map(|p| num(p)).transpose()?;
        Ok(Self::new(minor, patch))
    }
}

impl Default for EtcdVersion {
    fn default() -> Self {
        Self::CURRENT
    }
}

impl fmt::Display for EtcdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.patch == u32::MAX {
            write!(f, "3.{}", self.minor)
        } else {
            write!(f, "3.{}.{}", self.minor, self.patch)
        }
    }
}

impl FromStr for EtcdVersion {
    type Err = Error;

    /// `3.5`, `3.5.1` or `v3.5.1`; etcd 3.4 and later.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidEtcdVersion {
            value: s.chars().take(40).collect(),
            reason: reason.to_owned(),
        };
        let t = s.trim().strip_prefix('v').unwrap_or(s.trim());
        let parts: Vec<&str> = t.split('.').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(bad(
                "write it as 3.MINOR or 3.MINOR.PATCH, such as 3.6 or 3.5.1",
            ));
        }
        let num = |p: &str| {
            if p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
                Err(bad("its parts must be decimal numbers, such as 3.5.1"))
            } else {
                p.parse::<u32>().map_err(|_| bad("a part is too large"))
            }
        };
        if num(parts[0])? != 3 {
            return Err(bad("only etcd 3.x is known"));
        }
        let minor = num(parts[1])?;
        if minor < 4 {
            return Err(bad(
                "etcd before 3.4 is not covered; 3.4 is the oldest series known",
            ));
        }
        let patch = parts.get(2).map(|p| num(p)).transpose()?;
        Ok(Self::new(minor, patch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        let v = |s: &str| s.parse::<EtcdVersion>().unwrap();
        assert!(v("3.4") > v("3.4.23"));
        assert!(v("3.5.1") < v("3.5.8") && v("3.5") > v("3.5.99"));
        assert!(v("v3.6.0").at_least(6, 0) && !v("3.6").at_least(7, 0));
        assert!(v("3.5.8").at_least(5, 8) && !v("3.5.7").at_least(5, 8));
        for bad in [
            "",
            "3",
            "4.0",
            "3.x",
            "3.3",
            "3.5.1.2",
            "3.-1",
            "3.99999999999",
        ] {
            assert!(bad.parse::<EtcdVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn go_versions_follow_etcds_releases() {
        let go = |s: &str| s.parse::<EtcdVersion>().unwrap().go_version().to_string();
        // The two binaries the interop tests run: 3.5.1 (`Go Version: go1.16.3`); the official
        // 3.4.23 (Debian's own build says go1.19.8).
        assert_eq!(go("3.5.1"), "1.16.3");
        assert_eq!(go("3.4.23"), "1.17.13");
        // Where the rules change: Go 1.18 (SHA-1), 1.23 (negative serials), 1.24 (RSA < 1024).
        assert_eq!(
            (go("3.4.24"), go("3.4.25")),
            ("1.17.13".into(), "1.19.8".into())
        );
        assert_eq!(
            (go("3.5.7"), go("3.5.8")),
            ("1.17.13".into(), "1.19.8".into())
        );
        assert_eq!(
            (go("3.4.35"), go("3.4.36")),
            ("1.22.9".into(), "1.23.6".into())
        );
        assert_eq!(
            (go("3.5.18"), go("3.5.19")),
            ("1.22.11".into(), "1.23.7".into())
        );
        assert_eq!(
            (go("3.6.4"), go("3.6.5")),
            ("1.23.11".into(), "1.24.7".into())
        );
        assert_eq!(
            (go("3.4.37"), go("3.4.38")),
            ("1.23.8".into(), "1.24.9".into())
        );
        assert_eq!(
            (go("3.5.22"), go("3.5.23")),
            ("1.23.11".into(), "1.24.7".into())
        );
        assert_eq!(go("3.6.0"), "1.23.9");
        // A series means its latest release; unknown later releases the newest Go known.
        assert_eq!(go("3.4"), "1.25.10");
        assert_eq!(go("3.5.99"), "1.25.12");
        assert_eq!(go("3.7"), "1.26.5");
        assert_eq!(go("3.9"), "1.26.5");
        assert_eq!(
            EtcdVersion::first_with_go(23),
            "3.4.36+, 3.5.19+, 3.6.0+, 3.7.0+"
        );
        assert_eq!(
            EtcdVersion::first_with_go(18),
            "3.4.25+, 3.5.8+, 3.6.0+, 3.7.0+"
        );
        assert_eq!(
            EtcdVersion::first_with_go(24),
            "3.4.38+, 3.5.23+, 3.6.5+, 3.7.0+"
        );
        let tls = |s: &str| s.parse::<EtcdVersion>().unwrap().has_tls_version_keys();
        assert!(!tls("3.4.24") && tls("3.4.25") && tls("3.4"));
        assert!(!tls("3.5.1") && !tls("3.5.7") && tls("3.5.8") && tls("3.6.0"));
    }

    #[test]
    fn go_versions_parse() {
        let g = |s: &str| s.parse::<GoVersion>();
        assert_eq!(g("go1.19.8").unwrap(), GoVersion::new(19, Some(8)));
        assert_eq!(g(" 1.23 ").unwrap().to_string(), "1.23");
        assert!(g("1.23").unwrap() < g("1.23.1").unwrap());
        for bad in [
            "",
            "1",
            "2.1",
            "go",
            "1.x",
            "1.2.3.4",
            "go1.-1",
            "1.9999999",
        ] {
            assert!(g(bad).is_err(), "{bad}");
        }
    }
}
