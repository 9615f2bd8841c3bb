//! The SSE driver against a real protolab-sse server on loopback: its request ops
//! (and the ones it does not offer), `/events` streams parsed incrementally,
//! resumption with Last-Event-ID (asked for directly, and after a relay cuts the
//! connection mid-stream), lag notices, broadcast fan-out, a server answering wrong
//! data, and a server that shuts down mid-stream.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use common::{assert_clean, assert_full_fanout, assert_whole_stream, case, plan, Server};
use futures::StreamExt;
use protolab_bench::driver::{PushEvent, StreamParams};
use protolab_bench::{run_case, Hooks, Kind};
use protolab_bench::{CallError, Driver, OpSpec};
use protolab_drivers::SseDriver;
use protolab_drivers::{HttpTarget, HttpVersion, TlsOptions};
use protolab_sse::SseConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn server(capacity: usize) -> anyhow::Result<Server> {
    common::start_with_hub(&protolab_sse::SPEC, capacity, |state, hub| {
        protolab_sse::app_with(state, hub, SseConfig::default())
    })
    .await
}

async fn driver(target: &str, tls: &TlsOptions) -> anyhow::Result<Arc<SseDriver>> {
    let t = HttpTarget::new(target, HttpVersion::H1, tls).await?;
    Ok(Arc::new(SseDriver::new(t, 42)))
}

fn seqs(events: &[Result<protolab_bench::driver::Pushed, CallError>]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(p) => match p.event {
                PushEvent::Event { seq, .. } => Some(seq),
                _ => None,
            },
            Err(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn request_ops_plain_and_tls_and_the_rest_unsupported() -> anyhow::Result<()> {
    let srv = server(1024).await?;
    for target in [srv.http(), srv.https()] {
        let d = driver(&target, &srv.tls_options()).await?;
        for op in [OpSpec::Ping, OpSpec::GetItem { ids: 1_000 }] {
            let r = run_case(
                d.clone(),
                case(op.clone(), Kind::Throughput, plan(2, 1)),
                &mut Hooks::silent(),
            )
            .await;
            assert_clean(&r, &format!("{target} {op:?}"));
        }
        let r = run_case(
            d,
            case(OpSpec::Echo { size: 8 }, Kind::Throughput, plan(1, 1)),
            &mut Hooks::silent(),
        )
        .await;
        let why = r.skipped.clone().unwrap_or_default();
        assert!(
            r.valid && why.contains("echo is not offered"),
            "{why:?} {:?}",
            r.problems
        );
    }
    Ok(())
}

#[tokio::test]
async fn streams_count_every_event_and_resume_from_last_event_id() -> anyhow::Result<()> {
    let srv = server(1024).await?;
    let d = driver(&srv.https(), &srv.tls_options()).await?;
    let r = run_case(
        d.clone(),
        common::stream_case(500, 100, 3),
        &mut Hooks::silent(),
    )
    .await;
    assert_whole_stream(&r, 3, 500, "sse stream");

    // Asked to resume after event 4, the server sends 5.. only.
    let (mut conn, _) = d.connect().await?;
    let p = StreamParams {
        count: 10,
        interval_ms: 0,
        size: 4,
    };
    let got: Vec<_> = d.events(&mut conn, &p, Some(4)).await?.collect().await;
    // (Counted from 0, that is one gap and 5 events lost: the tally's own test.)
    assert_eq!(seqs(&got), vec![5, 6, 7, 8, 9]);
    // And the connection is usable again once the stream has ended.
    d.verify(&mut conn, &OpSpec::Ping).await?;
    Ok(())
}

/// Forwards loopback connections to `to`; the first one is cut after `cut` bytes
/// of answer, like a proxy dropping a long-lived stream.
async fn cutting_relay(
    to: std::net::SocketAddr,
    cut: usize,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut client, _)) = listener.accept().await {
            let limit = if first { cut } else { usize::MAX };
            first = false;
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(to).await?;
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let up = tokio::io::copy(&mut cr, &mut sw);
                let down = async {
                    let mut buf = vec![0u8; 4096];
                    let mut sent = 0;
                    while sent < limit {
                        let n = sr.read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        let n = n.min(limit - sent);
                        cw.write_all(&buf[..n]).await?;
                        sent += n;
                    }
                    Ok::<_, std::io::Error>(())
                };
                tokio::select! { _ = up => {}, _ = down => {} }
                Ok::<_, anyhow::Error>(())
            });
        }
    });
    Ok(addr)
}

