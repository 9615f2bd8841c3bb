//! The REST driver and the engine against a real protolab-rest server on loopback:
//! every transport, the main kinds, verification of wrong answers, and a server that
//! drops connections mid-run.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use protolab_bench::OpSpec;
use protolab_bench::{run_case, CaseSpec, Hooks, Kind};
use protolab_bench::{LoadPlan, Model};
use protolab_core::server::start_in_process;
use protolab_core::ServerState;
use protolab_drivers::RestDriver;
use protolab_drivers::{HttpTarget, HttpVersion, TlsOptions};

struct Server {
    plain: SocketAddr,
    tls: SocketAddr,
    state: ServerState,
    dir: tempfile::TempDir,
}

async fn start() -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let s = start_in_process(
        &protolab_rest::SPEC,
        dir.path(),
        1_000,
        |_| {},
        protolab_rest::app,
    )
    .await?;
    Ok(Server {
        plain: s.plain,
        tls: s.tls,
        state: s.state,
        dir,
    })
}

fn plan(model: Model, connections: usize, inflight: usize) -> LoadPlan {
    LoadPlan {
        model,
        connections,
        inflight,
        duration: Duration::from_millis(800),
        warmup: Duration::from_millis(200),
        requests: None,
        requests_per_worker: None,
        timeout: Duration::from_secs(5),
        // Driver tests judge answers, not timing: a loaded test machine's lateness
        // is not the driver's.
        max_lag: Duration::from_secs(1),
        slow: None,
        schedule: None,
    }
}

fn case(name: &str, op: OpSpec, kind: Kind, plan: LoadPlan) -> CaseSpec {
    CaseSpec {
        name: name.into(),
        protocol: "rest".into(),
        target: String::new(),
        op,
        kind,
        plan,
        repeat: 1,
        z_threshold: 2.0,
        max_errors: protolab_bench::case::DEFAULT_MAX_ERRORS,
    }
}

async fn driver(
    target: &str,
    version: HttpVersion,
    tls: &TlsOptions,
    op: &OpSpec,
) -> anyhow::Result<Arc<RestDriver>> {
    Ok(Arc::new(RestDriver::new(
        HttpTarget::new(target, version, tls).await?,
        42,
        op,
    )))
}

