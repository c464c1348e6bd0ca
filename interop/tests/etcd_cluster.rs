//! Real etcd 3.4 clusters secured with certificates from this crate, configured as in the guide
//! (`shared/reference/etcd-tls-guide.md`): YAML config files, https client and peer URLs,
//! `client-cert-auth: true`, the root certificate as `trusted-ca-file`.
//!
//! These tests run under plain `cargo test` and need `etcd` and `etcdctl` (Debian:
//! `apt-get install etcd-server etcd-client`); a missing binary fails the test. Every member
//! runs on its own loopback address (`127.0.0.x`), each test on its own addresses and port
//! range, so the tests can run in parallel. Every cluster is stopped and its temporary
//! directory removed also when a test fails; a failing test prints what the members logged
//! about TLS, certificates, handshakes and errors.

mod etcd_support;

use std::error::Error;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use etcd_pki::{ClientCert, Issuer, RootCa, ServerCert, WriteOptions};
use etcd_support::{
    Cluster, Creds, Member, NORMAL, SHORT, etcdctl, gen_etcd_certs_bin, parse_member_list, retry,
    run_bounded,
};

type TestResult = Result<(), Box<dyn Error>>;

/// How long a cluster may take to become healthy.
const HEALTH_BOUND: Duration = Duration::from_secs(60);
/// How long a write may take to show up in a serializable (local) read on another member.
const REPLICATION_BOUND: Duration = Duration::from_secs(10);

