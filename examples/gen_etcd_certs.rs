//! `gen_etcd_certs`: a drop-in for the guide's `gen_etcd_certs.py`, on etcd-pki.
//!
//! Same commands, flags, defaults, file names and messages as the script:
//!
//! ```text
//! gen_etcd_certs -c gen_root_cert   -s ./certs
//! gen_etcd_certs -c gen_client_cert -s ./certs -k certs/root.key -t certs/root.cert [-n alice]
//! gen_etcd_certs -c gen_server_cert -s ./certs -k certs/root.key -t certs/root.cert -i 192.168.10.11
//! ```
//!
//! Differences, all on the safe side: keys are written with mode 0600, atomically; an existing
//! file is never overwritten unless `--force` is given; bad input gives an `ERROR: …` line
//! instead of a Python traceback; certificates carry key usages and key identifiers.

#[path = "support/report.rs"]
mod report;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use etcd_pki::CommonName;
use etcd_pki::{CertificateRequest, RequestPolicy, Role};
use etcd_pki::{
    ClientCert, Issuer, KeyAlgorithm, KeyFormat, Passphrase, PrivateKey, RootCa, ServerCert,
    WriteOptions, WrittenFiles,
};

/// The script's version this CLI is compatible with is printed by `-v`; ours is the crate's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
#[allow(
    clippy::enum_variant_names,
    reason = "the names are the script's commands"
)]
enum Command {
    GenRootCert,
    GenClientCert,
    GenServerCert,
    /// On a node: its key and a certificate signing request (`<ip>.key`, `<ip>.csr`).
    GenServerCsr,
    /// On the CA host: sign a node's request (`--csr`) for `-i <ip>`, writing `<ip>.cert`.
    SignServerCsr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KeyType {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    P256,
    P384,
}

impl From<KeyType> for KeyAlgorithm {
    fn from(k: KeyType) -> Self {
        match k {
            KeyType::Rsa2048 => Self::Rsa2048,
            KeyType::Rsa3072 => Self::Rsa3072,
            KeyType::Rsa4096 => Self::Rsa4096,
            KeyType::P256 => Self::EcdsaP256,
            KeyType::P384 => Self::EcdsaP384,
        }
    }
}

/// Generate the certificates and keys of an etcd cluster (compatible with gen_etcd_certs.py).
#[derive(Debug, Parser)]
#[command(name = "gen_etcd_certs", version = VERSION, disable_version_flag = true)]
struct Args {
    #[arg(short = 'c', long, value_enum)]
    command: Command,

    /// Save directory. [default: .]
    #[arg(short = 's', long)]
    savedir: PathBuf,

    /// Certificate validity period. [default: 3650]
    #[arg(
        short = 'd',
        long,
        default_value_t = 3650,
        allow_negative_numbers = true
    )]
    days: i64,

    /// Common name(only used for gen_client_cert).
    #[arg(short = 'n', long)]
    cn: Option<String>,

    /// Root private key.
    #[arg(short = 'k', long, required_if_eq_any = [("command", "gen_client_cert"), ("command", "gen_server_cert"), ("command", "sign_server_csr")])]
    root_key: Option<PathBuf>,

    /// Root certificate.
    #[arg(short = 't', long, required_if_eq_any = [("command", "gen_client_cert"), ("command", "gen_server_cert"), ("command", "sign_server_csr")])]
    root_cert: Option<PathBuf>,

    /// Server IP.
    #[arg(short = 'i', long, required_if_eq_any = [("command", "gen_server_cert"), ("command", "gen_server_csr"), ("command", "sign_server_csr")])]
    ip: Option<String>,

    /// sign_server_csr: the node's certificate signing request (PEM). Only 127.0.0.1 and the
    /// -i address may be in it; the certificate always carries both, asked for or not.
    #[arg(
        long,
        value_name = "FILE",
        required_if_eq("command", "sign_server_csr")
    )]
    csr: Option<PathBuf>,

    /// Replace existing key and certificate files (the script always did; we refuse by default).
    #[arg(long)]
    force: bool,

    /// Key algorithm of the generated key: RSA (as the script) or ECDSA P-256/P-384. [default: rsa2048]
    #[arg(long, value_enum, default_value = "rsa2048", hide_default_value = true)]
    key_type: KeyType,

    /// Write the private key as PKCS#8 ("PRIVATE KEY") instead of PKCS#1 ("RSA PRIVATE KEY") or
    /// SEC1 ("EC PRIVATE KEY").
    #[arg(long)]
    pkcs8: bool,

    /// Read the root key's passphrase from this environment variable (for an encrypted root
    /// key, or with --encrypt-root-key). Passphrases are never taken as arguments.
    #[arg(long, value_name = "VAR", conflicts_with = "root_key_passphrase_file")]
    root_key_passphrase_env: Option<String>,

    /// Read the root key's passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    root_key_passphrase_file: Option<PathBuf>,

    /// gen_root_cert: write root.key encrypted (PKCS#8, scrypt + AES-256-CBC) with the passphrase
    /// given by --root-key-passphrase-env or --root-key-passphrase-file.
    #[arg(long)]
    encrypt_root_key: bool,

    /// Print version information.
    #[arg(short = 'v', long, action = clap::ArgAction::Version)]
    version: Option<bool>,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => {
            // As the script (argparse's action='version'): just the version.
            println!("{VERSION}");
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(), // usage errors: exit status 2, like argparse
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprint!("{}", failure.report());
            ExitCode::FAILURE
        }
    }
}

