//! Passphrases for encrypted CA keys: from an environment variable or a file, never from a
//! command-line argument (which other users can read in the process list).

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::Error;

/// A passphrase for an encrypted private key. Zeroized on drop; `Debug` does not show it.
///
/// ```
/// use etcd_pki::Passphrase;
///
/// // SAFETY of the example: a test-only variable.
/// let pass = Passphrase::new("correct horse battery staple")?;
/// assert_eq!(format!("{pass:?}"), "Passphrase(..)");
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Clone)]
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl Passphrase {
    /// A passphrase from bytes (it must not be empty).
    ///
    /// # Errors
    /// [`Error::InvalidPassphrase`] if it is empty.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.is_empty() {
            return Err(Error::InvalidPassphrase {
                source_name: "the given value".into(),
                reason: "it is empty",
            });
        }
        Ok(Self(bytes))
    }

    /// The passphrase in environment variable `name`.
    ///
    /// # Errors
    /// [`Error::InvalidPassphrase`] if the variable is not set or empty.
    pub fn from_env(name: &str) -> Result<Self, Error> {
        let fail = |reason| Error::InvalidPassphrase {
            source_name: format!("environment variable {name}"),
            reason,
        };
        let value = std::env::var_os(name).ok_or_else(|| fail("it is not set"))?;
        let value = Zeroizing::new(value.into_encoded_bytes());
        if value.is_empty() {
            return Err(fail("it is empty"));
        }
        Ok(Self(value))
    }

    /// The passphrase in the first line of file `path` (a trailing `\n` or `\r\n` is not part
    /// of it, as `openssl -passin file:` reads it).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::InputTooLarge`] if it is larger than
    /// 1 MiB; [`Error::InvalidPassphrase`] if its first line is empty.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let content = crate::input::read_bounded(path)?;
        let line = content.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Err(Error::InvalidPassphrase {
                source_name: format!("file {}", path.display()),
                reason: "its first line is empty",
            });
        }
        Ok(Self(Zeroizing::new(line.to_vec())))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_first_line_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pass");
        std::fs::write(&p, b"s3cret\r\nsecond line\n").unwrap();
        assert_eq!(Passphrase::from_file(&p).unwrap().as_bytes(), b"s3cret");
        std::fs::write(&p, b"\n").unwrap();
        assert!(matches!(
            Passphrase::from_file(&p),
            Err(Error::InvalidPassphrase { .. })
        ));
    }

    #[test]
    fn env_and_empty() {
        let e = Passphrase::from_env("ETCD_PKI_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(e.to_string().contains("not set"), "{e}");
        assert!(Passphrase::new("").is_err());
        assert_eq!(
            format!("{:?}", Passphrase::new("x").unwrap()),
            "Passphrase(..)"
        );
    }
}
