//! The accept loop every server shares, and HTTP serving on top of it.
//!
//! `accept_loop` takes a bound listener, optional TLS, a connection cap and a
//! shutdown token, and hands each connection (plain or TLS, `TCP_NODELAY` set) to a
//! handler task; it stops accepting on shutdown and `TaskTracker` lets the caller
//! wait for the handlers to drain. `serve_http` runs an axum `Router` over it with
//! hyper's auto builder: HTTP/1.1 and HTTP/2 (prior knowledge, h2c) on one plain
//! socket, and by ALPN on TLS — upgrades (WebSocket) included.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceBuilder;

use crate::metrics::{track, Metrics};

/// A TLS handshake that has not finished by then is abandoned (slowloris guard).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP/1 client must finish sending request headers within this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Limits every HTTP server applies: body size, request timeout, a global
/// concurrency cap with load shedding (503), and per-request metrics.
pub fn http_layers(
    router: Router,
    metrics: Arc<Metrics>,
    max_body: usize,
    timeout: Duration,
    max_in_flight: usize,
) -> Router {
    router
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    max_in_flight,
                ))
                .timeout(timeout),
        )
        .layer(axum::middleware::from_fn_with_state(metrics, track))
        .layer(DefaultBodyLimit::max(max_body))
}

async fn overloaded(err: BoxError) -> Response {
    let (status, msg) = if err.is::<tower::timeout::error::Elapsed>() {
        (StatusCode::REQUEST_TIMEOUT, "request timed out")
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        (StatusCode::SERVICE_UNAVAILABLE, "server overloaded")
    } else {
        tracing::error!(error = %err, "unhandled service error");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    };
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

/// Serves `router` on every connection `accept_loop` yields, until shutdown, then
/// lets each connection finish its in-flight requests.
pub async fn serve_http(
    router: Router,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: AcceptCtx,
    http2_only: bool,
) {
    let shutdown = ctx.shutdown.clone();
    accept_loop(listener, tls, ctx, move |conn, _peer| {
        let svc = TowerToHyperService::new(router.clone());
        let shutdown = shutdown.clone();
        async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            if http2_only {
                builder = builder.http2_only();
            }
            // Slowloris guard: headers must arrive within HEADER_READ_TIMEOUT.
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(1024);
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