/// Why a command failed: a message of this CLI's own (the script's checks), or a library error
/// with the path it concerns, shown with its causes and this CLI's flag advice.
#[derive(Debug)]
enum Failure {
    Message(String),
    Lib {
        context: Option<String>,
        error: etcd_pki::Error,
    },
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Message(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Self::Message(message.to_owned())
    }
}

impl From<etcd_pki::Error> for Failure {
    fn from(error: etcd_pki::Error) -> Self {
        Self::Lib {
            context: None,
            error,
        }
    }
}

impl Failure {
    /// `ERROR: <message>[; <flag advice>]` (the line scripts match on), then one
    /// `  caused by: …` line per underlying error.
    fn report(&self) -> String {
        match self {
            Self::Message(m) => format!("ERROR: {m}\n"),
            Self::Lib { context, error } => {
                let mut first = format!("{}{error}", context.as_deref().unwrap_or_default());
                if let Some(hint) = hint(error) {
                    first = format!("{first}; {hint}");
                }
                report::report(&first, error)
            }
        }
    }
}

/// This CLI's flags for the conditions a library error describes.
fn hint(error: &etcd_pki::Error) -> Option<&'static str> {
    use etcd_pki::Error as E;
    match error {
        E::AlreadyExists { .. } => Some("or give --force to replace it"),
        E::EncryptedKey { hint, .. } if !hint.contains("Proc-Type") => Some(
            "give the passphrase with --root-key-passphrase-env VAR or --root-key-passphrase-file FILE",
        ),
        E::CaNotValidNow { .. } => Some("make one with -c gen_root_cert"),
        E::KeyMismatch { .. } => {
            Some("-k/--root-key must be the key made with the -t/--root-cert certificate")
        }
        E::NotACa { .. } => Some("give root.cert with -t/--root-cert"),
        E::InvalidValidity { .. } => Some("give another -d/--days"),
        _ => None,
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    // The script's check and message, first thing, before any other validation.
    if !args.savedir.exists() {
        return Err(format!("Savedir `{}` does not exist.", args.savedir.display()).into());
    }
    let days = check_days(args.days)?;
    let options = WriteOptions::new()
        .overwrite(args.force)
        .key_format(if args.pkcs8 {
            KeyFormat::Pkcs8
        } else {
            KeyFormat::Traditional
        });
    let algorithm = KeyAlgorithm::from(args.key_type);
    let passphrase = passphrase(args)?;
    let written = match args.command {
        Command::GenRootCert => {
            let options = match (args.encrypt_root_key, passphrase) {
                (true, Some(p)) => options.clone().encrypt_key(p),
                (true, None) => {
                    return Err(Failure::Message("--encrypt-root-key needs the passphrase: give --root-key-passphrase-env VAR or --root-key-passphrase-file FILE".into()));
                }
                (false, _) => options.clone(),
            };
            let root = RootCa::new()
                .validity_days(days)
                .key_algorithm(algorithm)
                .self_sign()?;
            root.write(&args.savedir, "root", &options)
        }
        Command::GenClientCert => {
            let issuer = load_issuer(args, passphrase.as_ref())?;
            let mut client = ClientCert::new()
                .validity_days(days)
                .key_algorithm(algorithm);
            // As the script: an empty --cn means no CN.
            if let Some(cn) = args.cn.as_deref().filter(|cn| !cn.is_empty()) {
                let cn: CommonName = cn.parse()?;
                client = client.common_name(cn);
            }
            let issued = client.issue(&issuer)?;
            note_clamped(issued.certificate(), days);
            issued.write(&args.savedir, "client", &options)
        }
        Command::GenServerCsr => {
            let (ip_text, ip) = node_ip(args)?;
            let key = PrivateKey::generate(algorithm)?;
            let csr = ServerCert::new(ip).request(&key)?;
            csr.write(&args.savedir, ip_text, &key, &options)
        }
        Command::SignServerCsr => {
            let (ip_text, ip) = node_ip(args)?;
            let csr_path = args.csr.as_deref().unwrap_or(Path::new(""));
            let csr = CertificateRequest::load(csr_path)?;
            let issuer = load_issuer(args, passphrase.as_ref())?;
            let policy = RequestPolicy::for_node(ip).validity_days(days);
            let cert = issuer
                .sign_request(&csr, Role::Node, &policy)
                .map_err(|error| Failure::Lib {
                    context: Some(format!("{}: ", csr_path.display())),
                    error,
                })?;
            let path = cert.write(&args.savedir, &format!("{ip_text}.cert"), &options)?;
            println!("Saved: {}", path.display());
            return Ok(());
        }
        Command::GenServerCert => {
            let (ip_text, ip) = node_ip(args)?;
            if args.cn.is_some() {
                eprintln!("NOTE: --cn is only used for gen_client_cert; ignored.");
            }
            let issuer = load_issuer(args, passphrase.as_ref())?;
            let issued = ServerCert::new(ip)
                .validity_days(days)
                .key_algorithm(algorithm)
                .issue(&issuer)?;
            note_clamped(issued.certificate(), days);
            // The file stem is the IP as given, as the script names it.
            issued.write(&args.savedir, ip_text, &options)
        }
    }?;
    print_saved(&written);
    Ok(())
}

