//! NET-001 connections: PING, ECHO, BROADCAST, AUTH and DATA over the shared
//! connection loop, on the plain and TLS ports.
//!
//! With AUTH_TOKENS set, DATA and BROADCAST before a successful AUTH get ERROR
//! not-authenticated and the connection stays; only authenticated clients receive
//! broadcasts. A broadcast reaches every other subscriber, not its sender: the sender
//! remembers the hub sequence numbers it published and skips them. Hub bodies are
//! text, so NET-001's bytes travel one character per byte (Latin-1) and come back
//! unchanged.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use protolab_core::hub::{HubEvent, Subscription};
use protolab_core::serve::Conn;
use protolab_wire::framed::envelope::{bytes_to_json_string, json_string_to_bytes};
use protolab_wire::net001::{Frame, Net001Codec, SESSION_ID_LEN};
use protolab_wire::{ErrorCode, WireError};

use crate::conn::{self, Flow, Protocol, Replies};
use crate::{auth, data, Shared};

/// Broadcasts encoded into one write at most.
const PUSH_BATCH: usize = 64;

/// Serves one NET-001 connection (plain or TLS), or refuses it when the server is full.
pub(crate) async fn serve(shared: Arc<Shared>, conn: Conn) {
    let mut proto = Net001::new(shared.clone());
    let Ok(_slot) = shared.slots.clone().try_acquire_owned() else {
        conn::refuse(conn, &proto, shared.config.idle_timeout).await;
        return;
    };
    if !shared.config.auth.required() {
        proto.subscribe();
    }
    conn::serve(conn, Net001Codec::new(), proto, &shared).await;
}

/// Per-message-type counts of one batch, for the metrics.
#[derive(Default)]
struct Tally {
    counts: [u64; 6],
}

const OPS: [&str; 6] = ["ping", "echo", "broadcast", "auth", "data", "error"];

pub(crate) struct Net001 {
    shared: Arc<Shared>,
    authenticated: bool,
    sub: Option<Subscription>,
    /// Hub sequence numbers this connection published, not yet seen come back.
    own: VecDeque<u64>,
    tally: Tally,
}

impl Net001 {
    fn new(shared: Arc<Shared>) -> Net001 {
        Net001 {
            shared,
            authenticated: false,
            sub: None,
            own: VecDeque::new(),
            tally: Tally::default(),
        }
    }

    fn subscribe(&mut self) {
        if self.sub.is_none() {
            self.sub = Some(self.shared.hub.subscribe());
        }
    }

    fn allowed(&self) -> bool {
        self.authenticated || !self.shared.config.auth.required()
    }

    fn count(&mut self, op: usize) {
        self.tally.counts[op] += 1;
    }

    fn auth(&mut self, username: &str, token: &[u8], replies: &mut Replies) {
        let auth = &self.shared.config.auth;
        let success = !auth.required() || auth.verify(username, token);
        let session_id = if success {
            auth::session_id()
        } else {
            [0u8; SESSION_ID_LEN]
        };
        if success {
            self.authenticated = true;
            self.subscribe();
        } else {
            tracing::debug!(user = username, "AUTH refused");
        }
        replies.now(|o| {
            Frame::AuthReply {
                success,
                session_id,
            }
            .encode(o)
        });
    }

    fn broadcast(&mut self, body: &[u8]) {
        let (msg, _) = self.shared.hub.publish(bytes_to_json_string(body));
        if self.sub.is_some() {
            self.own.push_back(msg.seq);
        }
    }

    /// Whether `seq` is one of ours (dropping older own numbers the ring skipped).
    fn is_own(&mut self, seq: u64) -> bool {
        while let Some(&front) = self.own.front() {
            if front < seq {
                self.own.pop_front();
            } else {
                break;
            }
        }
        if self.own.front() == Some(&seq) {
            self.own.pop_front();
            return true;
        }
        false
    }

    fn deliver(&mut self, event: HubEvent, out: &mut BytesMut) {
        match event {
            HubEvent::Message(m) if !self.is_own(m.seq) => {
                let body = match json_string_to_bytes(&m.body) {
                    Ok(b) => Bytes::from(b),
                    Err(_) => Bytes::copy_from_slice(m.body.as_bytes()),
                };
                if let Err(e) = Frame::Broadcast(body).encode(out) {
                    tracing::debug!(error = %e, "broadcast too large for NET-001");
                }
            }
            HubEvent::Message(_) => {}
            HubEvent::Lagged(n) => tracing::debug!(skipped = n, "subscriber lagged"),
        }
    }
}

fn refuse(replies: &mut Replies, code: ErrorCode, message: &str) {
    replies.now(|o| Frame::error(code, message).encode(o));
}

impl Protocol for Net001 {
    type Codec = Net001Codec;
    type Frame = Frame;

    fn frame(&mut self, frame: Frame, replies: &mut Replies) -> Flow {
        match frame {
            Frame::Ping { timestamp_us } => {
                self.count(0);
                replies.now(|o| Frame::Pong { timestamp_us }.encode(o));
            }
            Frame::Echo(b) => {
                self.count(1);
                replies.now(|o| Frame::EchoReply(b).encode(o));
            }
            Frame::Broadcast(b) if self.allowed() => {
                self.count(2);
                self.broadcast(&b);
            }
            Frame::Auth { username, token } => {
                self.count(3);
                self.auth(&username, &token, replies);
            }
            Frame::Data(payload) if self.allowed() => {
                self.count(4);
                data::handle(&self.shared, payload, replies);
            }
            Frame::Broadcast(_) | Frame::Data(_) => {
                self.count(5);
                refuse(replies, ErrorCode::NotAuthenticated, "AUTH first");
            }
            // A client's ERROR is not answered: two peers must not trade errors forever.
            Frame::Error { code, message } => {
                tracing::debug!(?code, message, "client sent ERROR");
            }
            other => {
                self.count(5);
                let msg = format!("{:?} is a server-to-client message", other.message_type());
                refuse(replies, ErrorCode::BadRequest, &msg);
            }
        }
        Flow::Continue
    }

    fn reject(&self, code: ErrorCode, message: &str, out: &mut BytesMut) -> Result<(), WireError> {
        Frame::error(code, message).encode(out)
    }

    async fn pushed(&mut self, out: &mut BytesMut) {
        let Some(sub) = self.sub.as_mut() else {
            return std::future::pending().await;
        };
        let Some(first) = sub.recv().await else {
            self.sub = None;
            return;
        };
        let mut events = vec![first];
        while events.len() < PUSH_BATCH {
            match sub.recv().now_or_never() {
                Some(Some(e)) => events.push(e),
                _ => break,
            }
        }
        for e in events {
            self.deliver(e, out);
        }
    }

    fn record(&mut self, elapsed: Duration, rejected: u64) {
        self.tally.counts[5] += rejected;
        let metrics = &self.shared.state.metrics;
        for (i, n) in self.tally.counts.iter_mut().enumerate() {
            if *n > 0 {
                let status = if i == 5 { 400 } else { 200 };
                metrics.observe_batch(OPS[i], status, *n, elapsed);
                *n = 0;
            }
        }
    }
}
