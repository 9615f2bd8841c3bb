//! `bench` on the GraphQL, SSE and WebSocket endpoints: the target each transport
//! means on a server's ports, and its driver. Construction only; `commands` owns
//! the run, `scenario` the case.

use std::sync::Arc;

use anyhow::Context;

use crate::driver::graphql::GraphqlDriver;
use crate::driver::http::{HttpTarget, HttpVersion, TlsOptions};
use crate::driver::sse::SseDriver;
use crate::driver::websocket::WebSocketDriver;
use crate::endpoints::{ServerAddr, Transport};
use crate::engine::Sinks;
use crate::scenario::{run_case_with, CaseResult, CaseSpec};

/// One case of a suite on a GraphQL, SSE or WebSocket endpoint at `addr`.
pub async fn run_endpoint(
    addr: &ServerAddr,
    transport: Transport,
    tls: &TlsOptions,
    mut spec: CaseSpec,
    sinks: &mut Sinks<'_>,
) -> anyhow::Result<CaseResult> {
    let seed = protolab_core::dataset::DEFAULT_SEED;
    let secure = matches!(
        transport,
        Transport::Graphql { tls: true, .. }
            | Transport::Sse { tls: true }
            | Transport::WebSocket { tls: true }
    );
    let (scheme, port) = if secure {
        ("https", addr.tls)
    } else {
        ("http", addr.plain)
    };
    let target = format!("{scheme}://{}:{port}", addr.host);
    spec.target = target.clone();
    let ctx = || format!("target {target}");
    Ok(match transport {
        Transport::Graphql { version, .. } => {
            let d = GraphqlDriver::new(&target, version, tls, seed, &spec.op)
                .await
                .with_context(ctx)?;
            run_case_with(Arc::new(d), spec, sinks).await
        }
        Transport::Sse { .. } => {
            let t = HttpTarget::new(&target, HttpVersion::H1, tls)
                .await
                .with_context(ctx)?;
            run_case_with(Arc::new(SseDriver::new(t, seed)), spec, sinks).await
        }
        _ => {
            let d = WebSocketDriver::new(&target, tls, seed, &spec.op)
                .await
                .with_context(ctx)?;
            run_case_with(Arc::new(d), spec, sinks).await
        }
    })
}
