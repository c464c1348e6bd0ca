//! Chain checks: each leaf is signed by the CA it is checked against (its signature first,
//! then its issuer name and authority key identifier), through the intermediates of its file;
//! the CAs are CAs (basicConstraints, keyUsage); every certificate is valid now and not about
//! to expire.

use std::path::Path;

use x509_cert::ext::pkix::{AuthorityKeyIdentifier, KeyUsage, SubjectKeyIdentifier};

use super::context::{Ctx, date, days_until};
use super::deployment::{Deployment, Leaf};
use super::finding::{Finding, Severity};
use crate::cert::Certificate;
use crate::signature::{self, CertSignatureCheck, SignatureCheck};

const UNKNOWN_AUTHORITY: &str = "x509: certificate signed by unknown authority";

/// The outcome of checking one signature.
enum Sig {
    Good,
    Bad,
    /// An algorithm the crate does not verify (SHA-1, …): reported by the compat checks.
    Unverifiable,
}

fn sig(cert: &Certificate, by: &Certificate) -> Sig {
    let Ok(key) = by.public_key_der() else {
        return Sig::Bad;
    };
    match signature::verify_certificate(cert, &key) {
        Ok(Ok(())) => Sig::Good,
        Ok(Err(CertSignatureCheck::Check(SignatureCheck::Unsupported(_)))) => Sig::Unverifiable,
        _ => Sig::Bad,
    }
}

fn same_name(cert: &Certificate, issuer: &Certificate) -> bool {
    cert.x509().tbs_certificate().issuer() == issuer.x509().tbs_certificate().subject()
}

/// A verified chain: the leaf, its intermediates, and the CA (with the CA's file).
pub(super) struct Chain<'a> {
    pub(super) certs: Vec<&'a Certificate>,
    pub(super) ca_file: &'a Path,
}

/// Checks that `leaf` chains to a CA of its scope; returns the verified chain, or `None`
/// (with the findings saying why) when its contents cannot be trusted.
pub(super) fn verify_leaf<'a>(
    dep: &'a Deployment<'_>,
    leaf: &Leaf,
    out: &mut Vec<Finding>,
) -> Option<Chain<'a>> {
    let file = dep.file(leaf.cert);
    let scope = dep.scope(leaf);
    let anchors: Vec<(&Path, &Certificate)> = scope
        .iter()
        .flat_map(|&i| {
            let f = dep.file(i);
            f.certs.iter().map(move |c| (f.path.as_path(), c))
        })
        .collect();
    let at = |msg: String| {
        Finding::new(
            Severity::Error,
            "chain-untrusted",
            &leaf.label,
            &[&file.path],
            msg,
        )
    };
    if anchors.is_empty() {
        out.push(Finding::new(
            Severity::Warning,
            "no-ca",
            &leaf.label,
            &[&file.path],
            "no CA certificate was found to check it against, so nothing it says was checked; \
                 give the CA's certificate (root.cert, ca.crt, ca.pem) too",
        ));
        return None;
    }
    let mut cur = &file.certs[0];
    let mut chain = vec![cur];
    let mut unverifiable = false;
    for _ in 0..8 {
        for (path, ca) in &anchors {
            if !same_name(cur, ca) {
                continue;
            }
            match sig(cur, ca) {
                Sig::Good => {
                    check_aki(cur, ca, &leaf.label, &file.path, out);
                    chain.push(ca);
                    return Some(Chain {
                        certs: chain,
                        ca_file: path,
                    });
                }
                Sig::Unverifiable => unverifiable = true,
                Sig::Bad => {}
            }
        }
        let next = file.certs[1..]
            .iter()
            .find(|c| !chain.contains(c) && same_name(cur, c) && matches!(sig(cur, c), Sig::Good));
        match next {
            Some(n) => {
                cur = n;
                chain.push(n);
            }
            None => break,
        }
    }
    if unverifiable {
        // The signature algorithm finding says why (compat checks).
        return None;
    }
    let ca_files: Vec<String> = scope
        .iter()
        .map(|&i| dep.file(i).path.display().to_string())
        .collect();
    let named = anchors.iter().find(|(_, ca)| same_name(cur, ca));
    let key_signed = anchors
        .iter()
        .find(|(_, ca)| matches!(sig(cur, ca), Sig::Good));
    let msg = match (named, key_signed) {
        (Some((p, _)), _) => format!(
            "its issuer name is that of the CA in {} but the signature does not verify with that CA's key: \
             it was issued by another CA of the same name (a re-made root?) or is damaged",
            p.display()
        ),
        (None, Some((p, ca))) => format!(
            "it is signed by the key of the CA in {} but its issuer name ({}) is not that CA's subject ({}) \
             byte for byte: Go, rustls and etcd look the CA up by name and will not find it",
            p.display(),
            cur.issuer(),
            ca.subject()
        ),
        (None, None) => format!(
            "it was not issued by the CA it is checked against ({}): its issuer is {:?}",
            ca_files.join(", "),
            cur.issuer()
        ),
    };
    out.push(at(msg).says(UNKNOWN_AUTHORITY).fix(match leaf.role {
        super::deployment::Use::Client => super::context::reissue_client(&file.path),
        _ => super::context::reissue_member(&file.path),
    }));
    None
}

