//! `GET /subscribe` + `POST /broadcast`: fan-out to several subscribers in order,
//! a slow subscriber told it lagged (not disconnected), and body limits.

mod common;

use std::time::Duration;

use common::{client, TestServer};
use protolab_sse::SseConfig;
use serde_json::Value;

async fn publish(srv: &TestServer, body: impl Into<reqwest::Body>) -> anyhow::Result<Value> {
    let resp = client()
        .post(srv.url("/broadcast"))
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(resp.status() == 200, "broadcast status {}", resp.status());
    Ok(resp.json().await?)
}

#[tokio::test]
async fn three_subscribers_each_get_every_message_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(srv.open("/subscribe").await?);
    }
    for i in 0..5 {
        let ack = publish(&srv, format!("hello {i}")).await?;
        assert_eq!(ack["seq"], i);
        assert_eq!(ack["subscribers"], 3);
    }
    for s in &mut subs {
        for i in 0..5u64 {
            let f = s.next_data().await?;
            assert_eq!(f.event.as_deref(), Some("message"));
            assert_eq!(f.id.as_deref(), Some(i.to_string().as_str()));
            let v = f.json()?;
            assert_eq!(v["seq"], i);
            assert_eq!(v["body"], format!("hello {i}"));
            assert!(v["sent_at_us"].as_u64().is_some_and(|t| t > 0));
        }
    }
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_slow_subscriber_is_told_it_lagged_and_keeps_its_stream() -> anyhow::Result<()> {
    // A 4-message ring, and far more unread data than socket buffers hold.
    let srv = TestServer::start_with(4, SseConfig::default()).await?;
    let mut slow = srv.open("/subscribe").await?;
    let body = "m".repeat(512 * 1024);
    const N: u64 = 60;
    for _ in 0..N {
        publish(&srv, body.clone()).await?;
    }
    let mut skipped = 0u64;
    let mut last = None;
    for _ in 0..N + 10 {
        let f = slow.next_data().await?;
        match f.event.as_deref() {
            Some("lagged") => skipped += f.json()?["skipped"].as_u64().unwrap_or(0),
            Some("message") => {
                let seq = f.json()?["seq"].as_u64();
                last = seq;
                if seq == Some(N - 1) {
                    break;
                }
            }
            other => anyhow::bail!("unexpected event {other:?}"),
        }
    }
    assert!(skipped > 0, "slow subscriber never lagged");
    assert_eq!(last, Some(N - 1), "the stream went on after the lag");
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn broadcast_bodies_are_checked() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let too_big = vec![b'a'; srv.state.max_body + 1];
    let resp = client()
        .post(srv.url("/broadcast"))
        .body(too_big)
        .send()
        .await?;
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await?;
    assert!(body["error"].is_string());
    let resp = client()
        .post(srv.url("/broadcast"))
        .body(vec![0xff, 0xfe])
        .send()
        .await?;
    assert_eq!(resp.status(), 400);
    // With nobody listening a broadcast still succeeds, reaching no one.
    assert_eq!(publish(&srv, "alone").await?["subscribers"], 0);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn subscriptions_end_when_the_server_shuts_down() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut sub = srv.open("/subscribe").await?;
    srv.state.shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), sub.next()).await??;
    assert_eq!(end, None);
    srv.stop().await;
    Ok(())
}
