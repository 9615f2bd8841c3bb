//! The WebSocket driver: protolab-websocket's JSON envelope at `/ws`
//! (`{"op":..,"req":N}` → `{"req":N,"ok":..}`), one caller per socket used in place,
//! or many requests in flight on one socket (`share`; answers are matched by `req`), echo as
//! binary frames returned byte for byte, `stream` events on the shared socket, and
//! broadcast subscribers on sockets of their own. ws:// or wss:// with the lab CA.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::transport::http::TlsOptions;
use crate::transport::ws::{read_buffer_for, ws_error, Ws, WsTarget, MIN_READ_BUFFER};
use crate::transport::wsmux::{Answer, WsConn};
use crate::verify;
use crate::CONNECT_TIMEOUT;
use protolab_bench::driver::{CallError, CallOutcome, ConnectTimings, Driver, OpSpec, Refusal};
use protolab_bench::driver::{PushEvent, PushStream, Pushed, StreamParams};

/// The server's WebSocket path.
pub const PATH: &str = "/ws";

/// WebSocket, plain or TLS.
pub struct WebSocketDriver {
    target: WsTarget,
    seed: u64,
    echo: Bytes,
    score_doc: String,
    /// Read buffer of a call socket, sized for the case's largest answer.
    read_buffer: usize,
}

impl WebSocketDriver {
    /// `target`: `ws://host:port[/path]`, `wss://...` (or http/https), default path `/ws`.
    pub async fn new(
        target: &str,
        tls: &TlsOptions,
        seed: u64,
        op: &OpSpec,
    ) -> Result<WebSocketDriver, CallError> {
        let echo = match op {
            OpSpec::Echo { size } => Bytes::from(OpSpec::echo_payload(*size)),
            _ => Bytes::new(),
        };
        let score_doc = match op {
            OpSpec::Score { dims } => OpSpec::score_doc(*dims),
            _ => String::new(),
        };
        // A list page's answer is about 256 bytes per item; the rest are small.
        let largest = match op {
            OpSpec::Echo { size } => *size,
            OpSpec::ListItems { limit, .. } => *limit as usize * 256,
            _ => 0,
        };
        Ok(WebSocketDriver {
            target: WsTarget::new(target, PATH, tls).await?,
            seed,
            echo,
            score_doc,
            read_buffer: read_buffer_for(largest),
        })
    }

