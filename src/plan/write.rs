//! Writing a [`ClusterBundle`]: every target is checked first, the whole bundle is staged in a
//! hidden directory inside the output directory with exact modes, then moved into place by
//! `rename(2)` one directory at a time, and moved back on any failure, so the output directory
//! ends complete or as it was.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::certified_key::CertifiedKey;
use crate::error::Error;
use crate::fs::{self, OutFile};
use crate::key::KeyFormat;

use super::bundle::ClusterBundle;
#[cfg(doc)]
use super::spec::ClusterPlan;
use super::spec::{check_dir_value, check_env_value};

/// A file to write: name, contents, mode.
type PlannedFile = (String, Zeroizing<String>, u32);

impl ClusterBundle {
    /// The output directory as text, for the generated files that name files under it (when
    /// `cert_dir` or `client_dir` is not set): it must be valid UTF-8 and pass the checks of a
    /// planned directory, or etcd would be pointed at files that do not exist.
    fn check_base(&self, base: &Path) -> Result<String, Error> {
        let members_need = self.plan.cert_dir.is_none();
        let users_need = self.plan.client_dir.is_none() && !self.plan.users.is_empty();
        if !members_need && !users_need {
            return Ok(String::new());
        }
        let Some(text) = base.to_str() else {
            return Err(Error::invalid_plan(format!(
                "the output directory {} is not valid UTF-8, and the generated files name their paths by it; write to a directory whose path is UTF-8, or set cert_dir and client_dir",
                base.display()
            )));
        };
        let what = "the output directory";
        check_dir_value(what, text)?;
        if users_need {
            check_env_value(what, text)?;
        }
        Ok(text.to_owned())
    }

    /// Writes the bundle under `out` (see the module docs): `ca/`, `members/<name>/` and
    /// `clients/<user>/`, none of which may exist yet (an empty directory is replaced).
    ///
    /// Every target is checked first; then the whole bundle is written into a hidden staging
    /// directory inside `out` and moved into place by `rename(2)`, one directory at a time. On
    /// any failure the directories already moved are moved back and the staging directory is
    /// removed: `out` is left as it was. Nothing is ever overwritten. The CA key is written (to
    /// `ca/` only) when the CA was made for this bundle, never when it was loaded
    /// ([`ClusterPlan::issue_with`]). Paths in the configuration files are absolute, under the
    /// plan's `cert_dir`/`client_dir` or else under `out`. Two writes to one `out` at once are
    /// serialised; the second then finds the first's files and is refused.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] (a planned file exists), [`Error::NotADirectory`] (`out` is not a
    /// directory, or a file stands where a directory goes), [`Error::DirectoryNotEmpty`],
    /// [`Error::InvalidPlan`] (an output path the generated files cannot name), [`Error::Io`],
    /// [`Error::Encoding`].
    pub fn write(&self, out: &Path) -> Result<Vec<PathBuf>, Error> {
        self.write_with(out, &mut || Ok(()))
    }

    /// [`ClusterBundle::write`], calling `step` before each directory is moved into place (a
    /// test makes it fail).
    pub(super) fn write_with(
        &self,
        out: &Path,
        step: &mut dyn FnMut() -> std::io::Result<()>,
    ) -> Result<Vec<PathBuf>, Error> {
        fs::check_dir(out)?;
        let base = std::fs::canonicalize(out).map_err(|e| Error::io("access", out, e))?;
        let base_text = self.check_base(&base)?;
        let root_cert = self.ca.certificate().to_pem()?;
        // Every directory's files (relative to `out`), fully built in memory first.
        let mut ca_files = vec![
            root_file(&root_cert),
            (
                super::dir::PLAN_FILE.into(),
                Zeroizing::new(self.plan.to_toml()?),
                fs::PUBLIC,
            ),
            (
                "migrate-to-https.sh".into(),
                Zeroizing::new(self.migration_script()),
                fs::EXECUTABLE,
            ),
        ];
        if self.ca_generated {
            let ca_key = self
                .ca
                .certified_key()
                .private_key()
                .to_pem(KeyFormat::Traditional)?;
            ca_files.insert(0, ("root.key".into(), ca_key, fs::SECRET));
        }
        let mut dirs: Vec<(PathBuf, Vec<PlannedFile>)> = vec![(PathBuf::from("ca"), ca_files)];
        for (m, ck) in self.plan.members.iter().zip(&self.members) {
            let config = self.config(&self.member_dir(&base_text, m), m);
            let stem = m.ips[0].to_string();
            let files = leaf_files(&root_cert, ck, &stem, ("etcd.conf.yml", config))?;
            dirs.push((Path::new("members").join(&m.name), files));
        }
        for (u, ck) in self.plan.users.iter().zip(&self.users) {
            let env = self.etcdctl_env(&base_text, &u.name);
            let files = leaf_files(&root_cert, ck, "client", ("etcdctl.env", env))?;
            dirs.push((Path::new("clients").join(&u.name), files));
        }
        let _lock = fs::lock_dir(&base)?;
        check_targets(&base, &dirs)?;
        let staging = base.join(format!(
            ".etcd-pki-bundle.{:016x}.tmp",
            rand::random::<u64>()
        ));
        fs::create_dir(&staging, fs::PRIVATE_DIR)?;
        let result = stage(&staging, &dirs).and_then(|()| publish(&staging, &base, &dirs, step));
        // After a complete publish only empty directories are left in it.
        let _ = std::fs::remove_dir_all(&staging);
        result?;
        let mut written = Vec::new();
        for (dir, files) in &dirs {
            written.extend(files.iter().map(|(name, _, _)| base.join(dir).join(name)));
        }
        Ok(written)
    }
}

