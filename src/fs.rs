//! Writing key and certificate files safely.
//!
//! A set of files (a key and its certificate) is written as a unit:
//! 1. every file is first written completely to a hidden temporary file in the target
//!    directory (created exclusively, mode 0600 for keys and 0644 for certificates, then
//!    `fsync`ed);
//! 2. then each is published under its final name: by `link(2)` when overwriting is not allowed,
//!    which fails if the name exists, even when another process creates it at the same moment;
//!    by `rename(2)` when it is;
//! 3. if publishing any file fails, the files this call already published are removed again, so
//!    after any failure either all new files exist complete or none does; temporary files are
//!    always removed.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use rand::RngExt;

use crate::error::Error;

/// One file to write.
pub(crate) struct OutFile<'a> {
    pub(crate) name: &'a str,
    pub(crate) contents: &'a [u8],
    /// The file mode: [`SECRET`] for private keys, [`PUBLIC`] or [`EXECUTABLE`] otherwise.
    pub(crate) mode: u32,
}

/// Mode of private key files.
pub(crate) const SECRET: u32 = 0o600;
/// Mode of certificates and other public files.
pub(crate) const PUBLIC: u32 = 0o644;
/// Mode of scripts.
pub(crate) const EXECUTABLE: u32 = 0o755;

/// Mode of directories that hold private keys.
pub(crate) const PRIVATE_DIR: u32 = 0o700;
/// Mode of other directories.
pub(crate) const PUBLIC_DIR: u32 = 0o755;

/// Creates the directory `path` (its parent must exist) with exactly `mode`, whatever the
/// umask: `mkdir(2)` masks the mode with the umask, which only ever removes permissions, and an
/// explicit `chmod` afterwards sets it exactly. Fails if `path` exists.
pub(crate) fn create_dir(path: &Path, mode: u32) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(mode);
    }
    builder
        .create(path)
        .map_err(|e| Error::io("create", path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("set permissions of", path, e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(())
}

/// Checks that `dir` exists and is a directory.
pub(crate) fn check_dir(dir: &Path) -> Result<(), Error> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::NotADirectory {
            path: dir.to_path_buf(),
            reason: "it is a file; give a directory",
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::NotADirectory {
            path: dir.to_path_buf(),
            reason: "it does not exist; create it first",
        }),
        Err(e) => Err(Error::io("access", dir, e)),
    }
}

