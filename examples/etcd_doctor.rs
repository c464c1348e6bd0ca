//! `etcd_doctor`: checks an existing etcd deployment's certificates, keys and configuration,
//! and says what etcd, its peers or etcdctl will print when it fails (see `etcd_pki::Doctor`).
//!
//! ```text
//! etcd_doctor ./certs                                  # a gen_etcd_certs / script directory
//! etcd_doctor ./cluster                                # an etcd_cluster_plan output
//! etcd_doctor /etc/etcd/etcd.conf.yml                  # a member's config (its TLS files too)
//! etcd_doctor --json --etcd-version 3.5 /etc/kubernetes/pki/etcd /etc/default/etcd
//! ```
//!
//! Exit status: 0 without errors, 1 with errors, 2 for usage errors or unreadable input. It
//! never writes anything.

#[path = "support/report.rs"]
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use etcd_pki::{DEFAULT_WARN_DAYS, Doctor, EtcdVersion, Finding, GoVersion, Report, Severity};
use serde::Serialize;

/// Check an etcd deployment's certificates, keys and configuration.
#[derive(Debug, Parser)]
#[command(name = "etcd_doctor", version)]
struct Args {
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,

    /// The etcd version whose rules apply (3.4, 3.5, 3.5.1, 3.6, …).
    #[arg(long, value_name = "V", default_value_t = EtcdVersion::CURRENT)]
    etcd_version: EtcdVersion,

    /// The Go the etcd binary is built with, if not that of etcd's official release (as
    /// `etcd --version` prints it: go1.19.8); distributions build their own.
    #[arg(long, value_name = "GO")]
    go_version: Option<GoVersion>,

    /// Warn about certificates that expire within N days.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WARN_DAYS)]
    warn_days: u32,

    /// The etcd users, comma-separated (auth is on): client certificates' CNs are checked.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    users: Option<Vec<String>>,

    /// Certificate directories, certificate or key files, etcd configurations (etcd.conf.yml,
    /// a command line or systemd unit, an ETCD_* environment file).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    severity: &'static str,
    code: &'static str,
    files: Vec<String>,
    message: &'a str,
    etcd_says: Option<&'a str>,
    fix: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    findings: Vec<JsonFinding<'a>>,
    summary: JsonSummary,
}

fn files(f: &Finding) -> Vec<String> {
    f.files().iter().map(|p| p.display().to_string()).collect()
}

fn json(report: &Report) -> String {
    let out = JsonReport {
        findings: report
            .findings()
            .iter()
            .map(|f| JsonFinding {
                severity: f.severity().as_str(),
                code: f.code(),
                files: files(f),
                message: f.message(),
                etcd_says: f.etcd_says(),
                fix: f.fix_hint(),
            })
            .collect(),
        summary: JsonSummary {
            errors: report.errors(),
            warnings: report.warnings(),
        },
    };
    serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// One block per member (members with errors first), one line per finding (errors first).
fn human(report: &Report, version: EtcdVersion, go: GoVersion) -> String {
    let mut members: Vec<&str> = Vec::new();
    for f in report.findings() {
        if !members.contains(&f.member()) {
            members.push(f.member());
        }
    }
    let mut out = String::new();
    for m in members {
        out.push_str(&format!("== {m}\n"));
        for f in report.findings().iter().filter(|f| f.member() == m) {
            let mut line = format!(
                "{:<7} {} [{}]: {}",
                f.severity().as_str(),
                f.code(),
                files(f).join(", "),
                f.message()
            );
            if let Some(says) = f.etcd_says() {
                line.push_str(&format!(" | etcd says: \"{says}\""));
            }
            if let Some(fix) = f.fix_hint() {
                line.push_str(&format!(" | fix: {fix}"));
            }
            out.push_str(&line.replace('\n', " "));
            out.push('\n');
        }
    }
    let infos = report
        .findings()
        .iter()
        .filter(|f| f.severity() == Severity::Info)
        .count();
    out.push_str(&format!(
        "summary: {} error(s), {} warning(s), {infos} info(s) (rules of etcd {version}, Go {go})\n",
        report.errors(),
        report.warnings()
    ));
    out
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut doctor = Doctor::new()
        .etcd_version(args.etcd_version)
        .warn_days(args.warn_days);
    if let Some(go) = args.go_version {
        doctor = doctor.go_version(go);
    }
    if let Some(users) = args.users {
        doctor = doctor.etcd_users(users);
    }
    for p in &args.paths {
        doctor = doctor.path(p);
    }
    let report = match doctor.run() {
        Ok(r) => r,
        Err(e) => {
            eprint!("{}", report::report(&e.to_string(), &e));
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{}", json(&report));
    } else {
        let go = args
            .go_version
            .unwrap_or_else(|| args.etcd_version.go_version());
        print!("{}", human(&report, args.etcd_version, go));
    }
    if report.errors() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
