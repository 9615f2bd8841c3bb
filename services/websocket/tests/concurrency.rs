//! Many requests in flight on one socket, 1 MB binary echo, and broadcast fan-out
//! across sockets.

mod common;

use std::collections::BTreeMap;

use common::{call, next_frame, next_json, send, TestServer};
use futures::SinkExt;
use protolab_core::Item;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_hundred_requests_in_flight_are_all_answered_and_matched() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect().await?;
    for i in 1..=100 {
        send(&mut ws, json!({"op": "get_item", "id": i, "req": i})).await?;
    }
    let mut answers = BTreeMap::new();
    for _ in 0..100 {
        let v = next_json(&mut ws).await?;
        let req = v["req"].as_i64().unwrap_or(-1);
        assert!(answers.insert(req, v).is_none(), "req {req} answered twice");
    }
    assert_eq!(answers.len(), 100);
    for (req, v) in answers {
        assert_eq!(v["ok"], true, "req {req}");
        assert_eq!(v["result"], serde_json::to_value(Item::generate(42, req))?);
    }
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn binary_frames_are_echoed_byte_for_byte_up_to_1_mb() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect().await?;
    for size in [0usize, 1, 1024, 64 * 1024, 1 << 20] {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        ws.send(Message::binary(data.clone())).await?;
        match next_frame(&mut ws).await? {
            Message::Binary(b) => assert!(b[..] == data[..], "size {size}"),
            other => anyhow::bail!("size {size}: got {other:?}"),
        }
    }
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn broadcast_reaches_three_subscribed_sockets_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut subs = Vec::new();
    for i in 0..3 {
        let mut ws = srv.connect().await?;
        let ack = call(&mut ws, json!({"op": "subscribe", "req": i})).await?;
        assert_eq!(
            ack,
            json!({"req": i, "ok": true, "result": {"subscribed": true}})
        );
        subs.push(ws);
    }
    let mut publisher = srv.connect().await?;
    for i in 0..3u64 {
        let msg = format!("news {i}");
        let ack = call(
            &mut publisher,
            json!({"op": "broadcast", "message": msg, "req": i}),
        )
        .await?;
        assert_eq!(ack["result"], json!({"seq": i, "subscribers": 3}));
    }
    for ws in &mut subs {
        for i in 0..3u64 {
            let v = next_json(ws).await?;
            assert_eq!(v["event"], "broadcast");
            assert_eq!(v["seq"], i);
            assert_eq!(v["body"], format!("news {i}"));
            assert!(v["sent_at_us"].as_u64().is_some_and(|t| t > 0));
        }
    }
    // Subscribing twice does not double the deliveries.
    let again = call(&mut subs[0], json!({"op": "subscribe", "req": 9})).await?;
    assert_eq!(again["ok"], true);
    assert_eq!(srv.hub.subscribers(), 3);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_client_that_stops_reading_stalls_only_its_own_stream() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut slow = srv.connect().await?;
    // 32 MB of events, far more than socket buffers and the outgoing queue hold.
    const COUNT: u64 = 1000;
    let stream = json!({"op": "stream", "count": COUNT, "size": 32 * 1024, "req": 1});
    send(&mut slow, stream).await?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut other = srv.connect().await?;
    assert_eq!(call(&mut other, json!({"op": "ping"})).await?["ok"], true);
    // Nothing was dropped while the reader stalled: every event, in order.
    for seq in 0..COUNT {
        let v = next_json(&mut slow).await?;
        assert_eq!(v["event"]["seq"], seq);
    }
    assert_eq!(next_json(&mut slow).await?["done"], true);
    srv.stop().await;
    Ok(())
}
