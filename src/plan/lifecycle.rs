//! The lifecycle of a written cluster directory: renewing every certificate with the same key,
//! and rotating the CA in three phases ([`RotationPhase`]). Every operation opens and checks
//! the whole directory first ([`ClusterDir::open`]), makes every new certificate in memory,
//! and only then writes, one directory at a time, each directory's files as a unit (the
//! previous certificate kept as `<name>.cert.old`): a pair on disk is always a whole old pair
//! or a whole new pair, and a failed run can be run again.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use crate::cert::Certificate;
use crate::client::ClientCert;
use crate::error::Error;
use crate::fs::{self, OutFile};
use crate::issuer::Issuer;
use crate::key::KeyFormat;
use crate::name::CommonName;
use crate::role::Role;
use crate::root_ca::RootCa;

use super::dir::{CHECKED, ClusterDir, Leaf, NEXT_CERT, NEXT_KEY, PREVIOUS_CERT, Stage, Trust};

/// A phase of the CA rotation ([`ClusterDir::rotate_ca`]), in the order they must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationPhase {
    /// Make the new root and make every directory trust the old and the new root; then every
    /// member is restarted in turn (`ca/rotate-ca-begin.sh`), since etcd reads its trusted-CA
    /// file only at startup.
    Begin,
    /// Re-issue every certificate with the new root, keeping the keys; members pick up their
    /// new certificates on the next connection, without a restart (`ca/rotate-ca-reissue.sh`
    /// checks that each member serves one).
    Reissue,
    /// Make every directory trust the new root alone, make the new root the CA of `ca/` and
    /// remove the old root's key; then every member is restarted in turn again
    /// (`ca/rotate-ca-finish.sh`).
    Finish,
}

impl RotationPhase {
    /// `begin`, `reissue` or `finish`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Begin => "begin",
            Self::Reissue => "reissue",
            Self::Finish => "finish",
        }
    }

    /// The script the phase writes into `ca/`.
    pub(super) fn script(self) -> String {
        format!("rotate-ca-{}.sh", self.name())
    }
}

/// One certificate re-issued by a renewal or a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Renewed {
    /// The member's or user's name.
    pub name: String,
    /// [`Role::Node`] for a member, [`Role::Client`] for a user.
    pub role: Role,
    /// The certificate file (the previous one is now `<file>.old`).
    pub path: PathBuf,
    /// The previous certificate's expiry.
    pub previous_not_after: SystemTime,
    /// The new certificate's expiry.
    pub not_after: SystemTime,
}

/// What [`ClusterDir::renew`] or a phase of [`ClusterDir::rotate_ca`] did, and what is left
/// to do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LifecycleReport {
    /// The certificates re-issued, members first, in plan order.
    pub renewed: Vec<Renewed>,
    /// Every file written.
    pub written: Vec<PathBuf>,
    /// The users whose clients must reconnect (restart) to use their new files: clients such
    /// as kube-apiserver keep their connections and read their certificate and trusted CAs
    /// only when they connect. (Members re-read their own certificate and key on every new
    /// connection.)
    pub reconnect: Vec<String>,
    /// The generated script to run next (a rolling restart, or the checks of the members),
    /// for the rotation phases.
    pub script: Option<PathBuf>,
}

impl ClusterDir {
    /// Re-issues member and user certificates with the same keys, names and roles and a
    /// validity of `days`: all of them, or with `expiring_within_days` only those that expire
    /// within that many days (an expired one included). Each new certificate replaces the old
    /// one atomically, and the old one is kept as `<name>.cert.old` until the next renewal (a
    /// rollback is one `mv`). Members need no restart: etcd reads its certificate file on every
    /// new connection; the report lists the users whose clients must reconnect.
    ///
    /// # Errors
    /// [`Error::OutOfOrder`] during a CA rotation (its reissue phase renews every
    /// certificate); [`Error::InvalidValidity`]; the errors of signing and writing. Nothing is
    /// written unless every certificate could be made.
    pub fn renew(
        &self,
        days: u32,
        expiring_within_days: Option<u32>,
    ) -> Result<LifecycleReport, Error> {
        if self.stage()? != Stage::Idle {
            return Err(Error::OutOfOrder {
                step: "a renewal",
                reason: "a CA rotation is in progress; finish it (its reissue phase renews every certificate)".into(),
            });
        }
        let _lock = fs::lock_dir(&self.base)?;
        let deadline = expiring_within_days
            .map(|d| SystemTime::now() + Duration::from_secs(u64::from(d) * 86_400));
        let due = self
            .leaves
            .iter()
            .filter(|l| deadline.is_none_or(|t| l.cert.not_after() <= t));
        let mut report = LifecycleReport::default();
        self.reissue_leaves(due, &self.ca, &self.ca, days, &mut report)?;
        Ok(report)
    }

