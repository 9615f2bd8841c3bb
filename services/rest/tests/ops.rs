//! Every REST operation against a real server, good input and bad.

mod common;

use std::time::{Duration, Instant};

use common::{h1, h2c, TestServer};
use futures::StreamExt;
use protolab_core::contract::{pattern_crc32, score, UploadHasher};
use protolab_core::Item;
use serde_json::Value;

async fn error_of(resp: reqwest::Response) -> anyhow::Result<(u16, String)> {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await?;
    Ok((
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    ))
}

#[tokio::test]
async fn list_items_pages_filters_and_validates() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let page: Vec<Item> = h1()
        .get(srv.url("/items?offset=10&limit=1000"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(page.len(), 1000);
    assert_eq!(page[0], Item::generate(42, 11));
    let books: Vec<Item> = h1()
        .get(srv.url("/items?limit=50&category=books"))
        .send()
        .await?
        .json()
        .await?;
    assert!(!books.is_empty() && books.iter().all(|i| i.category == "books"));
    assert!(books.windows(2).all(|w| w[0].id < w[1].id));
    for bad in [
        "/items?limit=1001",
        "/items?limit=-1",
        "/items?offset=-5",
        "/items?limit=abc",
        "/items/abc",
    ] {
        let (status, msg) = error_of(h1().get(srv.url(bad)).send().await?).await?;
        assert_eq!(status, 400, "{bad}: {msg}");
        assert!(!msg.is_empty(), "{bad}");
    }
    let (status, msg) = error_of(h1().get(srv.url("/items/999999")).send().await?).await?;
    assert_eq!((status, msg.as_str()), (404, "item 999999 not found"));
    assert_eq!(h1().get(srv.url("/nope")).send().await?.status(), 404);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn echo_returns_bytes_and_refuses_oversized_bodies() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let limit = srv.state.max_body;
    let body: Vec<u8> = (0..limit).map(|i| (i % 256) as u8).collect();
    for client in [h1(), h2c()] {
        let back = client
            .post(srv.url("/echo"))
            .body(body.clone())
            .send()
            .await?
            .bytes()
            .await?;
        assert_eq!(back.len(), body.len());
        assert!(back == body);
    }
    let (status, msg) = error_of(
        h1().post(srv.url("/echo"))
            .body(vec![0u8; limit + 1])
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 413, "{msg}");
    assert_eq!(h1().get(srv.url("/ping")).send().await?.status(), 200);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn score_parses_json_and_honours_delay() -> anyhow::Result<()> {
    let srv = TestServer::start_with(|a| a.delay_ms = 60).await?;
    let doc = r#"{"vector":[0.5,1.5,4.0]}"#;
    let start = Instant::now();
    let v: Value = h1()
        .post(srv.url("/score"))
        .body(doc)
        .send()
        .await?
        .json()
        .await?;
    assert!(start.elapsed() >= Duration::from_millis(60));
    assert_eq!(v["score"].as_f64(), Some(score(doc)?));
    let (status, msg) = error_of(
        h1().post(srv.url("/score"))
            .body("{not json")
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 400);
    assert!(msg.contains("not JSON"), "{msg}");
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn download_streams_the_pattern_and_upload_checksums() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let size = 3_000_017u64;
    let resp = h2c()
        .get(srv.url(&format!("/download?size={size}&chunk=65536")))
        .send()
        .await?;
    assert_eq!(resp.content_length(), Some(size));
    let mut hasher = UploadHasher::default();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        hasher.update(&chunk?);
    }
    let got = hasher.finish();
    assert_eq!((got.bytes, got.crc32), (size, pattern_crc32(size)));

    // Upload bigger than the echo limit: streamed, so not refused.
    let blob: Vec<u8> = (0..5_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let v: Value = h1()
        .post(srv.url("/upload"))
        .body(blob.clone())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(v["bytes"].as_u64(), Some(blob.len() as u64));
    assert_eq!(v["crc32"].as_u64(), Some(u64::from(crc32fast::hash(&blob))));
    let (status, _) = error_of(
        h1().get(srv.url("/download?size=10&chunk=0"))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 400);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn stream_sends_ndjson_events_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let text = h1()
        .get(srv.url("/stream?count=5&interval_ms=5&size=16"))
        .send()
        .await?
        .text()
        .await?;
    let events: Vec<Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(events.len(), 5);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"].as_u64(), Some(i as u64));
        assert_eq!(e["payload"].as_str().map(str::len), Some(16));
    }
    assert!(events
        .windows(2)
        .all(|w| w[0]["sent_at_us"].as_u64() <= w[1]["sent_at_us"].as_u64()));
    let (status, _) = error_of(h1().get(srv.url("/stream?count=0")).send().await?).await?;
    assert_eq!(status, 400);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn ping_is_answered_before_routing_on_every_transport_and_counted() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let tls = srv.tls_client(&[b"h2"])?;
    for (client, url) in [
        (h1(), srv.url("/ping")),
        (h2c(), srv.url("/ping?any=query")),
        (tls, srv.tls_url("/ping")),
    ] {
        let resp = client.get(url).send().await?;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.text().await?, r#"{"pong":true}"#);
    }
    // HEAD and other methods go through the router, as before.
    assert_eq!(h1().head(srv.url("/ping")).send().await?.status(), 200);
    assert_eq!(h1().post(srv.url("/ping")).send().await?.status(), 405);
    assert_eq!(srv.state.metrics.requests("/ping", 200), 4);
    assert_eq!(srv.state.metrics.requests("/ping", 405), 1);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_request_over_the_time_limit_gets_408_and_the_server_serves_on() -> anyhow::Result<()> {
    let srv = TestServer::start_with(|a| {
        a.delay_ms = 1500;
        a.request_timeout_secs = 1;
    })
    .await?;
    let (status, msg) = error_of(
        h1().post(srv.url("/score"))
            .body(r#"{"vector":[1.0]}"#)
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, msg.as_str()), (408, "request timed out"));
    assert_eq!(srv.state.metrics.requests("/score", 408), 1);
    assert_eq!(h1().get(srv.url("/ping")).send().await?.status(), 200);
    srv.stop().await;
    Ok(())
}
