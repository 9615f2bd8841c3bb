//! The transfer kind against real servers: REST (HTTP/1.1 and h2c, chunked and
//! whole), gRPC and NET-001, both directions where offered, every transfer checked
//! by length and CRC32, and the generator holding only pieces (the largest piece it
//! held is far below the blob). NET-001 upload is skipped, and a fake REST server
//! (for that test only) serving wrong bytes fails the case.

mod common;

use std::sync::Arc;

use common::{binary, named, plan, unlimited};
use protolab_bench::Direction;
use protolab_bench::{run_case, CaseResult, Hooks, Kind};
use protolab_bench::{Driver, OpSpec};
use protolab_drivers::GrpcDriver;
use protolab_drivers::Net001Driver;
use protolab_drivers::RestDriver;
use protolab_drivers::{HttpTarget, HttpVersion, TlsOptions};

const SIZE: u64 = 3_000_017;
const CHUNK: u64 = 65_536;

fn transfer(direction: Direction, chunk: Option<u64>) -> Kind {
    Kind::Transfer {
        direction,
        size: SIZE,
        chunk,
        transfers: 2,
    }
}

async fn run<D: Driver>(d: D, kind: Kind) -> CaseResult {
    let name = d.name();
    run_case(
        Arc::new(d),
        named(&name, OpSpec::Ping, kind, plan(1, 1)),
        &mut Hooks::silent(),
    )
    .await
}

/// Two intact transfers of SIZE, never holding more than `max_piece` bytes at once.
fn assert_intact(r: &CaseResult, max_piece: u64) {
    assert!(common::trusted(r), "{} {:?}", r.spec.name, r.problems);
    let rep = &r.repetitions[0];
    let t = rep.transfer.as_ref().expect("transfer stats");
    assert_eq!(
        (t.transfers, t.integrity_failures),
        (2, 0),
        "{}: {t:?}",
        r.spec.name
    );
    assert_eq!(t.mbps.len(), 2);
    assert!(
        t.largest_piece_bytes > 0 && t.largest_piece_bytes <= max_piece,
        "{}: {t:?}",
        r.spec.name
    );
    assert!(
        t.largest_piece_bytes < SIZE / 4,
        "pieces, never the whole blob"
    );
    let moved = rep.summary.mbps_sent + rep.summary.mbps_received;
    assert!(
        moved > 0.0 && rep.summary.requests == 2,
        "{:?}",
        rep.summary
    );
    assert!(r.stats[&protolab_bench::Metric::Mbps].mean > 0.0);
}

#[tokio::test]
async fn rest_both_directions_chunked_and_whole() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = protolab_core::server::start_in_process(
        &protolab_rest::SPEC,
        dir.path(),
        100,
        |_| {},
        protolab_rest::app,
    )
    .await?;
    for version in [HttpVersion::H1, HttpVersion::H2] {
        for direction in [Direction::Download, Direction::Upload] {
            for chunk in [Some(CHUNK), None] {
                let t = HttpTarget::new(
                    &format!("http://{}", s.plain),
                    version,
                    &TlsOptions::default(),
                )
                .await?;
                let r = run(
                    RestDriver::new(t, 42, &OpSpec::Ping),
                    transfer(direction, chunk),
                )
                .await;
                // A whole download is the server's largest chunk; the body still
                // arrives in frames of the connection's buffer size.
                assert_intact(&r, 512 * 1024);
            }
        }
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn grpc_both_directions() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = protolab_core::server::start_in_process(
        &protolab_grpc::SPEC,
        dir.path(),
        100,
        |_| {},
        protolab_grpc::app,
    )
    .await?;
    for direction in [Direction::Download, Direction::Upload] {
        let d = GrpcDriver::new(&s.plain.to_string(), None, 42, &OpSpec::Ping).await?;
        assert_intact(&run(d, transfer(direction, Some(CHUNK))).await, CHUNK);
    }
    // Whole: one message, allowed under gRPC's 4 MiB message limit only.
    let d = GrpcDriver::new(&s.plain.to_string(), None, 42, &OpSpec::Ping).await?;
    let big = Kind::Transfer {
        direction: Direction::Upload,
        size: 8 << 20,
        chunk: None,
        transfers: 1,
    };
    let r = run(d, big).await;
    assert!(r.skipped.expect("skipped").contains("4 MiB"));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn net001_download_plain_and_tls_upload_skipped() -> anyhow::Result<()> {
    let b = binary(unlimited()).await?;
    for target in [b.plain(), b.tls_target()] {
        let d = Net001Driver::new(&target, &b.tls(), None, 42, &OpSpec::Ping).await?;
        let r = run(d, transfer(Direction::Download, Some(CHUNK))).await;
        assert_intact(&r, 65_528);
    }
    let d = Net001Driver::new(&b.plain(), &b.tls(), None, 42, &OpSpec::Ping).await?;
    let r = run(d, transfer(Direction::Upload, Some(CHUNK))).await;
    assert!(r.valid && r.skipped.expect("skipped").contains("upload"));
    b.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn wrong_bytes_fail_the_integrity_check() -> anyhow::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route("/download", get(|| async { vec![7u8; SIZE as usize] }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(l, app).await });
    let t = HttpTarget::new(
        &format!("http://{addr}"),
        HttpVersion::H1,
        &TlsOptions::default(),
    )
    .await?;
    let r = run(
        RestDriver::new(t, 42, &OpSpec::Ping),
        transfer(Direction::Download, Some(CHUNK)),
    )
    .await;
    let t = r.repetitions[0].transfer.as_ref().expect("stats");
    assert_eq!((t.transfers, t.integrity_failures), (0, 2));
    assert!(!r.valid);
    assert!(
        r.problems.iter().any(|p| p.contains("CRC32")),
        "{:?}",
        r.problems
    );
    server.abort();
    Ok(())
}
