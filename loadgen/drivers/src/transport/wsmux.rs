//! The WebSocket driver's connection. JSON requests carry a `req` number and their
//! answers are matched by it; binary frames have no tag, so their echoes are matched
//! in order (the server answers binary frames in the order it read them).
//!
//! A socket starts [`WsConn::Direct`]: its one caller writes the request and reads
//! frames until the answer, in its own task, as the h1 and binary transports do. No
//! task, channel or lock stands between the caller and the socket, which is what
//! makes a closed-loop WebSocket case cheaper for the generator than for the server.
//! A socket with more than one caller in flight (`share`) or carrying a stream becomes
//! a [`MuxSocket`]: one reader task routes what arrives, one writer task sends what
//! callers queue (batching writes that queue up together into one flush). When the
//! last handle is dropped the writer closes the socket; when the socket dies every
//! waiting caller gets `Closed`.
//!
//! It never interprets an answer beyond `req`, `ok`, `error`, `event` and `done`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::transport::ws::{ws_error, Ws};
use protolab_bench::driver::CallError;
use protolab_bench::driver::{PushEvent, PushStream, Pushed};

/// Events of one stream waiting for their consumer; a full queue stalls the reader
/// (and so the whole socket), as TCP would.
const STREAM_QUEUE: usize = 1024;

/// A JSON answer as the reader saw it.
#[derive(Debug)]
pub struct Answer {
    /// The whole text frame (verification parses it again).
    pub text: Utf8Bytes,
    pub ok: bool,
    pub error: Option<String>,
    /// The failure's code (`"ok":false`), for programs.
    pub code: Option<String>,
}

/// The fields routing needs; everything else in the frame is skipped unparsed.
#[derive(Deserialize)]
struct Head {
    req: Option<u64>,
    ok: Option<bool>,
    error: Option<String>,
    code: Option<String>,
    event: Option<serde_json::Value>,
    #[serde(default)]
    done: bool,
}

impl Head {
    fn parse(text: &str) -> Option<Head> {
        let head = serde_json::from_str::<Head>(text);
        if head.is_err() {
            tracing::debug!("unparsable WebSocket frame skipped");
        }
        head.ok()
    }

    fn answer(self, text: Utf8Bytes) -> Answer {
        Answer {
            text,
            ok: self.ok == Some(true),
            error: self.error,
            code: self.code,
        }
    }
}

/// A WebSocket connection: used in place by one caller, or shared.
pub enum WsConn {
    Direct(Box<Direct>),
    Shared(Arc<MuxSocket>),
    /// Between the two, for the moment of the change; never seen by a caller.
    Closed,
}

/// A socket its one caller uses in place.
pub struct Direct {
    ws: Ws,
    next_req: u64,
    /// Binary frames sent and not yet echoed (a call given up on still gets its
    /// echo later, which must not count as the next call's).
    owed_echoes: usize,
}

impl WsConn {
    pub fn new(ws: Ws) -> WsConn {
        WsConn::Direct(Box::new(Direct {
            ws,
            next_req: 1,
            owed_echoes: 0,
        }))
    }

    /// Another handle on this socket for a concurrent caller: the socket becomes a
    /// [`MuxSocket`] (for good), and this handle one of its callers.
    pub fn share(&mut self) -> Option<WsConn> {
        self.shared().ok().cloned().map(WsConn::Shared)
    }

    /// The socket as a [`MuxSocket`], turning a direct one over to it.
    fn shared(&mut self) -> Result<&Arc<MuxSocket>, CallError> {
        if let WsConn::Direct(_) = self {
            if let WsConn::Direct(d) = std::mem::replace(self, WsConn::Closed) {
                *self = WsConn::Shared(MuxSocket::start(d.ws, d.next_req));
            }
        }
        match self {
            WsConn::Shared(mux) => Ok(mux),
            _ => Err(CallError::Closed),
        }
    }

    /// Sends the JSON request `text(req)` and waits for its answer.
    pub async fn request(&mut self, text: impl FnOnce(u64) -> String) -> Result<Answer, CallError> {
        let d = match self {
            WsConn::Direct(d) => d,
            WsConn::Shared(mux) => return mux.request(text).await,
            WsConn::Closed => return Err(CallError::Closed),
        };
        let req = d.next_req;
        d.next_req += 1;
        d.ws.send(Message::text(text(req)))
            .await
            .map_err(ws_error)?;
        loop {
            match d.next_frame().await? {
                Message::Text(t) => {
                    if let Some(head) = Head::parse(t.as_str()).filter(|h| h.req == Some(req)) {
                        return Ok(head.answer(t));
                    }
                }
                Message::Binary(_) => d.owed_echoes = d.owed_echoes.saturating_sub(1),
                _ => {}
            }
        }
    }

    /// Sends a binary frame and waits for its echo.
    pub async fn binary(&mut self, data: Bytes) -> Result<Bytes, CallError> {
        let d = match self {
            WsConn::Direct(d) => d,
            WsConn::Shared(mux) => return mux.binary(data).await,
            WsConn::Closed => return Err(CallError::Closed),
        };
        // Counted once queued (`feed`), before the flush: a call given up on while
        // its frame waits for room was never sent; one given up on later was.
        d.ws.feed(Message::Binary(data)).await.map_err(ws_error)?;
        d.owed_echoes += 1;
        d.ws.flush().await.map_err(ws_error)?;
        loop {
            if let Message::Binary(back) = d.next_frame().await? {
                d.owed_echoes -= 1;
                if d.owed_echoes == 0 {
                    return Ok(back);
                }
            }
        }
    }

    /// Sends the request `text(req)` whose answers are a stream (see
    /// [`MuxSocket::stream`]); the socket becomes shared.
    pub fn stream(&mut self, text: impl FnOnce(u64) -> String) -> Result<PushStream, CallError> {
        self.shared()?.stream(text)
    }
}