/// Writes `files` into `dir` as a unit (see the module docs).
pub(crate) fn write_set(dir: &Path, files: &[OutFile<'_>], overwrite: bool) -> Result<(), Error> {
    check_dir(dir)?;
    let targets: Vec<PathBuf> = files.iter().map(|f| dir.join(f.name)).collect();
    if !overwrite {
        // Early, friendly refusal; publishing below is what really guarantees no clobbering.
        if let Some(existing) = targets.iter().find(|p| p.symlink_metadata().is_ok()) {
            return Err(Error::AlreadyExists {
                path: existing.clone(),
            });
        }
    }
    let mut staged: Vec<PathBuf> = Vec::with_capacity(files.len());
    let result = stage_all(dir, files, &targets, &mut staged)
        .and_then(|()| publish(&staged, &targets, overwrite));
    for tmp in &staged {
        // After a rename the temporary name is gone already; after a link it is a second name.
        let _ = fs::remove_file(tmp);
    }
    result?;
    if let Ok(d) = File::open(dir) {
        // Make the new directory entries durable; failure here loses nothing already written.
        let _ = d.sync_all();
    }
    Ok(())
}

fn stage_all(
    dir: &Path,
    files: &[OutFile<'_>],
    targets: &[PathBuf],
    staged: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    for (file, target) in files.iter().zip(targets) {
        let suffix: u64 = rand::rng().random();
        let tmp = dir.join(format!(".{}.{suffix:016x}.tmp", file.name));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(file.mode);
        }
        let mut out = options
            .open(&tmp)
            .map_err(|e| Error::io("create a file in", dir, e))?;
        staged.push(tmp);
        #[cfg(unix)]
        {
            // The mode given to open() is masked by the umask; set it exactly.
            use std::os::unix::fs::PermissionsExt;
            out.set_permissions(fs::Permissions::from_mode(file.mode))
                .map_err(|e| Error::io("set permissions of", target, e))?;
        }
        out.write_all(file.contents)
            .and_then(|()| out.sync_all())
            .map_err(|e| Error::io("write", target, e))?;
    }
    Ok(())
}

fn publish(staged: &[PathBuf], targets: &[PathBuf], overwrite: bool) -> Result<(), Error> {
    let mut published: Vec<&Path> = Vec::with_capacity(targets.len());
    for (tmp, target) in staged.iter().zip(targets) {
        let outcome = if overwrite {
            fs::rename(tmp, target)
        } else {
            fs::hard_link(tmp, target)
        };
        if let Err(e) = outcome {
            for done in published {
                let _ = fs::remove_file(done);
            }
            return Err(if e.kind() == ErrorKind::AlreadyExists {
                Error::AlreadyExists {
                    path: target.clone(),
                }
            } else {
                Error::io("write", target, e)
            });
        }
        published.push(target);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "etcd-pki-fs-{}-{:x}",
            std::process::id(),
            rand::rng().random::<u64>()
        ));
        fs::create_dir(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn pair<'a>() -> [OutFile<'a>; 2] {
        [
            OutFile {
                name: "a.key",
                contents: b"secret",
                mode: SECRET,
            },
            OutFile {
                name: "a.cert",
                contents: b"public",
                mode: PUBLIC,
            },
        ]
    }

    #[test]
    #[cfg(unix)]
    fn modes_and_contents() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempdir();
        write_set(&dir, &pair(), false).unwrap();
        assert_eq!(entries(&dir), ["a.cert", "a.key"]);
        let mode = |n| fs::metadata(dir.join(n)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("a.key"), 0o600);
        assert_eq!(mode("a.cert"), 0o644);
        assert_eq!(fs::read(dir.join("a.key")).unwrap(), b"secret");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn existing_file_is_kept_and_nothing_else_written() {
        let dir = tempdir();
        fs::write(dir.join("a.cert"), b"old").unwrap();
        let e = write_set(&dir, &pair(), false).unwrap_err();
        assert!(matches!(&e, Error::AlreadyExists { path } if path.ends_with("a.cert")));
        assert_eq!(entries(&dir), ["a.cert"]);
        assert_eq!(fs::read(dir.join("a.cert")).unwrap(), b"old");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_race_on_the_second_file_rolls_back_the_first() {
        let dir = tempdir();
        let files = pair();
        let targets: Vec<PathBuf> = files.iter().map(|f| dir.join(f.name)).collect();
        let mut staged = Vec::new();
        stage_all(&dir, &files, &targets, &mut staged).unwrap();
        // Another process creates the certificate between our check and our publish.
        fs::write(&targets[1], b"theirs").unwrap();
        let e = publish(&staged, &targets, false).unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }));
        assert!(!targets[0].exists(), "our key was rolled back");
        assert_eq!(fs::read(&targets[1]).unwrap(), b"theirs");
        for t in staged {
            fs::remove_file(t).unwrap();
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn overwrite_replaces_and_fixes_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempdir();
        fs::write(dir.join("a.key"), b"old").unwrap();
        fs::set_permissions(dir.join("a.key"), fs::Permissions::from_mode(0o644)).unwrap();
        write_set(&dir, &pair(), true).unwrap();
        assert_eq!(fs::read(dir.join("a.key")).unwrap(), b"secret");
        let mode = fs::metadata(dir.join("a.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(entries(&dir), ["a.cert", "a.key"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_directory_and_file_as_directory() {
        let dir = tempdir();
        let e = write_set(&dir.join("nope"), &pair(), false).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        fs::write(dir.join("f"), b"").unwrap();
        let e = write_set(&dir.join("f"), &pair(), false).unwrap_err();
        assert!(e.to_string().contains("is a file"), "{e}");
        fs::remove_dir_all(dir).unwrap();
    }
}
