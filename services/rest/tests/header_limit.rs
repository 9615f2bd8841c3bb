//! Request headers are capped (core's `--max-header-bytes`, 16 KiB): 431 over
//! HTTP/1.1 with the connection closed, 431 on the stream over h2c and h2; new
//! requests are served.

mod common;
#[path = "../../core/tests/support/headers.rs"]
mod headers;

use common::{h1, h2c, TestServer};
use headers::{h1_get, header_value, BIG_HEADER};
use protolab_core::serve::DEFAULT_MAX_HEADER_BYTES;

#[tokio::test]
async fn oversized_headers_get_431_and_others_are_served() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let big = h1_get(srv.plain, "/ping", BIG_HEADER, false).await?;
    assert_eq!(big.status, 431);
    assert!(big.closed().await, "connection left open after 431");
    assert_eq!(h1().get(srv.url("/ping")).send().await?.status(), 200);

    let over = header_value(DEFAULT_MAX_HEADER_BYTES + 4096);
    let tls = srv.tls_client(&[b"h2"])?;
    for (client, url) in [(h2c(), srv.url("/ping")), (tls, srv.tls_url("/ping"))] {
        let refused = client.get(&url).header("x-big", &over).send().await?;
        assert_eq!(refused.status(), 431, "{url}");
        assert_eq!(client.get(&url).send().await?.status(), 200, "{url}");
    }
    srv.stop().await;
    Ok(())
}
