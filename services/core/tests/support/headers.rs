//! A real-client probe of the request header cap, shared by every HTTP server's
//! tests (each includes this file with `#[path]`; it needs only tokio and anyhow):
//! a request with one header of any size over HTTP/1.1 on a raw socket.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The oversized header: one 80 KB value, five times the default cap.
pub const BIG_HEADER: usize = 80 * 1024;

/// Longest a probe waits for the server.
const STEP: Duration = Duration::from_secs(10);

/// A header value of `len` bytes.
pub fn header_value(len: usize) -> String {
    "x".repeat(len)
}

/// What the server did with one HTTP/1.1 request on a fresh connection.
#[derive(Debug)]
pub struct H1Answer {
    /// The response's status code.
    pub status: u16,
    /// The connection, after the response head.
    conn: TcpStream,
    /// The server had already closed it.
    closed: bool,
}

impl H1Answer {
    /// Whether the server closes the connection (EOF or reset) after the rest of
    /// the answer, waiting at most `STEP`.
    pub async fn closed(mut self) -> bool {
        let mut sink = [0u8; 4096];
        while !self.closed {
            match tokio::time::timeout(STEP, self.conn.read(&mut sink)).await {
                Ok(Ok(0)) | Ok(Err(_)) => self.closed = true,
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
        self.closed
    }
}

/// Sends `GET path` with an `x-big` header of `len` bytes (and, when `upgrade`,
/// WebSocket upgrade headers) over a raw socket, and reads the answer's status
/// line.
pub async fn h1_get(
    addr: SocketAddr,
    path: &str,
    len: usize,
    upgrade: bool,
) -> anyhow::Result<H1Answer> {
    let mut s = TcpStream::connect(addr).await?;
    let upgrade = if upgrade {
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    } else {
        ""
    };
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: probe\r\n{upgrade}x-big: {}\r\n\r\n",
        header_value(len)
    );
    let (mut rd, mut wr) = s.split();
    // The server may answer and close before it has read everything: the write
    // failing then is expected, the answer is what counts.
    let write = async {
        let _ = wr.write_all(head.as_bytes()).await;
    };
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut closed = false;
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    closed = true;
                    break;
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        (buf, closed)
    };
    let ((), (buf, closed)) =
        tokio::time::timeout(STEP, async { tokio::join!(write, read) }).await?;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status line in {text:?}"))?;
    Ok(H1Answer {
        status,
        conn: s,
        closed,
    })
}