    /// Runs one phase of the CA rotation (see [`RotationPhase`] and the crate docs, "Renewing
    /// and rotating"). Each phase can be run again after a failure, and refuses to run out of
    /// order: `reissue` only once every member was restarted and checked after `begin` (the
    /// generated `ca/rotate-ca-begin.sh` records that in `ca/rotation-checked`), `finish` only
    /// once every member serves a certificate of the new root (`ca/rotate-ca-reissue.sh`).
    ///
    /// # Errors
    /// [`Error::OutOfOrder`]; those of signing and writing. Nothing is written when the phase
    /// is refused.
    pub fn rotate_ca(&self, phase: RotationPhase) -> Result<LifecycleReport, Error> {
        let stage = self.stage()?;
        let _lock = fs::lock_dir(&self.base)?;
        match phase {
            RotationPhase::Begin => self.begin(stage),
            RotationPhase::Reissue => self.reissue(stage),
            RotationPhase::Finish => self.finish(stage),
        }
    }

    fn begin(&self, stage: Stage) -> Result<LifecycleReport, Error> {
        let mut report = LifecycleReport::default();
        let made;
        let next = match (stage, &self.next) {
            (Stage::Idle, _) => {
                made = self.new_root()?;
                let next = &made;
                let ca_dir = self.ca_dir();
                remove(&ca_dir.join(CHECKED))?;
                // Left by a finish that promoted them (they equal the current root, or the
                // directory would not be idle).
                remove(&ca_dir.join(NEXT_KEY))?;
                remove(&ca_dir.join(NEXT_CERT))?;
                let cert = next.certificate().to_pem()?;
                let key = next
                    .certified_key()
                    .private_key()
                    .to_pem(KeyFormat::Traditional)?;
                write(
                    &ca_dir,
                    &[
                        (NEXT_KEY, key.as_bytes(), fs::SECRET),
                        (NEXT_CERT, cert.as_bytes(), fs::PUBLIC),
                    ],
                    false,
                    &mut report,
                )?;
                next
            }
            (Stage::Begun { complete }, Some(next)) => {
                if !complete {
                    remove(&self.ca_dir().join(CHECKED))?;
                }
                next
            }
            _ => return Err(self.out_of_order(RotationPhase::Begin, stage)),
        };
        let both = format!(
            "{}{}",
            self.ca.certificate().to_pem()?,
            next.certificate().to_pem()?
        );
        self.set_trust(Trust::Both, &both, &mut report)?;
        self.write_probes(next, &mut report)?;
        self.write_script(RotationPhase::Begin, &mut report)?;
        report.reconnect = self.users();
        Ok(report)
    }

    fn reissue(&self, stage: Stage) -> Result<LifecycleReport, Error> {
        let next = match (stage, &self.next) {
            (Stage::Begun { complete: true }, Some(next))
                if self.checked.as_deref() == Some("begin") =>
            {
                next
            }
            (Stage::Reissued { .. }, Some(next)) => next,
            _ => return Err(self.out_of_order(RotationPhase::Reissue, stage)),
        };
        let mut report = LifecycleReport::default();
        if stage != (Stage::Reissued { complete: true }) {
            remove(&self.ca_dir().join(CHECKED))?;
        }
        let due = self.leaves.iter().filter(|l| !l.by_next);
        self.reissue_leaves(due, &self.ca, next, self.plan.days, &mut report)?;
        self.write_probes(next, &mut report)?;
        self.write_script(RotationPhase::Reissue, &mut report)?;
        report.reconnect = self.users();
        Ok(report)
    }

