//! Capacity harness (ignored by default): starts the real `protolab-sse` binary,
//! holds N idle `/subscribe` streams open over raw TCP, and prints the server's RSS
//! growth per stream (from /proc/<pid>/status), then checks one broadcast reaches
//! every stream. `IDLE_STREAMS=10000 cargo test -p protolab-sse --test idle_streams
//! -- --ignored --nocapture` (raise `ulimit -n` first: client and server each hold N).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEFAULT_STREAMS: usize = 1_000;
/// Connections opened at once (stays under the listen backlog).
const CONNECT_BATCH: usize = 200;
const STEP: Duration = Duration::from_secs(20);

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))
}

/// Starts the binary on OS-chosen ports and reads its plain address from the log.
fn start(dir: &std::path::Path, streams: usize) -> anyhow::Result<(Server, SocketAddr)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_protolab-sse"))
        .args(["--bind", "127.0.0.1", "--port", "0", "--admin-port", "0"])
        .arg("--db")
        .arg(dir.join("items.db"))
        .args(["--items", "1000", "--max-connections"])
        .arg((streams + 100).to_string())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref().take(50) {
        let line = line?;
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["message"] == "listening" {
            let plain = v["fields"]["plain"].as_str().unwrap_or_default();
            // Keep draining the log so the server never writes into a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok((server, plain.parse()?));
        }
        eprintln!("server: {line}");
    }
    anyhow::bail!("server never logged its address")
}

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
    let (server, addr) = start(dir.path(), n)?;
    let pid = server.0.id();
    // Warm up: one stream and one request, so lazy start-up costs are not counted.
    drop(subscribe(addr).await?);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid)?;
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
    let after = rss_kib(pid)?;
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
