//! The framed protocol (reference/003) on port 5100: JSON request envelopes in
//! 0x12345678 frames, answered by response envelopes in request order.
//!
//! Ops: ping, get_item, list_items, echo, score (`protolab_wire::framed::envelope`).
//! A close frame (type 4) is answered with a close frame after every earlier reply,
//! then the connection closes. Refusals (bad JSON, unknown frame type, rate limited,
//! busy, bad magic) are failure responses (`"ok":false`); `req` is the request's when
//! it can be read, else 0. The framed port shares the connection cap and rate limits
//! with NET-001; it has no AUTH.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use protolab_core::contract::{self, ContractError, ListQuery, DEFAULT_LIST_LIMIT};
use protolab_core::serve::Conn;
use protolab_wire::framed::{Frame, FrameKind, FramedCodec, Request, RequestOp, Response};
use protolab_wire::{ErrorCode, WireError};
use serde_json::Value;

use crate::conn::{self, Flow, Protocol, Replies, Reply};
use crate::Shared;

/// Serves one framed-protocol connection, or refuses it when the server is full.
pub(crate) async fn serve(shared: Arc<Shared>, conn: Conn) {
    let proto = Framed {
        shared: shared.clone(),
        counts: [0; 3],
    };
    let Ok(_slot) = shared.slots.clone().try_acquire_owned() else {
        conn::refuse(conn, &proto, shared.config.idle_timeout).await;
        return;
    };
    let codec = FramedCodec::with_max_payload(shared.config.framed_max_payload);
    conn::serve(conn, codec, proto, &shared).await;
}

pub(crate) struct Framed {
    shared: Arc<Shared>,
    /// Requests answered ok / failed / close frames, in the current batch.
    counts: [u64; 3],
}

/// `req` of a payload that is not a valid request, if it has one.
fn req_of(payload: &[u8]) -> u64 {
    #[derive(serde::Deserialize)]
    struct ReqOnly {
        #[serde(default)]
        req: u64,
    }
    serde_json::from_slice::<ReqOnly>(payload).map_or(0, |r| r.req)
}

fn respond(req: u64, r: Result<Value, ContractError>) -> Response {
    match r {
        Ok(v) => Response::success(req, v),
        Err(e) => Response::failure(req, e.code(), e.to_string()),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ContractError> {
    serde_json::to_value(v).map_err(|_| ContractError::Internal)
}

fn encoded(resp: &Response) -> Reply {
    let mut out = BytesMut::new();
    if let Err(e) = resp.encode(&mut out) {
        tracing::error!(error = %e, "response does not encode");
    }
    Reply::Bytes(out)
}

impl Framed {
    fn request(&mut self, req: Request, replies: &mut Replies) {
        let state = &self.shared.state;
        let id = req.req;
        let dataset = state.dataset.clone();
        match req.op {
            RequestOp::Ping => replies.now(|o| Response::success(id, Value::Null).encode(o)),
            RequestOp::Echo { data } => {
                let r =
                    contract::check_size(data.0.len(), state.max_body).map(|()| data.to_value());
                replies.now(|o| respond(id, r).encode(o));
            }
            RequestOp::GetItem { id: item } => replies.later(async move {
                let r = dataset.get_item(item).await;
                encoded(&respond(id, r.and_then(|i| to_value(&i))))
            }),
            RequestOp::ListItems {
                offset,
                limit,
                category,
            } => {
                let q = ListQuery {
                    offset,
                    limit: limit.unwrap_or(DEFAULT_LIST_LIMIT),
                    category,
                };
                if let Err(e) = q.validate() {
                    return replies.now(|o| respond(id, Err(e)).encode(o));
                }
                replies.later(async move {
                    let r = dataset.list_items(&q).await;
                    encoded(&respond(id, r.and_then(|items| to_value(&items))))
                });
            }
            RequestOp::Score { json } => {
                let delay = state.delay;
                let r = move || contract::score(&json).map(Value::from);
                if delay.is_zero() {
                    return replies.now(|o| respond(id, r()).encode(o));
                }
                replies.later(async move {
                    contract::service_delay(delay).await;
                    encoded(&respond(id, r()))
                });
            }
        }
    }
}

impl Protocol for Framed {
    type Codec = FramedCodec;
    type Frame = Frame;

    fn frame(&mut self, frame: Frame, replies: &mut Replies) -> Flow {
        match frame.kind {
            FrameKind::Request => match Request::decode(&frame.payload) {
                Ok(req) => {
                    self.counts[0] += 1;
                    self.request(req, replies);
                }
                Err(e) => {
                    self.counts[1] += 1;
                    let req = req_of(&frame.payload);
                    replies
                        .now(|o| Response::failure(req, e.code().name(), e.to_string()).encode(o));
                }
            },
            FrameKind::Close => {
                self.counts[2] += 1;
                replies.now(|o| Frame::close().encode(o));
                return Flow::Close;
            }
            FrameKind::Response => {
                self.counts[1] += 1;
                replies.now(|o| {
                    let code = ErrorCode::BadRequest.name();
                    Response::failure(0, code, "responses are server-to-client").encode(o)
                });
            }
        }
        Flow::Continue
    }

    fn reject(&self, code: ErrorCode, message: &str, out: &mut BytesMut) -> Result<(), WireError> {
        let text = match code {
            ErrorCode::RateLimited => "rate limited".to_owned(),
            ErrorCode::ServerBusy => "server busy".to_owned(),
            _ => message.to_owned(),
        };
        Response::failure(0, code.name(), text).encode(out)
    }

    fn pushed<'a>(&'a mut self, _out: &'a mut BytesMut) -> impl Future<Output = ()> + Send + 'a {
        std::future::pending()
    }

    fn record(&mut self, elapsed: Duration, rejected: u64) {
        let metrics = &self.shared.state.metrics;
        self.counts[1] += rejected;
        let [ok, failed, close] = std::mem::take(&mut self.counts);
        metrics.observe_batch("framed_request", 200, ok, elapsed);
        metrics.observe_batch("framed_request", 400, failed, elapsed);
        metrics.observe_batch("framed_close", 200, close, elapsed);
    }
}
