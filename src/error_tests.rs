//! Tests of the error type: one sample per variant, their messages and their causes.

use super::*;

#[test]
fn messages_name_the_file_and_the_remedy() {
    let e = Error::InvalidPem {
        path: None,
        expected: "CERTIFICATE",
        found: "found 'RSA PRIVATE KEY'".into(),
    }
    .in_file(Path::new("certs/root.cert"));
    assert_eq!(
        e.to_string(),
        "certs/root.cert: expected a PEM 'CERTIFICATE' block, found 'RSA PRIVATE KEY'"
    );
    let e = Error::AlreadyExists {
        path: "d/root.key".into(),
    };
    assert!(e.to_string().contains("d/root.key"));
}

/// The text of every sample's cause: distinctive, so that finding it in a message means
/// the cause was formatted into it.
const CAUSE: &str = "the underlying library's own words";

/// One value of every variant, each with a cause where it can carry one (the `match` in
/// `index` fails to compile when a variant is added without a sample here).
fn samples() -> Vec<Error> {
    let io = || std::io::Error::other(CAUSE);
    let boxed = || -> BoxError { CAUSE.into() };
    let p = || Some(PathBuf::from("p"));
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    vec![
        Error::AlreadyExists { path: "p".into() },
        Error::CaNotValidNow {
            path: p(),
            expired: true,
            not_before: t,
            not_after: t,
        },
        Error::CertificateNotValidNow {
            path: p(),
            expired: false,
            not_before: t,
            not_after: t,
        },
        Error::EmptySubject,
        Error::Encoding {
            what: "x",
            source: boxed(),
        },
        Error::EncryptedKey {
            path: p(),
            hint: "h",
        },
        Error::InvalidCertificate {
            path: p(),
            reason: "r".into(),
            source: Some(boxed()),
        },
        Error::InvalidCommonName {
            value: "v".into(),
            reason: "r",
        },
        Error::InvalidDnsName {
            value: "v".into(),
            reason: "r",
        },
        Error::InvalidIpAddress {
            value: IpAddr::from([0, 0, 0, 0]),
            reason: "r",
        },
        Error::InvalidRequest {
            path: p(),
            reason: "r".into(),
            source: Some(boxed()),
        },
        Error::InputTooLarge {
            path: "p".into(),
            limit: 1 << 20,
        },
        Error::InvalidKey {
            path: p(),
            reason: "r".into(),
            source: Some(boxed()),
        },
        Error::InvalidPem {
            path: p(),
            expected: "E",
            found: "f".into(),
        },
        Error::InvalidPassphrase {
            source_name: "s".into(),
            reason: "r",
        },
        Error::KeyDecryption {
            path: p(),
            source: boxed(),
        },
        Error::InvalidPlan {
            path: p(),
            reason: "r".into(),
            source: Some(boxed()),
        },
        Error::InvalidSubject {
            attribute: "CN",
            value: "v".into(),
            reason: "r",
        },
        Error::InvalidValidity {
            days: 0,
            reason: "r",
        },
        Error::Io {
            action: "read",
            path: "p".into(),
            source: io(),
        },
        Error::KeyGeneration { source: boxed() },
        Error::KeyMismatch {
            key_path: p(),
            cert_path: p(),
        },
        Error::NotADirectory {
            path: "p".into(),
            reason: "r",
        },
        Error::NotACa {
            path: p(),
            reason: "r",
        },
        Error::IpAddressNotAllowed {
            ip: IpAddr::from([10, 0, 0, 1]),
            allowed: vec![IpAddr::from([10, 0, 0, 2])],
        },
        Error::DnsNameNotAllowed {
            name: "a.example".into(),
            allowed: Vec::new(),
        },
        Error::CommonNameNotAllowed {
            name: "root".into(),
            role: Role::Client,
        },
        Error::RequestSignatureInvalid {
            reason: "does not verify",
        },
        Error::NoSubjectAltName { role: Role::Node },
        Error::Signing { source: boxed() },
        Error::Unsupported {
            path: p(),
            what: "w",
            detail: "d".into(),
        },
        Error::DirectoryNotEmpty { path: "p".into() },
        Error::ClusterMismatch {
            path: "p".into(),
            reason: "r".into(),
            source: Some(boxed()),
        },
        Error::OutOfOrder {
            step: "s",
            reason: "r".into(),
        },
        Error::InvalidEtcdVersion {
            value: "4.0".into(),
            reason: "r".into(),
        },
        Error::InvalidGoVersion {
            value: "2.0".into(),
            reason: "r".into(),
        },
        Error::InvalidConfig {
            path: p(),
            reason: "r".into(),
            source: Some(boxed()),
        },
        Error::NothingToCheck {
            paths: vec!["a".into(), "b".into()],
        },
    ]
}

