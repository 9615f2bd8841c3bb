//! Bad input and bad peers: malformed envelopes, unknown ops, oversized messages,
//! abrupt disconnects, silent clients, the close handshake and server shutdown.

mod common;

use std::time::Duration;

use common::{call, expect_close, next_frame, send, TestServer, STEP};
use futures::{SinkExt, StreamExt};
use protolab_websocket::WsConfig;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn malformed_envelopes_and_unknown_ops_get_errors_and_the_socket_stays_open(
) -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect().await?;
    ws.send(Message::text("{not json")).await?;
    let v = common::next_json(&mut ws).await?;
    assert_eq!(v["ok"], false);
    assert!(v.get("req").is_none());
    assert!(v["error"].as_str().is_some_and(|e| e.contains("malformed")));
    let v = call(&mut ws, json!({"op": "teleport", "req": 5})).await?;
    assert_eq!(v["req"], 5);
    assert_eq!(v["error"], "unknown op \"teleport\"");
    assert_eq!(v["code"], "bad_request");
    let v = call(&mut ws, json!({"req": 6})).await?;
    assert_eq!(
        (v["req"].clone(), v["ok"].clone()),
        (json!(6), json!(false))
    );
    let v = call(&mut ws, json!({"op": "get_item", "id": "x", "req": 7})).await?;
    assert_eq!(
        (v["req"].clone(), v["ok"].clone()),
        (json!(7), json!(false))
    );
    let v = call(&mut ws, json!({"op": "ping", "req": 8})).await?;
    assert_eq!(v["ok"], true);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_oversized_message_is_closed_with_1009() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect().await?;
    ws.send(Message::binary(vec![7u8; srv.state.max_body + 1]))
        .await?;
    let frame = expect_close(&mut ws).await?;
    assert_eq!(frame.code, CloseCode::Size);
    // Others are unaffected.
    let mut other = srv.connect().await?;
    assert_eq!(call(&mut other, json!({"op": "ping"})).await?["ok"], true);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn abrupt_disconnects_leave_the_server_serving_others() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    for _ in 0..5 {
        let mut ws = srv.connect().await?;
        call(&mut ws, json!({"op": "subscribe", "req": 0})).await?;
        send(
            &mut ws,
            json!({"op": "stream", "count": 100_000, "interval_ms": 1, "size": 512, "req": 1}),
        )
        .await?;
        for _ in 0..3 {
            next_frame(&mut ws).await?;
        }
        drop(ws); // no close frame: the TCP connection just goes away
    }
    let mut ws = srv.connect().await?;
    assert_eq!(call(&mut ws, json!({"op": "ping"})).await?["ok"], true);
    for _ in 0..100 {
        if srv.hub.subscribers() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        srv.hub.subscribers(),
        0,
        "dropped sockets keep subscriptions"
    );
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_client_close_gets_a_close_reply_and_the_socket_ends() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect().await?;
    ws.send(Message::Close(None)).await?;
    let mut replied = false;
    while let Some(msg) = tokio::time::timeout(STEP, ws.next()).await? {
        if let Message::Close(_) = msg? {
            replied = true;
        }
    }
    assert!(replied, "no close reply");
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_silent_client_is_closed_and_a_live_one_kept() -> anyhow::Result<()> {
    let interval = Duration::from_millis(100);
    let srv = TestServer::start_with(WsConfig {
        ping_interval: interval,
    })
    .await?;
    let mut live = srv.connect().await?;
    let mut silent = srv.connect().await?;
    // The live client reads (tungstenite answers pings while reading); the silent
    // one does not touch its socket for several intervals.
    let end = tokio::time::Instant::now() + interval * 6;
    let mut pings = 0;
    while let Ok(Some(msg)) = tokio::time::timeout_at(end, live.next()).await {
        if let Message::Ping(_) = msg? {
            pings += 1;
        }
    }
    assert!(pings >= 2, "server sent {pings} pings");
    assert_eq!(call(&mut live, json!({"op": "ping"})).await?["ok"], true);
    let frame = expect_close(&mut silent).await?;
    assert_eq!(frame.code, CloseCode::Away);
    assert_eq!(frame.reason.as_str(), "keepalive timeout");
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut ws = srv.connect().await?;
    assert_eq!(call(&mut ws, json!({"op": "ping"})).await?["ok"], true);
    srv.state.shutdown.cancel();
    let frame = expect_close(&mut ws).await?;
    assert_eq!(frame.code, CloseCode::Away);
    srv.stop().await;
    Ok(())
}
