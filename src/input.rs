//! Reading input files: every file the crate reads (certificates, keys, requests, plans,
//! passphrase files) goes through [`read_bounded`], which stops at [`MAX_INPUT`] bytes whatever
//! the file is (`/dev/zero`, a FIFO, a huge file), and [`pem_text`], which tells DER and other
//! binary data from PEM text and says how to convert it.

use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::Error;

/// The largest input file read: 1 MiB. An RSA-8192 key in PEM is under 7 KiB, a plan for a
/// hundred members a few KiB; anything larger is the wrong file.
pub(crate) const MAX_INPUT: u64 = 1024 * 1024;

/// Reads at most [`MAX_INPUT`] bytes of `path`; a longer input is refused with
/// [`Error::InputTooLarge`] after reading one byte past the limit (never the whole stream).
/// The bytes are zeroized on drop: the file may be a private key or a passphrase.
pub(crate) fn read_bounded(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    read_bounded_with(path, MAX_INPUT)
}

fn read_bounded_with(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::InputTooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// What kind of PEM file is being read, for the conversion hint given for DER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A certificate (`CERTIFICATE`).
    Certificate,
    /// A private key (PKCS#1, PKCS#8, SEC1, encrypted PKCS#8).
    Key,
    /// A certificate signing request.
    Request,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Self::Certificate => "CERTIFICATE",
            Self::Key => "RSA PRIVATE KEY' or 'PRIVATE KEY",
            Self::Request => "CERTIFICATE REQUEST",
        }
    }

    fn convert(self, path: &Path) -> String {
        let p = path.display();
        match self {
            Self::Certificate => format!("openssl x509 -inform der -in {p} -out {p}.pem"),
            Self::Key => format!("openssl pkey -inform der -in {p} -out {p}.pem"),
            Self::Request => format!("openssl req -inform der -in {p} -out {p}.pem"),
        }
    }
}

/// The text of the PEM file at `path` (read with [`read_bounded`], checked with [`pem_text`]).
pub(crate) fn read_pem_file(path: &Path, kind: Kind) -> Result<Zeroizing<String>, Error> {
    pem_text(&read_bounded(path)?, kind, path)
}

/// The text of a PEM file read from `path`, or [`Error::InvalidPem`] saying that it is DER (with
/// the `openssl` command that converts it) or other binary data.
pub(crate) fn pem_text(bytes: &[u8], kind: Kind, path: &Path) -> Result<Zeroizing<String>, Error> {
    let binary = |found: String| Error::InvalidPem {
        path: Some(path.to_path_buf()),
        expected: kind.expected(),
        found,
    };
    let text = std::str::from_utf8(bytes);
    if looks_like_der(bytes, text.is_ok()) {
        return Err(binary(format!(
            "found DER (binary ASN.1), not PEM text: convert it with `{}`",
            kind.convert(path)
        )));
    }
    match text {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(binary(
            "found binary data that is neither PEM text nor DER; is this the right file?".into(),
        )),
    }
}

/// Whether `bytes` are (probably) DER: a SEQUENCE (0x30), and either not text at all or a
/// complete DER SEQUENCE spanning the whole input (so that a text file that happens to start
/// with the digit `0` is not taken for DER).
fn looks_like_der(bytes: &[u8], is_utf8: bool) -> bool {
    use der::{Decode, Reader};
    if bytes.first() != Some(&0x30) {
        return false;
    }
    if !is_utf8 {
        return true;
    }
    let Ok(mut reader) = der::SliceReader::new(bytes) else {
        return false;
    };
    let Ok(header) = der::Header::decode(&mut reader) else {
        return false;
    };
    let header_len = reader.position();
    (header_len + header.length()).is_ok_and(|total| usize::try_from(total) == Ok(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_stream_stops_at_the_cap() {
        let start = std::time::Instant::now();
        let e = read_bounded(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, Error::InputTooLarge { .. }), "{e}");
        assert!(e.to_string().contains("/dev/zero"), "{e}");
        assert!(e.to_string().contains("1 MiB"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn the_cap_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'a'; 100]).unwrap();
        assert_eq!(read_bounded_with(&p, 100).unwrap().len(), 100);
        assert!(matches!(
            read_bounded_with(&p, 99),
            Err(Error::InputTooLarge { limit: 99, .. })
        ));
        let big = usize::try_from(MAX_INPUT).unwrap() + 1;
        std::fs::write(&p, vec![b'a'; big]).unwrap();
        assert!(matches!(read_bounded(&p), Err(Error::InputTooLarge { .. })));
    }

    #[test]
    fn der_is_told_from_text() {
        let p = Path::new("x.der");
        // A complete DER SEQUENCE, even if its bytes happen to be valid UTF-8.
        let e = pem_text(&[0x30, 0x03, 0x02, 0x01, 0x00], Kind::Request, p).unwrap_err();
        assert!(
            e.to_string()
                .contains("openssl req -inform der -in x.der -out x.der.pem"),
            "{e}"
        );
        let e = pem_text(&[0x30, 0x82, 0xff, 0xfe, 0x00], Kind::Key, p).unwrap_err();
        assert!(e.to_string().contains("openssl pkey -inform der"), "{e}");
        let e = pem_text(&[0xff, 0xfe], Kind::Certificate, p).unwrap_err();
        assert!(e.to_string().contains("neither PEM text nor DER"), "{e}");
        // Text starting with the digit 0 is text.
        assert_eq!(
            &*pem_text(b"0 certificates\n", Kind::Certificate, p).unwrap(),
            "0 certificates\n"
        );
    }
}
