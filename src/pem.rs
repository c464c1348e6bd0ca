//! Locating and decoding PEM blocks in files written by other tools, and encoding our own.
//!
//! The decoding itself is `pem-rfc7468`'s; this module only finds the block(s) in a text that
//! may carry explanatory text around them (RFC 7468 §2 allows it, openssl writes it) and turns
//! failures into [`Error::InvalidPem`] with words an operator understands.
//!
//! `rustls-pki-types` has a lenient PEM reader too, but it is not used here: it silently skips
//! blocks whose label it does not know (`ENCRYPTED PRIVATE KEY`, `TRUSTED CERTIFICATE`,
//! `NEW CERTIFICATE REQUEST`, `EC PARAMETERS`, …), where our errors name what was found, and
//! it is an optional dependency (feature `rustls`) while reading PEM is not optional.

use zeroize::Zeroizing;

use crate::error::Error;

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";

/// One decoded PEM block.
pub(crate) struct Block {
    pub(crate) label: String,
    /// The DER contents; zeroized on drop since it may be a private key.
    pub(crate) der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Block({}, {} bytes)", self.label, self.der.len())
    }
}

/// The text of each PEM block in `text`, from its BEGIN line through its END line.
fn blocks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let from_begin = &rest[start..];
        // The END line's own "-----" comes after the label; take through the end of that line.
        let Some(end_at) = from_begin.find(END) else {
            out.push(from_begin);
            break;
        };
        let after_end = &from_begin[end_at..];
        let line_len = after_end.find('\n').map_or(after_end.len(), |i| i + 1);
        let block_len = end_at + line_len;
        out.push(&from_begin[..block_len]);
        rest = &from_begin[block_len..];
    }
    out
}

/// Number of PEM blocks labelled `label` in `text`.
pub(crate) fn count(text: &str, label: &str) -> usize {
    blocks(text)
        .into_iter()
        .filter(|b| pem_rfc7468::decode_label(normalise(b).as_bytes()).is_ok_and(|l| l == label))
        .count()
}

/// The base64 line length of RFC 7468 §2 strict output, which `pem-rfc7468` decodes.
const LINE: usize = 64;

