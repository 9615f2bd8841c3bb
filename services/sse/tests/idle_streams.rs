//! Capacity harness (ignored by default): starts the real `protolab-sse` binary,
//! holds N idle `/subscribe` streams open over raw TCP, and prints the server's RSS
//! growth per stream (from /proc/<pid>/status), then checks one broadcast reaches
//! every stream. `IDLE_STREAMS=10000 cargo test -p protolab-sse --test idle_streams
//! -- --ignored --nocapture` (raise `ulimit -n` first: client and server each hold N).

#[path = "../../core/tests/support/child.rs"]
mod child;

use std::net::SocketAddr;
use std::time::Duration;

use child::ServerProcess;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEFAULT_STREAMS: usize = 1_000;
/// Connections opened at once (stays under the listen backlog).
const CONNECT_BATCH: usize = 200;
const STEP: Duration = Duration::from_secs(20);

/// Opens one `/subscribe` stream and reads up to the end of the response head.
async fn subscribe(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"GET /subscribe HTTP/1.1\r\nHost: sse\r\n\r\n")
        .await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
        s.read_exact(&mut byte).await?;
        head.push(byte[0]);
    }
    anyhow::ensure!(head.starts_with(b"HTTP/1.1 200"), "bad response head");
    Ok(s)
}

/// Reads until `needle` shows up on `s`.
async fn read_until(s: &mut TcpStream, needle: &[u8]) -> anyhow::Result<()> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        let n = s.read(&mut buf).await?;
        anyhow::ensure!(n > 0 && seen.len() < 1 << 16, "stream ended");
        seen.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

#[tokio::test]
#[ignore = "capacity harness; run explicitly with IDLE_STREAMS=N"]
async fn hold_idle_subscribe_streams() -> anyhow::Result<()> {
    let n: usize = std::env::var("IDLE_STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_STREAMS);
    let dir = tempfile::tempdir()?;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_protolab-sse"));
    let server = ServerProcess::start(bin, dir.path(), n, &[])?;
    let addr = server.addr;
    // Warm up: one stream and one request, so lazy start-up costs are not counted.
    drop(subscribe(addr).await?);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss_kib()?;
    let mut streams = Vec::with_capacity(n);
    for batch in 0..n.div_ceil(CONNECT_BATCH) {
        let size = CONNECT_BATCH.min(n - batch * CONNECT_BATCH);
        let opened = futures::stream::iter((0..size).map(|_| subscribe(addr)))
            .buffer_unordered(size)
            .collect::<Vec<_>>();
        for s in tokio::time::timeout(STEP, opened).await? {
            streams.push(s?);
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss_kib()?;
    let per_stream = (after.saturating_sub(before) as f64 * 1024.0) / n as f64;
    println!(
        "idle /subscribe streams: {n}; server RSS {before} KiB -> {after} KiB; \
         growth {:.0} bytes per stream",
        per_stream
    );
    // Every held stream is live: one broadcast reaches all of them.
    let mut post = TcpStream::connect(addr).await?;
    post.write_all(
        b"POST /broadcast HTTP/1.1\r\nHost: sse\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .await?;
    read_until(&mut post, format!("\"subscribers\":{n}").as_bytes()).await?;
    let reads = futures::stream::iter(streams.iter_mut().map(|s| read_until(s, b"hello")))
        .buffer_unordered(CONNECT_BATCH)
        .collect::<Vec<_>>();
    for r in tokio::time::timeout(STEP * 3, reads).await? {
        r?;
    }
    println!("broadcast delivered to all {n} streams");
    Ok(())
}