#[tokio::test]
async fn every_transport_and_op_verifies_and_measures() -> anyhow::Result<()> {
    let srv = start().await?;
    let tls = TlsOptions {
        ca: Some(srv.dir.path().join("ca.crt")),
        ..Default::default()
    };
    let plain = format!("http://{}", srv.plain);
    let secure = format!("https://localhost:{}", srv.tls.port());
    let ops = [
        OpSpec::Ping,
        OpSpec::GetItem { ids: 1_000 },
        OpSpec::ListItems {
            limit: 50,
            category: None,
        },
        OpSpec::Echo { size: 4096 },
        OpSpec::Score { dims: 16 },
    ];
    for (target, version, inflight) in [
        (&plain, HttpVersion::H1, 1),
        (&plain, HttpVersion::H2, 4),
        (&secure, HttpVersion::H2, 4),
        (&secure, HttpVersion::H1, 1),
    ] {
        for op in &ops {
            let d = driver(target, version, &tls, op).await?;
            let r = run_case(
                d,
                case(
                    "t",
                    op.clone(),
                    Kind::Throughput,
                    plan(Model::Closed, 2, inflight),
                ),
                &mut Hooks::silent(),
            )
            .await;
            assert!(
                common::trusted(&r),
                "{target} {version:?} {op:?}: {:?}",
                r.problems
            );
            let s = &r.repetitions[0].summary;
            assert!(
                s.requests > 10 && s.errors == 0,
                "{target} {version:?} {op:?}: {s:?}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn open_loop_latency_and_connect_kinds() -> anyhow::Result<()> {
    let srv = start().await?;
    let tls = TlsOptions {
        ca: Some(srv.dir.path().join("ca.crt")),
        ..Default::default()
    };
    let op = OpSpec::GetItem { ids: 1_000 };
    let d = driver(&format!("http://{}", srv.plain), HttpVersion::H2, &tls, &op).await?;
    let r = run_case(
        d.clone(),
        case(
            "rate",
            op.clone(),
            Kind::Rate,
            plan(Model::Open { rate: 500.0 }, 1, 8),
        ),
        &mut Hooks::silent(),
    )
    .await;
    assert!(common::trusted(&r), "{:?}", r.problems);
    let s = &r.repetitions[0].summary;
    assert!(
        (350..=450).contains(&s.requests),
        "0.8 s at 500/s gave {} requests",
        s.requests
    );

    let mut lat = plan(Model::Closed, 1, 1);
    lat.requests = Some(100);
    lat.duration = Duration::from_secs(30);
    let r = run_case(
        d,
        case("lat", op.clone(), Kind::Latency, lat),
        &mut Hooks::silent(),
    )
    .await;
    let s = &r.repetitions[0].summary;
    assert_eq!(s.requests, 100);
    assert!(s
        .ttfb
        .as_ref()
        .is_some_and(|t| t.p50_us <= s.latency.p50_us));

    let d = driver(
        &format!("https://localhost:{}", srv.tls.port()),
        HttpVersion::H2,
        &tls,
        &op,
    )
    .await?;
    let r = run_case(
        d,
        case(
            "conn",
            op,
            Kind::Connect {
                rate: 100.0,
                attempts: 10,
            },
            plan(Model::Closed, 1, 1),
        ),
        &mut Hooks::silent(),
    )
    .await;
    assert!(common::trusted(&r), "{:?}", r.problems);
    let c = r.repetitions[0]
        .connect
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no breakdown"))?;
    assert_eq!(c.total.count, 10);
    assert!(c
        .tls
        .as_ref()
        .is_some_and(|t| t.count == 10 && t.p50_us > 0));
    assert!(c.handshake.is_some(), "h2 handshake timed");
    srv.state.shutdown.cancel();
    Ok(())
}

#[tokio::test]
async fn a_wrong_answer_fails_the_case_without_numbers() -> anyhow::Result<()> {
    // A server whose item 42 is not the dataset's.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut wrong = protolab_core::Item::generate(42, 42);
    wrong.price += 1.0;
    let body = serde_json::to_string(&wrong)?;
    let app = axum::Router::new().route("/items/{id}", get(move || async move { body }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let op = OpSpec::GetItem { ids: 100 };
    let d = driver(
        &format!("http://{addr}"),
        HttpVersion::H1,
        &TlsOptions::default(),
        &op,
    )
    .await?;
    let r = run_case(
        d,
        case("wrong", op, Kind::Throughput, plan(Model::Closed, 1, 1)),
        &mut Hooks::silent(),
    )
    .await;
    assert!(!r.valid);
    assert!(r.repetitions.is_empty());
    assert!(
        r.problems[0].contains("verification of get_item failed"),
        "{:?}",
        r.problems
    );
    Ok(())
}

#[tokio::test]
async fn a_server_that_goes_away_mid_run_gives_errors_not_a_hang() -> anyhow::Result<()> {
    let srv = start().await?;
    let op = OpSpec::Ping;
    let d = driver(
        &format!("http://{}", srv.plain),
        HttpVersion::H1,
        &TlsOptions::default(),
        &op,
    )
    .await?;
    let state = srv.state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        state.shutdown.cancel();
    });
    let mut p = plan(Model::Closed, 4, 1);
    p.duration = Duration::from_secs(1);
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        run_case(
            d,
            case("gone", op, Kind::Throughput, p),
            &mut Hooks::silent(),
        ),
    )
    .await?;
    let s = &r.repetitions[0].summary;
    assert!(s.requests > 0, "answers before the server left");
    assert!(s.errors > 0, "errors after it left: {s:?}");
    Ok(())
}
