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

/// TCP to `addr` (Nagle off), then TLS when `tls` is given: each step timed and
/// bounded by `CONNECT_TIMEOUT`.
pub(crate) async fn dial(
    addr: SocketAddr,
    tls: Option<&TlsTo>,
) -> Result<(Io, ConnectTimings), CallError> {
    let timed_out = |what: &str| CallError::Connect(format!("{what} timed out"));
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
