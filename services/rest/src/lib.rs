//! The REST server: the operation contract as plain HTTP resources.
//!
//! | op | route |
//! |---|---|
//! | ping | `GET /ping` |
//! | get_item | `GET /items/{id}` |
//! | list_items | `GET /items?offset&limit&category` |
//! | echo | `POST /echo` (body returned byte for byte) |
//! | score | `POST /score` (JSON in, `{"score": f64}` out after DELAY_MS) |
//! | stream | `GET /stream?count&interval_ms&size` (NDJSON, one event per line) |
//! | download | `GET /download?size&chunk` (streamed, never buffered) |
//! | upload | `POST /upload` (streamed; `{"bytes", "crc32"}`) |
//!
//! The plain port speaks HTTP/1.1 and h2c on one socket, the TLS port negotiates h2
//! or http/1.1 by ALPN; both come from `protolab_core::server::run_http`. Errors are
//! JSON `{"error": ...}` with 400/404/413; nothing here panics on input.

mod routes;

use axum::routing::{get, post};
use axum::Router;
use protolab_core::{tls, Ports, ServerSpec, ServerState};

/// The REST server's identity and default ports (DESIGN.md).
pub const SPEC: ServerSpec = ServerSpec {
    name: "rest",
    ports: Ports {
        plain: 8000,
        tls: 8440,
        admin: 9000,
    },
    alpn: tls::ALPN_H2_H1,
    http2_only: false,
    constants: &[protolab_core::guard::PING],
};

/// The REST routes over `state`.
pub fn app(state: ServerState) -> Router {
    Router::new()
        .route("/ping", get(protolab_core::serve::ping))
        .route("/items", get(routes::list_items))
        .route("/items/{id}", get(routes::get_item))
        .route("/echo", post(routes::echo))
        .route("/score", post(routes::score))
        .route("/stream", get(routes::stream))
        .route("/download", get(routes::download))
        .route("/upload", post(routes::upload))
        .fallback(protolab_core::http_error::not_found)
        .with_state(state)
}
