//! Server memory per idle connection, per protocol: a measurement (ignored by
//! default), not a check. Each server binary runs as a child process; N connections
//! are opened the way a client of its protocol leaves them idle (HTTP/1.1 keep-alive
//! after one `/ping`, h2c and gRPC after the SETTINGS exchange and one `/ping`, an
//! SSE `/subscribe` stream, a WebSocket after its upgrade and one ping op), and the
//! server's VmRSS growth per connection is printed.
//!
//! ```sh
//! cargo build --release -p protolab-rest -p protolab-sse -p protolab-websocket -p protolab-grpc
//! IDLE_CONNECTIONS=2000 cargo test -p protolab-core --test idle_memory -- --ignored --nocapture
//! ```
//! Binaries come from `target/release` (or `PROTOLAB_BIN_DIR`).

#[path = "support/child.rs"]
mod child;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use child::ServerProcess;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEFAULT_CONNECTIONS: usize = 2_000;
/// Connections opened at once (under the listen backlog).
const CONNECT_BATCH: usize = 200;
/// Longest one batch may take.
const STEP: Duration = Duration::from_secs(30);

/// How a client leaves a connection idle.
#[derive(Debug, Clone, Copy)]
enum Idle {
    /// HTTP/1.1 keep-alive after `GET /ping`.
    H1,
    /// HTTP/2 (prior knowledge) after SETTINGS and one request on `path`.
    H2 { path: &'static str, grpc: bool },
    /// An SSE `/subscribe` stream.
    Sse,
    /// A WebSocket at `/ws` after one ping op.
    WebSocket,
}

const TARGETS: [(&str, &str, Idle); 5] = [
    ("rest h1", "protolab-rest", Idle::H1),
    (
        "rest h2c",
        "protolab-rest",
        Idle::H2 {
            path: "/ping",
            grpc: false,
        },
    ),
    ("sse", "protolab-sse", Idle::Sse),
    ("websocket", "protolab-websocket", Idle::WebSocket),
    (
        "grpc",
        "protolab-grpc",
        Idle::H2 {
            path: "/arena.Arena/Ping",
            grpc: true,
        },
    ),
];

/// Reads until `needle` has arrived (the rest of what came is discarded).
async fn read_until(s: &mut TcpStream, needle: &[u8]) -> anyhow::Result<()> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        let n = s.read(&mut buf).await?;
        anyhow::ensure!(n > 0 && seen.len() < 1 << 16, "connection ended");
        seen.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// One HTTP/2 frame header followed by its payload.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(0).to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A literal header field without indexing (HPACK), short name and value.
fn hpack_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0);
    for s in [name, value] {
        out.push(u8::try_from(s.len()).unwrap_or(0));
        out.extend_from_slice(s.as_bytes());
    }
}

/// Preface, SETTINGS and one request on stream 1; once it is answered (the server's
/// SETTINGS came first), the ACK of the server's SETTINGS.
async fn open_h2(s: &mut TcpStream, path: &str, grpc: bool) -> anyhow::Result<()> {
    let mut headers = Vec::new();
    let method = if grpc { "POST" } else { "GET" };
    for (n, v) in [
        (":method", method),
        (":scheme", "http"),
        (":path", path),
        (":authority", "x"),
    ] {
        hpack_literal(&mut headers, n, v);
    }
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(h2_frame(0x4, 0, 0, &[]));
    if grpc {
        hpack_literal(&mut headers, "content-type", "application/grpc");
        hpack_literal(&mut headers, "te", "trailers");
        out.extend(h2_frame(0x1, 0x4, 1, &headers)); // END_HEADERS
        out.extend(h2_frame(0x0, 0x1, 1, &[0, 0, 0, 0, 0])); // an empty PingRequest
    } else {
        out.extend(h2_frame(0x1, 0x5, 1, &headers)); // END_HEADERS | END_STREAM
    }
    s.write_all(&out).await?;
    // The answer's HEADERS (type 1) on stream 1; its body is left unread.
    read_until(s, &[0x1, 0x4, 0, 0, 0, 1]).await?;
    s.write_all(&h2_frame(0x4, 0x1, 0, &[])).await?;
    Ok(())
}

async fn open(addr: SocketAddr, idle: Idle) -> anyhow::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    match idle {
        Idle::H1 => {
            s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
                .await?;
            read_until(&mut s, b"pong").await?;
        }
        Idle::H2 { path, grpc } => open_h2(&mut s, path, grpc).await?,
        Idle::Sse => {
            s.write_all(b"GET /subscribe HTTP/1.1\r\nHost: x\r\n\r\n")
                .await?;
            read_until(&mut s, b"\r\n\r\n").await?;
        }
        Idle::WebSocket => {
            s.write_all(
                b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                  Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            )
            .await?;
            read_until(&mut s, b"\r\n\r\n").await?;
            // A masked text frame: {"op":"ping","req":1} (mask 0: the payload as is).
            let ping = br#"{"op":"ping","req":1}"#;
            let mut frame = vec![0x81, 0x80 | u8::try_from(ping.len())?, 0, 0, 0, 0];
            frame.extend_from_slice(ping);
            s.write_all(&frame).await?;
            read_until(&mut s, b"pong").await?;
        }
    }
    Ok(s)
}

/// Opens `n` idle connections, `CONNECT_BATCH` at a time.
async fn open_many(addr: SocketAddr, idle: Idle, n: usize) -> anyhow::Result<Vec<TcpStream>> {
    let mut held = Vec::with_capacity(n);
    while held.len() < n {
        let size = CONNECT_BATCH.min(n - held.len());
        let batch = futures::stream::iter((0..size).map(|_| open(addr, idle)))
            .buffer_unordered(size)
            .collect::<Vec<_>>();
        for s in tokio::time::timeout(STEP, batch).await? {
            held.push(s?);
        }
    }
    Ok(held)
}

/// The server's RSS growth per idle connection, in bytes.
async fn measure(bin: PathBuf, idle: Idle, n: usize) -> anyhow::Result<(u64, u64, f64)> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(&bin, dir.path(), n, &[])?;
    // Warm-up: lazy start-up costs and the allocator's first arenas are not counted.
    drop(open_many(server.addr, idle, CONNECT_BATCH).await?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib()?;
    let held = open_many(server.addr, idle, n).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss_kib()?;
    drop(held);
    let per = after.saturating_sub(before) as f64 * 1024.0 / n as f64;
    Ok((before, after, per))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run explicitly against release binaries"]
async fn server_memory_per_idle_connection() -> anyhow::Result<()> {
    let n: usize = std::env::var("IDLE_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CONNECTIONS);
    let bins = std::env::var_os("PROTOLAB_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/release"))
        });
    println!("| protocol | idle connections | server RSS before (KiB) | after (KiB) | bytes per connection |");
    println!("|---|---|---|---|---|");
    for (name, bin, idle) in TARGETS {
        let (before, after, per) = measure(bins.join(bin), idle, n).await?;
        println!("| {name} | {n} | {before} | {after} | {per:.0} |");
    }
    Ok(())
}