fn loopback(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

/// The guide's node certificate for `ip`: SANs `127.0.0.1` and `ip`.
fn guide_node(ip: Ipv4Addr) -> ServerCert {
    ServerCert::new(IpAddr::V4(ip))
}

/// Issues the guide's set with the library into `certs`, under the script's file names:
/// `root.*`, a `client.*` without CN, and for each of `ips` `<ip>.*` holding `node(ip)`.
fn issue_guide_set(
    certs: &Path,
    ips: &[Ipv4Addr],
    node: impl Fn(Ipv4Addr) -> ServerCert,
) -> Result<Issuer, etcd_pki::Error> {
    let options = WriteOptions::new();
    let root = RootCa::new().self_sign()?;
    root.write(certs, "root", &options)?;
    ClientCert::new()
        .issue(&root)?
        .write(certs, "client", &options)?;
    for ip in ips {
        node(*ip)
            .issue(&root)?
            .write(certs, &ip.to_string(), &options)?;
    }
    Ok(root)
}

/// Asserts that every member shows up with https peer and client URLs.
fn assert_all_https(rows: &[etcd_support::MemberRow]) {
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in rows {
        assert_eq!(row.status, "started", "{row:?}");
        assert!(row.peer_urls.starts_with("https://"), "{row:?}");
        assert!(row.client_urls.starts_with("https://"), "{row:?}");
    }
}

/// `get --print-value-only` of `key` through `endpoint`.
fn get_value(endpoint: &str, creds: &Creds, key: &str, serializable: bool) -> Option<String> {
    let mut args = vec!["get", key, "--print-value-only"];
    if serializable {
        args.push("--consistency=s");
    }
    let out = etcdctl(endpoint, creds, &args, NORMAL);
    out.ok().then(|| out.stdout.trim().to_owned())
}

/// Waits (bounded) until a serializable read of `key` on `member` returns `value`.
fn assert_replicated(member: &Member, creds: &Creds, key: &str, value: &str) {
    let seen = retry(REPLICATION_BOUND, || {
        get_value(&member.client_url(), creds, key, true).filter(|v| v == value)
    });
    assert!(
        seen.is_some(),
        "{key}={value} did not reach {} within {REPLICATION_BOUND:?} (local read)",
        member.name
    );
}

/// The good client reads `key` through `endpoint` (a rejection just before must not have
/// broken the listener).
fn assert_good_client_reads(endpoint: &str, good: &Creds, key: &str, value: &str, after: &str) {
    assert_eq!(
        get_value(endpoint, good, key, false).as_deref(),
        Some(value),
        "the good client could not read {key} through {endpoint} right after: {after}"
    );
}

/// Member 1 refuses `creds` during the TLS handshake: etcdctl fails, and etcd logs a
/// `rejected connection` whose error contains every one of `reasons`.
fn assert_server_rejects(cluster: &Cluster, creds: &Creds, reasons: &[&str], what: &str) {
    let offset = cluster.log_len(0);
    let url = cluster.members[0].client_url();
    let out = etcdctl(&url, creds, &["get", "/guide/replicated"], SHORT);
    out.expect_failure(what);
    // The client only sees a closed connection (TLS 1.3 reports the client certificate's
    // rejection after the client's side of the handshake); the reason is in etcd's log.
    let logged = retry(Duration::from_secs(3), || {
        cluster
            .log_since(0, offset)
            .lines()
            .find(|line| {
                line.contains("rejected connection") && reasons.iter().all(|r| line.contains(r))
            })
            .map(str::to_owned)
    });
    assert!(
        logged.is_some(),
        "{what}: etcd logged no `rejected connection` with {reasons:?}; it logged:\n{}\n\
         etcdctl:\n{out}",
        cluster.log_since(0, offset)
    );
}

/// etcdctl refuses the server with `creds` at `url`, and its `--debug` output says `reason`.
fn assert_client_refuses(url: &str, creds: &Creds, reason: &str, what: &str) {
    let out = etcdctl(url, creds, &["get", "/guide/replicated"], SHORT);
    let text = out.expect_failure(what);
    assert!(
        text.contains(reason),
        "{what}: etcdctl --debug does not say `{reason}`:\n{out}"
    );
}

/// Tests 1 and 2: the guide's TLS cluster replicates over peer TLS, and refuses clients
/// without a certificate, with a certificate from another CA, that trust another CA, and that
/// dial an address missing from the node certificate's SANs.
#[test]
fn tls_cluster_as_in_the_guide_replicates_and_rejects_bad_clients() -> TestResult {
    let ips = [loopback(11), loopback(12), loopback(13)];
    // The address that is not in node1's certificate: node1's client listener is bound to it
    // too (same port, not advertised), so the very same server and certificate are reached
    // through an address the certificate does not name.
    let outside_san = loopback(19);
    let mut cluster = Cluster::new("guide", &ips, 21000);
    cluster.listen_clients_also_on(0, outside_san);
    let certs = cluster.subdir("certs");
    issue_guide_set(&certs, &ips, guide_node)?;
    cluster.use_tls(&certs);
    cluster.start();

    let good = Creds::tls(&certs, "root", "client");
    let rows = cluster
        .wait_healthy(&good, HEALTH_BOUND)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_all_https(&rows);

    // Replication over peer TLS: write through node1 only, read locally on node2 and node3.
    let (key, value) = ("/guide/replicated", "over peer TLS");
    etcdctl(
        &cluster.members[0].client_url(),
        &good,
        &["put", key, value],
        NORMAL,
    )
    .expect_ok("put through node1");
    for member in &cluster.members[1..] {
        assert_replicated(member, &good, key, value);
    }

    // Another CA, with the same subject as ours: only the key differs.
    let other = cluster.subdir("other-ca");
    let other_root = RootCa::new().self_sign()?;
    other_root.write(&other, "root", &WriteOptions::new())?;
    ClientCert::new()
        .issue(&other_root)?
        .write(&other, "client", &WriteOptions::new())?;

    let node1 = cluster.members[0].client_url();
    assert_server_rejects(
        &cluster,
        &Creds::trusting(&certs, "root"),
        &["client didn't provide a certificate"],
        "a client without a certificate",
    );
    assert_good_client_reads(&node1, &good, key, value, "no client certificate");

    assert_server_rejects(
        &cluster,
        &Creds::trusting(&certs, "root").client_cert(&other, "client"),
        &[
            "failed to verify client",
            "certificate signed by unknown authority",
        ],
        "a client certificate from another CA",
    );
    assert_good_client_reads(
        &node1,
        &good,
        key,
        value,
        "client certificate of another CA",
    );

    assert_client_refuses(
        &node1,
        &Creds::trusting(&other, "root").client_cert(&certs, "client"),
        "x509: certificate signed by unknown authority",
        "a client trusting another CA",
    );
    assert_good_client_reads(&node1, &good, key, value, "client trusting another CA");

    let outside_url = cluster.members[0].client_url_on(outside_san);
    assert_client_refuses(
        &outside_url,
        &good,
        &format!(
            "x509: certificate is valid for 127.0.0.1, {}, not {outside_san}",
            ips[0]
        ),
        "dialling an address missing from the SANs",
    );
    // The same listener answers once the name check is skipped: the SAN was the only problem.
    assert_good_client_reads(
        &outside_url,
        &good.clone().skip_server_verification(),
        key,
        value,
        "dialling an address missing from the SANs (now without server verification)",
    );
    assert_good_client_reads(&node1, &good, key, value, "address missing from the SANs");
    Ok(())
}

/// Test 3: with client-cert-auth and authentication on, a certificate's CN is the user name
/// unless a user and password are given, which take precedence.
#[test]
fn client_certificate_cn_is_the_user_name_unless_a_password_is_given() -> TestResult {
    let ips = [loopback(21)];
    let mut cluster = Cluster::new("auth", &ips, 22000);
    let certs = cluster.subdir("certs");
    let root = issue_guide_set(&certs, &ips, guide_node)?;
    for (stem, cn) in [("alice", "alice"), ("root-user", "root")] {
        ClientCert::new()
            .common_name(cn.parse()?)
            .issue(&root)?
            .write(&certs, stem, &WriteOptions::new())?;
    }
    cluster.use_tls(&certs);
    cluster.start();
    let no_cn = Creds::tls(&certs, "root", "client");
    cluster
        .wait_healthy(&no_cn, HEALTH_BOUND)
        .unwrap_or_else(|e| panic!("{e}"));

    let url = cluster.members[0].client_url();
    let ctl = |creds: &Creds, args: &[&str]| etcdctl(&url, creds, args, NORMAL);
    // Before authentication is enabled, the certificate without CN may do everything.
    for args in [
        &["put", "/outside/existing", "v0"][..],
        &["user", "add", "root", "--new-user-password=root-pw"],
        &["user", "grant-role", "root", "root"],
        &["role", "add", "alice-role"],
        &[
            "role",
            "grant-permission",
            "alice-role",
            "readwrite",
            "/alice/",
            "--prefix=true",
        ],
        &["user", "add", "alice", "--new-user-password=alice-pw"],
        &["user", "grant-role", "alice", "alice-role"],
        &["auth", "enable"],
    ] {
        ctl(&no_cn, args).expect_ok(&args.join(" "));
    }

    // CN=alice, no password: inside /alice/ only.
    let alice = Creds::tls(&certs, "root", "alice");
    ctl(&alice, &["put", "/alice/k", "by alice"]).expect_ok("alice writes /alice/k");
    assert_eq!(
        get_value(&url, &alice, "/alice/k", false).as_deref(),
        Some("by alice")
    );
    for args in [
        &["put", "/outside/k", "by alice"][..],
        &["get", "/outside/existing"],
    ] {
        let text = ctl(&alice, args).expect_failure(&format!("alice: {}", args.join(" ")));
        assert!(text.contains("permission denied"), "{text}");
    }

    // CN=root: everything.
    let root_user = Creds::tls(&certs, "root", "root-user");
    ctl(&root_user, &["put", "/outside/k", "by root"]).expect_ok("root writes outside /alice/");
    assert_eq!(
        get_value(&url, &root_user, "/alice/k", false).as_deref(),
        Some("by alice")
    );
    let users = ctl(&root_user, &["user", "list"]).expect_ok("root lists users");
    assert!(users.contains("alice") && users.contains("root"), "{users}");

    // No CN: no user, so nothing is permitted any more.
    for args in [&["get", "/alice/k"][..], &["put", "/alice/k", "by nobody"]] {
        let text = ctl(&no_cn, args).expect_failure(&format!("no CN: {}", args.join(" ")));
        assert!(
            text.contains("permission denied") || text.contains("user name is empty"),
            "{text}"
        );
    }

    // The alice certificate with root's password acts as root; with a wrong password it is
    // refused, not downgraded to alice.
    let alice_as_root = alice.clone().user("root:root-pw");
    ctl(&alice_as_root, &["put", "/outside/by-password", "root"])
        .expect_ok("alice's certificate with --user root:password writes outside /alice/");
    assert_eq!(
        get_value(&url, &root_user, "/outside/by-password", false).as_deref(),
        Some("root")
    );
    let text = ctl(&alice.clone().user("root:wrong"), &["get", "/alice/k"])
        .expect_failure("alice's certificate with a wrong root password");
    assert!(text.contains("authentication failed"), "{text}");
    Ok(())
}

/// Runs the example CLI with `args`; returns its stdout.
fn run_cli(args: &[&str]) -> String {
    let mut cmd = Command::new(gen_etcd_certs_bin());
    cmd.args(args);
    let out = run_bounded(cmd, Duration::from_secs(60));
    out.expect_ok("gen_etcd_certs")
}

/// Makes the guide's set with the example CLI, command by command as in the guide.
fn cli_guide_set(certs: &Path, ips: &[Ipv4Addr]) {
    let dir = certs.to_str().expect("a UTF-8 temp path");
    let (key, cert) = (format!("{dir}/root.key"), format!("{dir}/root.cert"));
    let out = run_cli(&["-c", "gen_root_cert", "-s", dir]);
    assert_eq!(out, format!("Saved: {key}\nSaved: {cert}\n"));
    let common = ["-s", dir, "-k", &key, "-t", &cert];
    let out = run_cli(&[&["-c", "gen_client_cert"][..], &common].concat());
    assert_eq!(
        out,
        format!("Saved: {dir}/client.key\nSaved: {dir}/client.cert\n")
    );
    for ip in ips {
        let ip = ip.to_string();
        let out = run_cli(&[&["-c", "gen_server_cert", "-i", &ip][..], &common].concat());
        assert_eq!(
            out,
            format!("Saved: {dir}/{ip}.key\nSaved: {dir}/{ip}.cert\n")
        );
    }
}

/// Tests 4 and 5: the guide's migration of a running http cluster to TLS, with certificates
/// made by the example CLI: update every member's peer URL to https, restart every member with
/// the TLS configuration, and the data is still there.
#[test]
fn http_cluster_migrates_to_tls_with_cli_made_certificates() -> TestResult {
    let ips = [loopback(31), loopback(32), loopback(33)];
    let mut cluster = Cluster::new("migration", &ips, 23000);
    cluster.start();
    let plain = Creds::plain();
    let rows = cluster
        .wait_healthy(&plain, HEALTH_BOUND)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rows.iter().all(|r| r.peer_urls.starts_with("http://")),
        "{rows:?}"
    );
    let (key, value) = ("/migration/before-tls", "written over http");
    etcdctl(&cluster.endpoints(), &plain, &["put", key, value], NORMAL).expect_ok("put over http");

    let certs = cluster.subdir("certs");
    cli_guide_set(&certs, &ips);

    // While all members are up: every peer URL becomes https.
    for member in &cluster.members {
        let id = &rows
            .iter()
            .find(|r| r.name == member.name)
            .expect("listed")
            .id;
        let https_peer = member.peer_url().replacen("http://", "https://", 1);
        let out = etcdctl(
            &cluster.endpoints(),
            &plain,
            &["member", "update", id, &format!("--peer-urls={https_peer}")],
            NORMAL,
        );
        assert!(
            out.expect_ok("member update")
                .contains("updated in cluster"),
            "{out}"
        );
    }
    let updated = retry(Duration::from_secs(5), || {
        let out = etcdctl(&cluster.endpoints(), &plain, &["member", "list"], SHORT);
        let rows = parse_member_list(&out.stdout);
        (out.ok() && rows.len() == 3 && rows.iter().all(|r| r.peer_urls.starts_with("https://")))
            .then_some(rows)
    });
    assert!(
        updated.is_some(),
        "member list does not show the https peer URLs"
    );

    // Stop every member, then start them all with the TLS configuration (peer and client).
    cluster.stop();
    cluster.use_tls(&certs);
    cluster.start();
    let tls = Creds::tls(&certs, "root", "client");
    let rows = cluster
        .wait_healthy(&tls, HEALTH_BOUND)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_all_https(&rows);
    for member in &cluster.members {
        assert_replicated(member, &tls, key, value);
    }
    // And the cluster replicates over peer TLS.
    let (key, value) = ("/migration/after-tls", "written over https");
    etcdctl(
        &cluster.members[2].client_url(),
        &tls,
        &["put", key, value],
        NORMAL,
    )
    .expect_ok("put over https");
    for member in &cluster.members[..2] {
        assert_replicated(member, &tls, key, value);
    }
    Ok(())
}

