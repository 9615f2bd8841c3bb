//! The WebSocket server: every operation over one socket at `/ws`, as a JSON
//! envelope in text frames; binary frames are echoed byte for byte.
//!
//! | op | request (text frame) | answer |
//! |---|---|---|
//! | ping | `{"op":"ping","req":1}` | `{"req":1,"ok":true,"result":{"pong":true}}` |
//! | get_item | `{"op":"get_item","id":42,"req":2}` | `result`: the item |
//! | list_items | `{"op":"list_items","offset":0,"limit":20,"category":"books","req":3}` | `result`: array of items |
//! | echo | `{"op":"echo","data":"..","req":4}` | `result`: the same string |
//! | echo (bytes) | a binary frame (≤ MAX_BODY) | the same binary frame |
//! | score | `{"op":"score","json":{..} or "..","req":5}` | `result`: `{"score":f64}` after DELAY_MS |
//! | stream | `{"op":"stream","count":3,"interval_ms":10,"size":16,"req":6}` | `{"req":6,"event":{seq,sent_at_us,payload}}` × count, then `{"req":6,"ok":true,"done":true}` |
//! | subscribe | `{"op":"subscribe","req":7}` | `{"req":7,"ok":true,"result":{"subscribed":true}}`, then `{"event":"broadcast",seq,sent_at_us,body}` / `{"event":"lagged","skipped":n}` |
//! | broadcast | `{"op":"broadcast","message":"..","req":8}` | `result`: `{"seq","subscribers"}` |
//!
//! Failures answer `{"req":..,"ok":false,"error":".."}` (`req` omitted when unknown)
//! and the socket stays open. Requests run concurrently (answers matched by `req`);
//! one writer per socket drains a bounded queue, so a client that does not read
//! stalls its own requests instead of growing server memory.

mod ops;
mod session;

use std::time::Duration;

use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use protolab_core::hub::Hub;
use protolab_core::{tls, websocket, Ports, ServerSpec, ServerState};

/// The WebSocket server's identity and default ports (DESIGN.md).
pub const SPEC: ServerSpec = ServerSpec {
    name: "websocket",
    ports: Ports {
        plain: 8003,
        tls: 8443,
        admin: 9003,
    },
    alpn: tls::ALPN_H2_H1,
    http2_only: false,
    constants: &[],
};

/// The one WebSocket endpoint.
pub const PATH: &str = "/ws";

/// How often the server pings an idle client; one silent for two intervals is
/// closed. Under the 60 s idle timeouts common in proxies.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);

/// Tunables of the WebSocket app beyond `ServerState`.
#[derive(Debug, Clone, Copy)]
pub struct WsConfig {
    /// Interval of server pings (and half the silence that closes a socket).
    pub ping_interval: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            ping_interval: PING_INTERVAL,
        }
    }
}

/// What every socket of one server shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub state: ServerState,
    pub hub: Hub,
    pub config: WsConfig,
}

/// The `/ws` route over `state`, publishing to and subscribing from `hub`.
pub fn app(state: ServerState, hub: Hub) -> Router {
    app_with(state, hub, WsConfig::default())
}

/// `app` with explicit tunables (tests use a short ping interval).
pub fn app_with(state: ServerState, hub: Hub, config: WsConfig) -> Router {
    Router::new()
        .route(PATH, get(upgrade))
        .with_state(Shared { state, hub, config })
}

/// Accepts the upgrade with core's WebSocket buffers, messages capped at MAX_BODY.
async fn upgrade(State(shared): State<Shared>, ws: WebSocketUpgrade) -> Response {
    let max = shared.state.max_body;
    websocket::limits(ws, max).on_upgrade(move |socket| session::run(socket, shared))
}
