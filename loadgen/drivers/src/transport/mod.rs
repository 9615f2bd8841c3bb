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
