//! Property tests: every loader of untrusted bytes returns a value or an error, never panics,
//! on arbitrary input and on mutations of valid input; valid input round-trips.
#![cfg(all(feature = "ecdsa", feature = "encrypted-keys"))]

mod common;

use std::sync::OnceLock;

use etcd_pki::{Certificate, CertifiedKey, Issuer, KeyFormat, Passphrase, PrivateKey};
use proptest::prelude::*;

struct Valid {
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pkcs1: String,
    key_pkcs8: String,
    key_sec1: String,
    key_encrypted: String,
}

fn valid() -> &'static Valid {
    static V: OnceLock<Valid> = OnceLock::new();
    V.get_or_init(|| {
        let set = common::set();
        let ec = PrivateKey::generate(etcd_pki::KeyAlgorithm::EcdsaP256).unwrap();
        let key = set.ca.certified_key().private_key();
        Valid {
            cert_pem: set.ca.certificate().to_pem().unwrap(),
            cert_der: set.ca.certificate().to_der(),
            key_pkcs1: key.to_pem(KeyFormat::Traditional).unwrap().to_string(),
            key_pkcs8: key.to_pem(KeyFormat::Pkcs8).unwrap().to_string(),
            key_sec1: ec.to_pem(KeyFormat::Traditional).unwrap().to_string(),
            key_encrypted: ec
                .to_encrypted_pem(&Passphrase::new("pw").unwrap())
                .unwrap()
                .to_string(),
        }
    })
}

