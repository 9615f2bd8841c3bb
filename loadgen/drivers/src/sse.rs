//! The SSE driver: protolab-sse's request operations over HTTP (`GET /ping`,
//! `GET /items/{id}`; the others are not offered), the `stream` kind as
//! `GET /events` parsed incrementally as an event stream (resumed with
//! `Last-Event-ID` on a new connection when one drops, as an EventSource would), and
//! broadcast as `GET /subscribe` + `POST /broadcast`. HTTP through `http.rs` only.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::Method;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use crate::transport::http::{HttpConn, HttpTarget, HttpVersion};
use crate::transport::ndjson::stream_event;
use crate::transport::sse_parse::{SseEvent, SseParser};
use crate::verify;
use protolab_bench::driver::{CallError, CallOutcome, ConnectTimings, Driver, OpSpec};
use protolab_bench::driver::{PushEvent, PushStream, Pushed, StreamParams};

/// How often one stream reconnects after its connection dropped before giving up.
pub const MAX_RESUMES: u32 = 3;

/// SSE over HTTP/1.1 (or HTTP/2), plain or TLS.
pub struct SseDriver {
    target: HttpTarget,
    seed: u64,
}

/// An event stream being read: the response body and the parser, and the
/// connection when the stream opened one of its own (it lives as long as the stream).
struct Events {
    body: Incoming,
    parser: SseParser,
    _own: Option<HttpConn>,
}

impl Events {
    /// The next event; `None` when the body ended.
    async fn next(&mut self) -> Option<Result<SseEvent, CallError>> {
        loop {
            if let Some(ev) = self.parser.next_event() {
                return Some(Ok(ev));
            }
            match self.body.frame().await? {
                Ok(frame) => {
                    if let Some(data) = frame.data_ref() {
                        self.parser.push(data);
                    }
                }
                Err(e) => return Some(Err(CallError::Protocol(format!("body: {e}")))),
            }
        }
    }
}

impl SseDriver {
    pub fn new(target: HttpTarget, seed: u64) -> SseDriver {
        SseDriver { target, seed }
    }

    fn get(&self, path: &str) -> http::Request<http_body_util::Full<Bytes>> {
        self.target.request(Method::GET, path, Bytes::new())
    }

    fn request(
        &self,
        op: &OpSpec,
        seq: u64,
    ) -> Result<http::Request<http_body_util::Full<Bytes>>, CallError> {
        match op {
            OpSpec::Ping => Ok(self.get("/ping")),
            OpSpec::GetItem { ids } => {
                Ok(self.get(&format!("/items/{}", OpSpec::item_id(*ids, seq))))
            }
            OpSpec::ListItems { .. } => Err(CallError::Unsupported("list_items")),
            OpSpec::Echo { .. } => Err(CallError::Unsupported("echo")),
            OpSpec::Score { .. } => Err(CallError::Unsupported("score")),
            OpSpec::Call { .. } => Err(CallError::custom_call()),
        }
    }

    /// `GET /events?...` from `last_id` on, as pushes; see [`resuming`].
    pub async fn events(
        &self,
        conn: &mut HttpConn,
        p: &StreamParams,
        last_id: Option<u64>,
    ) -> Result<PushStream, CallError> {
        let path = format!(
            "/events?count={}&interval_ms={}&size={}",
            p.count, p.interval_ms, p.size
        );
        let events = open_events(&self.target, conn, &path, last_id).await?;
        let state = Resuming {
            target: self.target.clone(),
            path,
            events: Some(events),
            last_id,
            count: p.count,
            resumes_left: MAX_RESUMES,
        };
        Ok(resuming(state).boxed())
    }
}

/// Opens `path` of `target` as an event stream on `conn`, resuming after `last_id`.
async fn open_events(
    target: &HttpTarget,
    conn: &mut HttpConn,
    path: &str,
    last_id: Option<u64>,
) -> Result<Events, CallError> {
    let mut req = target.request(Method::GET, path, Bytes::new());
    if let Some(id) = last_id {
        if let Ok(v) = http::HeaderValue::from_str(&id.to_string()) {
            req.headers_mut().insert("last-event-id", v);
        }
    }
    req.headers_mut().insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("text/event-stream"),
    );
    let (resp, _) = conn.open(req).await?;
    if resp.status() != http::StatusCode::OK {
        return Err(CallError::Status(resp.status().as_u16()));
    }
    Ok(Events {
        body: resp.into_body(),
        parser: SseParser::default(),
        _own: None,
    })
}

/// One `/events` stream across reconnections.
struct Resuming {
    target: HttpTarget,
    path: String,
    events: Option<Events>,
    last_id: Option<u64>,
    count: u64,
    resumes_left: u32,
}

