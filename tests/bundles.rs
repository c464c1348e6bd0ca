//! Reading PEM bundles of several certificates (`Certificate::bundle_from_pem`,
//! `Certificate::load_bundle`): as lenient as the single-certificate reader about layout,
//! strict about what the blocks are, bounded in size.

mod common;

use etcd_pki::{Certificate, Error, KeyFormat};

/// The PEM texts of the shared set's CA, node and client certificates.
fn three() -> (Vec<Certificate>, Vec<String>) {
    let set = common::set();
    let certs = vec![
        set.ca.certificate().clone(),
        set.node.certificate().clone(),
        set.client.certificate().clone(),
    ];
    let pems = certs.iter().map(|c| c.to_pem().unwrap()).collect();
    (certs, pems)
}

/// `pem` with its base64 re-wrapped at `width` columns (0: not wrapped at all).
fn rewrap(pem: &str, width: usize) -> String {
    let lines: Vec<&str> = pem.lines().collect();
    let body: String = lines[1..lines.len() - 1].concat();
    let mut out = format!("{}\n", lines[0]);
    if width == 0 {
        out.push_str(&body);
        out.push('\n');
    } else {
        for chunk in body.as_bytes().chunks(width) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
    }
    out.push_str(lines[lines.len() - 1]);
    out.push('\n');
    out
}

#[test]
fn several_certificates_are_read_in_order() {
    let (certs, pems) = three();
    assert_eq!(Certificate::bundle_from_pem(&pems.concat()).unwrap(), certs);
    // One certificate is a bundle too.
    assert_eq!(
        Certificate::bundle_from_pem(&pems[1]).unwrap(),
        certs[1..2].to_vec()
    );
}

#[test]
fn layout_is_read_leniently() {
    let (certs, pems) = three();
    // Text around and between the blocks, as `openssl x509 -text` or a CA bundle writes it.
    let annotated = format!(
        "# root\nsubject=CN = etcd\n{}\n\n# node\n  {}trailing words\n{}",
        pems[0], pems[1], pems[2]
    );
    assert_eq!(Certificate::bundle_from_pem(&annotated).unwrap(), certs);
    // CRLF line endings.
    let crlf = pems.concat().replace('\n', "\r\n");
    assert_eq!(Certificate::bundle_from_pem(&crlf).unwrap(), certs);
    // Base64 at 76 columns (MIME) and not wrapped at all, mixed in one bundle.
    let mixed = format!("{}{}{}", rewrap(&pems[0], 76), rewrap(&pems[1], 0), pems[2]);
    assert_eq!(Certificate::bundle_from_pem(&mixed).unwrap(), certs);
}

#[test]
fn a_key_or_other_block_in_a_bundle_is_an_error_naming_it() {
    let (_, pems) = three();
    let key = common::set()
        .node
        .private_key()
        .to_pem(KeyFormat::Traditional)
        .unwrap();
    let text = format!("{}{}{}", pems[0], *key, pems[1]);
    let e = Certificate::bundle_from_pem(&text).unwrap_err();
    assert!(matches!(e, Error::InvalidPem { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("'RSA PRIVATE KEY'"), "{msg}");
    assert!(msg.contains("block 2 of 3"), "{msg}");
    assert!(msg.contains("private key"), "{msg}");
    // The private key's base64 is not in the message.
    let key_line = key.lines().nth(1).unwrap();
    assert!(!msg.contains(key_line), "{msg}");
    // A label nobody knows is named too (not skipped, as rustls-pki-types' reader does).
    let text = format!(
        "{}-----BEGIN TRUSTED CERTIFICATE-----\nAQID\n-----END TRUSTED CERTIFICATE-----\n",
        pems[0]
    );
    let e = Certificate::bundle_from_pem(&text).unwrap_err();
    assert!(
        e.to_string()
            .contains("'TRUSTED CERTIFICATE' as block 2 of 2"),
        "{e}"
    );
}

#[test]
fn an_empty_or_damaged_bundle_is_refused() {
    for text in ["", "\n\n", "no blocks here\n"] {
        let e = Certificate::bundle_from_pem(text).unwrap_err();
        assert!(matches!(e, Error::InvalidPem { .. }), "{text:?}: {e:?}");
    }
    let (_, pems) = three();
    // The second certificate cut short.
    let text = format!("{}{}", pems[0], &pems[1][..pems[1].len() / 2]);
    let e = Certificate::bundle_from_pem(&text).unwrap_err();
    assert!(matches!(e, Error::InvalidPem { .. }), "{e:?}");
    assert!(e.to_string().contains("block 2 of 2"), "{e}");
    // Base64 that decodes, but not to a certificate: says which one.
    let text = format!(
        "{}-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n",
        pems[0]
    );
    let e = Certificate::bundle_from_pem(&text).unwrap_err();
    assert!(matches!(e, Error::InvalidCertificate { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate 2 of the 2"), "{e}");
    // The parser's words are the source, not also the message.
    let source = std::error::Error::source(&e).unwrap().to_string();
    assert!(!e.to_string().contains(&source), "{e} / {source}");
}

#[test]
fn bundle_files_are_bounded_and_errors_name_them() {
    let dir = tempfile::tempdir().unwrap();
    let (certs, pems) = three();
    let path = dir.path().join("bundle.pem");
    std::fs::write(&path, pems.concat()).unwrap();
    assert_eq!(Certificate::load_bundle(&path).unwrap(), certs);
    // Over the 1 MiB input limit: refused without reading it all, whatever its contents.
    let mut big = pems.concat();
    while big.len() <= 1 << 20 {
        big.push_str(&pems[0]);
    }
    std::fs::write(&path, &big).unwrap();
    let e = Certificate::load_bundle(&path).unwrap_err();
    assert!(matches!(e, Error::InputTooLarge { .. }), "{e:?}");
    // An empty file, with its path.
    std::fs::write(&path, "").unwrap();
    let e = Certificate::load_bundle(&path).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidPem { path: Some(p), .. } if *p == path),
        "{e:?}"
    );
    // DER: with the command that converts it.
    std::fs::write(&path, certs[0].to_der()).unwrap();
    let e = Certificate::load_bundle(&path).unwrap_err();
    assert!(e.to_string().contains("openssl x509 -inform der"), "{e}");
    // A missing file.
    let e = Certificate::load_bundle(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
}
