//! Request headers are capped (core's `--max-header-bytes`): 431 over HTTP/1.1 with
//! the connection closed, 431 over h2c; queries on new requests are answered.

mod common;
#[path = "../../core/tests/support/headers.rs"]
mod headers;

use common::{data, h1, h2c, post, TestServer};
use headers::{h1_get, header_value, BIG_HEADER};
use protolab_core::serve::DEFAULT_MAX_HEADER_BYTES;
use serde_json::json;

#[tokio::test]
async fn oversized_headers_get_431_and_queries_are_still_answered() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let big = h1_get(srv.plain, "/graphql?query=%7Bping%7D", BIG_HEADER, false).await?;
    assert_eq!(big.status, 431);
    assert!(big.closed().await, "connection left open after 431");
    let body = post(&h1()?, &srv.url(), "{ ping }", json!({})).await?;
    assert_eq!(data(&body)?["ping"], "pong");

    let h2 = h2c()?;
    let over = header_value(DEFAULT_MAX_HEADER_BYTES + 4096);
    let refused = h2.post(srv.url()).header("x-big", over).send().await?;
    assert_eq!(refused.status(), 431);
    let body = post(&h2, &srv.url(), "{ ping }", json!({})).await?;
    assert_eq!(data(&body)?["ping"], "pong");
    srv.stop().await;
    Ok(())
}
