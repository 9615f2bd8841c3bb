//! What the drivers share beneath their protocols: HTTP connections (h1, h2c, TLS
//! h2) built directly on hyper, WebSocket connections and request multiplexing,
//! the binary protocols' framed connection, SSE and NDJSON stream parsing, the
//! GraphQL subscription transport, and streamed blob transfers.

pub(crate) mod binconn;
pub(crate) mod blob;
pub(crate) mod gqlws;
pub mod http;
pub(crate) mod ndjson;
pub(crate) mod sse_parse;
pub(crate) mod ws;
pub(crate) mod wsmux;