#[tokio::test]
async fn a_stream_cut_mid_way_resumes_on_a_new_connection() -> anyhow::Result<()> {
    let srv = server(1024).await?;
    let relay = cutting_relay(srv.plain, 3_000).await?;
    let d = driver(&format!("http://{relay}"), &TlsOptions::default()).await?;
    // By hand, not through the runner: its verification would take the cut.
    let (mut conn, _) = d.connect().await?;
    let p = StreamParams {
        count: 400,
        interval_ms: 0,
        size: 64,
    };
    let got: Vec<_> = d.stream(&mut conn, &p).await?.collect().await;
    let resumed = got
        .iter()
        .filter(|e| matches!(e, Ok(p) if p.event == PushEvent::Resumed))
        .count();
    assert_eq!(resumed, 1, "one reconnection");
    assert_eq!(
        seqs(&got),
        (0..400).collect::<Vec<_>>(),
        "every event once, in order"
    );
    Ok(())
}

#[tokio::test]
async fn a_slow_subscriber_is_told_how_many_it_missed() -> anyhow::Result<()> {
    // One thread: the publishes below run before the server's subscription is
    // polled again, so a hub of 4 must skip 6 of 10 for this subscriber.
    let srv = server(4).await?;
    let d = driver(&srv.http(), &TlsOptions::default()).await?;
    let mut sub = d.subscribe().await?;
    let hub = srv.hub.clone().ok_or_else(|| anyhow::anyhow!("no hub"))?;
    for i in 0..10 {
        hub.publish(format!("m {i} 0 "));
    }
    let first = tokio::time::timeout(Duration::from_secs(10), sub.next()).await?;
    assert!(
        matches!(first, Some(Ok(ref p)) if p.event == PushEvent::Lagged(6)),
        "{first:?}"
    );
    let next = tokio::time::timeout(Duration::from_secs(10), sub.next()).await?;
    assert!(
        matches!(next, Some(Ok(ref p)) if p.event == PushEvent::Message("m 6 0 ".into())),
        "{next:?}"
    );
    Ok(())
}

#[tokio::test]
async fn broadcast_reaches_every_subscriber_exactly() -> anyhow::Result<()> {
    let srv = server(1024).await?;
    let d = driver(&srv.http(), &TlsOptions::default()).await?;
    let bc = common::broadcast_case(8, 20.0, Duration::from_millis(500));
    let r = run_case(d, bc, &mut Hooks::silent()).await;
    assert_full_fanout(&r, 8, 10, "sse broadcast");
    Ok(())
}

#[tokio::test]
async fn a_server_answering_a_wrong_item_fails_verification() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut wrong = protolab_core::Item::generate(42, 42);
    wrong.category = "nothing".into();
    let body = serde_json::to_string(&wrong)?;
    let app = axum::Router::new().route("/items/{id}", get(move || async move { body }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let d = driver(&format!("http://{addr}"), &TlsOptions::default()).await?;
    let op = OpSpec::GetItem { ids: 10 };
    let r = run_case(
        d,
        case(op, Kind::Throughput, plan(1, 1)),
        &mut Hooks::silent(),
    )
    .await;
    assert!(!r.valid && r.repetitions.is_empty());
    assert!(
        r.problems[0].contains("verification of get_item failed"),
        "{:?}",
        r.problems
    );
    Ok(())
}

#[tokio::test]
async fn a_server_shutting_down_mid_stream_loses_events_and_the_run_ends() -> anyhow::Result<()> {
    let srv = server(1024).await?;
    let d = driver(&srv.http(), &TlsOptions::default()).await?;
    let state = srv.state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        state.shutdown.cancel();
    });
    // 2 streams of 200 events 10 ms apart: 2 s each, cut at 0.5 s.
    let mut spec = common::stream_case(200, 16, 2);
    spec.kind = Kind::Stream {
        count: 200,
        interval_ms: 10,
        size: 16,
    };
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        run_case(d, spec, &mut Hooks::silent()),
    )
    .await?;
    let rep = &r.repetitions[0];
    let p = rep.push.as_ref().expect("push stats");
    assert!(p.received > 0 && p.lost > 0, "{p:?}");
    assert_eq!(p.received + p.lost, 400);
    assert!(
        rep.summary.errors > 0,
        "the failed resumption is an error: {:?}",
        rep.summary
    );
    Ok(())
}
