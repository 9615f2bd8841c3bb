//! Starts a real WebSocket server on loopback ports chosen by the OS (plain and TLS)
//! and connects tokio-tungstenite clients to it, over ws:// and wss://.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use protolab_core::hub::{Hub, DEFAULT_CAPACITY};
use protolab_core::server::{ephemeral_args, run_http, Listeners};
use protolab_core::{certs, tls, ServerState};
use protolab_websocket::WsConfig;
use rustls_pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Longest any single read in a test waits.
pub const STEP: Duration = Duration::from_secs(10);

pub type Ws = WebSocketStream<TcpStream>;

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
        Self::start_with(WsConfig::default()).await
    }

    pub async fn start_with(config: WsConfig) -> anyhow::Result<TestServer> {
        let dir = tempfile::tempdir()?;
        certs::write_to(dir.path())?;
        let mut args = ephemeral_args(dir.path().join("items.db"), 2_000);
        args.tls_cert = Some(dir.path().join("server.crt"));
        args.tls_key = Some(dir.path().join("server.key"));
        let state = ServerState::open(&protolab_websocket::SPEC, &args).await?;
        let listeners = Listeners::bind(&protolab_websocket::SPEC, &args).await?;
        let (plain, tls, _) = listeners.addrs();
        let hub = Hub::new(DEFAULT_CAPACITY, &state.metrics);
        let app = protolab_websocket::app_with(state.clone(), hub.clone(), config);
        let task = tokio::spawn(run_http(
            app,
            listeners,
            state.clone(),
            protolab_websocket::SPEC,
        ));
        Ok(TestServer {
            plain,
            tls: tls.ok_or_else(|| anyhow::anyhow!("no TLS port"))?,
            state,
            hub,
            dir,
            task,
        })
    }

    /// A ws:// client.
    pub async fn connect(&self) -> anyhow::Result<Ws> {
        let url = format!("ws://{}{}", self.plain, protolab_websocket::PATH);
        let tcp = TcpStream::connect(self.plain).await?;
        let (ws, resp) = tokio_tungstenite::client_async(url, tcp).await?;
        anyhow::ensure!(resp.status() == 101, "upgrade status {}", resp.status());
        Ok(ws)
    }

    /// A wss:// client trusting the test CA (ALPN http/1.1: the upgrade is HTTP/1.1).
    pub async fn connect_tls(
        &self,
    ) -> anyhow::Result<WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>> {
        let config = tls::client_config(&self.dir.path().join("ca.crt"), None, &[b"http/1.1"])?;
        let tcp = TcpStream::connect(self.tls).await?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(ServerName::try_from("localhost")?, tcp)
            .await?;
        let url = format!(
            "wss://localhost:{}{}",
            self.tls.port(),
            protolab_websocket::PATH
        );
        let (ws, _) = tokio_tungstenite::client_async(url, tls).await?;
        Ok(ws)
    }

    pub async fn stop(self) {
        self.state.shutdown.cancel();
        let _ = tokio::time::timeout(STEP, self.task).await;
    }
}

/// Sends a JSON text frame.
pub async fn send<S>(ws: &mut WebSocketStream<S>, v: Value) -> anyhow::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.send(Message::text(v.to_string())).await?;
    Ok(())
}

/// The next data or close frame (pings and pongs skipped), within `STEP`.
pub async fn next_frame<S>(ws: &mut WebSocketStream<S>) -> anyhow::Result<Message>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match tokio::time::timeout(STEP, ws.next()).await? {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(msg) => return Ok(msg?),
            None => anyhow::bail!("socket ended"),
        }
    }
}

/// The next text frame, parsed as JSON.
pub async fn next_json<S>(ws: &mut WebSocketStream<S>) -> anyhow::Result<Value>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match next_frame(ws).await? {
        Message::Text(t) => Ok(serde_json::from_str(t.as_str())?),
        other => anyhow::bail!("expected a text frame, got {other:?}"),
    }
}

/// Sends one request and reads the next text frame.
pub async fn call<S>(ws: &mut WebSocketStream<S>, v: Value) -> anyhow::Result<Value>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    send(ws, v).await?;
    next_json(ws).await
}

/// Reads frames until a close frame arrives; returns it.
pub async fn expect_close<S>(ws: &mut WebSocketStream<S>) -> anyhow::Result<CloseFrame>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for _ in 0..1000 {
        if let Message::Close(frame) = next_frame(ws).await? {
            return frame.ok_or_else(|| anyhow::anyhow!("close frame without a code"));
        }
    }
    anyhow::bail!("no close frame")
}