/// The leaf's authority key identifier against the CA's subject key identifier.
fn check_aki(
    cert: &Certificate,
    ca: &Certificate,
    label: &str,
    path: &Path,
    out: &mut Vec<Finding>,
) {
    let aki = cert
        .x509()
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>();
    let ski = ca
        .x509()
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>();
    if let (Ok(Some((_, aki))), Ok(Some((_, ski)))) = (aki, ski)
        && let Some(id) = aki.key_identifier
        && id.as_bytes() != ski.0.as_bytes()
    {
        out.push(Finding::new(
            Severity::Warning,
            "chain-aki-mismatch",
            label,
            &[path],
            "its authority key identifier is not the CA's subject key identifier: etcd (Go) still accepts it, \
             but openssl-based clients refuse it (\"authority and subject key identifier mismatch\")",
        ));
    }
}

/// Validity of one certificate: error when not valid now, warning within `warn_days`, and
/// always an info with the days left.
pub(super) fn check_validity(
    cert: &Certificate,
    what: &str,
    label: &str,
    path: &Path,
    ctx: &Ctx,
    out: &mut Vec<Finding>,
) {
    let (nb, na) = (cert.not_before(), cert.not_after());
    let left = days_until(ctx.now, na);
    let at = |sev, code, msg: String| Finding::new(sev, code, label, &[path], msg);
    if ctx.now > na {
        out.push(
            at(
                Severity::Error,
                "cert-expired",
                format!("the {what} expired on {} ({} days ago)", date(na), -left),
            )
            .says("x509: certificate has expired or is not yet valid")
            .fix("renew it: Issuer::renew, or re-issue it with gen_etcd_certs / etcd_cluster_plan"),
        );
    } else if ctx.now < nb {
        out.push(
            at(
                Severity::Error,
                "cert-not-yet-valid",
                format!(
                    "the {what} is valid only from {} (a clock ahead on the CA host?)",
                    date(nb)
                ),
            )
            .says("x509: certificate has expired or is not yet valid"),
        );
    } else if left < i64::from(ctx.warn_days) {
        out.push(
            at(Severity::Warning, "cert-expires-soon", format!("the {what} expires in {left} days, on {}", date(na)))
                .fix("renew it before then: Issuer::renew, or re-issue it with gen_etcd_certs / etcd_cluster_plan"),
        );
    } else {
        out.push(at(
            Severity::Info,
            "cert-expiry",
            format!("the {what} is valid until {} ({left} days)", date(na)),
        ));
    }
}

/// The checks of one CA certificate file: each certificate is a CA and valid.
pub(super) fn check_ca_file(dep: &Deployment<'_>, i: usize, ctx: &Ctx, out: &mut Vec<Finding>) {
    let f = dep.file(i);
    for cert in &f.certs {
        let label = "CA";
        let at = |sev, code, msg: String| Finding::new(sev, code, label, &[&f.path], msg);
        if !cert.is_v3() {
            out.push(at(Severity::Info, "ca-v1", "the CA is an X.509 v1 certificate (as the guide's openssl commands make): etcd accepts it, strict verifiers (openssl -x509_strict, pkilint) do not".into()));
        } else if !cert.is_ca() {
            out.push(
                at(Severity::Warning, "ca-not-ca", format!("{} is used as a CA but its basicConstraints do not say CA:TRUE: Go accepts it as a root, openssl and rustls refuse it", cert.subject()))
                    .fix("make a proper root: gen_etcd_certs -c gen_root_cert -s NEW_DIR, then re-issue every certificate"),
            );
        }
        if let Ok(Some((_, ku))) = cert.x509().tbs_certificate().get_extension::<KeyUsage>()
            && !ku.key_cert_sign()
        {
            out.push(at(Severity::Warning, "ca-key-usage", "the CA's keyUsage lacks keyCertSign: openssl and rustls refuse the certificates it signed (Go does not check it)".into()));
        }
        check_validity(cert, "CA certificate", label, &f.path, ctx, out);
    }
}
