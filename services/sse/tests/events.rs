//! `GET /events`: counts, sequence numbers, send stamps, resumption after
//! `Last-Event-ID`, keep-alive comments, bad parameters, and TLS.

mod common;

use std::time::Duration;

use common::{client, SseReader, TestServer};
use protolab_core::contract::now_micros;
use protolab_sse::SseConfig;

#[tokio::test]
async fn stream_delivers_count_events_in_order_with_ids_and_stamps() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let before = now_micros();
    let mut s = srv.open("/events?count=5&interval_ms=5&size=16").await?;
    let frames = s.collect(100).await?;
    assert_eq!(frames.len(), 5);
    let mut last_sent = before;
    for (i, f) in frames.iter().enumerate() {
        let v = f.json()?;
        assert_eq!(f.id.as_deref(), Some(i.to_string().as_str()));
        assert_eq!(v["seq"], i as u64);
        assert_eq!(v["payload"], "x".repeat(16));
        let sent = v["sent_at_us"].as_u64().unwrap_or(0);
        assert!(sent >= last_sent && sent <= now_micros(), "stamp {sent}");
        last_sent = sent;
    }
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn last_event_id_resumes_after_that_event() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let req = client()
        .get(srv.url("/events?count=6"))
        .header("Last-Event-ID", "3");
    let frames = SseReader::open(req).await?.collect(100).await?;
    let ids: Vec<_> = frames.iter().filter_map(|f| f.id.clone()).collect();
    assert_eq!(ids, vec!["4", "5"]);
    // Resuming after the last event: an empty, finished stream.
    let req = client()
        .get(srv.url("/events?count=6"))
        .header("Last-Event-ID", "5");
    assert!(SseReader::open(req).await?.collect(100).await?.is_empty());
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn idle_stream_carries_keep_alive_comments() -> anyhow::Result<()> {
    let config = SseConfig {
        keep_alive: Duration::from_millis(50),
    };
    let srv = TestServer::start_with(16, config).await?;
    let mut s = srv.open("/events?count=2&interval_ms=600").await?;
    let mut comments = 0;
    let mut data = 0;
    while let Some(f) = s.next().await? {
        if f.comments
            .iter()
            .any(|c| c == protolab_sse::KEEP_ALIVE_TEXT)
        {
            comments += 1;
        }
        if f.data.is_some() {
            data += 1;
        }
    }
    assert_eq!(data, 2);
    assert!(comments >= 1, "no keep-alive comment while idle");
    // An idle subscription gets them too.
    let mut sub = srv.open("/subscribe").await?;
    let f = sub.next().await?.ok_or_else(|| anyhow::anyhow!("ended"))?;
    assert_eq!(f.comments, vec![protolab_sse::KEEP_ALIVE_TEXT.to_string()]);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_parameters_get_a_json_400_before_any_stream() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    for path in [
        "/events?count=0",
        "/events?count=abc",
        "/events?size=100000000",
        "/events?interval_ms=999999999",
    ] {
        let resp = client().get(srv.url(path)).send().await?;
        assert_eq!(resp.status(), 400, "{path}");
        let body: serde_json::Value = resp.json().await?;
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}"
        );
    }
    let resp = client()
        .get(srv.url("/events?count=3"))
        .header("Last-Event-ID", "nope")
        .send()
        .await?;
    assert_eq!(resp.status(), 400);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn stream_over_tls_with_h2_and_http1() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    for (alpn, version) in [
        (&[b"h2".as_slice()][..], reqwest::Version::HTTP_2),
        (&[b"http/1.1".as_slice()][..], reqwest::Version::HTTP_11),
    ] {
        let c = srv.tls_client(alpn)?;
        let resp = c.get(srv.tls_url("/ping")).send().await?;
        assert_eq!(resp.version(), version);
        let frames = SseReader::open(c.get(srv.tls_url("/events?count=3&size=4")))
            .await?
            .collect(10)
            .await?;
        let seqs: Vec<_> = frames.iter().map(|f| f.json()).collect::<Result<_, _>>()?;
        let seqs: Vec<_> = seqs.iter().map(|v| v["seq"].clone()).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
    }
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn abrupt_disconnect_mid_stream_leaves_the_server_serving() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    for _ in 0..5 {
        let mut s = srv
            .open("/events?count=100000&interval_ms=1&size=256")
            .await?;
        for _ in 0..3 {
            s.next_data().await?;
        }
        drop(s);
    }
    drop(srv.open("/subscribe").await?);
    let resp = client().get(srv.url("/ping")).send().await?;
    assert_eq!(resp.status(), 200);
    let frames = srv.open("/events?count=2").await?.collect(10).await?;
    assert_eq!(frames.len(), 2);
    // The dropped subscription is released.
    for _ in 0..100 {
        if srv.hub.subscribers() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(srv.hub.subscribers(), 0);
    srv.stop().await;
    Ok(())
}
