//! Contract errors as gRPC statuses, mapped once. Internal errors carry no detail
//! (the dataset has logged it); every other message is safe to show a client.
//!
//! Oversized requests: tonic's codec refuses a message above the decoding limit with
//! OUT_OF_RANGE before any handler runs, whereas gRPC's C, Go and Java servers (and
//! the contract) say RESOURCE_EXHAUSTED. `oversize_is_resource_exhausted` rewrites
//! that one status; no handler here ever returns OUT_OF_RANGE itself.

use axum::http::HeaderValue;
use axum::response::Response;
use protolab_core::ContractError;
use tonic::{Code, Status};

/// The gRPC status header (trailers-only responses carry it among the headers).
const GRPC_STATUS: &str = "grpc-status";

/// The gRPC status for a contract error.
pub fn to_status(e: ContractError) -> Status {
    match e {
        ContractError::NotFound(_) => Status::not_found(e.to_string()),
        ContractError::InvalidArgument(_) => Status::invalid_argument(e.to_string()),
        ContractError::TooLarge { .. } => Status::resource_exhausted(e.to_string()),
        ContractError::Internal => Status::internal("internal error"),
    }
}

/// axum `map_response` middleware: OUT_OF_RANGE (tonic's "message too large") becomes
/// RESOURCE_EXHAUSTED. A request that fails to decode always ends in a trailers-only
/// response, so the status is in the headers by the time this sees them.
pub async fn oversize_is_resource_exhausted(mut resp: Response) -> Response {
    let out_of_range = resp
        .headers()
        .get(GRPC_STATUS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        == Some(Code::OutOfRange as i32);
    if out_of_range {
        resp.headers_mut().insert(
            GRPC_STATUS,
            HeaderValue::from(Code::ResourceExhausted as i32),
        );
    }
    resp
}
