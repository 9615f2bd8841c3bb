//! protolab's protocol drivers: one file per protocol, each implementing
//! `protolab_bench::Driver` over the protocol's own client library or codec, their
//! shared transports (`transport/`: HTTP connections, WebSocket, the binary
//! connection, SSE and NDJSON parsing, blob transfers), answer verification against
//! the contract, and the endpoint table with the one protocol → driver mapping.
//! Nothing here measures, paces or decides validity: a driver reports what one call
//! did.

mod admin;
mod endpoints;
mod framed;
mod graphql;
mod grpc;
mod net001;
mod rest;
mod sse;
mod transport;
mod verify;
mod websocket;

use std::time::Duration;

pub use admin::{admin_reading, admin_summaries, admin_summary, admin_view, replica_summaries};
pub use endpoints::{
    default_ports, select, servers_of, with_driver, DriverConfig, Endpoint, Protocol, ServerAddr,
    UseDriver, ALL as ENDPOINTS, DEFAULT_FRAMED_PORT,
};
pub use framed::FramedDriver;
pub use graphql::GraphqlDriver;
pub use grpc::GrpcDriver;
pub use net001::Net001Driver;
pub use rest::RestDriver;
pub use sse::SseDriver;
pub use transport::http::{get_once, HttpTarget, HttpVersion, TlsOptions};
pub use transport::Peers;
pub use websocket::WebSocketDriver;

/// Time budget for a TCP connect or TLS handshake.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
