//! The gRPC server: `arena.Arena` (the lab contract: unary, server streaming and
//! client streaming), reference/002's `score.ScoreService`, `grpc.health.v1` and
//! reflection (v1 and v1alpha) — tonic services turned into one axum router and
//! served by core's accept loop (HTTP/2 only; the TLS port requires a client
//! certificate when TLS_CA is set, which the compose lab always does).

mod arena;
mod status;

use axum::Router;
use protolab_core::{tls, Ports, ServerSpec, ServerState};
use tonic::service::Routes;
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::pb::arena::arena_server::ArenaServer;
use crate::pb::score::score_service_server::ScoreServiceServer;

/// Generated protobuf and tonic code (the `protolab-proto` crate, shared with the
/// load generator).
pub use protolab_proto as pb;

pub use arena::{ArenaService, ScoreService};

/// The gRPC server's identity and default ports (DESIGN.md).
pub const SPEC: ServerSpec = ServerSpec {
    name: "grpc",
    ports: Ports {
        plain: 50051,
        tls: 50052,
        admin: 9004,
    },
    alpn: tls::ALPN_H2,
    http2_only: true,
    constants: &[],
};

/// What protobuf adds around a payload-sized field: one tag byte and a length varint
/// (at most ten bytes). A request whose payload is exactly `max_body` bytes (the 1 MiB
/// echo) must still decode; the handler then checks the payload itself.
const PROTOBUF_FRAMING: usize = 16;

/// Every gRPC service over `state`, as one router.
pub fn app(state: ServerState) -> Router {
    // tonic refuses a request above this before decoding it (no unbounded buffering);
    // `status::oversize_is_resource_exhausted` turns its OUT_OF_RANGE into the
    // contract's RESOURCE_EXHAUSTED. Replies stay uncapped: the contract bounds them
    // (a page <= 1000 rows, a download chunk <= 4 MiB, an echo <= max_body).
    let max = state.max_body.saturating_add(PROTOBUF_FRAMING);
    let arena = ArenaServer::new(ArenaService::new(state.clone())).max_decoding_message_size(max);
    let score = ScoreServiceServer::new(ScoreService::new(state)).max_decoding_message_size(max);
    let mut routes = Routes::new(arena)
        .add_service(score)
        .add_service(health_service());
    // Both reflection versions, as grpc-go serves them: grpcurl and current tools
    // ask v1; Python's grpcio-reflection, older grpcurl and Evans ask v1alpha.
    match reflection().build_v1() {
        Ok(v1) => routes = routes.add_service(v1),
        Err(e) => tracing::error!(error = %e, "reflection v1 unavailable"),
    }
    match reflection().build_v1alpha() {
        Ok(v1alpha) => routes = routes.add_service(v1alpha),
        Err(e) => tracing::error!(error = %e, "reflection v1alpha unavailable"),
    }
    routes
        .prepare()
        .into_axum_router()
        .layer(axum::middleware::map_response(
            status::oversize_is_resource_exhausted,
        ))
}

/// Server reflection over every service this server offers.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// `grpc.health.v1.Health`, reporting Arena and ScoreService (and the server as a
/// whole, the empty name) SERVING.
fn health_service() -> HealthServer<impl Health> {
    let (reporter, health) = tonic_health::server::health_reporter();
    // Mark ours serving before the first connection can ask. Blocking is safe: nothing
    // else holds the reporter's lock yet, so these futures complete without waiting.
    futures::executor::block_on(async move {
        reporter.set_serving::<ArenaServer<ArenaService>>().await;
        reporter
            .set_serving::<ScoreServiceServer<ScoreService>>()
            .await;
    });
    health
}
