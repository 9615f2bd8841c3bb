//! Request headers are capped (core's `--max-header-bytes`): an upgrade request with
//! an 80 KB header gets 431 (from a real WebSocket client's point of view, a failed
//! handshake) and a closed connection; new sockets are served.

mod common;
#[path = "../../core/tests/support/headers.rs"]
mod headers;

use common::{call, TestServer};
use headers::{h1_get, header_value, BIG_HEADER};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Error as WsError;

#[tokio::test]
async fn an_oversized_upgrade_gets_431_and_new_sockets_are_served() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let big = h1_get(srv.plain, protolab_websocket::PATH, BIG_HEADER, true).await?;
    assert_eq!(big.status, 431);
    assert!(big.closed().await, "connection left open after 431");

    let url = format!("ws://{}{}", srv.plain, protolab_websocket::PATH);
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("x-big", HeaderValue::from_str(&header_value(BIG_HEADER))?);
    let tcp = TcpStream::connect(srv.plain).await?;
    match tokio_tungstenite::client_async(req, tcp).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 431),
        other => anyhow::bail!("expected a 431 answer, got {other:?}"),
    }

    let mut ws = srv.connect().await?;
    let pong = call(&mut ws, json!({ "op": "ping", "req": 1 })).await?;
    assert_eq!(pong["ok"], true);
    srv.stop().await;
    Ok(())
}