/// A mutation of `base`: bytes overwritten, removed or inserted at a position.
fn mutate(base: &[u8], pos: usize, op: u8, byte: u8, len: usize) -> Vec<u8> {
    let mut v = base.to_vec();
    if v.is_empty() {
        return vec![byte];
    }
    let pos = pos % v.len();
    let len = len.min(v.len() - pos).max(1);
    match op % 4 {
        0 => v[pos] = byte,
        1 => {
            v.drain(pos..pos + len);
        }
        2 => v.insert(pos, byte),
        _ => v.truncate(pos),
    }
    v
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every loader on `input`: none may panic. Returns whether any accepted it.
fn all_loaders(input: &[u8]) -> bool {
    let t = text(input);
    let pass = Passphrase::new("pw").unwrap();
    let a = Certificate::from_pem(&t).is_ok();
    let b = Certificate::from_der(input).is_ok();
    let c = PrivateKey::from_pem(&t).is_ok();
    let d = PrivateKey::from_encrypted_pem(&t, &pass).is_ok();
    let e = Issuer::from_pem(&t, &valid().key_pkcs1).is_ok();
    let f = Issuer::from_pem(&valid().cert_pem, &t).is_ok();
    let g = Certificate::bundle_from_pem(&t).is_ok();
    let h = CertifiedKey::from_pem(&t, &valid().key_pkcs1).is_ok();
    let i = CertifiedKey::from_pem(&valid().cert_pem, &t).is_ok();
    let j = Issuer::from_encrypted_pem(&t, &valid().key_pkcs1, &pass).is_ok();
    a || b || c || d || e || f || g || h || i || j
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_loaders(&input);
    }

    #[test]
    fn arbitrary_pem_shaped_text_never_panics(
        label in prop_oneof![
            Just("CERTIFICATE".to_string()), Just("RSA PRIVATE KEY".to_string()), Just("PRIVATE KEY".to_string()),
            Just("EC PRIVATE KEY".to_string()), Just("ENCRYPTED PRIVATE KEY".to_string()), "[A-Z ]{0,20}"
        ],
        body in "[A-Za-z0-9+/=\n]{0,600}",
    ) {
        let pem = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        all_loaders(pem.as_bytes());
    }

    #[test]
    fn mutated_valid_inputs_never_panic(
        which in 0usize..6, pos in any::<usize>(), op in any::<u8>(), byte in any::<u8>(), len in 1usize..64,
    ) {
        let v = valid();
        let base: &[u8] = match which {
            0 => v.cert_pem.as_bytes(),
            1 => &v.cert_der,
            2 => v.key_pkcs1.as_bytes(),
            3 => v.key_pkcs8.as_bytes(),
            4 => v.key_sec1.as_bytes(),
            _ => v.key_encrypted.as_bytes(),
        };
        let mutated = mutate(base, pos, op, byte, len);
        all_loaders(&mutated);
        // An RSA key that still loads after the mutation is the same key (the mutation hit
        // only redundant parts, e.g. CRT values that are recomputed, or PEM whitespace).
        if (which == 2 || which == 3)
            && let Ok(k) = PrivateKey::from_pem(&text(&mutated)) {
                let original = PrivateKey::from_pem(&text(base)).unwrap();
                prop_assert_eq!(k.public_key_der().unwrap(), original.public_key_der().unwrap());
            }
    }

    #[test]
    fn bundle_reading_never_panics(input in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = Certificate::bundle_from_pem(&text(&input));
    }

    #[test]
    fn mutated_bundles_never_panic(
        pos in any::<usize>(), op in any::<u8>(), byte in any::<u8>(), len in 1usize..64,
    ) {
        let v = valid();
        let bundle = format!("{}{}{}", v.cert_pem, v.key_pkcs1, v.cert_pem);
        let _ = Certificate::bundle_from_pem(&text(&mutate(bundle.as_bytes(), pos, op, byte, len)));
        let bundle = v.cert_pem.repeat(3);
        if let Ok(certs) = Certificate::bundle_from_pem(&text(&mutate(bundle.as_bytes(), pos, op, byte, len))) {
            prop_assert!(certs.len() <= 3);
        }
    }

    #[test]
    fn text_between_bundle_blocks_is_ignored(
        before in "[ -,.-~\n]{0,200}", between in "[ -,.-~\r\n]{0,200}", after in "[ -,.-~\n]{0,200}",
    ) {
        // Any text without a dash (so without a BEGIN line) around and between the blocks.
        let v = valid();
        let bundle = format!("{before}\n{}{between}\n{}{after}", v.cert_pem, v.cert_pem);
        let certs = Certificate::bundle_from_pem(&bundle).unwrap();
        let cert = Certificate::from_pem(&v.cert_pem).unwrap();
        prop_assert_eq!(certs, vec![cert.clone(), cert]);
    }

    #[test]
    fn mutated_der_certificates_parse_or_fail_cleanly(pos in any::<usize>(), byte in any::<u8>()) {
        let v = valid();
        let m = mutate(&v.cert_der, pos, 0, byte, 1);
        if let Ok(c) = Certificate::from_der(&m) {
            // Whatever parses must be usable without panicking.
            let _ = (c.subject(), c.issuer(), c.ip_addresses(), c.dns_names(), c.is_ca(), c.to_pem());
        }
    }
}

#[test]
fn valid_inputs_are_accepted() {
    let v = valid();
    let pass = Passphrase::new("pw").unwrap();
    assert!(Certificate::from_pem(&v.cert_pem).is_ok());
    assert!(Certificate::from_der(&v.cert_der).is_ok());
    for k in [&v.key_pkcs1, &v.key_pkcs8, &v.key_sec1] {
        assert!(PrivateKey::from_pem(k).is_ok());
    }
    assert!(PrivateKey::from_encrypted_pem(&v.key_encrypted, &pass).is_ok());
    assert!(Issuer::from_pem(&v.cert_pem, &v.key_pkcs8).is_ok());
}

#[test]
fn debug_of_key_holders_shows_no_key_material() {
    let set = common::set();
    let pem = set.node.private_key().to_pem(KeyFormat::Pkcs8).unwrap();
    // A run of the base64 key body: must not show up in any Debug output.
    let body: String = pem.lines().nth(3).unwrap().to_string();
    for debug in [
        format!("{:?}", set.ca),
        format!("{:?}", set.node),
        format!("{:?}", set.node.private_key()),
        format!("{:?}", set.ca.certified_key()),
        format!("{:?}", Passphrase::new("hunter2").unwrap()),
    ] {
        assert!(!debug.contains(&body), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    }
    assert!(format!("{:?}", set.node).contains("PrivateKey(RSA-2048)"));
}
