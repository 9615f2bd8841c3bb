//! The GraphQL server: the operation contract as one async-graphql schema over axum.
//!
//! | op | GraphQL |
//! |---|---|
//! | ping | `query { ping }` → `"pong"` |
//! | get_item | `query { item(id: Int!) { id name category price description createdAt } }` |
//! | list_items | `query { items(offset: Int = 0, limit: Int = 20, category: String) { ... } }` |
//! | echo | `mutation { echo(data: String!) }` (base64 in, the same base64 out) |
//! | score | `mutation { score(json: String!) }` → Float, after DELAY_MS |
//! | broadcast | `mutation { broadcast(message: String!) { seq subscribers } }` |
//! | stream | `subscription { ticks(count: Int!, intervalMs: Int!, size: Int!) { seq sentAtMicros payload } }` |
//! | subscribe | `subscription { broadcasts { seq sentAtMicros body lagged } }` |
//!
//! Queries and mutations go to `POST /graphql` (JSON body) or, queries only,
//! `GET /graphql?query=...`; subscriptions use a WebSocket at `/graphql/ws` (or an
//! upgrade on `/graphql`) with graphql-transport-ws or legacy graphql-ws. Sequence
//! numbers and `sentAtMicros` are the `U64` scalar, a decimal string (GraphQL's Int
//! is 32-bit). Errors are GraphQL errors with `extensions.code`; a malformed body is
//! a 400, an oversized one a 413. The transports (h1, h2c, TLS with ALPN) and the
//! admin port come from `protolab_core::server::run_http`.

mod error;
mod http;
mod schema;
mod types;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use protolab_core::{tls, Ports, ServerSpec, ServerState};

pub use error::{CODE_BAD_USER_INPUT, CODE_INTERNAL, CODE_NOT_FOUND, CODE_TOO_LARGE};
pub use schema::{build as build_schema, sdl, AppSchema, MAX_COMPLEXITY, MAX_DEPTH};

/// The GraphQL server's identity and default ports (DESIGN.md).
pub const SPEC: ServerSpec = ServerSpec {
    name: "graphql",
    ports: Ports {
        plain: 8001,
        tls: 8441,
        admin: 9001,
    },
    alpn: tls::ALPN_H2_H1,
    http2_only: false,
    constants: &[],
};

/// Queries, mutations and GET-upgraded subscriptions.
pub const GRAPHQL_PATH: &str = "/graphql";
/// The dedicated subscription (WebSocket) path.
pub const WS_PATH: &str = "/graphql/ws";

/// Room for the query text and JSON framing around an echo payload.
const QUERY_OVERHEAD: usize = 64 * 1024;

/// Largest request body (and WebSocket message): an echo of `max_body` decoded bytes
/// arrives base64-encoded (4/3 larger) inside a JSON request, so the HTTP limit is
/// that plus `QUERY_OVERHEAD`; the decoded size is checked against `max_body` itself.
pub fn body_limit(max_body: usize) -> usize {
    max_body.div_ceil(3) * 4 + QUERY_OVERHEAD
}

/// The GraphQL routes over `state`.
pub fn app(state: ServerState) -> Router {
    let limit = body_limit(state.max_body);
    let http_state = http::HttpState {
        schema: schema::build(state),
        body_limit: limit,
    };
    Router::new()
        .route(GRAPHQL_PATH, get(http::get).post(http::post))
        .route(WS_PATH, get(http::ws))
        // Inner to core's DefaultBodyLimit(max_body), so it takes precedence here.
        .layer(DefaultBodyLimit::max(limit))
        .with_state(http_state)
}
