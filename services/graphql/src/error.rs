//! `ContractError` as a GraphQL error, mapped once, and per-operation metrics.
//!
//! A GraphQL error carries the contract's client-safe message and an `extensions.code`
//! (NOT_FOUND, BAD_USER_INPUT, PAYLOAD_TOO_LARGE, INTERNAL_SERVER_ERROR). Internal
//! errors say only "internal error"; the detail was logged where it arose. The metric
//! status of an operation is the HTTP status REST would give, so counts compare.

use std::future::Future;
use std::time::Instant;

use async_graphql::{Error, ErrorExtensions};
use protolab_core::metrics::Metrics;
use protolab_core::{ContractError, Op};

/// `extensions.code` values.
pub const CODE_NOT_FOUND: &str = "NOT_FOUND";
pub const CODE_BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const CODE_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
pub const CODE_INTERNAL: &str = "INTERNAL_SERVER_ERROR";

/// The code and status (as REST would answer) of a contract error.
fn classify(e: &ContractError) -> (&'static str, u16) {
    match e {
        ContractError::NotFound(_) => (CODE_NOT_FOUND, 404),
        ContractError::InvalidArgument(_) => (CODE_BAD_USER_INPUT, 400),
        ContractError::TooLarge { .. } => (CODE_TOO_LARGE, 413),
        ContractError::Internal => (CODE_INTERNAL, 500),
    }
}

/// The GraphQL error a client sees for `e`.
pub fn to_graphql(e: &ContractError) -> Error {
    let (code, _) = classify(e);
    Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", code))
}

/// Runs one contract operation, records it in `metrics` under `op`, and maps its error.
pub async fn observed<T>(
    metrics: &Metrics,
    op: Op,
    work: impl Future<Output = Result<T, ContractError>>,
) -> async_graphql::Result<T> {
    let start = Instant::now();
    let result = work.await;
    let status = match &result {
        Ok(_) => 200,
        Err(e) => classify(e).1,
    };
    metrics.observe_op(op, status, start.elapsed());
    result.map_err(|e| to_graphql(&e))
}

/// Records a rejected operation (one that never ran) and maps its error.
pub fn rejected(metrics: &Metrics, op: Op, e: &ContractError) -> Error {
    metrics.observe_op(op, classify(e).1, std::time::Duration::ZERO);
    to_graphql(e)
}

/// Records a subscription when it ends (completed, or the client went away).
pub struct StreamGuard {
    metrics: std::sync::Arc<Metrics>,
    op: Op,
    start: Instant,
}

impl StreamGuard {
    /// Starts timing a subscription of `op`.
    pub fn new(metrics: std::sync::Arc<Metrics>, op: Op) -> Self {
        StreamGuard {
            metrics,
            op,
            start: Instant::now(),
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.metrics.observe_op(self.op, 200, self.start.elapsed());
    }
}
