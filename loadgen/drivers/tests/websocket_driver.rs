//! The WebSocket driver against a real protolab-websocket server on loopback: every
//! op over ws and wss, many requests in flight on one socket matched by `req` and
//! binary echoes in order, the stream and broadcast kinds, a server answering wrong
//! data, and a server that goes away mid-run.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{assert_clean, assert_full_fanout, assert_whole_stream, case, plan, Server};
use futures::{FutureExt, SinkExt, StreamExt};
use protolab_bench::driver::PushEvent;
use protolab_bench::{run_case, Hooks, Kind};
use protolab_bench::{Driver, OpSpec};
use protolab_drivers::TlsOptions;
use protolab_drivers::WebSocketDriver;
use protolab_websocket::WsConfig;

async fn server() -> anyhow::Result<Server> {
    common::start_with_hub(&protolab_websocket::SPEC, 1024, |state, hub| {
        protolab_websocket::app_with(state, hub, WsConfig::default())
    })
    .await
}

async fn driver(srv: &Server, tls: bool, op: &OpSpec) -> anyhow::Result<Arc<WebSocketDriver>> {
    let target = if tls {
        format!("wss://localhost:{}/ws", srv.tls.port())
    } else {
        format!("ws://{}", srv.plain)
    };
    Ok(Arc::new(
        WebSocketDriver::new(&target, &srv.tls_options(), 42, op).await?,
    ))
}