    fn finish(&self, stage: Stage) -> Result<LifecycleReport, Error> {
        let next = match (stage, &self.next) {
            (Stage::Reissued { complete: true }, Some(next))
                if self.checked.as_deref() == Some("reissue") =>
            {
                next
            }
            (Stage::Finishing, Some(next)) => next,
            (Stage::Idle, None) if self.ca_dir().join(PREVIOUS_CERT).exists() => {
                // Finished already: nothing left to do.
                return Ok(LifecycleReport {
                    script: Some(self.ca_dir().join(RotationPhase::Finish.script())),
                    ..LifecycleReport::default()
                });
            }
            _ => return Err(self.out_of_order(RotationPhase::Finish, stage)),
        };
        let mut report = LifecycleReport::default();
        remove(&self.ca_dir().join(CHECKED))?;
        let new_pem = next.certificate().to_pem()?;
        self.set_trust(Trust::Next, &new_pem, &mut report)?;
        // The probes the finish script uses, while the old root's key is still here.
        self.write_probes(next, &mut report)?;
        // Promote the new root; the old root's key goes with this write, only now.
        let ca_dir = self.ca_dir();
        let key = next
            .certified_key()
            .private_key()
            .to_pem(KeyFormat::Traditional)?;
        let old_pem = self.ca.certificate().to_pem()?;
        write(
            &ca_dir,
            &[
                ("root.key", key.as_bytes(), fs::SECRET),
                ("root.cert", new_pem.as_bytes(), fs::PUBLIC),
                (PREVIOUS_CERT, old_pem.as_bytes(), fs::PUBLIC),
            ],
            true,
            &mut report,
        )?;
        remove(&ca_dir.join(NEXT_KEY))?;
        remove(&ca_dir.join(NEXT_CERT))?;
        self.write_script(RotationPhase::Finish, &mut report)?;
        report.reconnect = self.users();
        Ok(report)
    }

    /// The refusal of `phase` at `stage`, saying what to run instead.
    fn out_of_order(&self, phase: RotationPhase, stage: Stage) -> Error {
        let reason = match stage {
            Stage::Idle => "no CA rotation is in progress; the begin phase starts one".to_owned(),
            Stage::Begun { complete: false } => {
                "the begin phase did not complete (some directories do not trust the new root yet); run begin again".to_owned()
            }
            Stage::Begun { complete: true } => format!(
                "the members have not all been restarted and checked since the begin phase: run {} (it restarts each member in turn and records its success in ca/{CHECKED}), then reissue",
                self.ca_dir().join(RotationPhase::Begin.script()).display()
            ),
            Stage::Reissued { complete: false } => {
                "the reissue phase did not complete; run reissue again".to_owned()
            }
            Stage::Reissued { complete: true } if phase == RotationPhase::Finish => format!(
                "not every member has been checked to serve a certificate of the new root since the reissue phase: run {}, then finish",
                self.ca_dir().join(RotationPhase::Reissue.script()).display()
            ),
            Stage::Reissued { complete: true } => {
                "the certificates were re-issued by the new root already; run finish".to_owned()
            }
            Stage::Finishing => {
                "the finish phase started and did not complete; run finish again".to_owned()
            }
        };
        Error::OutOfOrder {
            step: match phase {
                RotationPhase::Begin => "the CA rotation's begin phase",
                RotationPhase::Reissue => "the CA rotation's reissue phase",
                RotationPhase::Finish => "the CA rotation's finish phase",
            },
            reason,
        }
    }

