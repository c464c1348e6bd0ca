//! What etcd's TLS stack (Go's crypto/x509) and rustls clients refuse even when openssl
//! accepts it: negative or over-long serial numbers, SHA-1 (and MD5) signatures, small RSA
//! keys, X.509 v1 leaves and P-521 keys. What Go refuses depends on the Go etcd is built
//! with ([`Ctx::go`]): an error where that Go refuses it, else a warning naming the releases
//! that will.

use std::path::Path;

use der::Decode;

use super::context::Ctx;
use super::finding::{Finding, Severity};
use super::version::EtcdVersion;
use crate::cert::Certificate;

const SHA1_RSA: &str = "1.2.840.113549.1.1.5";
const MD5_RSA: &str = "1.2.840.113549.1.1.4";
const SHA1_ECDSA: &str = "1.2.840.10045.4.1";
const RSA: &str = "1.2.840.113549.1.1.1";
const EC: &str = "1.2.840.10045.2.1";
const P521: &str = "1.3.132.0.35";

/// The RSA modulus size of a public key, in bits.
fn rsa_bits(cert: &Certificate) -> Option<usize> {
    let spki = cert.x509().tbs_certificate().subject_public_key_info();
    let key = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(
        spki.subject_public_key.raw_bytes(),
    )
    .ok()?;
    let n = key.modulus.as_bytes();
    let lead = n.first().map_or(0, |b| 8 - b.leading_zeros() as usize);
    Some(n.len().saturating_sub(1) * 8 + lead)
}

/// Error when etcd's Go (1.`go_minor` or later) refuses `what`, else a warning that names the
/// etcd releases that will; the sentence saying which.
fn go_rule(ctx: &Ctx, go_minor: u32, godebug: &str) -> (Severity, String) {
    if ctx.go_at_least(go_minor) {
        (
            Severity::Error,
            format!(
                "Go 1.{go_minor} and later refuse it (unless GODEBUG={godebug}), and {} is built with one of them",
                ctx.etcd()
            ),
        )
    } else {
        (
            Severity::Warning,
            format!(
                "{} accepts it, but etcd built with Go 1.{go_minor} or later refuses it: releases {} (and any etcd a distribution builds with such a Go)",
                ctx.etcd(),
                EtcdVersion::first_with_go(go_minor)
            ),
        )
    }
}

/// The checks of one certificate; `is_ca` for a trust anchor (whose own signature Go never
/// checks).
pub(super) fn check(
    cert: &Certificate,
    is_ca: bool,
    label: &str,
    path: &Path,
    ctx: &Ctx,
    out: &mut Vec<Finding>,
) {
    let tbs = cert.x509().tbs_certificate();
    let at = |sev, code, msg: String| Finding::new(sev, code, label, &[path], msg);
    let serial = tbs.serial_number().as_bytes();
    if serial.first().is_some_and(|b| b & 0x80 != 0) {
        let (sev, why) = go_rule(ctx, 23, "x509negativeserial=1");
        out.push(
            at(sev, "serial-negative", format!("its serial number is negative, which RFC 5280 forbids: {why}; etcd then fails to load or verify the certificate"))
                .says("x509: negative serial number")
                .fix("re-issue it (etcd-pki's serial numbers are positive)"),
        );
    }
    let content = serial.strip_prefix(&[0u8]).unwrap_or(serial);
    if content.len() > 20 {
        out.push(at(Severity::Warning, "serial-too-long", format!("its serial number is {} octets long, over RFC 5280's 20: rustls-webpki and strict verifiers refuse it", content.len())));
    }
    let alg = cert.x509().signature_algorithm().oid.to_string();
    let weak = match alg.as_str() {
        SHA1_RSA => Some("SHA1-RSA"),
        SHA1_ECDSA => Some("ECDSA-SHA1"),
        MD5_RSA => Some("MD5-RSA"),
        _ => None,
    };
    if let Some(name) = weak {
        if is_ca {
            out.push(at(Severity::Info, "ca-signature-sha1", format!("the CA's self-signature uses {name}: harmless (nobody checks a root's own signature), but strict linters flag it")));
        } else {
            let (sev, why) = go_rule(ctx, 18, "x509sha1=1 before Go 1.24, which dropped it");
            out.push(
                at(
                    sev,
                    "signature-sha1",
                    format!(
                        "it is signed with {name}: {why}; the doctor did not check this signature"
                    ),
                )
                .says(format!(
                    "x509: cannot verify signature: insecure algorithm {name}"
                ))
                .fix("re-issue it (etcd-pki signs with SHA-256 or better)"),
            );
        }
    }
    let spki = tbs.subject_public_key_info();
    match spki.algorithm.oid.to_string().as_str() {
        RSA => match rsa_bits(cert) {
            Some(bits) if bits < 1024 => {
                let (sev, why) = go_rule(ctx, 24, "rsa1024min=0");
                out.push(
                    at(sev, "rsa-key-too-small", format!("its RSA key has {bits} bits, under 1024: {why}; every current policy wants 2048"))
                        .says(format!("crypto/rsa: {bits}-bit keys are insecure"))
                        .fix("re-issue it with a new key (etcd-pki makes RSA-2048 or larger)"),
                );
            }
            Some(bits) if bits < 2048 => out.push(
                at(Severity::Warning, "rsa-key-small", format!("its RSA key has {bits} bits: etcd (Go) accepts it today, but 2048 bits is the minimum of every current policy and of rustls-webpki"))
                    .fix("re-issue it with a new key (etcd-pki makes RSA-2048 or larger)"),
            ),
            _ => {}
        },
        EC if spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<der::oid::ObjectIdentifier>().ok()).is_some_and(|c| c.to_string() == P521) => out.push(
            at(Severity::Warning, "p521-key", "its key is ECDSA P-521: etcd (Go) accepts it, but rustls clients with the ring provider (etcd-client's default `tls` feature) refuse it".into())
                .fix("re-issue it with a P-256 or P-384 key (--key-type p256)"),
        ),
        _ => {}
    }
    if !is_ca && !cert.is_v3() {
        out.push(
            at(Severity::Warning, "cert-v1", "it is an X.509 v1 certificate (no extensions): etcd (Go) accepts it, rustls clients refuse it (UnsupportedCertVersion)".into())
                .fix("re-issue it with gen_etcd_certs or etcd_cluster_plan (v3, with key usages)"),
        );
    }
}
