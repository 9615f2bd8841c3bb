//! The JSON envelope and the operations behind it: parse a text frame into a
//! request, run it through the contract, build the answer frames. No socket IO
//! here: answers go to the session's bounded outgoing queue.

use std::time::Instant;

use axum::extract::ws::Message;
use futures::StreamExt;
use protolab_core::contract::{self, ContractError, ListQuery, StreamParams};
use protolab_core::http_error::ApiError;
use protolab_core::hub::{HubEvent, Subscription};
use protolab_core::Op;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::Shared;

/// The session's outgoing queue (bounded: a full queue stalls the producer).
pub(crate) type Out = mpsc::Sender<Message>;

/// One request, tagged by its `op` field.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    Ping,
    GetItem {
        id: i64,
    },
    ListItems(ListQuery),
    Echo {
        data: String,
    },
    /// `json` is the document itself, or a string holding it.
    Score {
        json: Value,
    },
    Stream(StreamParams),
    Subscribe,
    Broadcast {
        message: String,
    },
}

/// Op names the envelope accepts (to tell an unknown op from bad arguments).
const OPS: [Op; 8] = [
    Op::Ping,
    Op::GetItem,
    Op::ListItems,
    Op::Echo,
    Op::Score,
    Op::Stream,
    Op::Subscribe,
    Op::Broadcast,
];

impl Request {
    pub fn op(&self) -> Op {
        match self {
            Request::Ping => Op::Ping,
            Request::GetItem { .. } => Op::GetItem,
            Request::ListItems(_) => Op::ListItems,
            Request::Echo { .. } => Op::Echo,
            Request::Score { .. } => Op::Score,
            Request::Stream(_) => Op::Stream,
            Request::Subscribe => Op::Subscribe,
            Request::Broadcast { .. } => Op::Broadcast,
        }
    }
}

/// A parsed text frame: the client's `req` tag (any JSON, echoed back) and the request.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub req: Option<Value>,
    pub request: Request,
}

/// Why a text frame is not a request, with the `req` tag when it could be read.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub req: Option<Value>,
    pub error: String,
}

/// Parses a text frame into an envelope.
pub(crate) fn parse(text: &str) -> Result<Envelope, Rejected> {
    let value: Value = serde_json::from_str(text).map_err(|e| Rejected {
        req: None,
        error: format!("malformed envelope: {e}"),
    })?;
    let req = value.get("req").cloned();
    let reject = |error: String| Rejected {
        req: req.clone(),
        error,
    };
    let op = match value.get("op") {
        Some(Value::String(op)) => op.as_str(),
        Some(_) => return Err(reject("\"op\" must be a string".into())),
        None if value.is_object() => return Err(reject("missing \"op\"".into())),
        None => return Err(reject("envelope must be a JSON object".into())),
    };
    if !OPS.iter().any(|o| o.as_str() == op) {
        return Err(reject(format!("unknown op {op:?}")));
    }
    match serde_json::from_value::<Request>(value.clone()) {
        Ok(request) => Ok(Envelope { req, request }),
        Err(e) => Err(reject(format!("invalid arguments for {op}: {e}"))),
    }
}

fn frame(req: &Option<Value>, fields: Value) -> Message {
    let mut map = Map::new();
    if let Some(req) = req {
        map.insert("req".into(), req.clone());
    }
    if let Value::Object(fields) = fields {
        map.extend(fields);
    }
    Message::text(Value::Object(map).to_string())
}

/// `{"req","ok":true,"result"}`.
pub(crate) fn ok(req: &Option<Value>, result: Value) -> Message {
    frame(req, json!({ "ok": true, "result": result }))
}

/// `{"req","ok":false,"code","error"}`: `code` for programs (`ContractError::code`),
/// `error` for people.
pub(crate) fn error(req: &Option<Value>, code: &str, error: &str) -> Message {
    frame(req, json!({ "ok": false, "code": code, "error": error }))
}

/// The answer to a frame that is not a request.
pub(crate) fn rejected(r: &Rejected) -> Message {
    error(&r.req, ContractError::BAD_REQUEST, &r.error)
}

/// The answer to a unary request, from its outcome.
pub(crate) fn answer(req: &Option<Value>, outcome: Result<Value, ContractError>) -> Message {
    match outcome {
        Ok(result) => ok(req, result),
        Err(e) => error(req, e.code(), &e.to_string()),
    }
}

