//! Subscriptions over a real WebSocket, speaking graphql-transport-ws (and the legacy
//! graphql-ws) by hand: ticks, broadcasts across clients, bad arguments, and a client
//! that vanishes mid-stream.

mod common;

use std::time::Duration;

use common::{data, first_error, h1, post, u64_of, TestServer, WsClient, LEGACY_WS, TRANSPORT_WS};
use serde_json::json;

const TICKS: &str = "subscription($n: Int!, $i: Int!, $s: Int!) { \
    ticks(count: $n, intervalMs: $i, size: $s) { seq sentAtMicros payload } }";

fn ws_url(srv: &TestServer, path: &str) -> String {
    format!("ws://{}{path}", srv.plain)
}

#[tokio::test]
async fn ticks_over_both_protocols_and_both_paths() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    for (path, protocol) in [
        ("/graphql/ws", TRANSPORT_WS),
        ("/graphql", TRANSPORT_WS),
        ("/graphql/ws", LEGACY_WS),
    ] {
        let mut ws = WsClient::connect(&ws_url(&srv, path), protocol).await?;
        ws.subscribe("t", TICKS, json!({ "n": 5, "i": 1, "s": 16 }))
            .await?;
        let before = protolab_core::contract::now_micros();
        let mut seqs = Vec::new();
        while let Some(d) = ws.next_data("t").await? {
            let tick = &d["ticks"];
            seqs.push(u64_of(&tick["seq"])?);
            let sent = u64_of(&tick["sentAtMicros"])?;
            assert!(
                sent + 60_000_000 > before,
                "sentAtMicros is a recent wall clock"
            );
            assert_eq!(tick["payload"].as_str().map(str::len), Some(16));
            assert!(seqs.len() <= 5, "more events than asked for");
        }
        assert_eq!(seqs, [0, 1, 2, 3, 4], "{path} {protocol}");
    }
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_subscription_arguments_are_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = WsClient::connect(&ws_url(&srv, "/graphql/ws"), TRANSPORT_WS).await?;
    ws.subscribe("bad", TICKS, json!({ "n": -1, "i": 0, "s": 0 }))
        .await?;
    // An execution error arrives as a `next` carrying `errors`, then `complete`.
    let msg = ws.next_raw().await?;
    assert_eq!(msg["type"], "next", "{msg}");
    let (message, code) = first_error(&msg["payload"])?;
    assert!(message.contains("count must be >= 0"), "{msg}");
    assert_eq!(code.as_deref(), Some(protolab_graphql::CODE_BAD_USER_INPUT));
    assert_eq!(ws.next_raw().await?["type"], "complete");
    // So does a document that fails validation (async-graphql's behaviour).
    ws.subscribe("invalid", "subscription { nope }", json!({}))
        .await?;
    let msg = ws.next_raw().await?;
    assert!(
        first_error(&msg["payload"])?.0.contains("Unknown field"),
        "{msg}"
    );
    assert_eq!(ws.next_raw().await?["type"], "complete");
    assert_eq!(srv.state.metrics.requests("stream", 400), 1);

    // The connection stays usable.
    ws.subscribe("ok", TICKS, json!({ "n": 1, "i": 0, "s": 0 }))
        .await?;
    assert!(ws.next_data("ok").await?.is_some());
    assert!(ws.next_data("ok").await?.is_none());
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn broadcast_reaches_a_subscriber_on_another_connection() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = WsClient::connect(&ws_url(&srv, "/graphql/ws"), TRANSPORT_WS).await?;
    ws.subscribe(
        "b",
        "subscription { broadcasts { seq sentAtMicros body lagged } }",
        json!({}),
    )
    .await?;
    let client = h1()?;
    let publish = "mutation($m: String!) { broadcast(message: $m) { seq subscribers } }";
    // The subscription registers asynchronously: publish until it counts as reached.
    let mut delivered = None;
    for attempt in 0..100 {
        let body = post(
            &client,
            &srv.url(),
            publish,
            json!({ "m": format!("hello {attempt}") }),
        )
        .await?;
        let receipt = &data(&body)?["broadcast"];
        if receipt["subscribers"].as_i64() == Some(1) {
            delivered = Some((u64_of(&receipt["seq"])?, format!("hello {attempt}")));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (seq, body) = delivered.ok_or_else(|| anyhow::anyhow!("subscriber never registered"))?;
    let event = ws
        .next_data("b")
        .await?
        .ok_or_else(|| anyhow::anyhow!("completed"))?;
    let event = &event["broadcasts"];
    assert_eq!(u64_of(&event["seq"])?, seq);
    assert_eq!(event["body"], body.as_str());
    assert!(u64_of(&event["sentAtMicros"])? > 0);
    assert!(event["lagged"].is_null());

    // `complete` from the client ends the subscription; the hub lets it go.
    ws.send(json!({ "id": "b", "type": "complete" })).await?;
    let mut receipt_subscribers = None;
    for _ in 0..100 {
        let body = post(&client, &srv.url(), publish, json!({ "m": "after" })).await?;
        receipt_subscribers = data(&body)?["broadcast"]["subscribers"].as_i64();
        if receipt_subscribers == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(receipt_subscribers, Some(0));
    assert!(srv.state.metrics.requests("broadcast", 200) >= 2);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn abrupt_disconnect_mid_subscription_leaves_server_serving() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = WsClient::connect(&ws_url(&srv, "/graphql/ws"), TRANSPORT_WS).await?;
    ws.subscribe("t", TICKS, json!({ "n": 100_000, "i": 5, "s": 64 }))
        .await?;
    for _ in 0..3 {
        assert!(ws.next_data("t").await?.is_some());
    }
    ws.abort();

    // The server notices the vanished client and drops its stream (recorded at the end).
    let mut ended = false;
    for _ in 0..100 {
        if srv.state.metrics.requests("stream", 200) == 1 {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ended, "the abandoned stream was never dropped");

    let body = post(&h1()?, &srv.url(), "{ item(id: 7) { id } }", json!({})).await?;
    assert_eq!(data(&body)?["item"]["id"], 7);
    let mut ws = WsClient::connect(&ws_url(&srv, "/graphql/ws"), TRANSPORT_WS).await?;
    ws.subscribe("t2", TICKS, json!({ "n": 1, "i": 0, "s": 0 }))
        .await?;
    assert!(ws.next_data("t2").await?.is_some());
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn shutdown_completes_open_subscriptions() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = WsClient::connect(&ws_url(&srv, "/graphql/ws"), TRANSPORT_WS).await?;
    ws.subscribe("b", "subscription { broadcasts { seq } }", json!({}))
        .await?;
    ws.subscribe("t", TICKS, json!({ "n": 100_000, "i": 50, "s": 0 }))
        .await?;
    assert!(ws.next_data("t").await?.is_some());
    srv.state.shutdown.cancel();
    // Both operations complete (in either order) instead of hanging.
    let mut completed = 0;
    for _ in 0..20 {
        let msg = ws.next_raw().await?;
        if msg["type"] == "complete" {
            completed += 1;
            if completed == 2 {
                break;
            }
        }
    }
    assert_eq!(completed, 2);
    let _ = srv.task.await;
    Ok(())
}
