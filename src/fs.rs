//! Writing key and certificate files safely.
//!
//! A set of files (a key and its certificate, or request) is written as a unit:
//! 1. every file is first written completely to a hidden temporary file in the target
//!    directory (created exclusively, mode 0600 for keys and 0644 for certificates, then
//!    `fsync`ed);
//! 2. then each is published under its final name: by `link(2)` when overwriting is not allowed,
//!    which fails if the name exists, even when another process creates it at the same moment;
//!    when it is allowed, every file about to be replaced first gets a hidden second name (a
//!    hard link), and each new file is then renamed over its target;
//! 3. if publishing any file fails, the files this call already published are undone: the
//!    previous file is renamed back from its hidden name, or the new one removed where there was
//!    none; so after any failure the directory holds the whole old set (which may be none) or
//!    the whole new set, never a key with another certificate or no key; temporary and hidden
//!    files are always removed.
//!
//! Writers of one directory hold an advisory lock on it (`flock(2)`) while they publish, so
//! overlapping writers of the same set take turns and the set on disk always matches.

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
#[cfg(feature = "plan")]
/// Mode of scripts.
pub(crate) const EXECUTABLE: u32 = 0o755;

#[cfg(feature = "plan")]
/// Mode of directories that hold private keys.
pub(crate) const PRIVATE_DIR: u32 = 0o700;
#[cfg(feature = "plan")]
/// Mode of other directories.
pub(crate) const PUBLIC_DIR: u32 = 0o755;

#[cfg(feature = "plan")]
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

/// An exclusive advisory lock (`flock(2)`) on the directory `dir`, held until the returned file
/// is dropped: writers of the same directory wait for each other. Only cooperating writers (this
/// crate) are held back; the publishing rules above are what protects against others. (Unix
/// only: elsewhere a directory cannot be opened as a file, and no lock is taken.)
pub(crate) fn lock_dir(dir: &Path) -> Result<Option<File>, Error> {
    #[cfg(unix)]
    {
        let handle = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
        handle.lock().map_err(|e| Error::io("lock", dir, e))?;
        Ok(Some(handle))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(None)
    }
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
    write_set_with(dir, files, overwrite, &mut || Ok(()))
}

