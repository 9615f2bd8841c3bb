//! One WebSocket shared by many in-flight callers (the WebSocket driver's
//! connection): JSON requests carry a `req` number and their answers are matched by
//! it; binary frames have no tag, so their echoes are matched in order (the server
//! answers binary frames in the order it read them). One reader task routes what
//! arrives, one writer task sends what callers queue (batching writes that queue up
//! together into one flush). When the last handle is dropped the writer closes the
//! socket; when the socket dies every waiting caller gets `Closed`.
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
use tokio_tungstenite::tungstenite::Message;

use crate::transport::ws::Ws;
use protolab_bench::driver::CallError;
use protolab_bench::driver::{PushEvent, PushStream, Pushed};

/// Events of one stream waiting for their consumer; a full queue stalls the reader
/// (and so the whole socket), as TCP would.
const STREAM_QUEUE: usize = 1024;

/// A JSON answer as the reader saw it.
#[derive(Debug)]
pub struct Answer {
    /// The whole text frame (verification parses it again).
    pub text: String,
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
    /// Takes over `ws`, starting its reader and writer tasks.
    pub fn start(ws: Ws) -> Arc<MuxSocket> {
        let (sink, stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(Mutex::new(Pending::default()));
        tokio::spawn(write_loop(sink, rx));
        tokio::spawn(read_loop(stream, pending.clone()));
        Arc::new(MuxSocket {
            pending,
            tx,
            next_req: AtomicU64::new(1),
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
            Ok(Message::Text(text)) => route_text(&pending, text.as_str()).await,
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

async fn route_text(pending: &Mutex<Pending>, text: &str) {
    let arrived_us = protolab_core::contract::now_micros();
    let Ok(head) = serde_json::from_str::<Head>(text) else {
        tracing::debug!("unparsable WebSocket frame skipped");
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
                    let _ = tx.send(Answer {
                        text: text.to_string(),
                        ok: head.ok == Some(true),
                        error: head.error,
                        code: head.code,
                    });
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
