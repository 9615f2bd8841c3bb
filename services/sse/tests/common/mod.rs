//! Starts a real SSE server on loopback ports chosen by the OS (plain and TLS), and
//! parses `text/event-stream` incrementally from a reqwest byte stream.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use protolab_core::hub::{Hub, DEFAULT_CAPACITY};
use protolab_core::server::{ephemeral_args, run_http, Listeners};
use protolab_core::{certs, tls, ServerState};
use protolab_sse::SseConfig;

/// Longest any single read in a test waits.
pub const STEP: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    pub state: ServerState,
    pub hub: Hub,
    pub dir: tempfile::TempDir,
    pub task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with(DEFAULT_CAPACITY, SseConfig::default()).await
    }

    /// A server whose hub holds `capacity` messages, with `config`.
    pub async fn start_with(capacity: usize, config: SseConfig) -> anyhow::Result<TestServer> {
        let dir = tempfile::tempdir()?;
        certs::write_to(dir.path())?;
        let mut args = ephemeral_args(dir.path().join("items.db"), 2_000);
        args.tls_cert = Some(dir.path().join("server.crt"));
        args.tls_key = Some(dir.path().join("server.key"));
        let state = ServerState::open(&protolab_sse::SPEC, &args).await?;
        let listeners = Listeners::bind(&protolab_sse::SPEC, &args).await?;
        let (plain, tls, _) = listeners.addrs();
        let hub = Hub::new(capacity, &state.metrics);
        let app = protolab_sse::app_with(state.clone(), hub.clone(), config);
        let task = tokio::spawn(run_http(app, listeners, state.clone(), protolab_sse::SPEC));
        Ok(TestServer {
            plain,
            tls: tls.ok_or_else(|| anyhow::anyhow!("no TLS port"))?,
            state,
            hub,
            dir,
            task,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.plain)
    }

    pub fn tls_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.tls.port())
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// HTTPS client trusting the test CA, offering `alpn`.
    pub fn tls_client(&self, alpn: &[&[u8]]) -> anyhow::Result<reqwest::Client> {
        let config = tls::client_config(&self.ca(), None, alpn)?;
        Ok(reqwest::Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(&config))
            .resolve("localhost", self.tls)
            .build()?)
    }

    /// Opens an event stream at `path` (checking 200 and the content type).
    pub async fn open(&self, path: &str) -> anyhow::Result<SseReader> {
        SseReader::open(client().get(self.url(path))).await
    }

    pub async fn stop(self) {
        self.state.shutdown.cancel();
        let _ = tokio::time::timeout(STEP, self.task).await;
    }
}

/// A fresh HTTP/1.1 client (one connection per stream).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("reqwest client")
}

/// One parsed SSE block: the fields it carried and any comment lines.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Frame {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: Option<String>,
    pub comments: Vec<String>,
}

impl Frame {
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        let data = self
            .data
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("frame has no data: {self:?}"))?;
        Ok(serde_json::from_str(data)?)
    }

    fn parse(block: &str) -> Frame {
        let mut f = Frame::default();
        for line in block.lines() {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "" => f.comments.push(value),
                "event" => f.event = Some(value),
                "id" => f.id = Some(value),
                "data" => match &mut f.data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(&value);
                    }
                    None => f.data = Some(value),
                },
                _ => {}
            }
        }
        f
    }
}

/// Reads SSE frames from a response body as they arrive.
pub struct SseReader {
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buf: BytesMut,
}

impl SseReader {
    pub async fn open(req: reqwest::RequestBuilder) -> anyhow::Result<SseReader> {
        let resp = req.send().await?;
        anyhow::ensure!(resp.status() == 200, "status {}", resp.status());
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        anyhow::ensure!(ct.starts_with("text/event-stream"), "content type {ct}");
        Ok(SseReader {
            body: Box::pin(resp.bytes_stream()),
            buf: BytesMut::new(),
        })
    }

    /// The next frame, `None` at the end of the stream; errors after `STEP`.
    pub async fn next(&mut self) -> anyhow::Result<Option<Frame>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = self.buf.split_to(end + 2);
                let text = std::str::from_utf8(&block)?.replace('\r', "");
                return Ok(Some(Frame::parse(text.trim_end_matches('\n'))));
            }
            match tokio::time::timeout(STEP, self.body.next()).await? {
                Some(chunk) => self.buf.extend_from_slice(&chunk?),
                None => return Ok(None),
            }
        }
    }

    /// The next frame that carries data (skipping keep-alive comments).
    pub async fn next_data(&mut self) -> anyhow::Result<Frame> {
        loop {
            match self.next().await? {
                Some(f) if f.data.is_some() => return Ok(f),
                Some(_) => continue,
                None => anyhow::bail!("stream ended"),
            }
        }
    }

    /// Every data frame until the end of the stream (at most `max`).
    pub async fn collect(&mut self, max: usize) -> anyhow::Result<Vec<Frame>> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.next().await? {
                Some(f) if f.data.is_some() => out.push(f),
                Some(_) => {}
                None => break,
            }
        }
        Ok(out)
    }
}
