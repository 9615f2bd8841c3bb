//! Bad peers must not hurt good ones: slow clients, abrupt disconnects, garbage
//! bytes, and a SIGTERM-style shutdown that lets in-flight requests finish.

mod common;

use std::time::Duration;

use common::{h1, TestServer};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn slow_and_broken_clients_do_not_stop_others() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    // A slowloris: headers never finished.
    let mut slow = TcpStream::connect(srv.plain).await?;
    slow.write_all(b"GET /items/1 HTTP/1.1\r\nHost: x\r\n")
        .await?;
    // Garbage that is neither HTTP/1 nor an HTTP/2 preface.
    let mut junk = TcpStream::connect(srv.plain).await?;
    junk.write_all(&[
        0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, b'\r', b'\n', b'\r', b'\n',
    ])
    .await?;
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), junk.read_to_end(&mut reply)).await;
    assert!(
        reply.is_empty() || reply.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    // A download dropped half-way.
    let resp = h1()
        .get(srv.url("/download?size=50000000&chunk=65536"))
        .send()
        .await?;
    let mut body = resp.bytes_stream();
    let _ = body.next().await;
    drop(body);
    // Everyone else is still served.
    for _ in 0..20 {
        assert_eq!(h1().get(srv.url("/items/7")).send().await?.status(), 200);
    }
    drop(slow);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests_then_stops() -> anyhow::Result<()> {
    let srv = TestServer::start_with(|a| a.delay_ms = 300).await?;
    let url = srv.url("/score");
    let plain = srv.plain;
    let state = srv.state.clone();
    let in_flight = tokio::spawn(async move { h1().post(url).body("[1,2]").send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    state.shutdown.cancel();
    let resp = in_flight.await??;
    assert_eq!(resp.status(), 200);
    tokio::time::timeout(Duration::from_secs(5), srv.task()).await??;
    assert!(TcpStream::connect(plain).await.is_err());
    Ok(())
}