impl Direct {
    /// The next data frame; `Closed` when the socket ends.
    async fn next_frame(&mut self) -> Result<Message, CallError> {
        match self.ws.next().await {
            Some(Ok(Message::Close(_))) | None => Err(CallError::Closed),
            Some(Ok(m)) => Ok(m),
            Some(Err(e)) => Err(ws_error(e)),
        }
    }
}

type StreamTx = mpsc::Sender<Result<Pushed, CallError>>;

enum Waiter {
    Once(oneshot::Sender<Answer>),
    Stream(StreamTx),
}

#[derive(Default)]
struct Pending {
    calls: HashMap<u64, Waiter>,
    binary: VecDeque<oneshot::Sender<Bytes>>,
    closed: bool,
}

/// A shared socket; clone the `Arc` for another in-flight caller.
pub struct MuxSocket {
    pending: Arc<Mutex<Pending>>,
    tx: mpsc::UnboundedSender<Message>,
    next_req: AtomicU64,
}

impl MuxSocket {
    /// Takes over `ws`, starting its reader and writer tasks; requests are numbered
    /// from `next_req` on.
    fn start(ws: Ws, next_req: u64) -> Arc<MuxSocket> {
        let (sink, stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(Mutex::new(Pending::default()));
        tokio::spawn(write_loop(sink, rx));
        tokio::spawn(read_loop(stream, pending.clone()));
        Arc::new(MuxSocket {
            pending,
            tx,
            next_req: AtomicU64::new(next_req),
        })
    }

    /// Registers `waiter` and queues `msg` under one lock, so binary echoes stay in
    /// the order their frames were queued.
    fn queue(&self, msg: Message, register: impl FnOnce(&mut Pending)) -> Result<(), CallError> {
        let mut p = self.pending.lock().map_err(|_| CallError::Closed)?;
        if p.closed {
            return Err(CallError::Closed);
        }
        register(&mut p);
        self.tx.send(msg).map_err(|_| CallError::Closed)
    }

    /// Sends the JSON request `text(req)` and waits for its answer.
    pub async fn request(&self, text: impl FnOnce(u64) -> String) -> Result<Answer, CallError> {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.queue(Message::text(text(req)), |p| {
            p.calls.insert(req, Waiter::Once(tx));
        })?;
        rx.await.map_err(|_| CallError::Closed)
    }

    /// Sends a binary frame and waits for its echo.
    pub async fn binary(&self, data: Bytes) -> Result<Bytes, CallError> {
        let (tx, rx) = oneshot::channel();
        self.queue(Message::Binary(data), |p| p.binary.push_back(tx))?;
        rx.await.map_err(|_| CallError::Closed)
    }

    /// Sends the request `text(req)` whose answers are `{"req","event":{seq,sent_at_us}}`
    /// frames ending with `{"req","ok":true,"done":true}`, as a push stream.
    pub fn stream(&self, text: impl FnOnce(u64) -> String) -> Result<PushStream, CallError> {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(STREAM_QUEUE);
        self.queue(Message::text(text(req)), |p| {
            p.calls.insert(req, Waiter::Stream(tx));
        })?;
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed())
    }
}

async fn write_loop(mut sink: SplitSink<Ws, Message>, mut rx: mpsc::UnboundedReceiver<Message>) {
    while let Some(msg) = rx.recv().await {
        if sink.feed(msg).await.is_err() {
            return;
        }
        while let Ok(more) = rx.try_recv() {
            if sink.feed(more).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    // Every handle is gone: close politely.
    let _ = sink.close().await;
}

async fn read_loop(mut stream: SplitStream<Ws>, pending: Arc<Mutex<Pending>>) {
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(Message::Text(text)) => route_text(&pending, text).await,
            Ok(Message::Binary(data)) => {
                let waiter = pending.lock().ok().and_then(|mut p| p.binary.pop_front());
                if let Some(w) = waiter {
                    let _ = w.send(data);
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    // Dropping every waiter tells each caller the socket is gone.
    if let Ok(mut p) = pending.lock() {
        p.closed = true;
        p.calls.clear();
        p.binary.clear();
    }
}

async fn route_text(pending: &Mutex<Pending>, text: Utf8Bytes) {
    let arrived_us = protolab_core::contract::now_micros();
    let Some(head) = Head::parse(text.as_str()) else {
        return;
    };
    let Some(req) = head.req else { return };
    // Take what is needed out of the map; never await while holding the lock.
    let stream_tx = {
        let Ok(mut p) = pending.lock() else { return };
        match p.calls.get(&req) {
            Some(Waiter::Stream(tx)) => {
                let tx = tx.clone();
                if head.done || head.ok == Some(false) {
                    p.calls.remove(&req);
                }
                tx
            }
            Some(Waiter::Once(_)) => {
                if let Some(Waiter::Once(tx)) = p.calls.remove(&req) {
                    let _ = tx.send(head.answer(text));
                }
                return;
            }
            None => return,
        }
    };
    let item = match (&head.event, head.ok) {
        (Some(event), _) => match (event["seq"].as_u64(), event["sent_at_us"].as_u64()) {
            (Some(seq), Some(sent_at_us)) => Ok(Pushed {
                arrived_us,
                event: PushEvent::Event { seq, sent_at_us },
            }),
            _ => Err(CallError::Protocol(format!(
                "stream event without seq: {event}"
            ))),
        },
        (None, Some(false)) => Err(CallError::Protocol(format!(
            "stream refused: {}",
            head.error.unwrap_or_default()
        ))),
        // `done`: dropping the sender ends the stream.
        _ => return,
    };
    let _ = stream_tx.send(item).await;
}
