//! 500 connections sending garbage (bounded bytes each) while one good client keeps
//! getting correct PONGs: bad peers are answered and closed, never stall the server.

mod common;

use std::time::Duration;

use common::{connect, start, unlimited};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FLOODERS: usize = 500;

async fn flood(addr: std::net::SocketAddr, seed: usize) -> usize {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return 0;
    };
    // Deterministic junk: some starts with NET-001 magic and a bad version, some not.
    let mut junk: Vec<u8> = (0..4096)
        .map(|i| ((i * 31 + seed * 7) % 251) as u8)
        .collect();
    if seed % 3 == 0 {
        junk[..5].copy_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0x07]);
    }
    let _ = s.write_all(&junk).await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut sink)).await;
    sink.len()
}

#[tokio::test]
async fn garbage_flood_does_not_hurt_a_good_client() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut good = connect(t.srv.plain).await?;
    let addr = t.srv.plain;
    let flooders: Vec<_> = (0..FLOODERS)
        .map(|i| tokio::spawn(flood(addr, i)))
        .collect();
    for i in 0..200 {
        good.ping(i).await?;
    }
    let mut answered = 0;
    for f in flooders {
        if f.await? > 0 {
            answered += 1;
        }
    }
    assert!(
        answered > FLOODERS / 2,
        "flooders got an ERROR before close: {answered}"
    );
    good.ping(1_000).await?;
    // The flooders' connections are gone (their tasks end just after the EOF).
    let mut open = 0;
    for _ in 0..100 {
        open = t.srv.state.metrics.open_connections();
        if open == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(open, 1);
    t.srv.stop().await;
    Ok(())
}
