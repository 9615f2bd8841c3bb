//! A graphql-transport-ws client for one subscription per socket (the GraphQL
//! driver's `stream` and broadcast subscribers): `connection_init` /
//! `connection_ack`, `subscribe`, then every `next` decoded into a push until
//! `complete`; pings are answered. Nothing else of GraphQL lives here.

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::transport::ws::{ws_error, Ws, WsTarget};
use crate::CONNECT_TIMEOUT;
use protolab_bench::driver::CallError;
use protolab_bench::driver::{PushEvent, PushStream, Pushed};

/// The subprotocol spoken.
pub const SUBPROTOCOL: &str = "graphql-transport-ws";

/// Turns one result's `data` into a push.
pub type Decode = fn(&Value) -> Result<PushEvent, CallError>;

async fn send(ws: &mut Ws, v: Value) -> Result<(), CallError> {
    ws.send(Message::text(v.to_string()))
        .await
        .map_err(ws_error)
}

/// The next protocol message (pings answered, keep-alives skipped); `None` at close.
async fn next_message(ws: &mut Ws) -> Option<Result<Value, CallError>> {
    loop {
        let text = match ws.next().await? {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) => return None,
            Ok(_) => continue,
            Err(e) => return Some(Err(ws_error(e))),
        };
        let v: Value = match serde_json::from_str(text.as_str()) {
            Ok(v) => v,
            Err(e) => return Some(Err(CallError::Protocol(format!("not JSON: {e}")))),
        };
        match v["type"].as_str() {
            Some("ping") => {
                if let Err(e) = send(ws, json!({ "type": "pong" })).await {
                    return Some(Err(e));
                }
            }
            Some("pong") | Some("ka") => {}
            _ => return Some(Ok(v)),
        }
    }
}

/// Opens a socket to `target`, starts `query` with `variables`, and streams its
/// results through `decode`, reading `read_buffer` bytes at a time.
pub async fn subscribe(
    target: &WsTarget,
    query: &str,
    variables: Value,
    read_buffer: usize,
    decode: Decode,
) -> Result<PushStream, CallError> {
    let (mut ws, _) = target.connect(read_buffer).await?;
    send(&mut ws, json!({ "type": "connection_init" })).await?;
    let ack = tokio::time::timeout(CONNECT_TIMEOUT, next_message(&mut ws))
        .await
        .map_err(|_| CallError::Timeout)?
        .ok_or(CallError::Closed)??;
    if ack["type"] != "connection_ack" {
        return Err(CallError::Protocol(format!(
            "expected connection_ack, got {ack}"
        )));
    }
    let start = json!({
        "id": "1",
        "type": "subscribe",
        "payload": { "query": query, "variables": variables },
    });
    send(&mut ws, start).await?;
    let results = futures::stream::unfold(Some(ws), move |ws| async move {
        let mut ws = ws?;
        let msg = match next_message(&mut ws).await? {
            Ok(m) => m,
            Err(e) => return Some((Err(e), None)),
        };
        let arrived_us = protolab_core::contract::now_micros();
        match msg["type"].as_str() {
            Some("next") => {
                let item = match msg.pointer("/payload/errors") {
                    Some(errors) => Err(CallError::Protocol(format!("errors: {errors}"))),
                    None => {
                        decode(&msg["payload"]["data"]).map(|event| Pushed { arrived_us, event })
                    }
                };
                let ws = item.is_ok().then_some(ws);
                Some((item, ws))
            }
            Some("complete") => None,
            _ => Some((
                Err(CallError::Protocol(format!("subscription failed: {msg}"))),
                None,
            )),
        }
    });
    Ok(results.boxed())
}

/// A `U64` scalar (a decimal string) as a number.
pub fn u64_of(v: &Value) -> Option<u64> {
    v.as_str().and_then(|s| s.parse().ok())
}
