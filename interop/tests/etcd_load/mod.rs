//! A load generator for a TLS etcd cluster, in Rust as a downstream tool would write it: the
//! `etcd-client` crate (tonic) over rustls, with the client certificate, key and trusted CAs
//! read by etcd-pki (`CertifiedKey::load`, `Certificate::load_bundle`) and handed to rustls
//! through the crate's rustls-pki-types conversions, by a custom connector.
//!
//! Each worker writes unique keys through its own member, and reads back keys it wrote; when a
//! request fails (its member is restarting) it reconnects to the next member and retries the
//! same write. Clients re-read their files only when they reconnect, as real clients do; the
//! test makes every worker reconnect after each step ([`Load::reconnect`]), as an operator
//! restarts clients when the report says so.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_client::Client;
use etcd_pki::{Certificate, CertifiedKey};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Endpoint, Uri};

/// A client identity and trust, as files: `<dir>/<stem>.cert`, `<dir>/<stem>.key` and the
/// trusted-CA bundle `trust`.
#[derive(Debug, Clone)]
pub(crate) struct ClientFiles {
    pub(crate) dir: PathBuf,
    pub(crate) stem: String,
    pub(crate) trust: PathBuf,
}

/// The rustls configuration for `files`: their chain and key through etcd-pki's conversions,
/// every certificate of the trusted-CA file as a root, HTTP/2 by ALPN (gRPC).
pub(crate) fn tls_config(files: &ClientFiles) -> Result<Arc<rustls::ClientConfig>, String> {
    let pair = CertifiedKey::load(&files.dir, &files.stem).map_err(|e| e.to_string())?;
    let (chain, key): (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) =
        (&pair)
            .try_into()
            .map_err(|e: etcd_pki::Error| e.to_string())?;
    let mut roots = RootCertStore::empty();
    for ca in Certificate::load_bundle(&files.trust).map_err(|e| e.to_string())? {
        roots
            .add(CertificateDer::from(&ca))
            .map_err(|e| e.to_string())?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// A TLS handshake with `addr` (server name: its IP), returning the server's certificate.
pub(crate) async fn handshake(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<CertificateDer<'static>, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::IpAddress(addr.ip().into());
    let tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first().cloned())
        .ok_or_else(|| "no server certificate".to_owned())
}

/// An etcd client for the member at `addr`, TLS by rustls with `config`.
pub(crate) async fn connect(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<Client, String> {
    let connector = tower::service_fn(move |_: Uri| {
        let config = config.clone();
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let name = ServerName::IpAddress(addr.ip().into());
            let tls = TlsConnector::from(config).connect(name, tcp).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
        }
    });
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(3))
        .connect_with_connector_lazy(connector);
    Client::from_channel(etcd_client::Channel::Tonic(channel), None)
        .await
        .map_err(|e| e.to_string())
}

/// What the load did.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Requests sent (writes and reads, failed ones included).
    pub(crate) requests: u64,
    /// Requests that failed and were retried (on another member).
    pub(crate) retried: u64,
    /// The slowest successful request.
    pub(crate) max_latency: Duration,
    /// The longest time without any acknowledged write, across all workers.
    pub(crate) max_write_gap: Duration,
    /// Reads whose value was not the one written (must stay 0).
    pub(crate) bad_reads: u64,
    /// Every acknowledged write: key → value.
    pub(crate) acked: BTreeMap<String, String>,
}

