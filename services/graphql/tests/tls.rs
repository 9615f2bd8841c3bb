//! The TLS port: h2 or HTTP/1.1 chosen by ALPN, and subscriptions over wss.

mod common;

use std::sync::Arc;

use common::{data, post, TestServer, TRANSPORT_WS};
use futures::{SinkExt, StreamExt};
use protolab_core::tls::{self, ALPN_H2_H1};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

#[tokio::test]
async fn alpn_negotiates_h2_and_http11() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    for (alpn, version) in [
        (ALPN_H2_H1, reqwest::Version::HTTP_2),
        (&[b"http/1.1".as_slice()][..], reqwest::Version::HTTP_11),
    ] {
        let client = srv.tls_client(alpn)?;
        let resp = client
            .post(srv.tls_url())
            .json(&json!({ "query": "{ item(id: 42) { id name } }" }))
            .send()
            .await?;
        assert_eq!(resp.version(), version);
        let body: Value = resp.json().await?;
        assert_eq!(
            data(&body)?["item"]["name"],
            protolab_core::Item::generate(42, 42).name.as_str()
        );
        let body = post(&client, &srv.tls_url(), "{ ping }", json!({})).await?;
        assert_eq!(data(&body)?["ping"], "pong");
    }
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn subscription_over_wss() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let config = tls::client_config(&srv.ca(), None, &[b"http/1.1"])?;
    let url = format!("wss://localhost:{}/graphql/ws", srv.tls.port());
    let mut req = url.into_client_request()?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(TRANSPORT_WS),
    );
    let tcp = tokio::net::TcpStream::connect(srv.tls).await?;
    let (mut ws, _) = tokio_tungstenite::client_async_tls_with_config(
        req,
        tcp,
        None,
        Some(Connector::Rustls(Arc::clone(&config))),
    )
    .await?;
    let script = [
        json!({ "type": "connection_init" }),
        json!({ "id": "1", "type": "subscribe",
                "payload": { "query": "subscription { ticks(count: 2, intervalMs: 0, size: 3) { seq payload } }" } }),
    ];
    for m in script {
        ws.send(Message::text(m.to_string())).await?;
    }
    let mut seen = Vec::new();
    for _ in 0..10 {
        let Some(msg) = tokio::time::timeout(common::RECV_TIMEOUT, ws.next()).await? else {
            break;
        };
        let v: Value = serde_json::from_str(msg?.to_text()?)?;
        let kind = v["type"].as_str().unwrap_or_default().to_string();
        seen.push(kind.clone());
        if kind == "complete" {
            break;
        }
    }
    assert_eq!(seen, ["connection_ack", "next", "next", "complete"]);
    srv.stop().await;
    Ok(())
}
