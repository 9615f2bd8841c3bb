//! protolab's protobuf contract, generated at build time from `proto/arena.proto`
//! and `proto/score.proto` (protox: no system protoc): messages, tonic clients and
//! servers. The gRPC server implements the services; the load generator calls them
//! through the clients. Generated code only: no behaviour lives here.

/// `arena.Arena`: the lab contract over gRPC.
pub mod arena {
    tonic::include_proto!("arena");
}

/// `score.ScoreService`: reference/002's scoring service.
pub mod score {
    tonic::include_proto!("score");
}

/// Encoded descriptor set of both protos (for reflection).
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));
