//! Core's metrics middleware counts each gRPC call under its method path and its
//! gRPC status code (OK, NOT_FOUND, RESOURCE_EXHAUSTED for an oversized message).

mod common;

use common::TestServer;
use protolab_grpc::pb::arena as pb;

#[tokio::test]
async fn calls_are_counted_by_method_and_status() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    c.get_item(pb::GetItemRequest { id: 42 }).await?;
    c.get_item(pb::GetItemRequest { id: 43 }).await?;
    let _ = c.get_item(pb::GetItemRequest { id: 999_999 }).await;
    c.ping(pb::PingRequest::default()).await?;
    let big = pb::EchoMessage {
        data: vec![0u8; srv.state.max_body + 100_000],
    };
    let _ = c.echo(big).await;
    let m = &srv.state.metrics;
    assert_eq!(m.requests("/arena.Arena/GetItem", 0), 2);
    assert_eq!(m.requests("/arena.Arena/GetItem", 5), 1);
    assert_eq!(m.requests("/arena.Arena/Ping", 0), 1);
    assert_eq!(m.requests("/arena.Arena/Echo", 8), 1);
    Ok(())
}
