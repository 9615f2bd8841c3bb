//! The framed-protocol driver and the pipeline kind against a real protolab-binary:
//! every op, pipelining with depth > 1 and exact counts (framed and NET-001, with
//! reference/003's per-client lines in clients.csv), a protocol that cannot pipeline
//! skipped; and, with a tiny fake framed server (for these two tests only), a wrong
//! answer failing verification and a server closing mid-pipeline.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{all_ops, binary, named, plan, unlimited};
use futures::{SinkExt, StreamExt};
use protolab_bench::OpSpec;
use protolab_bench::{run_case, CaseResult, Hooks, Kind};
use protolab_drivers::FramedDriver;
use protolab_drivers::Net001Driver;
use protolab_wire::framed::{Frame, FrameKind, FramedCodec, Request, Response};
use tokio_util::codec::Framed;

fn pipeline_plan(clients: usize) -> protolab_bench::LoadPlan {
    let mut p = plan(clients, 1);
    p.timeout = Duration::from_secs(2);
    p
}

fn pipeline(depth: usize, messages: u64) -> Kind {
    Kind::Pipeline { depth, messages }
}

#[tokio::test]
async fn framed_every_op() -> anyhow::Result<()> {
    let b = binary(unlimited()).await?;
    for op in all_ops()
        .into_iter()
        .chain([OpSpec::Echo { size: 300_000 }])
    {
        let d = Arc::new(FramedDriver::new(&b.framed(), 42, &op).await?);
        let r = run_case(
            d,
            named("framed", op.clone(), Kind::Throughput, plan(2, 1)),
            &mut Hooks::silent(),
        )
        .await;
        let s = &r.repetitions[0].summary;
        assert!(common::trusted(&r), "{op:?}: {:?}", r.problems);
        assert!(s.requests >= 1 && s.errors == 0, "{op:?}: {s:?}");
    }
    b.srv.stop().await;
    Ok(())
}

fn assert_exact(r: &CaseResult, clients: usize, messages: u64, reps: usize) {
    assert!(common::trusted(r), "{:?}", r.problems);
    assert_eq!(r.repetitions.len(), reps);
    for rep in &r.repetitions {
        assert_eq!(
            rep.summary.requests,
            clients as u64 * messages,
            "{:?}",
            rep.summary
        );
        assert_eq!(rep.summary.errors, 0);
    }
    assert_eq!(r.clients.len(), clients * reps);
    for line in &r.clients {
        assert_eq!(
            (line.messages, line.answered, line.errors),
            (messages, messages, 0)
        );
        assert!(line.total_s > 0.0 && line.mean_latency_us > 0.0, "{line:?}");
    }
    assert!(r.stats.contains_key(&protolab_bench::Metric::ClientTotalS));
}

