//! `etcd_cluster_plan`: a whole etcd cluster's certificates, keys and configuration from one
//! TOML plan (see `etcd_pki::ClusterPlan` for the format and the layout written).
//!
//! ```text
//! etcd_cluster_plan cluster.toml -o ./cluster
//! etcd_cluster_plan cluster.toml -o ./cluster --ca-cert certs/root.cert --ca-key certs/root.key
//! ```

#[path = "support/report.rs"]
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use etcd_pki::ClusterPlan;
use etcd_pki::{Issuer, Passphrase};

/// Generate an etcd cluster's PKI and member configuration from a TOML plan.
#[derive(Debug, Parser)]
#[command(name = "etcd_cluster_plan", version)]
struct Args {
    /// The plan (TOML: [[member]] name/ips/dns, [[user]] name, days, key_algorithm, …).
    plan: PathBuf,

    /// Output directory (must exist; nothing in it is overwritten).
    #[arg(short = 'o', long)]
    out: PathBuf,

    /// Use this existing root certificate instead of making a new root CA.
    #[arg(long, requires = "ca_key")]
    ca_cert: Option<PathBuf>,

    /// The existing root CA's key.
    #[arg(long, requires = "ca_cert")]
    ca_key: Option<PathBuf>,

    /// Read the CA key's passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    ca_key_passphrase_env: Option<String>,
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
        _ => None,
    }
}

fn run(args: &Args) -> Result<(), etcd_pki::Error> {
    let plan = ClusterPlan::load(&args.plan)?;
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
    for path in bundle.write(&args.out)? {
        println!("Saved: {}", path.display());
    }
    println!(
        "Next: keep {}/ca on the CA host; copy members/<name>/ to each member and start it with \
         `etcd --config-file <dir>/etcd.conf.yml`; give clients/<user>/ to each user.",
        args.out.display()
    );
    Ok(())
}
