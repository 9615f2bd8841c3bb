//! The stream kind over REST (NDJSON, HTTP/1.1 and h2c) and gRPC (`Arena.Stream`)
//! against their real servers, with repetitions; and broadcast where a protocol has
//! none, which is skipped (neither measured nor invalid) instead of measuring nothing.

mod common;

use std::sync::Arc;

use common::{assert_whole_stream, Server};
use protolab_bench::OpSpec;
use protolab_bench::{run_case, Hooks};
use protolab_drivers::GrpcDriver;
use protolab_drivers::RestDriver;
use protolab_drivers::{HttpTarget, HttpVersion};

async fn rest(srv: &Server, version: HttpVersion) -> anyhow::Result<Arc<RestDriver>> {
    let t = HttpTarget::new(&srv.http(), version, &srv.tls_options()).await?;
    Ok(Arc::new(RestDriver::new(t, 42, &OpSpec::Ping)))
}

#[tokio::test]
async fn rest_ndjson_streams_with_repetitions() -> anyhow::Result<()> {
    let srv = common::start(&protolab_rest::SPEC, protolab_rest::app).await?;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        let mut spec = common::stream_case(400, 200, 2);
        spec.repeat = 3;
        let r = run_case(rest(&srv, version).await?, spec, &mut Hooks::silent()).await;
        assert_whole_stream(&r, 2, 400, &format!("rest {version:?}"));
        assert_eq!(r.repetitions.len(), 3);
        assert_eq!(
            r.stats[&protolab_bench::Metric::Rps].n,
            3,
            "statistics across the repetitions"
        );
    }
    let bc = common::broadcast_case(2, 10.0, std::time::Duration::from_millis(200));
    let r = run_case(rest(&srv, HttpVersion::H1).await?, bc, &mut Hooks::silent()).await;
    let why = r.skipped.clone().unwrap_or_default();
    assert!(
        r.valid && why.contains("not offered") && r.repetitions.is_empty(),
        "{why:?} {:?}",
        r.problems
    );
    Ok(())
}

#[tokio::test]
async fn grpc_server_streams() -> anyhow::Result<()> {
    let srv = common::start(&protolab_grpc::SPEC, protolab_grpc::app).await?;
    let d = GrpcDriver::new(&srv.plain.to_string(), None, 42, &OpSpec::Ping).await?;
    let r = run_case(
        Arc::new(d),
        common::stream_case(500, 64, 4),
        &mut Hooks::silent(),
    )
    .await;
    assert_whole_stream(&r, 4, 500, "grpc");
    Ok(())
}