/// Test 6: node certificates issued for other addresses (and without 127.0.0.1) make the
/// health check fail, within its bound, for a certificate reason, and the members cannot talk
/// to each other over peer TLS.
#[test]
fn node_certificates_for_other_addresses_fail_the_health_check() -> TestResult {
    let ips = [loopback(41), loopback(42), loopback(43)];
    let mut cluster = Cluster::new("faulty", &ips, 24000);
    let certs = cluster.subdir("certs");
    // The fault: 127.0.0.4x's files hold a certificate for 10.0.0.4x only.
    issue_guide_set(&certs, &ips, |ip| {
        ServerCert::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, ip.octets()[3]))).loopback(false)
    })?;
    cluster.use_tls(&certs);
    cluster.start();

    // Client connections wait until a member has joined its cluster, which never happens
    // here; the reason is in the members' logs, which the helper's error reports: every peer
    // connection fails to verify the other member's certificate.
    let bound = Duration::from_secs(10);
    let started = Instant::now();
    let error = cluster
        .wait_healthy(&Creds::tls(&certs, "root", "client"), bound)
        .expect_err("a cluster with node certificates for other addresses must not be healthy");
    let took = started.elapsed();
    eprintln!("the health check failed as it must, after {took:?}:\n{error}");
    assert!(
        took < bound + Duration::from_secs(10),
        "the health check took {took:?}"
    );
    assert!(
        error.contains("x509: certificate is valid for 10.0.0."),
        "the failure does not name the certificate problem: {error}"
    );
    Ok(())
}
