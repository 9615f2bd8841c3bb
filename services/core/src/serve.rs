//! The accept loop every server shares, and HTTP serving on top of it.
//!
//! `accept_loop` takes a bound listener, optional TLS, a connection cap and a
//! shutdown token, and hands each connection (plain or TLS, `TCP_NODELAY` set) to a
//! handler task; it stops accepting on shutdown and `TaskTracker` lets the caller
//! wait for the handlers to drain. `serve_http` runs an axum `Router` over it with
//! hyper's auto builder: HTTP/1.1 and HTTP/2 (prior knowledge, h2c) on one plain
//! socket, and by ALPN on TLS — upgrades (WebSocket) included. Each connection
//! answers the server's constant routes (`GET /ping`) itself and hands every other
//! request to the router; both pass the request guard (`crate::guard`).

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::util::Oneshot;
use tower::ServiceExt;

use crate::guard::{Constant, GuardLayer, RequestLimits, PING};
use crate::metrics::Metrics;

/// A TLS handshake that has not finished by then is abandoned (slowloris guard).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP/1 client must finish sending request headers within this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request header block, in bytes (`--max-header-bytes`): 16 KiB, as Node.js
/// and hyper's HTTP/2 default, twice nginx's 8 KiB per header line. Every request of
/// the contract and every client we know of sends under 1 KiB; an 80 KB header is an
/// attack or a bug, and hyper's own HTTP/1 default (~400 KB) would buffer it.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// The smallest header cap hyper accepts: its HTTP/1 read buffer starts at 8 KiB.
pub const MIN_MAX_HEADER_BYTES: usize = 8 * 1024;

/// An accepted connection, plain or TLS.
pub type Conn = Either<TcpStream, TlsStream<TcpStream>>;

/// What an accept loop shares with its connection tasks.
#[derive(Clone)]
pub struct AcceptCtx {
    pub limit: Arc<Semaphore>,
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
}

/// Accepts until shutdown, giving each connection to `handler` in its own task.
/// At most `limit` connections are served at once; further ones wait in the
/// kernel's backlog (backpressure, not refusal).
pub async fn accept_loop<H, F>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: AcceptCtx,
    handler: H,
) where
    H: Fn(Conn, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let permit = tokio::select! {
            p = ctx.limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = ctx.shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = ctx.shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let guard = ctx.metrics.connection();
        let tls = tls.clone();
        let handler = handler.clone();
        ctx.tracker.spawn(async move {
            let _permit = permit;
            let _guard = guard;
            let conn = match tls {
                None => Either::Left(stream),
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(s)) => Either::Right(s),
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            handler(conn, peer).await;
        });
    }
}

/// Puts every route of `router` behind the request guard (in-flight cap, timeout,
/// metrics) and caps request bodies at `max_body`.
pub fn http_layers(router: Router, limits: &Arc<RequestLimits>, max_body: usize) -> Router {
    router
        .layer(GuardLayer(limits.clone()))
        .layer(DefaultBodyLimit::max(max_body))
}

/// `GET /ping` of the HTTP servers, for the router (`HEAD`, a router served on its
/// own); a connection answers `GET` before routing (`guard::PING`).
pub async fn ping() -> Response {
    PING.response()
}

/// What a connection answers before routing, and the limits those answers pass.
#[derive(Clone)]
pub struct Constants {
    pub routes: &'static [Constant],
    pub limits: Arc<RequestLimits>,
}

/// The service of one HTTP connection: a constant route's answer at once, every
/// other request through the router.
#[derive(Clone)]
struct Entry {
    router: Router,
    constants: Constants,
}

impl hyper::service::Service<http::Request<Incoming>> for Entry {
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::Either<
        Ready<Result<Response, Infallible>>,
        Oneshot<Router, http::Request<Incoming>>,
    >;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        if req.method() == http::Method::GET {
            let path = req.uri().path();
            if let Some(c) = self.constants.routes.iter().find(|c| c.path == path) {
                return futures::future::Either::Left(ready(Ok(self.constants.limits.answer(c))));
            }
        }
        futures::future::Either::Right(self.router.clone().oneshot(req))
    }
}

/// How hyper serves each connection.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    /// Serve HTTP/2 only (gRPC).
    pub http2_only: bool,
    /// Largest request header block (HTTP/1: request line and headers as sent;
    /// HTTP/2: the header list as RFC 9113 counts it, 32 bytes per field on top).
    /// At least `MIN_MAX_HEADER_BYTES`.
    pub max_header_bytes: usize,
}

/// A hyper connection builder with every limit of `config` applied.
fn builder(config: HttpConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if config.http2_only {
        builder = builder.http2_only();
    }
    // HTTP/1: a request head that does not fit the read buffer is answered 431 by
    // hyper itself, and the connection closed. Body reads and queued writes use the
    // same buffer a piece at a time, so this bounds them too, without limiting
    // their total size. Slowloris guard: headers must arrive within
    // HEADER_READ_TIMEOUT.
    builder
        .http1()
        .max_buf_size(config.max_header_bytes.max(MIN_MAX_HEADER_BYTES))
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // HTTP/2: advertised in SETTINGS; a larger header block gets a 431 response
    // and the stream reset, and the connection serves on.
    builder
        .http2()
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX))
        .timer(TokioTimer::new())
        .max_concurrent_streams(1024);
    builder
}

/// Serves `router` on every connection `accept_loop` yields, until shutdown, then
/// lets each connection finish its in-flight requests.
pub async fn serve_http(
    router: Router,
    constants: Constants,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: AcceptCtx,
    config: HttpConfig,
) {
    let shutdown = ctx.shutdown.clone();
    accept_loop(listener, tls, ctx, move |conn, _peer| {
        let svc = Entry {
            router: router.clone(),
            constants: constants.clone(),
        };
        let shutdown = shutdown.clone();
        async move {
            let builder = builder(config);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(conn), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with error");
                    }
                }
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        }
    })
    .await;
}
