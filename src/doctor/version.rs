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
}
