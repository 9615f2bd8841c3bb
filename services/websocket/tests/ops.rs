//! Every op of the JSON envelope, over ws:// and wss://, against the contract.

mod common;

use common::{call, next_json, send, TestServer};
use protolab_core::Item;
use serde_json::{json, Value};

fn item(id: i64) -> Value {
    serde_json::to_value(Item::generate(42, id)).expect("item json")
}

#[tokio::test]
async fn unary_ops_answer_per_the_contract() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect().await?;
    let pong = call(&mut ws, json!({"op": "ping", "req": 1})).await?;
    assert_eq!(
        pong,
        json!({"req": 1, "ok": true, "result": {"pong": true}})
    );
    let got = call(&mut ws, json!({"op": "get_item", "id": 42, "req": 2})).await?;
    assert_eq!(got, json!({"req": 2, "ok": true, "result": item(42)}));
    let missing = call(&mut ws, json!({"op": "get_item", "id": 999_999, "req": 3})).await?;
    assert_eq!(missing["ok"], false);
    assert_eq!(missing["error"], "item 999999 not found");
    assert_eq!(missing["code"], "not_found");
    let page = call(
        &mut ws,
        json!({"op": "list_items", "offset": 10, "limit": 5, "req": 4}),
    )
    .await?;
    let expected: Vec<Value> = (11..=15).map(item).collect();
    assert_eq!(page["result"], Value::Array(expected));
    let too_many = call(
        &mut ws,
        json!({"op": "list_items", "limit": 5000, "req": 5}),
    )
    .await?;
    assert_eq!(too_many["ok"], false);
    let echo = call(&mut ws, json!({"op": "echo", "data": "héllo ✓", "req": 6})).await?;
    assert_eq!(echo["result"], "héllo ✓");
    let score = call(
        &mut ws,
        json!({"op": "score", "json": {"v": [1, 2, 3]}, "req": 7}),
    )
    .await?;
    assert_eq!(score["result"], json!({"score": 2.0}));
    let score = call(&mut ws, json!({"op": "score", "json": "[4, 6]", "req": 8})).await?;
    assert_eq!(score["result"], json!({"score": 5.0}));
    let bad = call(&mut ws, json!({"op": "score", "json": "{oops", "req": 9})).await?;
    assert_eq!(bad["ok"], false);
    let sent = call(
        &mut ws,
        json!({"op": "broadcast", "message": "hi", "req": 10}),
    )
    .await?;
    assert_eq!(sent["result"], json!({"seq": 0, "subscribers": 0}));
    assert_eq!(srv.state.metrics.requests("get_item", 200), 1);
    assert_eq!(srv.state.metrics.requests("get_item", 404), 1);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn stream_op_sends_count_events_then_done() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect().await?;
    send(
        &mut ws,
        json!({"op": "stream", "count": 5, "interval_ms": 5, "size": 8, "req": "s"}),
    )
    .await?;
    let mut last = 0;
    for seq in 0..5u64 {
        let v = next_json(&mut ws).await?;
        assert_eq!(v["req"], "s");
        assert_eq!(v["event"]["seq"], seq);
        assert_eq!(v["event"]["payload"], "xxxxxxxx");
        let sent = v["event"]["sent_at_us"].as_u64().unwrap_or(0);
        assert!(sent >= last);
        last = sent;
    }
    assert_eq!(
        next_json(&mut ws).await?,
        json!({"req": "s", "ok": true, "done": true})
    );
    let bad = call(&mut ws, json!({"op": "stream", "count": 0, "req": 2})).await?;
    assert_eq!(bad["ok"], false);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn item_42_over_wss() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect_tls().await?;
    let got = call(&mut ws, json!({"op": "get_item", "id": 42, "req": 1})).await?;
    assert_eq!(got["result"], item(42));
    ws.close(None).await?;
    srv.stop().await;
    Ok(())
}
