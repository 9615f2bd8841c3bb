//! The gRPC server: `arena.Arena` (the lab contract: unary, server streaming and
//! client streaming), reference/002's `score.ScoreService`, `grpc.health.v1` and
//! reflection — tonic services turned into one axum router and served by core's
//! accept loop (HTTP/2 only; the TLS port requires a client certificate when TLS_CA
//! is set, which the compose lab always does).

mod arena;
mod status;

use axum::Router;
use protolab_core::{tls, Ports, ServerSpec, ServerState};
use tonic::service::Routes;

/// Generated protobuf and tonic code, public so clients (the load generator) can use it.
pub mod pb {
    pub mod arena {
        tonic::include_proto!("arena");
    }
    pub mod score {
        tonic::include_proto!("score");
    }
    /// Encoded descriptor set of both protos (for reflection).
    pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));
}

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
};

/// Bytes of protobuf framing allowed above the payload limit.
const FRAMING_ALLOWANCE: usize = 64 * 1024;

/// Every gRPC service over `state`, as one router.
pub fn app(state: ServerState) -> Router {
    // Payloads are checked against max_body in the handlers (RESOURCE_EXHAUSTED);
    // tonic's own cap sits above it by the protobuf framing, and refuses anything
    // larger before decoding (tonic reports that as OUT_OF_RANGE).
    let max = state.max_body.saturating_add(FRAMING_ALLOWANCE);
    let arena = pb::arena::arena_server::ArenaServer::new(ArenaService::new(state.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let score = pb::score::score_service_server::ScoreServiceServer::new(ScoreService::new(state))
        .max_decoding_message_size(max);
    let (reporter, health) = tonic_health::server::health_reporter();
    // The reporter starts with every service unknown; mark ours serving before the
    // first connection can ask. Blocking here is safe: nothing else holds the
    // reporter's lock yet, so the future completes without waiting on the runtime.
    let reporter_task = async move {
        reporter
            .set_serving::<pb::arena::arena_server::ArenaServer<ArenaService>>()
            .await;
        reporter
            .set_serving::<pb::score::score_service_server::ScoreServiceServer<ScoreService>>()
            .await;
    };
    futures::executor::block_on(reporter_task);
    let mut routes = Routes::new(arena).add_service(score).add_service(health);
    match tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::DESCRIPTOR_SET)
        .build_v1()
    {
        Ok(reflection) => routes = routes.add_service(reflection),
        Err(e) => tracing::error!(error = %e, "reflection unavailable"),
    }
    routes.prepare().into_axum_router()
}