/// `block` (BEGIN line through END line) in the strict form of RFC 7468 §3: each line without
/// surrounding white space (so CRLF and trailing blanks go), the base64 re-wrapped at 64
/// columns (so lines of 76 columns, as `base64` and MIME tools write, or no wrapping at all,
/// are read as openssl reads them). Zeroized: it may be a private key.
fn normalise(block: &str) -> Zeroizing<String> {
    let mut lines = block
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let begin = lines.next().unwrap_or_default();
    let mut body = Zeroizing::new(String::with_capacity(block.len()));
    let mut end = "";
    for line in lines {
        if line.starts_with(END) {
            end = line;
            break;
        }
        body.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
    }
    let mut out = Zeroizing::new(String::with_capacity(block.len() + block.len() / LINE + 8));
    out.push_str(begin);
    out.push('\n');
    for chunk in body.as_bytes().chunks(LINE) {
        // The body is ASCII-filtered only by whitespace; a non-ASCII byte makes the chunk
        // boundary fall inside a character, which is damage either way.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(end);
    out.push('\n');
    out
}

/// Decodes the first PEM block of `text`. `labels` are the labels the caller can handle at all;
/// any other label is reported as [`Error::InvalidPem`] naming what was found.
///
/// Lenient in what it accepts, as RFC 7468 §2 asks and as openssl reads: explanatory text
/// before and after the block, CRLF line endings, white space around lines, and base64 wrapped
/// at any width or not at all. The decoding itself (labels, base64, constant-time for keys) is
/// `pem-rfc7468`'s, on the block re-wrapped to its strict form.
pub(crate) fn decode_first(text: &str, labels: &[&'static str]) -> Result<Block, Error> {
    let expected = labels.first().copied().unwrap_or("");
    let all = blocks(text);
    if all.is_empty() {
        return Err(Error::InvalidPem {
            path: None,
            expected,
            found: describe_non_pem(text),
        });
    }
    // The first block of a wanted kind; other blocks (`EC PARAMETERS` before an openssl EC
    // key, the certificate beside a key in a combined file) are skipped, as openssl does.
    let mut first_label = None;
    let mut wanted = None;
    for block in all {
        let block = normalise(block);
        match pem_rfc7468::decode_label(block.as_bytes()) {
            Ok(label) if labels.contains(&label) => {
                wanted = Some(block);
                break;
            }
            Ok(label) => {
                let known = HINTED.contains(&label);
                if first_label.as_ref().is_none_or(|(_, k)| known && !k) {
                    first_label = Some((label.to_owned(), known));
                }
            }
            Err(e) if first_label.is_none() => {
                return Err(Error::InvalidPem {
                    path: None,
                    expected,
                    found: format!("found a damaged PEM header ({e})"),
                });
            }
            Err(_) => {}
        }
    }
    let Some(block) = wanted else {
        let (label, _) = first_label.unwrap_or_default();
        return Err(wrong_label(expected, &label));
    };
    let (label, der) = pem_rfc7468::decode_vec(block.as_bytes()).map_err(|e| {
        let label = pem_rfc7468::decode_label(block.as_bytes()).unwrap_or_default();
        Error::InvalidPem {
            path: None,
            expected,
            found: format!(
                "found a damaged '{label}' block ({e}); the file may be truncated or edited"
            ),
        }
    })?;
    Ok(Block {
        label: label.to_owned(),
        der: Zeroizing::new(der),
    })
}

/// Decodes every PEM block of `text`, each of which must be labelled `label` (a bundle of
/// certificates): with the leniency of [`decode_first`], but a block of another kind is an
/// error naming it and its place, not skipped.
pub(crate) fn decode_all(text: &str, label: &'static str) -> Result<Vec<Block>, Error> {
    let all = blocks(text);
    if all.is_empty() {
        return Err(Error::InvalidPem {
            path: None,
            expected: label,
            found: describe_non_pem(text),
        });
    }
    let n = all.len();
    let invalid = |found: String| Error::InvalidPem {
        path: None,
        expected: label,
        found,
    };
    let mut out = Vec::with_capacity(n);
    for (i, block) in all.into_iter().enumerate() {
        let place = format!("block {} of {n}", i + 1);
        let block = normalise(block);
        match pem_rfc7468::decode_label(block.as_bytes()) {
            Ok(found) if found == label => {}
            Ok(found) => {
                let what = if found.ends_with("PRIVATE KEY") {
                    " (a private key: keep it out of the bundle)"
                } else {
                    ""
                };
                return Err(invalid(format!(
                    "found '{found}' as {place}{what}; a bundle holds only '{label}' blocks"
                )));
            }
            Err(e) => {
                return Err(invalid(format!(
                    "found a damaged PEM header ({e}) in {place}"
                )));
            }
        }
        let (_, der) = pem_rfc7468::decode_vec(block.as_bytes()).map_err(|e| {
            invalid(format!(
                "found a damaged '{label}' block ({e}) as {place}; the file may be truncated or edited"
            ))
        })?;
        out.push(Block {
            label: label.to_owned(),
            der: Zeroizing::new(der),
        });
    }
    Ok(out)
}

/// `der` as a PEM block labelled `label`, base64 wrapped at 64 columns, LF line endings.
pub(crate) fn encode(label: &str, der: &[u8]) -> Result<String, pem_rfc7468::Error> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
}

/// The labels [`wrong_label`] has a hint for: named in preference to others when no block of
/// the wanted kind is found.
const HINTED: &[&str] = &[
    "CERTIFICATE",
    "RSA PRIVATE KEY",
    "PRIVATE KEY",
    "EC PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "CERTIFICATE REQUEST",
];

/// The error for a PEM block with an unexpected label.
pub(crate) fn wrong_label(expected: &'static str, found: &str) -> Error {
    Error::InvalidPem {
        path: None,
        expected,
        found: format!("found '{found}'{}", hint(found)),
    }
}

/// What a block labelled `found` is, in words, for a file where it was not expected.
fn hint(found: &str) -> &'static str {
    match found {
        "CERTIFICATE" => " (a certificate: were the key and certificate arguments swapped?)",
        "RSA PRIVATE KEY" | "PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
            " (a private key: were the key and certificate arguments swapped?)"
        }
        "CERTIFICATE REQUEST" => " (a certificate signing request, not a certificate)",
        _ => "",
    }
}

fn describe_non_pem(text: &str) -> String {
    if text.trim().is_empty() {
        "found an empty file".into()
    } else {
        "found no PEM block (no BEGIN line); is this the right file?".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n";

    #[test]
    fn text_around_blocks_is_skipped() {
        let text = format!("subject=/CN=x\n{CERT}trailing words\n");
        let block = decode_first(&text, &["CERTIFICATE"]).unwrap();
        assert_eq!(block.label, "CERTIFICATE");
        assert_eq!(&block.der[..], &[1, 2, 3]);
    }

    #[test]
    fn blocks_are_counted() {
        assert_eq!(count("", "CERTIFICATE"), 0);
        assert_eq!(count(CERT, "CERTIFICATE"), 1);
        assert_eq!(count(&format!("{CERT}{CERT}"), "CERTIFICATE"), 2);
        assert_eq!(count(CERT, "PRIVATE KEY"), 0);
    }

    #[test]
    fn empty_and_non_pem_inputs_are_described() {
        let e = decode_first("", &["CERTIFICATE"]).unwrap_err();
        assert!(e.to_string().contains("empty file"), "{e}");
        let e = decode_first("hello", &["CERTIFICATE"]).unwrap_err();
        assert!(e.to_string().contains("no PEM block"), "{e}");
    }

    #[test]
    fn truncated_base64_is_reported() {
        let e = decode_first(
            "-----BEGIN CERTIFICATE-----\nAQ\n-----END CERTIFICATE-----\n",
            &["CERTIFICATE"],
        )
        .unwrap_err();
        assert!(matches!(e, Error::InvalidPem { .. }), "{e}");
        let e = decode_first("-----BEGIN CERTIFICATE-----\nAQID\n", &["CERTIFICATE"]).unwrap_err();
        assert!(matches!(e, Error::InvalidPem { .. }), "{e}");
    }
}
