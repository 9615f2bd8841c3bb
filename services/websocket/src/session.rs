//! One WebSocket connection: a read loop that runs requests concurrently, one
//! writer task draining a bounded queue, ping keepalive, and the close handshake.
//!
//! Memory per socket is bounded: at most `MAX_IN_FLIGHT` requests run at once (the
//! loop stops reading when they are all busy, so TCP pushes back on the client),
//! and answers wait in a queue of `OUT_QUEUE` frames. A session never panics on
//! input: malformed envelopes get an error answer; protocol violations a close
//! frame with the RFC 6455 code.

use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, SplitSink, SplitStream};
use futures::{FutureExt, SinkExt, StreamExt};
use protolab_core::Op;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::ops::{self, Envelope, Out, Request};
use crate::Shared;

/// Requests (and streams, and the subscription) running at once on one socket.
pub const MAX_IN_FLIGHT: usize = 256;
/// Frames waiting for the writer; a full queue stalls whoever produces them.
pub const OUT_QUEUE: usize = 64;
/// How long a closing socket waits for the peer's close frame, and the writer
/// for its last frames to drain.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one upgraded socket until it closes.
pub(crate) async fn run(socket: WebSocket, shared: Shared) {
    let (sink, mut stream) = socket.split();
    let (out, rx) = mpsc::channel(OUT_QUEUE);
    let mut writer = tokio::spawn(write_loop(sink, rx));
    let mut session = Session {
        shared,
        out,
        work: FuturesUnordered::new(),
        subscribed: false,
        last_heard: Instant::now(),
        closing: None,
    };
    session.read_loop(&mut stream).await;
    drop(session);
    if tokio::time::timeout(CLOSE_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

/// Sends queued frames in order; stops after a close frame or a write error.
async fn write_loop(mut sink: SplitSink<WebSocket, Message>, mut rx: mpsc::Receiver<Message>) {
    while let Some(msg) = rx.recv().await {
        let is_close = matches!(msg, Message::Close(_));
        if let Err(e) = sink.send(msg).await {
            tracing::debug!(error = %e, "websocket write failed");
            return;
        }
        if is_close {
            break;
        }
    }
    let _ = sink.close().await;
}

struct Session {
    shared: Shared,
    out: Out,
    work: FuturesUnordered<BoxFuture<'static, ()>>,
    subscribed: bool,
    last_heard: Instant,
    /// Set once we sent a close frame: the moment we stop waiting for the reply.
    closing: Option<Instant>,
}

impl Session {
    async fn read_loop(&mut self, stream: &mut SplitStream<WebSocket>) {
        let interval = self.shared.config.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + interval, interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown = self.shared.state.shutdown.clone();
        loop {
            let deadline = self
                .closing
                .unwrap_or_else(|| Instant::now() + CLOSE_TIMEOUT);
            tokio::select! {
                frame = stream.next(), if self.work.len() < MAX_IN_FLIGHT => match frame {
                    None => break,
                    Some(Err(e)) => {
                        self.on_read_error(&e).await;
                        break;
                    }
                    Some(Ok(msg)) => {
                        self.last_heard = Instant::now();
                        self.on_message(msg).await;
                    }
                },
                Some(()) = self.work.next(), if !self.work.is_empty() => {}
                _ = ping.tick(), if self.closing.is_none() => self.keepalive(interval).await,
                _ = shutdown.cancelled(), if self.closing.is_none() => {
                    self.close(close_code::AWAY, "server shutting down").await;
                }
                _ = tokio::time::sleep_until(deadline), if self.closing.is_some() => break,
            }
        }
    }

    async fn on_message(&mut self, msg: Message) {
        if self.closing.is_some() {
            return;
        }
        match msg {
            Message::Text(text) => match ops::parse(text.as_str()) {
                Ok(envelope) => self.dispatch(envelope).await,
                Err(r) => self.send(ops::rejected(&r)).await,
            },
            Message::Binary(bytes) => {
                let start = std::time::Instant::now();
                self.send(Message::Binary(bytes)).await;
                let metrics = &self.shared.state.metrics;
                metrics.observe_op(Op::Echo, 200, start.elapsed());
            }
            // The peer closes: drop its work; tungstenite answers the close frame
            // and the next read ends the stream.
            Message::Close(_) => self.work.clear(),
            // Pings are answered by tungstenite; a pong only proves liveness.
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }

    async fn dispatch(&mut self, Envelope { req, request }: Envelope) {
        match request {
            Request::Subscribe => {
                // Subscribed before the answer leaves, so every broadcast the
                // client starts after reading it reaches this socket.
                if !self.subscribed {
                    self.subscribed = true;
                    let sub = self.shared.hub.subscribe();
                    self.work.push(ops::forward(sub, self.out.clone()).boxed());
                }
                let result = serde_json::json!({ "subscribed": true });
                self.send(ops::ok(&req, result)).await;
            }
            Request::Stream(params) => match params.validate() {
                Ok(()) => {
                    let fut = ops::stream(self.shared.clone(), params, req, self.out.clone());
                    self.work.push(fut.boxed());
                }
                Err(e) => self.send(ops::answer(&req, Err(e))).await,
            },
            request => {
                let (shared, out) = (self.shared.clone(), self.out.clone());
                self.work.push(
                    async move {
                        let outcome = ops::unary(&shared, request).await;
                        let _ = out.send(ops::answer(&req, outcome)).await;
                    }
                    .boxed(),
                );
            }
        }
    }

    /// Pings the client, or closes a client silent for two intervals.
    async fn keepalive(&mut self, interval: Duration) {
        if self.last_heard.elapsed() >= interval * 2 {
            self.close(close_code::AWAY, "keepalive timeout").await;
        } else {
            // A full queue means the client is not reading: no ping needed to tell.
            let _ = self.out.try_send(Message::Ping(Default::default()));
        }
    }

    /// A read failed: a protocol violation gets its close code, IO errors nothing.
    async fn on_read_error(&mut self, e: &axum::Error) {
        tracing::debug!(error = %e, "websocket read failed");
        if let Some((code, reason)) = close_code_for(e) {
            self.close(code, reason).await;
        }
    }

    /// Starts the close handshake: in-flight work is dropped, the close frame queued.
    async fn close(&mut self, code: u16, reason: &'static str) {
        self.work.clear();
        self.closing = Some(Instant::now() + CLOSE_TIMEOUT);
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let send = self.out.send(Message::Close(Some(frame)));
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, send).await;
    }

    async fn send(&mut self, msg: Message) {
        // Fails only once the writer is gone, and then the read loop ends too.
        let _ = self.out.send(msg).await;
    }
}

/// The close code for a read error. axum hides tungstenite's error type, so this
/// matches tungstenite's messages; the oversize test pins the one that matters.
fn close_code_for(e: &axum::Error) -> Option<(u16, &'static str)> {
    let text = e.to_string();
    if text.contains("Space limit exceeded") {
        Some((close_code::SIZE, "message too big"))
    } else if text.contains("UTF-8") {
        Some((close_code::INVALID, "invalid UTF-8"))
    } else if text.contains("protocol error") {
        Some((close_code::PROTOCOL, "protocol error"))
    } else {
        None
    }
}