/// [`write_set`], calling `step` before each change of a file name while publishing: a test
/// makes it fail to check that every failure leaves a whole set.
fn write_set_with(
    dir: &Path,
    files: &[OutFile<'_>],
    overwrite: bool,
    step: &mut dyn FnMut() -> std::io::Result<()>,
) -> Result<(), Error> {
    check_dir(dir)?;
    // Writers of one directory take turns, so that two overlapping replacements of a pair
    // cannot leave one's key with the other's certificate: the second waits, then replaces the
    // whole pair (or, without overwriting, is refused).
    let _lock = lock_dir(dir)?;
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
        .and_then(|()| publish(dir, files, &staged, &targets, overwrite, step));
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

/// A hidden, unused-looking name in `dir` for a temporary copy of `name`.
fn hidden(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let suffix: u64 = rand::rng().random();
    dir.join(format!(".{name}.{suffix:016x}.{kind}"))
}

fn stage_all(
    dir: &Path,
    files: &[OutFile<'_>],
    targets: &[PathBuf],
    staged: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    for (file, target) in files.iter().zip(targets) {
        let tmp = hidden(dir, file.name, "tmp");
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

/// Publishes the staged files under their final names.
///
/// Without overwriting, each by `link(2)`, which never replaces a file. With overwriting, each
/// existing target first gets a second, hidden name (a hard link: no copy, nothing to run out
/// of), then each staged file is renamed over its target. On any failure the files published so
/// far are put back: the old file renamed back from its hidden name, or the new one removed where
/// there was none. So the directory ends with the whole old set or the whole new set. Should even
/// putting back fail, the old file stays under its hidden name (`.<name>.<random>.bak`).
fn publish(
    dir: &Path,
    files: &[OutFile<'_>],
    staged: &[PathBuf],
    targets: &[PathBuf],
    overwrite: bool,
    step: &mut dyn FnMut() -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut backups: Vec<Option<PathBuf>> = vec![None; targets.len()];
    let mut published = 0;
    let mut run = || -> Result<(), Error> {
        if overwrite {
            for ((file, target), backup) in files.iter().zip(targets).zip(&mut backups) {
                match target.symlink_metadata() {
                    Ok(_) => {
                        let keep = hidden(dir, file.name, "bak");
                        step()
                            .and_then(|()| fs::hard_link(target, &keep))
                            .map_err(|e| Error::io("keep the previous version of", target, e))?;
                        *backup = Some(keep);
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("access", target, e)),
                }
            }
        }
        for (tmp, target) in staged.iter().zip(targets) {
            step()
                .and_then(|()| {
                    if overwrite {
                        fs::rename(tmp, target)
                    } else {
                        fs::hard_link(tmp, target)
                    }
                })
                .map_err(|e| {
                    if e.kind() == ErrorKind::AlreadyExists {
                        Error::AlreadyExists {
                            path: target.clone(),
                        }
                    } else {
                        Error::io("write", target, e)
                    }
                })?;
            published += 1;
        }
        Ok(())
    };
    let outcome = run();
    if outcome.is_err() {
        for (target, backup) in targets.iter().zip(&mut backups).take(published) {
            match backup.take() {
                Some(keep) => {
                    if fs::rename(&keep, target).is_err() {
                        // Keep the old file under its hidden name rather than lose it.
                        continue;
                    }
                }
                None => {
                    let _ = fs::remove_file(target);
                }
            }
        }
    }
    for keep in backups.into_iter().flatten() {
        let _ = fs::remove_file(keep);
    }
    outcome
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
        let e = publish(&dir, &files, &staged, &targets, false, &mut || Ok(())).unwrap_err();
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
    fn a_failed_overwrite_keeps_the_old_pair() {
        // The certificate cannot be replaced (here: a directory stands in its place).
        let dir = tempdir();
        fs::write(dir.join("a.key"), b"old key").unwrap();
        fs::create_dir(dir.join("a.cert")).unwrap();
        fs::write(dir.join("a.cert/x"), b"").unwrap();
        write_set(&dir, &pair(), true).unwrap_err();
        assert_eq!(fs::read(dir.join("a.key")).unwrap(), b"old key");
        assert_eq!(entries(&dir), ["a.cert", "a.key"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failure_at_any_step_of_an_overwrite_leaves_one_whole_pair() {
        // Fail the n-th filesystem step of publishing, for every n until none fails: each time
        // the directory holds exactly the old pair or exactly the new one, and nothing else.
        for old_files in [&["a.key", "a.cert"][..], &["a.key"], &["a.cert"], &[]] {
            let mut n = 0;
            loop {
                let dir = tempdir();
                for f in old_files {
                    fs::write(dir.join(f), b"old").unwrap();
                }
                let mut step = 0;
                let result = write_set_with(&dir, &pair(), true, &mut || {
                    step += 1;
                    if step == n {
                        Err(std::io::Error::other("injected"))
                    } else {
                        Ok(())
                    }
                });
                let mut old: Vec<String> = old_files.iter().map(|f| (*f).to_owned()).collect();
                old.sort();
                match &result {
                    Ok(()) => {
                        assert_eq!(entries(&dir), ["a.cert", "a.key"]);
                        assert_eq!(fs::read(dir.join("a.key")).unwrap(), b"secret");
                        assert_eq!(fs::read(dir.join("a.cert")).unwrap(), b"public");
                    }
                    Err(e) => {
                        let cause = std::error::Error::source(e).map(ToString::to_string);
                        assert_eq!(cause.as_deref(), Some("injected"), "{e}");
                        assert_eq!(entries(&dir), old, "{old_files:?}, step {n}");
                        for f in old_files {
                            assert_eq!(fs::read(dir.join(f)).unwrap(), b"old", "{f}, step {n}");
                        }
                    }
                }
                fs::remove_dir_all(dir).unwrap();
                if result.is_ok() && n > step {
                    break;
                }
                n += 1;
            }
        }
    }

    #[test]
    fn overlapping_overwrites_never_mix_two_pairs() {
        // Writers replace the pair over and over; a reader that takes the same lock must always
        // find a key with its own certificate, and so must everyone once the writers are done.
        let dir = tempdir();
        let read = |dir: &Path| {
            let key = fs::read_to_string(dir.join("a.key")).unwrap();
            let cert = fs::read_to_string(dir.join("a.cert")).unwrap();
            (key, cert)
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let mismatches = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..6)
                .map(|t| {
                    let dir = &dir;
                    scope.spawn(move || {
                        for i in 0..25 {
                            let tag = format!("{t}-{i}");
                            let (k, c) = (format!("key {tag}"), format!("cert {tag}"));
                            let files = [
                                OutFile {
                                    name: "a.key",
                                    contents: k.as_bytes(),
                                    mode: SECRET,
                                },
                                OutFile {
                                    name: "a.cert",
                                    contents: c.as_bytes(),
                                    mode: PUBLIC,
                                },
                            ];
                            write_set(dir, &files, true)?;
                        }
                        Ok::<(), Error>(())
                    })
                })
                .collect();
            let reader = scope.spawn(|| {
                let mut mismatches = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _lock = lock_dir(&dir).unwrap();
                    if dir.join("a.cert").exists() {
                        let (key, cert) = read(&dir);
                        if key.strip_prefix("key ") != cert.strip_prefix("cert ") {
                            mismatches += 1;
                        }
                    }
                }
                mismatches
            });
            let results: Vec<_> = writers
                .into_iter()
                .map(std::thread::ScopedJoinHandle::join)
                .collect();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            for r in results {
                r.unwrap().unwrap();
            }
            reader.join().unwrap()
        });
        assert_eq!(
            mismatches, 0,
            "a locked reader saw a key with another writer's certificate"
        );
        let (key, cert) = read(&dir);
        assert_eq!(key.strip_prefix("key "), cert.strip_prefix("cert "));
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
