//! Private keys: each certificate's key belongs to it, is one etcd can read (unencrypted PEM),
//! and is not readable by others (mode 0600); a CA's key does not sit on a member.

use std::path::{Path, PathBuf};

use super::deployment::{Deployment, Leaf, Use, same_file};
use super::finding::{Finding, Severity};
use super::inventory::KeyState;

/// The checks of a leaf's key (a missing key is only noted: the CA's copy of a certificate
/// has none beside it).
pub(super) fn check_leaf(dep: &Deployment<'_>, leaf: &Leaf, out: &mut Vec<Finding>) {
    let cert = &dep.file(leaf.cert).certs[0];
    let Some(k) = leaf.key else {
        out.push(Finding::new(Severity::Info, "key-not-found", &leaf.label, &[&leaf.path], "no private key was found for it (none named <name>.key or <name>-key.pem beside it, or by a configuration)"));
        return;
    };
    let key = &dep.inv.keys[k];
    let files: [&Path; 2] = [&leaf.path, &key.path];
    match &key.state {
        KeyState::Plain(pk) => {
            let matches = cert.public_key_der().is_ok_and(|spki| pk.matches_spki(&spki));
            if !matches {
                out.push(
                    Finding::new(Severity::Error, "key-mismatch", &leaf.label, &files, "the private key does not belong to the certificate (a half-done renewal or rotation?): etcd refuses to start, or fails every handshake")
                        .says("tls: private key does not match public key")
                        .fix("put back the key the certificate was issued for, or re-issue the certificate for this key (gen_etcd_certs -c sign_server_csr)"),
                );
            }
        }
        KeyState::Encrypted if leaf.role != Use::Ca => out.push(
            Finding::new(Severity::Error, "key-encrypted", &leaf.label, &files, "the private key is encrypted: etcd reads only unencrypted PEM keys")
                .says("tls: failed to parse private key")
                .fix(format!("openssl pkey -in {p} -out {p}.plain && chmod 600 {p}.plain (then use {p}.plain)", p = key.path.display())),
        ),
        KeyState::Encrypted => {}
        KeyState::Unreadable(why) => out.push(Finding::new(Severity::Warning, "key-unreadable", &leaf.label, &files, format!("the private key could not be read, so it was not checked against the certificate: {why}"))),
    }
}

/// The mode of every key file, and CA keys in a member's directory.
pub(super) fn check_files(dep: &Deployment<'_>, out: &mut Vec<Finding>) {
    let member_dirs: Vec<PathBuf> = dep
        .inv
        .configs
        .iter()
        .flat_map(|s| {
            let mut dirs: Vec<PathBuf> =
                s.path.parent().map(Path::to_path_buf).into_iter().collect();
            dirs.extend(
                s.tls_files()
                    .iter()
                    .filter_map(|(_, p)| p.parent().map(Path::to_path_buf)),
            );
            dirs
        })
        .collect();
    let ca_keys: Vec<&Path> = dep
        .cas
        .iter()
        .flat_map(|&i| {
            let f = dep.file(i);
            let stem = f
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dir = f.path.parent().unwrap_or(Path::new("."));
            [
                dir.join(format!("{stem}.key")),
                dir.join(format!("{stem}-key.pem")),
            ]
        })
        .filter_map(|p| {
            dep.inv
                .keys
                .iter()
                .find(|k| same_file(&k.path, &p))
                .map(|k| k.path.as_path())
        })
        .collect();
    for key in &dep.inv.keys {
        let label = dep
            .leaves
            .iter()
            .find(|l| {
                l.key
                    .is_some_and(|k| same_file(&dep.inv.keys[k].path, &key.path))
            })
            .map_or_else(|| "CA".to_owned(), |l| l.label.clone());
        if let Some(mode) = key.mode
            && mode & 0o077 != 0
        {
            out.push(
                Finding::new(Severity::Warning, "key-permissions", &label, &[&key.path], format!("the private key file has mode {mode:04o}: others on the host can read it (it should be 0600, owned by etcd's user)"))
                    .fix(format!("chmod 600 {}", key.path.display())),
            );
        }
        let is_ca_key = ca_keys.iter().any(|p| same_file(p, &key.path));
        // A member's directory: one a configuration is in or names files in, or our plan's
        // `members/<name>/`.
        let on_member = key.path.parent().is_some_and(|d| {
            member_dirs.iter().any(|m| same_file(m, d))
                || d.parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == "members")
        });
        // kubeadm keeps the etcd CA's key on every control-plane node on purpose (it renews
        // and issues certificates there): `…/pki/etcd/ca.key`.
        let kubeadm = key.path.file_name().is_some_and(|n| n == "ca.key")
            && key.path.parent().is_some_and(|d| {
                d.file_name().is_some_and(|n| n == "etcd")
                    && d.parent()
                        .and_then(Path::file_name)
                        .is_some_and(|n| n == "pki")
            });
        if is_ca_key && on_member && kubeadm {
            out.push(Finding::new(Severity::Info, "ca-key-on-member", &label, &[&key.path], "the etcd CA's private key is on this member, as kubeadm keeps it on every control-plane node (for `kubeadm certs renew` and joins): whoever takes the node can issue certificates the cluster trusts"));
        } else if is_ca_key && on_member {
            out.push(
                Finding::new(Severity::Warning, "ca-key-on-member", &label, &[&key.path], "the CA's private key is in a member's directory: whoever takes the member can issue certificates the whole cluster trusts")
                    .fix(format!("move {} to the CA host (members need only the CA certificate)", key.path.display())),
            );
        }
    }
}
