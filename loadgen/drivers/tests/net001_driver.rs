//! The NET-001 driver against a real protolab-binary on loopback: every op over
//! plain and TLS, AUTH on and off (the handshake in the connect breakdown), ERROR
//! frames as clear errors, echo above one frame skipped, BROADCAST fan-out (with and
//! without AUTH), and a server that goes away mid-run.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{all_ops, binary, named, plan, unlimited};
use protolab_bench::{run_case, Hooks, Kind};
use protolab_bench::{CallError, Driver, OpSpec, Refusal};
use protolab_binary::auth::AuthTokens;
use protolab_binary::BinaryConfig;
use protolab_drivers::Net001Driver;

async fn driver(
    target: &str,
    b: &common::Binary,
    auth: Option<&str>,
    op: &OpSpec,
) -> anyhow::Result<Arc<Net001Driver>> {
    Ok(Arc::new(
        Net001Driver::new(target, &b.tls(), auth, 42, op).await?,
    ))
}

#[tokio::test]
async fn every_op_over_plain_and_tls() -> anyhow::Result<()> {
    let b = binary(unlimited()).await?;
    for target in [b.plain(), b.tls_target()] {
        for op in all_ops() {
            let d = driver(&target, &b, None, &op).await?;
            let name = d.name();
            let r = run_case(
                d,
                named(&name, op.clone(), Kind::Throughput, plan(2, 1)),
                &mut Hooks::silent(),
            )
            .await;
            let s = &r.repetitions[0].summary;
            assert!(common::trusted(&r), "{target} {op:?}: {:?}", r.problems);
            assert!(s.requests > 10 && s.errors == 0, "{target} {op:?}: {s:?}");
            if let OpSpec::Echo { size } = op {
                assert_eq!(
                    s.mbps_received, s.mbps_sent,
                    "echo moves the same bytes back"
                );
                assert!(
                    s.mbps_sent * 1e6 * s.elapsed_s >= (s.requests * size as u64) as f64 * 0.99
                );
            }
        }
    }
    b.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn connect_breakdown_has_tls_and_the_auth_round_trip() -> anyhow::Result<()> {
    let config = BinaryConfig {
        auth: AuthTokens::from_pairs([("alice", "s3cret")]),
        ..unlimited()
    };
    let b = binary(config).await?;
    let op = OpSpec::GetItem { ids: 100 };
    let d = driver(&b.tls_target(), &b, Some("alice:s3cret"), &op).await?;
    let kind = Kind::Connect {
        rate: 50.0,
        attempts: 10,
    };
    let r = run_case(
        d,
        named("net001-tls", op.clone(), kind, plan(1, 1)),
        &mut Hooks::silent(),
    )
    .await;
    assert!(common::trusted(&r), "{:?}", r.problems);
    let c = r.repetitions[0].connect.as_ref().expect("breakdown");
    assert_eq!(c.total.count, 10);
    assert_eq!(c.tls.as_ref().map(|t| t.count), Some(10));
    assert_eq!(
        c.handshake.as_ref().map(|h| h.count),
        Some(10),
        "AUTH is the handshake"
    );

    // Plain, no AUTH: ping is allowed, DATA is refused with a clear reason.
    let d = driver(&b.plain(), &b, None, &OpSpec::Ping).await?;
    let (mut conn, t) = d.connect().await?;
    assert_eq!(t.handshake, None);
    d.verify(&mut conn, &OpSpec::Ping).await?;
    let e = d
        .verify(&mut conn, &op)
        .await
        .expect_err("DATA before AUTH");
    assert!(
        matches!(
            &e,
            CallError::Refused {
                reason: Refusal::NotAuthenticated,
                ..
            }
        ),
        "{e}"
    );
    // A wrong token fails the connection itself.
    let d = driver(&b.plain(), &b, Some("alice:wrong"), &op).await?;
    let Err(e) = d.connect().await else {
        panic!("a wrong token must be refused");
    };
    assert_eq!(e.kind(), "auth_failed", "{e}");
    b.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn rate_limit_refusals_are_counted_by_reason() -> anyhow::Result<()> {
    let config = BinaryConfig {
        rate_limit: 200,
        global_rate_limit: 0,
        ..BinaryConfig::default()
    };
    let b = binary(config).await?;
    let d = driver(&b.plain(), &b, None, &OpSpec::Ping).await?;
    let r = run_case(
        d,
        named("net001", OpSpec::Ping, Kind::Throughput, plan(1, 1)),
        &mut Hooks::silent(),
    )
    .await;
    let s = &r.repetitions[0].summary;
    assert!(s.requests > 0, "{s:?}");
    assert!(
        s.errors_by_kind.get("rate_limited").copied().unwrap_or(0) > 0,
        "{:?}",
        s.errors_by_kind
    );
    b.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn echo_above_one_frame_is_skipped_not_failed() -> anyhow::Result<()> {
    let b = binary(unlimited()).await?;
    let op = OpSpec::Echo { size: 70_000 };
    let d = driver(&b.plain(), &b, None, &op).await?;
    let r = run_case(
        d,
        named("net001", op, Kind::Bandwidth, plan(1, 1)),
        &mut Hooks::silent(),
    )
    .await;
    assert!(r.valid && r.repetitions.is_empty(), "{:?}", r.problems);
    let why = r.skipped.expect("skipped");
    assert!(why.contains("65535"), "{why}");
    b.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_server_that_goes_away_mid_run_gives_errors_and_the_run_ends() -> anyhow::Result<()> {
    let b = binary(unlimited()).await?;
    let op = OpSpec::GetItem { ids: 100 };
    let d = driver(&b.plain(), &b, None, &op).await?;
    let mut p = plan(2, 1);
    p.duration = Duration::from_millis(1500);
    p.timeout = Duration::from_millis(500);
    let case = tokio::spawn(async move {
        run_case(
            d,
            named("net001", op, Kind::Throughput, p),
            &mut Hooks::silent(),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    b.srv.stop().await;
    let r = tokio::time::timeout(Duration::from_secs(20), case).await??;
    let s = &r.repetitions[0].summary;
    assert!(s.requests > 0, "answered before the stop: {s:?}");
    assert!(s.errors > 0, "errors after the stop: {s:?}");
    Ok(())
}

#[tokio::test]
async fn broadcast_reaches_every_subscriber_with_and_without_auth() -> anyhow::Result<()> {
    let b = binary(unlimited()).await?;
    for target in [b.plain(), b.tls_target()] {
        let d = driver(&target, &b, None, &OpSpec::Ping).await?;
        let bc = common::broadcast_case(5, 20.0, Duration::from_millis(500));
        let r = run_case(d, bc, &mut Hooks::silent()).await;
        common::assert_full_fanout(&r, 5, 10, &format!("broadcast {target}"));
    }
    let b = binary(BinaryConfig {
        auth: AuthTokens::from_pairs([("alice", "s3cret")]),
        ..unlimited()
    })
    .await?;
    let d = driver(&b.plain(), &b, Some("alice:s3cret"), &OpSpec::Ping).await?;
    let bc = common::broadcast_case(3, 20.0, Duration::from_millis(500));
    let r = run_case(d, bc, &mut Hooks::silent()).await;
    common::assert_full_fanout(&r, 3, 10, "broadcast with AUTH");
    Ok(())
}
