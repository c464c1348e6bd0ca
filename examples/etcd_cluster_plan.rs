//! `etcd_cluster_plan`: a whole etcd cluster's certificates, keys and configuration from one
//! TOML plan (see `etcd_pki::ClusterPlan` for the format and the layout written).
//!
//! ```text
//! etcd_cluster_plan cluster.toml -o ./cluster
//! etcd_cluster_plan cluster.toml -o ./cluster --ca-cert certs/root.cert --ca-key certs/root.key
//! etcd_cluster_plan renew -o ./cluster [--days N] [--only-expiring-within DAYS]
//! etcd_cluster_plan rotate-ca begin|reissue|finish -o ./cluster
//! ```

#[path = "support/report.rs"]
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use etcd_pki::{ClusterDir, ClusterPlan, LifecycleReport, RotationPhase};
use etcd_pki::{Issuer, Passphrase};

/// Generate an etcd cluster's PKI and member configuration from a TOML plan; renew its
/// certificates, or rotate its CA.
#[derive(Debug, Parser)]
#[command(
    name = "etcd_cluster_plan",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Args {
    /// The plan (TOML: [[member]] name/ips/dns, [[user]] name, days, key_algorithm, …).
    #[arg(required = true)]
    plan: Option<PathBuf>,

    /// Output directory (must exist; nothing in it is overwritten).
    #[arg(short = 'o', long, required = true)]
    out: Option<PathBuf>,

    /// Use this existing root certificate instead of making a new root CA.
    #[arg(long, requires = "ca_key")]
    ca_cert: Option<PathBuf>,

    /// The existing root CA's key.
    #[arg(long, requires = "ca_cert")]
    ca_key: Option<PathBuf>,

    /// Read the CA key's passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    ca_key_passphrase_env: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Re-issue the members' and users' certificates of a directory this tool wrote, keeping
    /// their keys (the old certificates are kept as *.cert.old).
    Renew {
        /// The cluster directory (written by `etcd_cluster_plan PLAN -o DIR`).
        #[arg(short = 'o', long)]
        out: PathBuf,
        /// Validity of the new certificates in days (default: the plan's).
        #[arg(long)]
        days: Option<u32>,
        /// Only renew certificates that expire within this many days.
        #[arg(long, value_name = "DAYS")]
        only_expiring_within: Option<u32>,
    },
    /// Rotate the CA, in three phases run in order: begin, reissue, finish (see the README,
    /// "Renewing and rotating").
    RotateCa {
        /// The phase.
        phase: Phase,
        /// The cluster directory.
        #[arg(short = 'o', long)]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Phase {
    /// New root beside the old; every directory trusts both; then run ca/rotate-ca-begin.sh.
    Begin,
    /// Every certificate re-issued by the new root; then run ca/rotate-ca-reissue.sh.
    Reissue,
    /// Every directory trusts the new root alone; old root key removed; then run
    /// ca/rotate-ca-finish.sh.
    Finish,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let first = match hint(&e) {
                Some(hint) => format!("{e}; {hint}"),
                None => e.to_string(),
            };
            eprint!("{}", report::report(&first, &e));
            ExitCode::FAILURE
        }
    }
}

/// This CLI's flags for the conditions a library error describes (it has no `--force`: the
/// output directory is never written over).
fn hint(error: &etcd_pki::Error) -> Option<&'static str> {
    use etcd_pki::Error as E;
    match error {
        E::AlreadyExists { .. } => Some("give an empty or new output directory with -o/--out"),
        E::EncryptedKey { hint, .. } if !hint.contains("Proc-Type") => {
            Some("give the passphrase with --ca-key-passphrase-env VAR")
        }
        E::CaNotValidNow { .. } => {
            Some("leave out --ca-cert/--ca-key to make a new root CA with the plan")
        }
        E::KeyMismatch { .. } => {
            Some("--ca-key must be the key made with the --ca-cert certificate")
        }
        E::InvalidValidity { .. } => Some("give a smaller --days"),
        _ => None,
    }
}

fn run(args: &Args) -> Result<(), etcd_pki::Error> {
    match &args.command {
        Some(Command::Renew {
            out,
            days,
            only_expiring_within,
        }) => {
            let dir = ClusterDir::open(out)?;
            let days = days.unwrap_or(dir.plan().days);
            let report = dir.renew(days, *only_expiring_within)?;
            print_report(&report, None);
            let ca_expiry = dir.ca().certificate().not_after();
            if report.renewed.iter().any(|r| r.not_after >= ca_expiry) {
                println!(
                    "Note: the CA expires before {days} days are up, and no certificate outlives \
                     its CA: rotate the CA (rotate-ca begin) to go further."
                );
            }
            if report.renewed.is_empty() {
                println!("Nothing to renew.");
            }
            Ok(())
        }
        Some(Command::RotateCa { phase, out }) => {
            let phase = match phase {
                Phase::Begin => RotationPhase::Begin,
                Phase::Reissue => RotationPhase::Reissue,
                Phase::Finish => RotationPhase::Finish,
            };
            let report = ClusterDir::open(out)?.rotate_ca(phase)?;
            print_report(&report, Some(phase));
            Ok(())
        }
        None => make(args),
    }
}

/// What a renewal or rotation phase did, and the next step.
fn print_report(report: &LifecycleReport, phase: Option<RotationPhase>) {
    for path in &report.written {
        println!("Saved: {}", path.display());
    }
    for r in &report.renewed {
        let days = r
            .not_after
            .duration_since(std::time::SystemTime::now())
            .map_or(0, |d| d.as_secs() / 86_400);
        println!(
            "Renewed: {} {} ({}), valid for {days} more days",
            r.role,
            r.name,
            r.path.display()
        );
    }
    if !report.reconnect.is_empty() {
        println!(
            "Clients must reconnect (restart them with their new files): {}",
            report.reconnect.join(", ")
        );
    }
    let Some(phase) = phase else { return };
    if let Some(script) = &report.script {
        let next = match phase {
            RotationPhase::Begin => "then `rotate-ca reissue`",
            RotationPhase::Reissue => "then `rotate-ca finish`",
            _ => "the rotation is then complete",
        };
        let hooks = if phase == RotationPhase::Reissue {
            "ETCD_SYNC set if the members read their files elsewhere"
        } else {
            "ETCD_RESTART set"
        };
        println!(
            "Next: run {} (with {hooks}, see its header); {next}.",
            script.display()
        );
    }
}

fn make(args: &Args) -> Result<(), etcd_pki::Error> {
    let (Some(plan_path), Some(out)) = (&args.plan, &args.out) else {
        unreachable!("clap requires the plan and -o without a subcommand")
    };
    let plan = ClusterPlan::load(plan_path)?;
    let bundle = match (&args.ca_cert, &args.ca_key) {
        (Some(cert), Some(key)) => {
            let ca = match &args.ca_key_passphrase_env {
                Some(var) => Issuer::load_encrypted(cert, key, &Passphrase::from_env(var)?)?,
                None => Issuer::load(cert, key)?,
            };
            plan.issue_with(ca)?
        }
        _ => plan.issue()?,
    };
    for path in bundle.write(out)? {
        println!("Saved: {}", path.display());
    }
    println!(
        "Next: keep {}/ca on the CA host; copy members/<name>/ to each member and start it with \
         `etcd --config-file <dir>/etcd.conf.yml`; give clients/<user>/ to each user.",
        out.display()
    );
    Ok(())
}