#[tokio::test]
async fn every_op_over_ws_and_wss_with_many_in_flight_on_one_socket() -> anyhow::Result<()> {
    let srv = server().await?;
    for tls in [false, true] {
        for op in common::all_ops() {
            let d = driver(&srv, tls, &op).await?;
            let r = run_case(
                d,
                case(op.clone(), Kind::Throughput, plan(1, 16)),
                &mut Hooks::silent(),
            )
            .await;
            assert_clean(&r, &format!("tls {tls} {op:?}"));
            let rep = &r.repetitions[0];
            assert_eq!(
                (rep.connections, rep.workers),
                (1, 16),
                "16 callers share one socket"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn answers_are_matched_by_req_and_binary_echoes_by_order() -> anyhow::Result<()> {
    let srv = server().await?;
    let d = driver(&srv, false, &OpSpec::Ping).await?;
    let (mut conn, timings) = d.connect().await?;
    assert!(timings.handshake.is_some() && timings.tls.is_none());
    let calls = (1..=64u64).map(|i| {
        let mut c = d.share(&mut conn).expect("shared socket");
        async move {
            if i % 2 == 0 {
                let data = bytes::Bytes::from(vec![i as u8; i as usize * 100]);
                let back = c.binary(data.clone()).await?;
                anyhow::ensure!(back == data, "binary echo {i} came back different");
            } else {
                let a = c
                    .request(|req| format!(r#"{{"op":"get_item","id":{i},"req":{req}}}"#))
                    .await?;
                let v: serde_json::Value = serde_json::from_str(&a.text)?;
                anyhow::ensure!(v["result"]["id"] == i, "answer {v} is not item {i}");
            }
            Ok(())
        }
    });
    for r in futures::future::join_all(calls).await {
        r?;
    }
    Ok(())
}

#[tokio::test]
async fn a_socket_with_one_caller_is_used_in_place() -> anyhow::Result<()> {
    let srv = server().await?;
    for (tls, op) in [false, true]
        .into_iter()
        .flat_map(|tls| common::all_ops().into_iter().map(move |op| (tls, op)))
    {
        let d = driver(&srv, tls, &op).await?;
        let r = run_case(
            d,
            case(op.clone(), Kind::Throughput, plan(4, 1)),
            &mut Hooks::silent(),
        )
        .await;
        assert_clean(&r, &format!("in place, tls {tls} {op:?}"));
        let rep = &r.repetitions[0];
        assert_eq!(
            (rep.connections, rep.workers),
            (4, 4),
            "a socket per caller"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_call_given_up_on_leaves_no_answer_for_the_next() -> anyhow::Result<()> {
    let srv = server().await?;
    let d = driver(&srv, false, &OpSpec::Ping).await?;
    let (mut c, _) = d.connect().await?;
    // Polled once and dropped: the frame goes out, the answer is not waited for, as
    // when the engine gives up on a call at its deadline. (One poll cannot see the
    // answer: the server runs on this test's one thread.)
    let early = bytes::Bytes::from(vec![1u8; 100]);
    assert!(c.binary(early).now_or_never().is_none(), "answered at once");
    let late = bytes::Bytes::from(vec![2u8; 300]);
    assert_eq!(
        c.binary(late.clone()).await?,
        late,
        "the next call got the old echo"
    );

    let get = |id: u32| move |req| format!(r#"{{"op":"get_item","id":{id},"req":{req}}}"#);
    assert!(
        c.request(get(7)).now_or_never().is_none(),
        "answered at once"
    );
    let a = c.request(get(9)).await?;
    let v: serde_json::Value = serde_json::from_str(&a.text)?;
    assert_eq!(
        v["result"]["id"], 9,
        "the next call got the old answer: {v}"
    );
    Ok(())
}

#[tokio::test]
async fn stream_and_broadcast_kinds_count_exactly() -> anyhow::Result<()> {
    let srv = server().await?;
    for tls in [false, true] {
        let d = driver(&srv, tls, &OpSpec::Ping).await?;
        let r = run_case(
            d.clone(),
            common::stream_case(300, 64, 3),
            &mut Hooks::silent(),
        )
        .await;
        assert_whole_stream(&r, 3, 300, &format!("stream tls {tls}"));
        let bc = common::broadcast_case(6, 20.0, Duration::from_millis(500));
        let r = run_case(d, bc, &mut Hooks::silent()).await;
        assert_full_fanout(&r, 6, 10, &format!("broadcast tls {tls}"));
    }
    Ok(())
}

#[tokio::test]
async fn a_slow_subscriber_is_told_how_many_it_missed() -> anyhow::Result<()> {
    // One thread: the publishes below run before the server forwards anything, so
    // a hub of 4 must skip 6 of 10 for this subscriber.
    let srv = common::start_with_hub(&protolab_websocket::SPEC, 4, |state, hub| {
        protolab_websocket::app_with(state, hub, WsConfig::default())
    })
    .await?;
    let d = driver(&srv, false, &OpSpec::Ping).await?;
    let mut sub = d.subscribe().await?;
    let hub = srv.hub.clone().ok_or_else(|| anyhow::anyhow!("no hub"))?;
    for i in 0..10 {
        hub.publish(format!("m {i} 0 "));
    }
    let step = Duration::from_secs(10);
    let first = tokio::time::timeout(step, sub.next()).await?;
    assert!(
        matches!(first, Some(Ok(ref p)) if p.event == PushEvent::Lagged(6)),
        "{first:?}"
    );
    let next = tokio::time::timeout(step, sub.next()).await?;
    assert!(
        matches!(next, Some(Ok(ref p)) if p.event == PushEvent::Message("m 6 0 ".into())),
        "{next:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_server_answering_a_wrong_item_fails_verification() -> anyhow::Result<()> {
    // A tiny WebSocket server whose item 42 has the wrong price.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(tcp).await?;
                let mut item = serde_json::to_value(protolab_core::Item::generate(42, 42))?;
                item["price"] = 0.5.into();
                while let Some(Ok(msg)) = ws.next().await {
                    let Ok(text) = msg.to_text() else { continue };
                    let v: serde_json::Value = serde_json::from_str(text)?;
                    let answer = serde_json::json!({ "req": v["req"], "ok": true, "result": item });
                    ws.send(answer.to_string().into()).await?;
                }
                Ok::<_, anyhow::Error>(())
            });
        }
    });
    let op = OpSpec::GetItem { ids: 100 };
    let d = WebSocketDriver::new(&format!("ws://{addr}"), &TlsOptions::default(), 42, &op).await?;
    let r = run_case(
        Arc::new(d),
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
async fn a_server_that_goes_away_mid_run_gives_errors_and_the_run_ends() -> anyhow::Result<()> {
    let srv = server().await?;
    let d = driver(&srv, false, &OpSpec::Ping).await?;
    let state = srv.state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        state.shutdown.cancel();
    });
    let mut p = plan(2, 4);
    p.duration = Duration::from_secs(1);
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        run_case(
            d,
            case(OpSpec::Ping, Kind::Throughput, p),
            &mut Hooks::silent(),
        ),
    )
    .await?;
    let s = &r.repetitions[0].summary;
    assert!(s.requests > 0, "answers before the server left");
    assert!(s.errors > 0, "errors after it left: {s:?}");
    Ok(())
}