    /// Re-issues each of `leaves` (certificates of `by`) with `ca`, then writes them, one
    /// directory at a time: `<stem>.cert.old` (the previous certificate) and `<stem>.cert` as
    /// a unit.
    fn reissue_leaves<'a>(
        &self,
        leaves: impl Iterator<Item = &'a Leaf>,
        by: &Issuer,
        ca: &Issuer,
        days: u32,
        report: &mut LifecycleReport,
    ) -> Result<(), Error> {
        let mut made: Vec<(&Leaf, Certificate)> = Vec::new();
        for leaf in leaves {
            made.push((leaf, ca.reissue(by, &leaf.cert, days)?));
        }
        for (leaf, cert) in made {
            let (old, new) = (leaf.cert.to_pem()?, cert.to_pem()?);
            let name = format!("{}.cert", leaf.stem);
            let old_name = format!("{name}.old");
            write(
                &leaf.dir,
                &[
                    (&old_name, old.as_bytes(), fs::PUBLIC),
                    (&name, new.as_bytes(), fs::PUBLIC),
                ],
                true,
                report,
            )?;
            report.renewed.push(Renewed {
                name: leaf.name.clone(),
                role: if leaf.kind == "member" {
                    Role::Node
                } else {
                    Role::Client
                },
                path: leaf.cert_path(),
                previous_not_after: leaf.cert.not_after(),
                not_after: cert.not_after(),
            });
            if leaf.kind == "user" {
                report.reconnect.push(leaf.name.clone());
            }
        }
        Ok(())
    }

    /// Writes `pem` as the `root.cert` of every directory that does not trust `want` yet.
    fn set_trust(&self, want: Trust, pem: &str, report: &mut LifecycleReport) -> Result<(), Error> {
        for leaf in self.leaves.iter().filter(|l| l.trust != want) {
            write(
                &leaf.dir,
                &[("root.cert", pem.as_bytes(), fs::PUBLIC)],
                true,
                report,
            )?;
        }
        Ok(())
    }

    /// The rotation's new root: the plan's key algorithm and days, a common name that tells it
    /// from the old root (`CA <date> <random>`).
    fn new_root(&self) -> Result<Issuer, Error> {
        let date = crate::error::rfc3339(SystemTime::now());
        let tag: u32 = rand::random();
        let cn: CommonName = format!("CA {} {tag:08x}", &date[..10]).parse()?;
        RootCa::new()
            .common_name(cn)
            .validity_days(self.plan.days)
            .key_algorithm(self.plan.key_algorithm)
            .self_sign()
    }

    /// The client certificates the generated scripts check members with (`ca/probe-old.*` of
    /// the old root, `ca/probe-new.*` of the new one, 30 days, CN `etcd-pki-probe`) and the
    /// bundle of both roots they verify servers with (`ca/rotation-trust.pem`).
    fn write_probes(&self, next: &Issuer, report: &mut LifecycleReport) -> Result<(), Error> {
        let cn: CommonName = "etcd-pki-probe".parse()?;
        let probe = ClientCert::new()
            .common_name(cn)
            .validity_days(30)
            .key_algorithm(self.plan.key_algorithm);
        let ca_dir = self.ca_dir();
        for (stem, ca) in [("probe-old", &self.ca), ("probe-new", next)] {
            let ck = probe.issue(ca)?;
            let cert = ck.certificate().to_pem()?;
            let key = ck.private_key().to_pem(KeyFormat::Traditional)?;
            let (cert_name, key_name) = (format!("{stem}.cert"), format!("{stem}.key"));
            write(
                &ca_dir,
                &[
                    (&key_name, key.as_bytes(), fs::SECRET),
                    (&cert_name, cert.as_bytes(), fs::PUBLIC),
                ],
                true,
                report,
            )?;
        }
        let both = format!(
            "{}{}",
            self.ca.certificate().to_pem()?,
            next.certificate().to_pem()?
        );
        write(
            &ca_dir,
            &[("rotation-trust.pem", both.as_bytes(), fs::PUBLIC)],
            true,
            report,
        )
    }

    fn write_script(
        &self,
        phase: RotationPhase,
        report: &mut LifecycleReport,
    ) -> Result<(), Error> {
        let script = Zeroizing::new(self.rotation_script(phase));
        let name = phase.script();
        write(
            &self.ca_dir(),
            &[(&name, script.as_bytes(), fs::EXECUTABLE)],
            true,
            report,
        )?;
        report.script = Some(self.ca_dir().join(name));
        Ok(())
    }

    pub(super) fn ca_dir(&self) -> PathBuf {
        self.base.join("ca")
    }

    fn users(&self) -> Vec<String> {
        self.plan.users.iter().map(|u| u.name.clone()).collect()
    }
}

/// Writes `files` (name, contents, mode) into `dir` as a unit and records their paths.
fn write(
    dir: &Path,
    files: &[(&str, &[u8], u32)],
    overwrite: bool,
    report: &mut LifecycleReport,
) -> Result<(), Error> {
    let out: Vec<OutFile<'_>> = files
        .iter()
        .map(|(name, contents, mode)| OutFile {
            name,
            contents,
            mode: *mode,
        })
        .collect();
    fs::write_set(dir, &out, overwrite)?;
    report
        .written
        .extend(files.iter().map(|(name, _, _)| dir.join(name)));
    Ok(())
}

/// Removes `path` if it exists.
fn remove(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}
