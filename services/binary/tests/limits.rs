//! Connection-level limits: per-client and global rate limits, max connections,
//! the idle timeout (and PING keeping a connection alive), slowloris, shutdown drain.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::{connect, start, start_with, unlimited};
use protolab_binary::BinaryConfig;
use protolab_wire::net001::Frame;
use protolab_wire::ErrorCode;

fn pings(n: u64) -> BytesMut {
    let mut out = BytesMut::new();
    for i in 0..n {
        Frame::Ping { timestamp_us: i }
            .encode(&mut out)
            .expect("ping encodes");
    }
    out
}

#[tokio::test]
async fn client_over_its_rate_is_refused_then_disconnected() -> anyhow::Result<()> {
    let t = start(BinaryConfig {
        rate_limit: 5,
        global_rate_limit: 0,
        ..BinaryConfig::default()
    })
    .await?;
    let mut c = connect(t.srv.plain).await?;
    c.send_raw(&pings(20)).await?;
    let frames = c.until_eof().await?;
    let pongs = frames
        .iter()
        .filter(|f| matches!(f, Frame::Pong { .. }))
        .count();
    let limited = frames
        .iter()
        .filter(|f| {
            matches!(
                f,
                Frame::Error {
                    code: ErrorCode::RateLimited,
                    ..
                }
            )
        })
        .count();
    assert_eq!(pongs, 5, "the burst is one second of the rate");
    assert_eq!(limited, protolab_binary::limits::MAX_STRIKES as usize);
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn global_rate_refuses_without_disconnecting() -> anyhow::Result<()> {
    let t = start(BinaryConfig {
        rate_limit: 0,
        global_rate_limit: 10,
        ..BinaryConfig::default()
    })
    .await?;
    let mut a = connect(t.srv.plain).await?;
    let mut b = connect(t.srv.plain).await?;
    a.send_raw(&pings(8)).await?;
    b.send_raw(&pings(8)).await?;
    let (mut pongs, mut limited) = (0, 0);
    for c in [&mut a, &mut b] {
        for _ in 0..8 {
            match c.frame().await? {
                Frame::Pong { .. } => pongs += 1,
                Frame::Error {
                    code: ErrorCode::RateLimited,
                    ..
                } => limited += 1,
                other => anyhow::bail!("unexpected {other:?}"),
            }
        }
    }
    assert!((10..16).contains(&pongs), "pongs {pongs}");
    assert_eq!(pongs + limited, 16);
    tokio::time::sleep(Duration::from_millis(300)).await; // refill
    a.ping(99).await?;
    b.ping(98).await?;
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn connection_over_the_cap_is_told_busy_and_closed() -> anyhow::Result<()> {
    let t = start_with(unlimited(), |a| a.max_connections = 3).await?;
    let mut held = Vec::new();
    for i in 0..3 {
        let mut c = connect(t.srv.plain).await?;
        c.ping(i).await?;
        held.push(c);
    }
    let mut fourth = connect(t.srv.plain).await?;
    assert_eq!(fourth.error_code().await?, ErrorCode::ServerBusy);
    assert!(fourth.until_eof().await?.is_empty());
    // The framed port shares the cap.
    let mut framed = common::FramedClient::connect(t.srv.framed).await?;
    let busy = framed.response().await?;
    assert_eq!(busy.code.as_deref(), Some(ErrorCode::ServerBusy.name()));
    assert_eq!(busy.into_result(), Err("server busy".to_owned()));
    assert!(framed.frame().await?.is_none());
    drop(held.pop());
    let mut again = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut c = connect(t.srv.plain).await?;
        if c.ping(7).await.is_ok() {
            again = Some(c);
            break;
        }
    }
    assert!(again.is_some(), "a freed slot is reused");
    t.srv.stop().await;
    Ok(())
}

fn short_idle() -> BinaryConfig {
    BinaryConfig {
        idle_timeout: Duration::from_millis(300),
        ..unlimited()
    }
}

#[tokio::test]
async fn silent_connection_is_closed_and_ping_keeps_one_alive() -> anyhow::Result<()> {
    let t = start(short_idle()).await?;
    let mut silent = connect(t.srv.plain).await?;
    let mut lively = connect(t.srv.plain).await?;
    for i in 0..10 {
        lively.ping(i).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        silent.until_eof().await?.is_empty(),
        "silent one was closed"
    );
    lively.ping(100).await?;
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn slowloris_header_is_closed_by_the_idle_timeout() -> anyhow::Result<()> {
    let t = start(short_idle()).await?;
    let mut c = connect(t.srv.plain).await?;
    let started = std::time::Instant::now();
    // A byte of header every 100 ms: bytes arrive, but never a whole frame.
    for b in [0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x01] {
        if c.send_raw(&[b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(c.until_eof().await?.is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn shutdown_stops_accepting_and_drains() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut c = connect(t.srv.plain).await?;
    c.ping(1).await?;
    let plain = t.srv.plain;
    let state = t.srv.state.clone();
    let stop = tokio::spawn(t.srv.stop());
    assert!(c.until_eof().await?.is_empty(), "open connection closed");
    tokio::time::timeout(Duration::from_secs(10), stop).await??;
    assert!(!state.ready.get());
    assert!(tokio::net::TcpStream::connect(plain).await.is_err());
    Ok(())
}