/// A running load: workers on a tokio runtime of their own.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
    stats: Arc<Mutex<Stats>>,
    last_ack: Arc<Mutex<Instant>>,
    runtime: Option<tokio::runtime::Runtime>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts `members.len()` workers, worker `i` on member `i` first.
    pub(crate) fn start(members: Vec<SocketAddr>, files: ClientFiles) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let stop = Arc::new(AtomicBool::new(false));
        let generation = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(Mutex::new(Stats::default()));
        let last_ack = Arc::new(Mutex::new(Instant::now()));
        let members = Arc::new(members);
        let workers = (0..members.len())
            .map(|i| {
                let worker = Worker {
                    id: i,
                    members: members.clone(),
                    files: files.clone(),
                    stop: stop.clone(),
                    generation: generation.clone(),
                    stats: stats.clone(),
                    last_ack: last_ack.clone(),
                };
                runtime.spawn(worker.run())
            })
            .collect();
        Self {
            stop,
            generation,
            stats,
            last_ack,
            runtime: Some(runtime),
            workers,
        }
    }

    /// Makes every worker reconnect with its files as they are now (before its next request).
    pub(crate) fn reconnect(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The number of writes acknowledged so far.
    pub(crate) fn acked(&self) -> usize {
        self.stats.lock().unwrap().acked.len()
    }

    /// Waits until `n` more writes are acknowledged (at most `bound`).
    pub(crate) fn wait_for_more(&self, n: usize, bound: Duration) -> bool {
        let target = self.acked() + n;
        let start = Instant::now();
        while start.elapsed() < bound {
            if self.acked() >= target {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Stops the workers and returns what they did.
    pub(crate) fn finish(mut self) -> Stats {
        self.stop.store(true, Ordering::SeqCst);
        let runtime = self.runtime.take().expect("running");
        for w in self.workers.drain(..) {
            let _ = runtime.block_on(w);
        }
        runtime.shutdown_timeout(Duration::from_secs(5));
        std::mem::take(&mut *self.stats.lock().unwrap())
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

struct Worker {
    id: usize,
    members: Arc<Vec<SocketAddr>>,
    files: ClientFiles,
    stop: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
    stats: Arc<Mutex<Stats>>,
    last_ack: Arc<Mutex<Instant>>,
}

impl Worker {
    async fn run(self) {
        let mut member = self.id % self.members.len();
        let mut client: Option<(u64, Client)> = None;
        let mut seq: usize = 0;
        let mut written: Vec<(String, String)> = Vec::new();
        while !self.stop.load(Ordering::SeqCst) {
            let generation = self.generation.load(Ordering::SeqCst);
            if client.as_ref().is_none_or(|(g, _)| *g != generation) {
                client = match self.client(member).await {
                    Ok(c) => Some((generation, c)),
                    Err(_) => {
                        self.count(|s| s.retried += 1);
                        member = (member + 1) % self.members.len();
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
            }
            let (_, c) = client.as_mut().expect("connected");
            // Every fifth request reads back an earlier write of this worker.
            let read = (seq % 5 == 4).then(|| written[(seq * 7) % written.len()].clone());
            let (key, value) = read.clone().unwrap_or_else(|| {
                (
                    format!("load/{}/{seq:08}", self.id),
                    format!("value-{}-{seq}", self.id),
                )
            });
            let start = Instant::now();
            let outcome = tokio::time::timeout(Duration::from_secs(3), async {
                if read.is_some() {
                    c.get(key.as_str(), None).await.map(|r| {
                        r.kvs()
                            .first()
                            .and_then(|kv| kv.value_str().ok().map(str::to_owned))
                    })
                } else {
                    c.put(key.as_str(), value.as_str(), None)
                        .await
                        .map(|_| None)
                }
            })
            .await;
            let latency = start.elapsed();
            self.count(|s| s.requests += 1);
            match outcome {
                Ok(Ok(got)) => {
                    {
                        let mut s = self.stats.lock().unwrap();
                        s.max_latency = s.max_latency.max(latency);
                        if read.is_some() {
                            if got.as_deref() != Some(value.as_str()) {
                                s.bad_reads += 1;
                            }
                        } else {
                            s.acked.insert(key.clone(), value.clone());
                            let mut last = self.last_ack.lock().unwrap();
                            s.max_write_gap = s.max_write_gap.max(last.elapsed());
                            *last = Instant::now();
                            written.push((key, value));
                        }
                    }
                    seq += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                _ => {
                    // Its member is restarting (or gone): the same request again, through the
                    // next member, on a new connection.
                    self.count(|s| s.retried += 1);
                    member = (member + 1) % self.members.len();
                    client = None;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn client(&self, member: usize) -> Result<Client, String> {
        let config = tls_config(&self.files)?;
        connect(self.members[member], config).await
    }

    fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.lock().unwrap());
    }
}

/// Runs `task` to its end on a runtime of its own (for the checks made outside the load).
fn block_on<T>(task: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(task)
}

/// Reads every key under `prefix` through the member at `addr`.
pub(crate) fn read_all(
    addr: SocketAddr,
    files: &ClientFiles,
    prefix: &str,
) -> Result<BTreeMap<String, String>, String> {
    block_on(async {
        let mut client = connect(addr, tls_config(files)?).await?;
        let resp = client
            .get(prefix, Some(etcd_client::GetOptions::new().with_prefix()))
            .await
            .map_err(|e| e.to_string())?;
        resp.kvs()
            .iter()
            .map(|kv| {
                Ok((
                    kv.key_str().map_err(|e| e.to_string())?.to_owned(),
                    kv.value_str().map_err(|e| e.to_string())?.to_owned(),
                ))
            })
            .collect()
    })
}

/// One request (a read of `load/probe`) through the member at `addr` with `files`: `Ok` if the
/// member served it.
pub(crate) fn try_request(addr: SocketAddr, files: &ClientFiles) -> Result<(), String> {
    block_on(async {
        let mut client = connect(addr, tls_config(files)?).await?;
        tokio::time::timeout(Duration::from_secs(5), client.get("load/probe", None))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

/// The server certificate the member at `addr` presents to a client trusting only the roots
/// in `trust` (with `files`' identity): `Err` if the handshake fails.
pub(crate) fn served_certificate(
    addr: SocketAddr,
    files: &ClientFiles,
) -> Result<CertificateDer<'static>, String> {
    block_on(async { handshake(addr, tls_config(files)?).await })
}
