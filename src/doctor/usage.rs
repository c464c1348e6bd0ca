//! Extended key usage per role: a member's certificate serves clients and peers *and* is the
//! client certificate it presents to its peers (and to itself, through the gRPC gateway), so
//! it needs serverAuth and clientAuth (or no EKU); a client's needs clientAuth; and an EKU on
//! an intermediate or the CA constrains every leaf below it (Go checks the whole chain).

use der::oid::ObjectIdentifier;
use x509_cert::ext::pkix::ExtendedKeyUsage;

use super::chain::Chain;
use super::context::{reissue_client, reissue_member};
use super::deployment::{Leaf, Use};
use super::finding::{Finding, Severity};
use crate::cert::Certificate;
use crate::role::{CLIENT_AUTH, SERVER_AUTH};

const ANY_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
const INCOMPATIBLE: &str = "x509: certificate specifies an incompatible key usage";

/// The EKU of a certificate: `None` without the extension (any usage).
fn eku(cert: &Certificate) -> Option<Vec<ObjectIdentifier>> {
    match cert
        .x509()
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
    {
        Ok(Some((_, e))) => Some(e.0),
        _ => None,
    }
}

fn allows(cert: &Certificate, usage: ObjectIdentifier) -> bool {
    eku(cert).is_none_or(|e| e.contains(&usage) || e.contains(&ANY_EKU))
}

/// The checks of a verified leaf's chain.
pub(super) fn check(leaf: &Leaf, chain: &Chain<'_>, out: &mut Vec<Finding>) {
    let cert = chain.certs[0];
    let path = leaf.path.clone();
    let needs: &[(ObjectIdentifier, &str)] = match leaf.role {
        Use::Member => &[(SERVER_AUTH, "serverAuth"), (CLIENT_AUTH, "clientAuth")],
        Use::Client => &[(CLIENT_AUTH, "clientAuth")],
        Use::Ca => &[],
    };
    let fix = match leaf.role {
        Use::Client => reissue_client(&path),
        _ => reissue_member(&path),
    };
    for &(oid, name) in needs {
        if !allows(cert, oid) {
            let (code, why) = match (leaf.role, name) {
                (Use::Member, "clientAuth") => (
                    "member-cert-no-client-auth",
                    "a member presents its certificate as a client certificate when it dials its peers (and itself, through the gRPC gateway): \
                     with serverAuth only, the peers (and the member itself) reject those connections",
                ),
                (Use::Member, _) => (
                    "member-cert-no-server-auth",
                    "clients and peers check that the member's certificate allows serverAuth, and refuse the connection",
                ),
                _ => (
                    "client-cert-no-client-auth",
                    "etcd checks that a client certificate allows clientAuth, and rejects the connection",
                ),
            };
            out.push(
                Finding::new(
                    Severity::Error,
                    code,
                    &leaf.label,
                    &[&path],
                    format!("its extended key usage lacks {name}: {why}"),
                )
                .says(INCOMPATIBLE)
                .fix(fix.clone()),
            );
        }
    }
    for (i, above) in chain.certs.iter().enumerate().skip(1) {
        for &(oid, name) in needs {
            if !allows(above, oid) {
                let file = if i + 1 == chain.certs.len() {
                    chain.ca_file.to_path_buf()
                } else {
                    path.clone()
                };
                out.push(
                    Finding::new(
                        Severity::Error,
                        "chain-eku-constrains",
                        &leaf.label,
                        &[&path, &file],
                        format!(
                            "{} above it in the chain has an extended key usage without {name}: Go checks the EKU of the whole chain, so no certificate below it can be used for {name}",
                            above.subject()
                        ),
                    )
                    .says(INCOMPATIBLE)
                    .fix("re-issue the intermediate or CA without an EKU (or with both serverAuth and clientAuth)"),
                );
            }
        }
    }
}
