//! A client that vanishes in the middle of server streams (Stream and Download) costs
//! the server nothing lasting: its connection is released and the next client is served.

mod common;

use std::time::Duration;

use common::TestServer;
use protolab_grpc::pb::arena as pb;

#[tokio::test]
async fn a_client_leaving_mid_stream_does_not_hurt_the_next() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    {
        let mut c = srv.client().await?;
        let mut s = c
            .stream(pb::StreamRequest {
                count: 1_000_000,
                interval_ms: 0,
                size: 1024,
            })
            .await?
            .into_inner();
        assert!(s.message().await?.is_some());
        let mut dl = c
            .download(pb::DownloadRequest {
                size: 500_000_000,
                chunk: 65536,
            })
            .await?
            .into_inner();
        assert!(dl.message().await?.is_some());
    } // dropped: the channel closes under both streams

    // The server notices and lets the connection go (bounded wait).
    let mut open = srv.state.metrics.open_connections();
    for _ in 0..100 {
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        open = srv.state.metrics.open_connections();
    }
    assert_eq!(open, 0, "the abandoned connection is still open");

    let mut c = srv.client().await?;
    let item = c.get_item(pb::GetItemRequest { id: 3 }).await?.into_inner();
    assert_eq!(item.id, 3);
    Ok(())
}