#[tokio::test]
async fn pipelines_with_exact_counts_on_both_binary_protocols() -> anyhow::Result<()> {
    let b = binary(unlimited()).await?;
    for op in [
        OpSpec::Ping,
        OpSpec::GetItem { ids: 500 },
        OpSpec::Echo { size: 100 },
    ] {
        let mut s = named("framed", op.clone(), pipeline(8, 300), pipeline_plan(3));
        s.repeat = 2;
        let d = Arc::new(FramedDriver::new(&b.framed(), 42, &op).await?);
        assert_exact(
            &run_case(d, s.clone(), &mut Hooks::silent()).await,
            3,
            300,
            2,
        );
        for target in [b.plain(), b.tls_target()] {
            let d = Arc::new(Net001Driver::new(&target, &b.tls(), None, 42, &op).await?);
            assert_exact(
                &run_case(d, s.clone(), &mut Hooks::silent()).await,
                3,
                300,
                2,
            );
        }
    }
    // Depth beyond the count: reference/003's send-everything-then-read.
    let d = Arc::new(FramedDriver::new(&b.framed(), 42, &OpSpec::Ping).await?);
    let s = named(
        "framed",
        OpSpec::Ping,
        pipeline(1000, 200),
        pipeline_plan(2),
    );
    let r = run_case(d, s, &mut Hooks::silent()).await;
    assert_exact(&r, 2, 200, 1);

    // reference/003's line per client (clients.csv is written from these).
    assert_eq!(r.clients.len(), 2, "{:?}", r.clients);
    let first = &r.clients[0];
    assert_eq!(
        (
            first.repetition,
            first.client,
            first.messages,
            first.answered,
            first.errors
        ),
        (0, 0, 200, 200, 0)
    );
    b.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_protocol_that_cannot_pipeline_is_skipped() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = protolab_core::server::start_in_process(
        &protolab_rest::SPEC,
        dir.path(),
        100,
        |_| {},
        protolab_rest::app,
    )
    .await?;
    let t = protolab_drivers::HttpTarget::new(
        &format!("http://{}", s.plain),
        protolab_drivers::HttpVersion::H1,
        &Default::default(),
    )
    .await?;
    let d = Arc::new(protolab_drivers::RestDriver::new(t, 42, &OpSpec::Ping));
    let r = run_case(
        d,
        named("rest-h1", OpSpec::Ping, pipeline(4, 10), pipeline_plan(2)),
        &mut Hooks::silent(),
    )
    .await;
    assert!(r.valid && r.repetitions.is_empty(), "{:?}", r.problems);
    assert!(r.skipped.expect("skipped").contains("pipelining"));
    Ok(())
}

/// A framed server for one test: answers each request with `answer(req, n)` (n counts
/// the connection's requests) and closes the connection when it returns `None`.
async fn fake(
    answer: fn(&Request, u64) -> Option<Response>,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?.to_string();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut f = Framed::new(tcp, FramedCodec::new());
                let n = AtomicU64::new(0);
                while let Some(Ok(Ok(frame))) = f.next().await {
                    let Ok(req) = Request::decode(&frame.payload) else {
                        return;
                    };
                    let Some(resp) = answer(&req, n.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    let Ok(payload) = serde_json::to_vec(&resp) else {
                        return;
                    };
                    if f.send(Frame::new(FrameKind::Response, payload))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok((addr, task))
}

#[tokio::test]
async fn a_wrong_item_fails_verification() -> anyhow::Result<()> {
    let (addr, task) = fake(|req, _| {
        let mut item = serde_json::to_value(protolab_core::Item::generate(42, 42)).ok()?;
        item["name"] = "not the dataset's".into();
        Some(Response::success(req.req, item))
    })
    .await?;
    let op = OpSpec::GetItem { ids: 100 };
    let d = Arc::new(FramedDriver::new(&addr, 42, &op).await?);
    let r = run_case(
        d,
        named("framed", op, Kind::Throughput, plan(1, 1)),
        &mut Hooks::silent(),
    )
    .await;
    assert!(!r.valid && r.repetitions.is_empty());
    assert!(
        r.problems.iter().any(|p| p.contains("wrong answer")),
        "{:?}",
        r.problems
    );
    task.abort();
    Ok(())
}

#[tokio::test]
async fn a_server_closing_mid_pipeline_counts_the_unanswered() -> anyhow::Result<()> {
    // Answers the first 50 requests of every connection (after verification's), then hangs up.
    let (addr, task) =
        fake(|req, n| (n < 50).then(|| Response::success(req.req, serde_json::Value::Null)))
            .await?;
    let d = Arc::new(FramedDriver::new(&addr, 42, &OpSpec::Ping).await?);
    let r = run_case(
        d,
        named("framed", OpSpec::Ping, pipeline(8, 200), pipeline_plan(3)),
        &mut Hooks::silent(),
    )
    .await;
    let s = &r.repetitions[0].summary;
    assert_eq!((s.requests, s.errors), (150, 450), "{s:?}");
    assert_eq!(s.errors_by_kind.get("closed"), Some(&450));
    assert!(r
        .clients
        .iter()
        .all(|l| l.answered == 50 && l.errors == 150));
    task.abort();
    Ok(())
}
