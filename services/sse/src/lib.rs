//! The Server-Sent Events server: the push operations as `text/event-stream`, plus
//! the request/response operations so both kinds can be compared on one server.
//!
//! | op | route |
//! |---|---|
//! | ping | `GET /ping` → `{"pong":true}` |
//! | get_item | `GET /items/{id}` → item JSON (404 unknown, 400 non-numeric) |
//! | stream | `GET /events?count&interval_ms&size` → `id: <seq>`, `data: {seq,sent_at_us,payload}`; resumes after `Last-Event-ID` |
//! | subscribe | `GET /subscribe` → `event: message`, `id: <hub seq>`, `data: {seq,sent_at_us,body}`; `event: lagged`, `data: {skipped}` |
//! | broadcast | `POST /broadcast` (body = message text, ≤ MAX_BODY) → `{"seq","subscribers"}` |
//!
//! Idle streams carry a keep-alive comment every `KEEP_ALIVE` so proxies and clients
//! see a live connection. A slow subscriber is told how many messages it missed
//! (`lagged`), never disconnected. Every stream ends when the server shuts down, so
//! draining does not wait for endless subscriptions. Bad parameters get a JSON 400
//! before any stream starts.

mod routes;

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use protolab_core::hub::Hub;
use protolab_core::{tls, Ports, ServerSpec, ServerState};

/// The SSE server's identity and default ports (DESIGN.md).
pub const SPEC: ServerSpec = ServerSpec {
    name: "sse",
    ports: Ports {
        plain: 8002,
        tls: 8442,
        admin: 9002,
    },
    alpn: tls::ALPN_H2_H1,
    http2_only: false,
    constants: &[protolab_core::guard::PING],
};

/// Keep-alive comment interval on idle streams: under the 30–60 s idle timeouts
/// common in proxies and load balancers.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Text of the keep-alive comment line (`: keep-alive`).
pub const KEEP_ALIVE_TEXT: &str = "keep-alive";

/// Tunables of the SSE app beyond `ServerState`.
#[derive(Debug, Clone, Copy)]
pub struct SseConfig {
    /// Interval of keep-alive comments on idle streams.
    pub keep_alive: Duration,
}

impl Default for SseConfig {
    fn default() -> Self {
        SseConfig {
            keep_alive: KEEP_ALIVE,
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub server: ServerState,
    pub hub: Hub,
    pub config: SseConfig,
}

/// The SSE routes over `state`, publishing to and subscribing from `hub`.
pub fn app(state: ServerState, hub: Hub) -> Router {
    app_with(state, hub, SseConfig::default())
}

/// `app` with explicit tunables (tests use a short keep-alive).
pub fn app_with(state: ServerState, hub: Hub, config: SseConfig) -> Router {
    Router::new()
        .route("/ping", get(protolab_core::serve::ping))
        .route("/items/{id}", get(routes::get_item))
        .route("/events", get(routes::events))
        .route("/subscribe", get(routes::subscribe))
        .route("/broadcast", post(routes::broadcast))
        .fallback(protolab_core::http_error::not_found)
        .with_state(AppState {
            server: state,
            hub,
            config,
        })
}
