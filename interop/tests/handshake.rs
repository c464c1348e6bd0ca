//! In-memory mutual-TLS handshakes with rustls, as etcd does them: a member's server with its
//! node certificate, requiring a client certificate from the root CA, and as clients both the
//! client certificate (etcdctl) and another member's node certificate (a peer).

mod common;

use std::io::{Read, Write};
use std::net::IpAddr;
use std::sync::Arc;

use etcd_pki::{CertifiedKey, ServerCert};
use rustls::crypto::ring::default_provider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// The chain and key as rustls takes them, through etcd-pki's conversions (feature `rustls`):
/// no PEM text on the way.
fn chain_and_key(ck: &CertifiedKey) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    ck.try_into().unwrap()
}

fn roots() -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(common::set().ca.certificate()))
        .unwrap();
    Arc::new(roots)
}

fn server_config(node: &CertifiedKey) -> Arc<ServerConfig> {
    let provider = Arc::new(default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(), provider.clone())
        .build()
        .unwrap();
    let (chain, key) = chain_and_key(node);
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

fn client_config(client: Option<&CertifiedKey>) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots());
    Arc::new(match client {
        Some(ck) => {
            let (chain, key) = chain_and_key(ck);
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    })
}

/// Runs a handshake through memory and one application-data round trip. Returns the server's
/// view of the client certificate's subject, or the first error.
fn handshake(
    server: &CertifiedKey,
    client: Option<&CertifiedKey>,
    dial: IpAddr,
) -> Result<Vec<u8>, rustls::Error> {
    let mut srv = ServerConnection::new(server_config(server)).unwrap();
    let name = ServerName::IpAddress(dial.into());
    let mut cli = ClientConnection::new(client_config(client), name).unwrap();
    cli.writer().write_all(b"ping").unwrap();
    // Bounded: a handshake needs a handful of flights.
    for _ in 0..20 {
        let mut buf = Vec::new();
        while cli.wants_write() {
            cli.write_tls(&mut buf).unwrap();
        }
        srv.read_tls(&mut buf.as_slice()).unwrap();
        srv.process_new_packets()?;
        let mut buf = Vec::new();
        while srv.wants_write() {
            srv.write_tls(&mut buf).unwrap();
        }
        cli.read_tls(&mut buf.as_slice()).unwrap();
        cli.process_new_packets()?;
        let mut got = [0u8; 4];
        if !srv.is_handshaking() && srv.reader().read_exact(&mut got).is_ok() {
            assert_eq!(&got, b"ping");
            let peer = srv.peer_certificates().expect("client certificate");
            return Ok(peer[0].to_vec());
        }
    }
    panic!("handshake did not finish in 20 flights");
}

#[test]
fn etcdctl_to_member() {
    let set = common::set();
    for ip in ["127.0.0.1", "192.168.10.11"] {
        let peer = handshake(&set.node, Some(&set.client), ip.parse().unwrap()).unwrap();
        assert_eq!(peer, set.client.certificate().to_der());
    }
}

#[test]
fn member_to_member_as_peers() {
    let set = common::set();
    let other = ServerCert::new("192.168.10.12".parse().unwrap())
        .issue(&set.ca)
        .unwrap();
    // Member 2 dials member 1 presenting its own node certificate as client certificate.
    let peer = handshake(&set.node, Some(&other), "192.168.10.11".parse().unwrap()).unwrap();
    assert_eq!(peer, other.certificate().to_der());
    // And the other way round.
    handshake(&other, Some(&set.node), "192.168.10.12".parse().unwrap()).unwrap();
}

#[test]
fn failures_for_the_right_reason() {
    let set = common::set();
    // No client certificate: the server requires one.
    let err = handshake(&set.node, None, "127.0.0.1".parse().unwrap()).unwrap_err();
    assert!(
        format!("{err:?}").contains("NoCertificatesPresented"),
        "{err:?}"
    );
    // A client certificate from another CA.
    let other_ca = etcd_pki::RootCa::new()
        .common_name("Other CA".parse().unwrap())
        .self_sign()
        .unwrap();
    let stranger = etcd_pki::ClientCert::new().issue(&other_ca).unwrap();
    let err = handshake(&set.node, Some(&stranger), "127.0.0.1".parse().unwrap()).unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    // Dialling an address that is not in the server certificate.
    let err = handshake(
        &set.node,
        Some(&set.client),
        "192.168.10.99".parse().unwrap(),
    )
    .unwrap_err();
    assert!(format!("{err:?}").contains("NotValidForName"), "{err:?}");
    // A client certificate offered as a server certificate, even one naming the address:
    // it has no serverAuth usage.
    let client_with_ip = etcd_pki::ClientCert::new()
        .ip_address("127.0.0.1".parse().unwrap())
        .issue(&set.ca)
        .unwrap();
    let err = handshake(
        &client_with_ip,
        Some(&set.client),
        "127.0.0.1".parse().unwrap(),
    )
    .unwrap_err();
    assert!(format!("{err:?}").contains("InvalidPurpose"), "{err:?}");
}

#[test]
fn ecdsa_member_and_client() {
    use etcd_pki::{ClientCert, KeyAlgorithm};
    let set = common::set();
    let node = ServerCert::new("192.168.10.13".parse().unwrap())
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .issue(&set.ca)
        .unwrap();
    let client = ClientCert::new()
        .key_algorithm(KeyAlgorithm::EcdsaP384)
        .issue(&set.ca)
        .unwrap();
    let peer = handshake(&node, Some(&client), "192.168.10.13".parse().unwrap()).unwrap();
    assert_eq!(peer, client.certificate().to_der());
    handshake(&set.node, Some(&node), "127.0.0.1".parse().unwrap()).unwrap();
}