/// The `-i` address, as text (for file names, as the script) and parsed.
fn node_ip(args: &Args) -> Result<(&str, IpAddr), Failure> {
    let ip_text = args.ip.as_deref().unwrap_or_default();
    let ip = ip_text.parse().map_err(|_| {
        Failure::Message(format!("`{ip_text}` is not an IP address; give the node's IPv4 or IPv6 address, e.g. -i 192.168.10.11"))
    })?;
    Ok((ip_text, ip))
}

fn check_days(days: i64) -> Result<u32, String> {
    if days < 1 {
        return Err(format!(
            "--days must be at least 1, got {days}; give the validity in days, e.g. -d 3650"
        ));
    }
    u32::try_from(days)
        .map_err(|_| format!("--days {days} is too large; the end date must be before 9999-12-31"))
}

fn load_issuer(args: &Args, passphrase: Option<&Passphrase>) -> Result<Issuer, Failure> {
    let (Some(key), Some(cert)) = (args.root_key.as_deref(), args.root_cert.as_deref()) else {
        return Err("--root-key and --root-cert are required".into());
    };
    match passphrase {
        Some(p) => Issuer::load_encrypted(cert, key, p),
        None => Issuer::load(cert, key),
    }
    .map_err(Failure::from)
}

fn passphrase(args: &Args) -> Result<Option<Passphrase>, Failure> {
    let found = match (
        &args.root_key_passphrase_env,
        &args.root_key_passphrase_file,
    ) {
        (Some(var), _) => Passphrase::from_env(var).map(Some),
        (None, Some(file)) => Passphrase::from_file(file).map(Some),
        (None, None) => Ok(None),
    };
    found.map_err(Failure::from)
}

/// A leaf never outlives its CA; say so when that shortened the asked-for validity by more than
/// a day (a leaf issued after its root always loses a few minutes, not worth a line).
fn note_clamped(cert: &etcd_pki::Certificate, days: u32) {
    let asked = std::time::Duration::from_secs(u64::from(days) * 86_400);
    let got = cert
        .not_after()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    if asked.saturating_sub(got) > std::time::Duration::from_secs(86_400) {
        eprintln!(
            "NOTE: the certificate expires with the root certificate ({} days instead of {days}).",
            got.as_secs() / 86_400,
        );
    }
}

fn print_saved(files: &WrittenFiles) {
    for path in [&files.key, &files.cert] {
        println!("Saved: {}", path.display());
    }
}
