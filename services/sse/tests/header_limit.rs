//! Request headers are capped (core's `--max-header-bytes`): an event stream asked
//! for with an 80 KB header gets 431 and a closed connection; others are served.

mod common;
#[path = "../../core/tests/support/headers.rs"]
mod headers;

use common::TestServer;
use headers::{h1_get, BIG_HEADER};

#[tokio::test]
async fn an_oversized_subscribe_gets_431_and_others_stream() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let big = h1_get(srv.plain, "/subscribe", BIG_HEADER, false).await?;
    assert_eq!(big.status, 431);
    assert!(big.closed().await, "connection left open after 431");
    let mut events = srv.open("/subscribe").await?;
    srv.hub.publish("after".to_string());
    let frame = events.next_data().await?;
    assert!(frame.data.unwrap_or_default().contains("after"));
    srv.stop().await;
    Ok(())
}