/// The events of a stream until it ends after its last one (`count - 1`). When the
/// connection fails or ends early, a new connection asks for the rest with `Last-Event-ID`
/// (a `Resumed` push marks it), at most `MAX_RESUMES` times.
fn resuming(state: Resuming) -> impl Stream<Item = Result<Pushed, CallError>> + Send {
    futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        loop {
            let Some(events) = s.events.as_mut() else {
                return match reopen(&mut s).await {
                    Ok(()) => Some((Ok(Pushed::now(PushEvent::Resumed)), Some(s))),
                    Err(e) => Some((Err(e), None)),
                };
            };
            match events.next().await {
                Some(Ok(ev)) => {
                    let item = stream_event(ev.data.as_bytes());
                    if let Ok(Pushed {
                        event: PushEvent::Event { seq, .. },
                        ..
                    }) = &item
                    {
                        s.last_id = Some(*seq);
                    }
                    return Some((item, Some(s)));
                }
                // The body ended after the last event (read to its end, so an
                // HTTP/1.1 connection stays usable): done.
                _ if s.last_id.is_some_and(|id| id + 1 >= s.count) => return None,
                // Dropped, or ended before the last event: reconnect.
                Some(Err(_)) | None => s.events = None,
            }
        }
    })
}

async fn reopen(s: &mut Resuming) -> Result<(), CallError> {
    if s.resumes_left == 0 {
        return Err(CallError::Closed);
    }
    s.resumes_left -= 1;
    let (mut conn, _) = s.target.connect().await?;
    let mut events = open_events(&s.target, &mut conn, &s.path, s.last_id).await?;
    events._own = Some(conn);
    s.events = Some(events);
    Ok(())
}

/// A `/subscribe` event: `message` with `{"seq","sent_at_us","body"}`, or `lagged`.
fn hub_event(ev: &SseEvent) -> Result<Pushed, CallError> {
    let arrived_us = protolab_core::contract::now_micros();
    let v: Value = serde_json::from_str(&ev.data)
        .map_err(|e| CallError::Protocol(format!("event data is not JSON: {e}")))?;
    let event = match ev.event.as_str() {
        "lagged" => PushEvent::Lagged(v["skipped"].as_u64().unwrap_or(0)),
        _ => match v["body"].as_str() {
            Some(b) => PushEvent::Message(Bytes::copy_from_slice(b.as_bytes())),
            None => return Err(CallError::Protocol(format!("no body in {}", ev.data))),
        },
    };
    Ok(Pushed { arrived_us, event })
}

impl Driver for SseDriver {
    type Conn = HttpConn;

    fn name(&self) -> String {
        let h2 = if self.target.version == HttpVersion::H2 {
            "-h2"
        } else {
            ""
        };
        let tls = if self.target.scheme == "https" {
            "-tls"
        } else {
            ""
        };
        format!("sse{h2}{tls}")
    }

    async fn connect(&self) -> Result<(HttpConn, ConnectTimings), CallError> {
        self.target.connect().await
    }

    fn share(&self, conn: &mut HttpConn) -> Option<HttpConn> {
        conn.share()
    }

    async fn call(
        &self,
        conn: &mut HttpConn,
        op: &OpSpec,
        seq: u64,
    ) -> Result<CallOutcome, CallError> {
        Ok(conn
            .send(self.request(op, seq)?, false)
            .await?
            .ok()?
            .outcome)
    }

    async fn verify(&self, conn: &mut HttpConn, op: &OpSpec) -> Result<(), CallError> {
        let req = match op {
            OpSpec::GetItem { .. } => self.get("/items/42"),
            other => self.request(other, 0)?,
        };
        let body = conn.send(req, true).await?.ok()?.body;
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| CallError::Verify(format!("answer is not JSON: {e}")))?;
        match op {
            OpSpec::GetItem { .. } => verify::item_42(self.seed, &v),
            _ if v["pong"] == true => Ok(()),
            _ => Err(CallError::Verify(format!("ping answered {v}"))),
        }
    }

    async fn stream(&self, conn: &mut HttpConn, p: &StreamParams) -> Result<PushStream, CallError> {
        self.events(conn, p, None).await
    }

    async fn subscribe(&self) -> Result<PushStream, CallError> {
        let (mut conn, _) = self.target.connect().await?;
        let mut events = open_events(&self.target, &mut conn, "/subscribe", None).await?;
        events._own = Some(conn);
        Ok(futures::stream::unfold(events, |mut events| async move {
            let item = events.next().await?.and_then(|ev| hub_event(&ev));
            Some((item, events))
        })
        .boxed())
    }

    async fn publish(&self, conn: &mut HttpConn, body: Bytes) -> Result<CallOutcome, CallError> {
        let req = self.target.request(Method::POST, "/broadcast", body);
        Ok(conn.send(req, false).await?.ok()?.outcome)
    }
}
