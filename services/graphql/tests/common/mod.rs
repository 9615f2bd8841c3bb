//! Starts a real GraphQL server on loopback ports chosen by the OS (TLS certificates
//! generated for the test), and speaks to it: GraphQL over HTTP with reqwest, and
//! graphql-transport-ws / graphql-ws over WebSocket by hand with tokio-tungstenite.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures::{SinkExt, StreamExt};
use protolab_core::server::start_in_process;
use protolab_core::{tls, ServerArgs, ServerState};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one message before failing.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    pub admin: SocketAddr,
    pub state: ServerState,
    pub dir: tempfile::TempDir,
    pub task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut ServerArgs)) -> anyhow::Result<TestServer> {
        let dir = tempfile::tempdir()?;
        let srv = start_in_process(
            &protolab_graphql::SPEC,
            dir.path(),
            2_000,
            tune,
            protolab_graphql::app,
        )
        .await?;
        Ok(TestServer {
            plain: srv.plain,
            tls: srv.tls,
            admin: srv.admin,
            state: srv.state,
            dir,
            task: srv.task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.plain)
    }

    pub fn tls_url(&self) -> String {
        format!("https://localhost:{}/graphql", self.tls.port())
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

    pub async fn stop(self) {
        self.state.shutdown.cancel();
        let _ = self.task.await;
    }
}

pub fn h1() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().http1_only().build()?)
}

pub fn h2c() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().http2_prior_knowledge().build()?)
}

/// POSTs a GraphQL request and returns the whole response body (`data`, `errors`).
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let resp = client
        .post(url)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await.context("response is not JSON")?;
    if !status.is_success() {
        bail!("HTTP {status}: {body}");
    }
    Ok(body)
}

/// `data`, failing if the response carries errors.
pub fn data(body: &Value) -> anyhow::Result<&Value> {
    if let Some(errors) = body.get("errors") {
        bail!("unexpected errors: {errors}");
    }
    body.get("data").ok_or_else(|| anyhow!("no data in {body}"))
}

/// The first error's message and `extensions.code`.
pub fn first_error(body: &Value) -> anyhow::Result<(String, Option<String>)> {
    let e = body
        .pointer("/errors/0")
        .ok_or_else(|| anyhow!("expected an error, got {body}"))?;
    let message = e["message"].as_str().unwrap_or_default().to_string();
    let code = e.pointer("/extensions/code").and_then(Value::as_str);
    Ok((message, code.map(str::to_string)))
}

/// A `U64` scalar (a decimal string) as a number.
pub fn u64_of(v: &Value) -> anyhow::Result<u64> {
    v.as_str()
        .ok_or_else(|| anyhow!("U64 must be a string, got {v}"))?
        .parse()
        .context("U64 is not a decimal integer")
}

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

/// A GraphQL WebSocket client speaking `protocol` by hand.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub protocol: &'static str,
}

impl WsClient {
    /// Connects to `url` and completes connection_init / connection_ack.
    pub async fn connect(url: &str, protocol: &'static str) -> anyhow::Result<WsClient> {
        let mut req = url.into_client_request()?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        let (ws, resp) = tokio::time::timeout(RECV_TIMEOUT, tokio_tungstenite::connect_async(req))
            .await
            .context("connect timed out")??;
        let chosen = resp.headers().get("sec-websocket-protocol");
        if chosen.and_then(|v| v.to_str().ok()) != Some(protocol) {
            bail!("server chose subprotocol {chosen:?}, wanted {protocol}");
        }
        let mut client = WsClient { ws, protocol };
        client.send(json!({ "type": "connection_init" })).await?;
        let ack = client.recv().await?;
        if ack["type"] != "connection_ack" {
            bail!("expected connection_ack, got {ack}");
        }
        Ok(client)
    }

    pub async fn send(&mut self, msg: Value) -> anyhow::Result<()> {
        self.ws.send(Message::text(msg.to_string())).await?;
        Ok(())
    }

    /// The next protocol message, skipping keep-alives and answering pings.
    pub async fn recv(&mut self) -> anyhow::Result<Value> {
        for _ in 0..1000 {
            let msg = tokio::time::timeout(RECV_TIMEOUT, self.ws.next())
                .await
                .context("no message within the timeout")?
                .ok_or_else(|| anyhow!("connection closed"))??;
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(f) => bail!("server closed: {f:?}"),
                _ => continue,
            };
            let v: Value = serde_json::from_str(text.as_str())?;
            match v["type"].as_str() {
                Some("ping") => self.send(json!({ "type": "pong" })).await?,
                Some("ka") | Some("pong") => {}
                _ => return Ok(v),
            }
        }
        bail!("only keep-alives received")
    }

    /// Starts operation `id`.
    pub async fn subscribe(
        &mut self,
        id: &str,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<()> {
        let kind = if self.protocol == LEGACY_WS {
            "start"
        } else {
            "subscribe"
        };
        self.send(json!({
            "id": id,
            "type": kind,
            "payload": { "query": query, "variables": variables },
        }))
        .await
    }

    /// The next result of operation `id`: `Some(data)` for a next/data message,
    /// `None` when it completed; an error message fails.
    pub async fn next_data(&mut self, id: &str) -> anyhow::Result<Option<Value>> {
        let v = self.recv().await?;
        if v["id"] != id {
            bail!("message for another operation: {v}");
        }
        match v["type"].as_str() {
            Some("next") | Some("data") => {
                if let Some(errors) = v.pointer("/payload/errors") {
                    bail!("errors in result: {errors}");
                }
                Ok(Some(v["payload"]["data"].clone()))
            }
            Some("complete") => Ok(None),
            _ => bail!("unexpected message {v}"),
        }
    }

    /// The raw next message (to inspect errors).
    pub async fn next_raw(&mut self) -> anyhow::Result<Value> {
        self.recv().await
    }

    /// Drops the TCP connection without a close handshake.
    pub fn abort(self) {
        drop(self.ws);
    }
}