    /// The envelope of call `seq` of `op` (not echo: that is a binary frame).
    fn envelope(&self, op: &OpSpec, seq: u64, req: u64) -> String {
        match op {
            OpSpec::GetItem { ids } => format!(
                r#"{{"op":"get_item","id":{},"req":{req}}}"#,
                OpSpec::item_id(*ids, seq)
            ),
            OpSpec::ListItems { limit, category } => {
                let cat = category
                    .as_ref()
                    .map(|c| format!(r#","category":{}"#, Value::from(c.as_str())))
                    .unwrap_or_default();
                format!(r#"{{"op":"list_items","offset":0,"limit":{limit}{cat},"req":{req}}}"#)
            }
            OpSpec::Score { .. } => {
                format!(r#"{{"op":"score","json":{},"req":{req}}}"#, self.score_doc)
            }
            // Echo travels as a binary frame, never as an envelope; a custom call is
            // refused by `call` and `verify` before any envelope.
            OpSpec::Ping | OpSpec::Echo { .. } | OpSpec::Call { .. } => {
                format!(r#"{{"op":"ping","req":{req}}}"#)
            }
        }
    }
}

/// Fails unless the answer is `"ok":true`.
fn ok(answer: Answer) -> Result<Answer, CallError> {
    if answer.ok {
        Ok(answer)
    } else {
        Err(CallError::Refused {
            reason: Refusal::from_code(answer.code.as_deref()),
            message: answer.error.unwrap_or_default(),
        })
    }
}

/// The `result` of a successful answer.
fn result(answer: Answer) -> Result<Value, CallError> {
    let answer = ok(answer)?;
    let mut v: Value = serde_json::from_str(answer.text.as_str())
        .map_err(|e| CallError::Verify(format!("answer is not JSON: {e}")))?;
    Ok(v["result"].take())
}

impl Driver for WebSocketDriver {
    type Conn = WsConn;

    fn name(&self) -> String {
        if self.target.is_tls() {
            "websocket-tls".into()
        } else {
            "websocket".into()
        }
    }

    async fn connect(&self) -> Result<(WsConn, ConnectTimings), CallError> {
        let (ws, timings) = self.target.connect(self.read_buffer).await?;
        Ok((WsConn::new(ws), timings))
    }

    fn share(&self, conn: &mut WsConn) -> Option<WsConn> {
        conn.share()
    }

    async fn call(
        &self,
        conn: &mut WsConn,
        op: &OpSpec,
        seq: u64,
    ) -> Result<CallOutcome, CallError> {
        if let OpSpec::Call { .. } = op {
            return Err(CallError::custom_call());
        }
        if let OpSpec::Echo { size } = op {
            let back = conn.binary(self.echo.clone()).await?;
            if back.len() != *size {
                return Err(CallError::Verify(format!(
                    "echo returned {} of {size} bytes",
                    back.len()
                )));
            }
            return Ok(CallOutcome {
                ttfb: None,
                sent: *size as u64,
                received: back.len() as u64,
            });
        }
        let mut sent = 0;
        let answer = ok(conn
            .request(|req| {
                let text = self.envelope(op, seq, req);
                sent = text.len() as u64;
                text
            })
            .await?)?;
        Ok(CallOutcome {
            ttfb: None,
            sent,
            received: answer.text.len() as u64,
        })
    }

    async fn verify(&self, conn: &mut WsConn, op: &OpSpec) -> Result<(), CallError> {
        match op {
            OpSpec::Echo { .. } => verify::echo(&self.echo, &conn.binary(self.echo.clone()).await?),
            OpSpec::Ping => {
                let r = result(conn.request(|req| self.envelope(op, 0, req)).await?)?;
                match r["pong"].as_bool() {
                    Some(true) => Ok(()),
                    _ => Err(CallError::Verify(format!("ping answered {r}"))),
                }
            }
            OpSpec::GetItem { .. } => {
                let get = |req| format!(r#"{{"op":"get_item","id":42,"req":{req}}}"#);
                verify::item_42(self.seed, &result(conn.request(get).await?)?)
            }
            OpSpec::ListItems { limit, category } => {
                let r = result(conn.request(|req| self.envelope(op, 0, req)).await?)?;
                verify::item_page(self.seed, &r, *limit, category.as_deref())
            }
            OpSpec::Score { .. } => {
                let r = result(conn.request(|req| self.envelope(op, 0, req)).await?)?;
                verify::score(&self.score_doc, r["score"].as_f64())
            }
            OpSpec::Call { .. } => Err(CallError::custom_call()),
        }
    }

    async fn stream(&self, conn: &mut WsConn, p: &StreamParams) -> Result<PushStream, CallError> {
        conn.stream(|req| {
            format!(
                r#"{{"op":"stream","count":{},"interval_ms":{},"size":{},"req":{req}}}"#,
                p.count, p.interval_ms, p.size
            )
        })
    }

    async fn subscribe(&self) -> Result<PushStream, CallError> {
        let (mut ws, _) = self.target.connect(MIN_READ_BUFFER).await?;
        ws.send(Message::text(r#"{"op":"subscribe","req":0}"#))
            .await
            .map_err(ws_error)?;
        // The server subscribes before it answers: once the answer is here, every
        // later broadcast reaches this socket.
        tokio::time::timeout(CONNECT_TIMEOUT, subscribed(&mut ws))
            .await
            .map_err(|_| CallError::Timeout)??;
        Ok(futures::stream::unfold(ws, |mut ws| async move {
            let item = next_push(&mut ws).await?;
            Some((item, ws))
        })
        .boxed())
    }

    async fn publish(&self, conn: &mut WsConn, body: Bytes) -> Result<CallOutcome, CallError> {
        let message = Value::from(String::from_utf8_lossy(&body).as_ref()).to_string();
        let answer = conn
            .request(|req| format!(r#"{{"op":"broadcast","message":{message},"req":{req}}}"#))
            .await?;
        let received = answer.text.len() as u64;
        result(answer)?;
        Ok(CallOutcome {
            ttfb: None,
            sent: body.len() as u64,
            received,
        })
    }
}

/// Reads until the answer to the subscribe request (`req` 0).
async fn subscribed(ws: &mut Ws) -> Result<(), CallError> {
    while let Some(frame) = ws.next().await {
        if let Message::Text(t) = frame.map_err(ws_error)? {
            let v: Value = serde_json::from_str(t.as_str())
                .map_err(|e| CallError::Protocol(format!("answer is not JSON: {e}")))?;
            if v["req"] == 0 {
                return match v["ok"].as_bool() {
                    Some(true) => Ok(()),
                    _ => Err(CallError::Protocol(format!("subscribe refused: {v}"))),
                };
            }
        }
    }
    Err(CallError::Closed)
}

/// The next broadcast or lag notice on a subscriber socket; `None` when it closed.
async fn next_push(ws: &mut Ws) -> Option<Result<Pushed, CallError>> {
    loop {
        let text = match ws.next().await? {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) => return None,
            Ok(_) => continue,
            Err(e) => return Some(Err(ws_error(e))),
        };
        let arrived_us = protolab_core::contract::now_micros();
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            return Some(Err(CallError::Protocol("push is not JSON".into())));
        };
        let event = match v["event"].as_str() {
            Some("broadcast") => match v["body"].as_str() {
                Some(b) => PushEvent::Message(Bytes::copy_from_slice(b.as_bytes())),
                None => return Some(Err(CallError::Protocol(format!("no body in {v}")))),
            },
            Some("lagged") => PushEvent::Lagged(v["skipped"].as_u64().unwrap_or(0)),
            _ => continue,
        };
        return Some(Ok(Pushed { arrived_us, event }));
    }
}