/// Runs an operation answered once (all but `stream` and `subscribe`), recording
/// its latency and outcome (HTTP-like status) in the server's metrics.
pub(crate) async fn unary(shared: &Shared, request: Request) -> Result<Value, ContractError> {
    let start = Instant::now();
    let op = request.op();
    let outcome = run_unary(shared, request).await;
    let status = match &outcome {
        Ok(_) => 200,
        Err(e) => ApiError(e.clone()).status().as_u16(),
    };
    shared.state.metrics.observe_op(op, status, start.elapsed());
    outcome
}

async fn run_unary(shared: &Shared, request: Request) -> Result<Value, ContractError> {
    let state = &shared.state;
    match request {
        Request::Ping => Ok(json!({ "pong": true })),
        Request::GetItem { id } => to_json(&state.dataset.get_item(id).await?),
        Request::ListItems(q) => to_json(&state.dataset.list_items(&q).await?),
        Request::Echo { data } => Ok(Value::String(data)),
        Request::Score { json } => {
            let text = match json {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let score = contract::score(&text)?;
            contract::service_delay(state.delay).await;
            Ok(json!({ "score": score }))
        }
        Request::Broadcast { message } => {
            contract::check_size(message.len(), state.max_body)?;
            let (msg, subscribers) = shared.hub.publish(message);
            Ok(json!({ "seq": msg.seq, "subscribers": subscribers }))
        }
        Request::Stream(_) | Request::Subscribe => Err(ContractError::InvalidArgument(
            "not a unary operation".into(),
        )),
    }
}

/// A result as JSON; serialising our own types cannot fail, but is not unwrapped.
fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, ContractError> {
    serde_json::to_value(v).map_err(|e| {
        tracing::error!(error = %e, "serialising a result");
        ContractError::Internal
    })
}

/// `stream`: `{"req","event":{..}}` per event, then `{"req","ok":true,"done":true}`.
/// Stops early if the socket goes away (the queue closes).
pub(crate) async fn stream(shared: Shared, params: StreamParams, req: Option<Value>, out: Out) {
    let start = Instant::now();
    let mut events = std::pin::pin!(params.events());
    while let Some(event) = events.next().await {
        if out
            .send(frame(&req, json!({ "event": event })))
            .await
            .is_err()
        {
            return;
        }
    }
    if out
        .send(frame(&req, json!({ "ok": true, "done": true })))
        .await
        .is_ok()
    {
        // One stream op, timed to its last event.
        let metrics = &shared.state.metrics;
        metrics.observe_op(Op::Stream, 200, start.elapsed());
    }
}

/// Forwards hub events to the socket until either side goes away.
pub(crate) async fn forward(mut sub: Subscription, out: Out) {
    while let Some(event) = sub.recv().await {
        let msg = match event {
            HubEvent::Message(m) => json!({
                "event": "broadcast",
                "seq": m.seq,
                "sent_at_us": m.sent_at_us,
                "body": m.body,
            }),
            HubEvent::Lagged(n) => json!({ "event": "lagged", "skipped": n }),
        };
        if out.send(Message::text(msg.to_string())).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_parse_and_reject_with_their_req() {
        let e = parse(r#"{"op":"get_item","id":42,"req":7}"#).expect("valid");
        assert_eq!(e.req, Some(json!(7)));
        assert!(matches!(e.request, Request::GetItem { id: 42 }));
        let e = parse(r#"{"op":"ping","req":"a"}"#).expect("unit op with req");
        assert!(matches!(e.request, Request::Ping));
        let e = parse(r#"{"op":"list_items","req":1}"#).expect("defaults");
        assert!(matches!(e.request, Request::ListItems(q) if q.limit == 20));
        let r = parse(r#"{"op":"fly","req":3}"#).expect_err("unknown");
        assert_eq!(
            (r.req, r.error.as_str()),
            (Some(json!(3)), "unknown op \"fly\"")
        );
        let r = parse(r#"{"op":"get_item","id":"x","req":4}"#).expect_err("bad arg");
        assert_eq!(r.req, Some(json!(4)));
        assert!(parse("{nope").expect_err("malformed").req.is_none());
        assert!(parse("[1]").is_err());
    }

    #[test]
    fn frames_omit_an_unknown_req() {
        let Message::Text(t) = error(&None, "bad_request", "bad") else {
            panic!("text frame")
        };
        assert_eq!(
            t.as_str(),
            r#"{"code":"bad_request","error":"bad","ok":false}"#
        );
    }
}
