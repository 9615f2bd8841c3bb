//! The GraphQL driver against a real protolab-graphql server on loopback: every op
//! over HTTP/1.1, h2c and TLS h2, `ticks` streams and `broadcasts` fan-out over
//! graphql-transport-ws (plain and TLS), a server answering wrong data, and a
//! server that goes away mid-run.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use common::{assert_clean, assert_full_fanout, assert_whole_stream, case, plan, Server};
use protolab_bench::{run_case, Hooks, Kind};
use protolab_bench::{Driver, OpSpec};
use protolab_drivers::GraphqlDriver;
use protolab_drivers::{HttpVersion, TlsOptions};

async fn server() -> anyhow::Result<Server> {
    common::start(&protolab_graphql::SPEC, protolab_graphql::app).await
}

async fn driver(
    target: &str,
    version: HttpVersion,
    tls: &TlsOptions,
    op: &OpSpec,
) -> anyhow::Result<Arc<GraphqlDriver>> {
    Ok(Arc::new(
        GraphqlDriver::new(target, version, tls, 42, op).await?,
    ))
}

#[tokio::test]
async fn every_op_over_h1_h2c_and_tls_h2() -> anyhow::Result<()> {
    let srv = server().await?;
    let tls = srv.tls_options();
    for (target, version, inflight) in [
        (srv.http(), HttpVersion::H1, 1),
        (srv.http(), HttpVersion::H2, 4),
        (srv.https(), HttpVersion::H2, 4),
    ] {
        for op in common::all_ops() {
            let d = driver(&target, version, &tls, &op).await?;
            let r = run_case(
                d,
                case(op.clone(), Kind::Throughput, plan(2, inflight)),
                &mut Hooks::silent(),
            )
            .await;
            assert_clean(&r, &format!("{target} {version:?} {op:?}"));
        }
    }
    let d = driver(&srv.https(), HttpVersion::H2, &tls, &OpSpec::Ping).await?;
    let (_, t) = d.connect().await?;
    assert!(
        t.tls.is_some() && t.handshake.is_some(),
        "TLS and h2 handshake timed"
    );
    Ok(())
}

#[tokio::test]
async fn ticks_and_broadcasts_over_graphql_transport_ws() -> anyhow::Result<()> {
    let srv = server().await?;
    let tls = srv.tls_options();
    for target in [srv.http(), srv.https()] {
        let d = driver(&target, HttpVersion::H1, &tls, &OpSpec::Ping).await?;
        let r = run_case(
            d.clone(),
            common::stream_case(200, 32, 2),
            &mut Hooks::silent(),
        )
        .await;
        assert_whole_stream(&r, 2, 200, &format!("ticks {target}"));
        let bc = common::broadcast_case(5, 20.0, Duration::from_millis(500));
        let r = run_case(d, bc, &mut Hooks::silent()).await;
        assert_full_fanout(&r, 5, 10, &format!("broadcasts {target}"));
    }
    Ok(())
}

#[tokio::test]
async fn a_server_answering_a_wrong_item_fails_verification() -> anyhow::Result<()> {
    // A GraphQL endpoint whose item 42 has the wrong name.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut item = serde_json::to_value(protolab_core::Item::generate(42, 42))?;
    item["name"] = "not item 42".into();
    let body = serde_json::json!({ "data": { "item": item } }).to_string();
    let app = axum::Router::new().route("/graphql", post(move || async move { body }));
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
    let d = driver(
        &srv.http(),
        HttpVersion::H1,
        &srv.tls_options(),
        &OpSpec::Ping,
    )
    .await?;
    let state = srv.state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        state.shutdown.cancel();
    });
    let mut p = plan(3, 1);
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
    assert!(
        s.requests > 0 && s.errors > 0,
        "answers, then errors: {s:?}"
    );
    Ok(())
}