fn index(e: &Error) -> usize {
    match e {
        Error::AlreadyExists { .. } => 0,
        Error::CaNotValidNow { .. } => 1,
        Error::CertificateNotValidNow { .. } => 2,
        Error::EmptySubject => 3,
        Error::Encoding { .. } => 4,
        Error::EncryptedKey { .. } => 5,
        Error::InvalidCertificate { .. } => 6,
        Error::InvalidCommonName { .. } => 7,
        Error::InvalidDnsName { .. } => 8,
        Error::InvalidIpAddress { .. } => 9,
        Error::InvalidRequest { .. } => 10,
        Error::InputTooLarge { .. } => 11,
        Error::InvalidKey { .. } => 12,
        Error::InvalidPem { .. } => 13,
        Error::InvalidPassphrase { .. } => 14,
        Error::KeyDecryption { .. } => 15,
        Error::InvalidPlan { .. } => 16,
        Error::InvalidSubject { .. } => 17,
        Error::InvalidValidity { .. } => 18,
        Error::Io { .. } => 19,
        Error::KeyGeneration { .. } => 20,
        Error::KeyMismatch { .. } => 21,
        Error::NotADirectory { .. } => 22,
        Error::NotACa { .. } => 23,
        Error::IpAddressNotAllowed { .. } => 24,
        Error::DnsNameNotAllowed { .. } => 25,
        Error::CommonNameNotAllowed { .. } => 26,
        Error::RequestSignatureInvalid { .. } => 27,
        Error::NoSubjectAltName { .. } => 28,
        Error::Signing { .. } => 29,
        Error::Unsupported { .. } => 30,
        Error::DirectoryNotEmpty { .. } => 31,
        Error::ClusterMismatch { .. } => 32,
        Error::OutOfOrder { .. } => 33,
        Error::InvalidEtcdVersion { .. } => 34,
        Error::InvalidConfig { .. } => 35,
        Error::NothingToCheck { .. } => 36,
        Error::InvalidGoVersion { .. } => 37,
    }
}

const VARIANTS: usize = 38;

#[test]
fn messages_do_not_repeat_their_cause() {
    for e in samples() {
        let text = e.to_string();
        if let Some(cause) = std::error::Error::source(&e) {
            assert!(
                !text.contains(&cause.to_string()),
                "{text:?} repeats its cause {cause}"
            );
        }
        assert!(!text.contains(CAUSE), "{text:?}");
    }
}

#[test]
fn times_are_rfc3339() {
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
    let e = Error::CaNotValidNow {
        path: None,
        expired: true,
        not_before: t,
        not_after: t,
    };
    assert_eq!(
        e.to_string(),
        "the CA certificate is expired (valid from 2023-11-14T22:13:20Z to 2023-11-14T22:13:20Z): issue a new root CA"
    );
}

/// Whether `text` names a command-line flag (`--` and a letter).
pub(crate) fn names_a_flag(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'-' && w[1] == b'-' && w[2].is_ascii_alphabetic())
}

#[test]
fn no_message_names_a_command_line_flag() {
    let samples = samples();
    let mut covered: Vec<usize> = samples.iter().map(index).collect();
    covered.sort_unstable();
    covered.dedup();
    assert_eq!(
        covered,
        (0..VARIANTS).collect::<Vec<_>>(),
        "one sample per variant"
    );
    for e in &samples {
        assert!(!names_a_flag(&e.to_string()), "{e}");
    }
    // The messages made at the call sites too: the encrypted-key hints.
    let pkcs8 =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    for text in ["", "hello", "-----BEGIN X-----\n", pkcs8, legacy] {
        let e = crate::PrivateKey::from_pem(text).unwrap_err();
        assert!(!names_a_flag(&e.to_string()), "{e}");
        let e = crate::Certificate::from_pem(text).unwrap_err();
        assert!(!names_a_flag(&e.to_string()), "{e}");
    }
    assert!(names_a_flag("pass --force") && !names_a_flag("a -- b, --1"));
}

#[test]
fn in_file_keeps_an_existing_path() {
    let e = Error::NotACa {
        path: Some("a".into()),
        reason: "x",
    }
    .in_file(Path::new("b"));
    assert!(matches!(e, Error::NotACa { path: Some(p), .. } if p == Path::new("a")));
}