/// The CA certificate, as every directory of the bundle holds it.
fn root_file(root_cert: &str) -> PlannedFile {
    (
        "root.cert".into(),
        Zeroizing::new(root_cert.to_owned()),
        fs::PUBLIC,
    )
}

/// The files of a member's or a user's directory: the CA certificate, its own `<stem>.cert` and
/// `<stem>.key`, and its configuration file (name, contents).
fn leaf_files(
    root_cert: &str,
    ck: &CertifiedKey,
    stem: &str,
    (config_name, config): (&str, String),
) -> Result<Vec<PlannedFile>, Error> {
    Ok(vec![
        root_file(root_cert),
        (
            format!("{stem}.cert"),
            Zeroizing::new(ck.certificate().to_pem()?),
            fs::PUBLIC,
        ),
        (
            format!("{stem}.key"),
            ck.private_key().to_pem(KeyFormat::Traditional)?,
            fs::SECRET,
        ),
        (config_name.into(), Zeroizing::new(config), fs::PUBLIC),
    ])
}

/// The directories of a bundle with their files, relative to the output directory.
type PlannedDirs = [(PathBuf, Vec<PlannedFile>)];

/// The parent of a bundle directory inside the output directory: `members`, `clients`, or
/// none (`ca`).
fn group(dir: &Path) -> Option<&Path> {
    dir.parent().filter(|p| !p.as_os_str().is_empty())
}

/// Refuses, before anything is written, every target that is in the way.
fn check_targets(base: &Path, dirs: &PlannedDirs) -> Result<(), Error> {
    let in_the_way = |path: PathBuf| Error::NotADirectory {
        path,
        reason: "it is in the way of a directory the bundle writes; move it away",
    };
    for (dir, files) in dirs {
        if let Some(parent) = group(dir) {
            match std::fs::metadata(base.join(parent)) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(in_the_way(base.join(parent))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("access", &base.join(parent), e)),
            }
        }
        let target = base.join(dir);
        match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("access", &target, e)),
            Ok(m) if !m.is_dir() => return Err(in_the_way(target)),
            Ok(_) => {
                for (name, _, _) in files {
                    let path = target.join(name);
                    if path.symlink_metadata().is_ok() {
                        return Err(Error::AlreadyExists { path });
                    }
                }
                let mut entries =
                    std::fs::read_dir(&target).map_err(|e| Error::io("read", &target, e))?;
                if entries.next().is_some() {
                    return Err(Error::DirectoryNotEmpty { path: target });
                }
            }
        }
    }
    Ok(())
}

/// Writes every directory and file of the bundle under `staging` (modes exact).
fn stage(staging: &Path, dirs: &PlannedDirs) -> Result<(), Error> {
    for (dir, files) in dirs {
        if let Some(parent) = group(dir) {
            let parent = staging.join(parent);
            if parent.symlink_metadata().is_err() {
                fs::create_dir(&parent, fs::PUBLIC_DIR)?;
            }
        }
        let dir = staging.join(dir);
        fs::create_dir(&dir, fs::PRIVATE_DIR)?;
        let out_files: Vec<OutFile<'_>> = files
            .iter()
            .map(|(name, contents, mode)| OutFile {
                name,
                contents: contents.as_bytes(),
                mode: *mode,
            })
            .collect();
        fs::write_set(&dir, &out_files, false)?;
    }
    Ok(())
}

/// Moves the staged bundle into `base`: a whole group (`members/`, `clients/`) at once when it
/// does not exist yet, else each of its directories; `ca/` as one. On failure, moves back what
/// was moved (re-creating an empty directory that was replaced).
fn publish(
    staging: &Path,
    base: &Path,
    dirs: &PlannedDirs,
    step: &mut dyn FnMut() -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut units: Vec<PathBuf> = Vec::new();
    for (dir, _) in dirs {
        let unit = match group(dir) {
            Some(parent) if !base.join(parent).exists() => parent.to_path_buf(),
            _ => dir.clone(),
        };
        if !units.contains(&unit) {
            units.push(unit);
        }
    }
    // (staged path, target, mode of an empty directory the move replaced)
    let mut moved: Vec<(PathBuf, PathBuf, Option<u32>)> = Vec::new();
    let mut run = || -> Result<(), Error> {
        for unit in &units {
            let (from, to) = (staging.join(unit), base.join(unit));
            let replaced = std::fs::symlink_metadata(&to).ok().map(|m| mode_of(&m));
            step()
                .and_then(|()| std::fs::rename(&from, &to))
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists => {
                        Error::DirectoryNotEmpty { path: to.clone() }
                    }
                    _ => Error::io("move into place", &to, e),
                })?;
            moved.push((from, to, replaced));
        }
        Ok(())
    };
    let outcome = run();
    if outcome.is_err() {
        for (from, to, replaced) in moved.into_iter().rev() {
            if std::fs::rename(&to, &from).is_ok()
                && let Some(mode) = replaced
            {
                let _ = fs::create_dir(&to, mode);
            }
        }
    } else {
        for dir in std::iter::once(base.to_path_buf())
            .chain(["members", "clients"].iter().map(|g| base.join(g)))
        {
            if let Ok(d) = std::fs::File::open(&dir) {
                // Make the new directory entries durable.
                let _ = d.sync_all();
            }
        }
    }
    outcome
}

/// The permission bits of `m`.
pub(super) fn mode_of(m: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        fs::PRIVATE_DIR
    }
}
