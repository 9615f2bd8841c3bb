//! What the drivers share beneath their protocols: HTTP connections (HTTP/2 on
//! hyper; HTTP/1.1 spoken directly for whole answers and on hyper for streams),
//! WebSocket connections and request multiplexing, the binary protocols' framed
//! connection, SSE and NDJSON stream parsing, the
//! GraphQL subscription transport, and streamed blob transfers.

pub(crate) mod binconn;
pub(crate) mod blob;
pub(crate) mod gqlws;
pub mod grpcconn;
pub(crate) mod h1;
pub mod http;
pub(crate) mod ndjson;
pub(crate) mod sse_parse;
pub(crate) mod ws;
pub(crate) mod wsmux;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use protolab_bench::driver::{CallError, ConnectTimings};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::CONNECT_TIMEOUT;

/// A connected transport: plain TCP or TLS over TCP.
pub type Io = tokio_util::either::Either<TcpStream, tokio_rustls::client::TlsStream<TcpStream>>;

/// TLS towards a server: the connector and the name its certificate must carry.
pub type TlsTo = (TlsConnector, ServerName<'static>);

/// Every address a target's name resolved to, resolved once (connect timings never
/// include DNS), and the connections spread over them in turn: client-side balancing.
///
/// A name with one address (a server, or a load balancer's virtual IP such as a
/// Docker Swarm service in its default `vip` mode) gets every connection. A name
/// with several (a swarm service in `dnsrr` mode, `tasks.<service>`, a headless
/// Kubernetes service) gets connection `i` on address `i mod n`, so `c`
/// connections reach every replica, `c / n` each: what a VIP, balancing per
/// connection, cannot promise HTTP/2 or gRPC with few connections.
#[derive(Clone, Debug)]
pub struct Peers {
    addrs: Arc<[SocketAddr]>,
    next: Arc<AtomicUsize>,
}

impl Peers {
    /// Resolves `host:port` to all its addresses of the family the resolver prefers
    /// (a dual-stack name such as `localhost` is one host twice, not two replicas),
    /// in a stable order (sorted, without duplicates), so that a run's spread does
    /// not depend on the resolver's rotation.
    pub async fn resolve(hostport: &str) -> Result<Peers, CallError> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host(hostport)
            .await
            .map_err(|e| CallError::Connect(format!("resolving {hostport}: {e}")))?
            .collect();
        Peers::of(one_family(found))
            .ok_or_else(|| CallError::Connect(format!("{hostport} has no address")))
    }

    /// These addresses, in this order; `None` when there are none.
    pub fn of(addrs: Vec<SocketAddr>) -> Option<Peers> {
        (!addrs.is_empty()).then(|| Peers {
            addrs: addrs.into(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Every address, in the order connections take them.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The address the next connection goes to.
    pub fn pick(&self) -> SocketAddr {
        let i = match self.addrs.len() {
            1 => 0,
            n => self.next.fetch_add(1, Ordering::Relaxed) % n,
        };
        self.addrs[i]
    }
}

/// The addresses of the first one's family, sorted, each once.
fn one_family(found: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(v6) = found.first().map(SocketAddr::is_ipv6) else {
        return found;
    };
    let mut addrs: Vec<SocketAddr> = found.into_iter().filter(|a| a.is_ipv6() == v6).collect();
    addrs.sort();
    addrs.dedup();
    addrs
}

/// TCP to the next of `peers` (Nagle off), then TLS when `tls` is given: each step
/// timed and bounded by `CONNECT_TIMEOUT`.
pub(crate) async fn dial(
    peers: &Peers,
    tls: Option<&TlsTo>,
) -> Result<(Io, ConnectTimings), CallError> {
    let timed_out = |what: &str| CallError::Connect(format!("{what} timed out"));
    let addr = peers.pick();
    let t0 = Instant::now();
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out("TCP connect"))?
        .map_err(|e| CallError::Connect(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let mut timings = ConnectTimings {
        tcp: t0.elapsed(),
        ..Default::default()
    };
    let Some((connector, name)) = tls else {
        return Ok((Io::Left(tcp), timings));
    };
    let t1 = Instant::now();
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name.clone(), tcp))
        .await
        .map_err(|_| timed_out("TLS handshake"))?
        .map_err(|e| CallError::Connect(format!("TLS: {e}")))?;
    timings.tls = Some(t1.elapsed());
    Ok((Io::Right(tls), timings))
}

/// The HTTP/2 client handshake (preface and settings) on `io`, timed into
/// `timings.handshake` and bounded by `CONNECT_TIMEOUT`; the connection task is
/// spawned. Windows of 4 MiB per stream and 8 MiB per connection, so that a
/// transfer is not paced by window updates.
pub(crate) async fn h2_handshake<B>(
    io: Io,
    timings: &mut ConnectTimings,
) -> Result<http2::SendRequest<B>, CallError>
where
    B: http_body::Body + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let t = Instant::now();
    let handshake = http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(4 << 20)
        .initial_connection_window_size(8 << 20)
        .handshake(TokioIo::new(io));
    let (mut send, conn) = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
        .await
        .map_err(|_| CallError::Connect("HTTP/2 handshake timed out".into()))?
        .map_err(|e| CallError::Connect(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send.ready()
        .await
        .map_err(|e| CallError::Connect(e.to_string()))?;
    timings.handshake = Some(t.elapsed());
    Ok(send)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Counts the connections each listener accepts within a short while.
    async fn accepted(listener: &TcpListener) -> usize {
        let mut n = 0;
        while let Ok(Ok(_)) =
            tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await
        {
            n += 1;
        }
        n
    }

    #[tokio::test]
    async fn connections_take_every_address_in_turn() -> std::io::Result<()> {
        let a = TcpListener::bind("127.0.0.1:0").await?;
        let b = TcpListener::bind("127.0.0.1:0").await?;
        let peers = Peers::of(vec![a.local_addr()?, b.local_addr()?]).expect("two addresses");
        let mut held = Vec::new();
        for _ in 0..6 {
            held.push(dial(&peers, None).await.map_err(std::io::Error::other)?);
        }
        assert_eq!((accepted(&a).await, accepted(&b).await), (3, 3));
        Ok(())
    }

    #[test]
    fn a_dual_stack_name_is_one_host_and_replicas_are_many() {
        let addr = |s: &str| s.parse::<SocketAddr>().expect("addr");
        let localhost = vec![addr("[::1]:80"), addr("127.0.0.1:80")];
        assert_eq!(one_family(localhost), vec![addr("[::1]:80")]);
        let replicas = vec![
            addr("10.0.1.9:80"),
            addr("10.0.1.5:80"),
            addr("10.0.1.9:80"),
        ];
        assert_eq!(
            one_family(replicas),
            vec![addr("10.0.1.5:80"), addr("10.0.1.9:80")]
        );
        assert!(one_family(Vec::new()).is_empty());
    }

    #[tokio::test]
    async fn a_name_resolves_to_all_its_addresses_once_each() -> Result<(), CallError> {
        let peers = Peers::resolve("127.0.0.1:9").await?;
        assert_eq!(peers.addrs(), &["127.0.0.1:9".parse().expect("addr")]);
        assert_eq!(
            peers.pick(),
            peers.pick(),
            "one address takes every connection"
        );
        assert!(Peers::of(Vec::new()).is_none());
        assert!(Peers::resolve("no-such-host.invalid:80").await.is_err());
        Ok(())
    }
}
