//! Request/response ops on the SSE server: ping and get_item, with JSON errors.

mod common;

use common::{client, TestServer};
use protolab_core::Item;

#[tokio::test]
async fn ping_and_item_42_match_the_contract() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let pong: serde_json::Value = client().get(srv.url("/ping")).send().await?.json().await?;
    assert_eq!(pong, serde_json::json!({ "pong": true }));
    let item: serde_json::Value = client()
        .get(srv.url("/items/42"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(item, serde_json::to_value(Item::generate(42, 42))?);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn unknown_and_malformed_ids_get_json_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    for (path, status) in [
        ("/items/999999", 404),
        ("/items/abc", 400),
        ("/nowhere", 404),
    ] {
        let resp = client().get(srv.url(path)).send().await?;
        assert_eq!(resp.status(), status, "{path}");
        let body: serde_json::Value = resp.json().await?;
        assert!(body["error"].is_string(), "{path}");
    }
    srv.stop().await;
    Ok(())
}
