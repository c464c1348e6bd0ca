//! What the doctor reports: [`Finding`]s with a [`Severity`], gathered in a [`Report`].

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// etcd, its peers or its clients will fail.
    Error,
    /// Works today but will fail (expiry, a newer etcd, another client), or is unsafe.
    Warning,
    /// Worth knowing; nothing to fix.
    Info,
}

impl Severity {
    /// `error`, `warning` or `info`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the doctor found about a deployment.
///
/// The [`code`](Finding::code) is a stable kebab-case name (`member-cert-no-client-auth`,
/// `san-missing`, …; the README's table lists them all): tools may match on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub(super) severity: Severity,
    pub(super) code: &'static str,
    pub(super) member: String,
    pub(super) files: Vec<PathBuf>,
    pub(super) message: String,
    pub(super) etcd_says: Option<String>,
    pub(super) fix: Option<String>,
}

impl Finding {
    pub(super) fn new(
        severity: Severity,
        code: &'static str,
        member: &str,
        files: &[&Path],
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            code,
            member: member.to_owned(),
            files: files.iter().map(|p| p.to_path_buf()).collect(),
            message: message.into(),
            etcd_says: None,
            fix: None,
        }
    }

    pub(super) fn says(mut self, line: impl Into<String>) -> Self {
        self.etcd_says = Some(line.into());
        self
    }

    pub(super) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// How bad it is.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The stable kebab-case code of the check.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The member (or client, or `CA`) the finding is about, for grouping: a member's name from
    /// its configuration, else the certificate's IP or directory name.
    #[must_use]
    pub fn member(&self) -> &str {
        &self.member
    }

    /// The files it concerns.
    #[must_use]
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// What is wrong, in a sentence or two.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The line etcd, its peers or etcdctl print when it fails, where there is one.
    #[must_use]
    pub fn etcd_says(&self) -> Option<&str> {
        self.etcd_says.as_deref()
    }

    /// How to fix it: a command where there is one.
    #[must_use]
    pub fn fix_hint(&self) -> Option<&str> {
        self.fix.as_deref()
    }
}

/// All the findings about a deployment, errors first, then warnings, then infos (grouped by
/// member within each severity).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    findings: Vec<Finding>,
}

impl Report {
    pub(super) fn new(mut findings: Vec<Finding>) -> Self {
        findings.sort_by(|a, b| {
            (a.severity, &a.member, a.code, &a.files)
                .cmp(&(b.severity, &b.member, b.code, &b.files))
        });
        findings.dedup();
        Self { findings }
    }

    /// The findings, errors first.
    #[must_use]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// How many errors.
    #[must_use]
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// How many warnings.
    #[must_use]
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    /// The findings with code `code`.
    pub fn with_code<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.code == code)
    }
}
