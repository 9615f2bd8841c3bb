//! The protocol boundary: one `Driver` per protocol (the `protolab-drivers` crate
//! implements them). The engine knows only this trait: connect (with a timed
//! breakdown), call an operation, verify answers, and the optional capabilities
//! (pipelining, transfers, server push). A driver never records statistics or
//! decides pacing; it reports what one call did.

mod bulk;
mod push;

pub use bulk::{Blob, TransferOutcome, Window};
pub use push::{PushEvent, PushStream, Pushed, StreamParams};

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where each part of a connection set-up went (reference/002's coldconn, extended).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectTimings {
    /// TCP three-way handshake.
    pub tcp: Duration,
    /// TLS handshake, when the target uses TLS.
    pub tls: Option<Duration>,
    /// Protocol handshake after transport set-up (HTTP/2 preface+settings,
    /// WebSocket upgrade, NET-001 AUTH), when the protocol has one.
    pub handshake: Option<Duration>,
}

/// What one successful call did on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallOutcome {
    /// Time to the first byte of the answer (response headers), when measurable.
    pub ttfb: Option<Duration>,
    pub sent: u64,
    pub received: u64,
}

/// A call that moved no payload worth counting.
impl From<()> for CallOutcome {
    fn from((): ()) -> CallOutcome {
        CallOutcome::default()
    }
}

/// Why a call failed; `kind()` is the key errors are counted under.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("timed out")]
    Timeout,
    #[error("status {0}")]
    Status(u16),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("wrong answer: {0}")]
    Verify(String),
    #[error("connection closed")]
    Closed,
    /// The protocol has no such operation (e.g. upload over SSE).
    #[error("{0} is not offered by this protocol")]
    Unsupported(&'static str),
    /// The server refused the call with a protocol-level error (NET-001 ERROR frame,
    /// a DATA failure status, a framed or WebSocket `"ok":false` with its `code`, a
    /// GraphQL error's `extensions.code`).
    #[error("refused ({reason}): {message}")]
    Refused { reason: Refusal, message: String },
    /// Your own call failed (the library, `crate::measure`): counted under `kind`,
    /// which should be a short, bounded label (`"db"`, `"validation"`), never the
    /// message itself.
    #[error("{kind}: {message}")]
    Failed { kind: String, message: String },
}

/// Why a server refused a call, as its protocol named it: errors are counted under
/// `label()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    RateLimited,
    Busy,
    NotAuthenticated,
    AuthFailed,
    BadRequest,
    NotFound,
    /// The operation's payload is over the server's limit (the connection goes on).
    TooLarge,
    /// A frame over the receive limit: framing is lost, the connection closes.
    FrameTooLarge,
    BadMagic,
    BadVersion,
    BadCrc,
    UnknownType,
    Internal,
    /// A code this generator does not know, or none at all.
    Other,
}

impl Refusal {
    /// Every refusal with a code of its own.
    const NAMED: [Refusal; 13] = [
        Refusal::RateLimited,
        Refusal::Busy,
        Refusal::NotAuthenticated,
        Refusal::AuthFailed,
        Refusal::BadRequest,
        Refusal::NotFound,
        Refusal::TooLarge,
        Refusal::FrameTooLarge,
        Refusal::BadMagic,
        Refusal::BadVersion,
        Refusal::BadCrc,
        Refusal::UnknownType,
        Refusal::Internal,
    ];

    /// The short label errors are counted under, which is also the code the
    /// servers' JSON error envelopes carry (`protolab_core::ContractError::code`,
    /// the framed server's refusals).
    pub fn label(self) -> &'static str {
        match self {
            Refusal::RateLimited => "rate_limited",
            Refusal::Busy => "busy",
            Refusal::NotAuthenticated => "not_authenticated",
            Refusal::AuthFailed => "auth_failed",
            Refusal::BadRequest => "bad_request",
            Refusal::NotFound => "not_found",
            Refusal::TooLarge => "too_large",
            Refusal::FrameTooLarge => "frame_too_large",
            Refusal::BadMagic => "bad_magic",
            Refusal::BadVersion => "bad_version",
            Refusal::BadCrc => "bad_crc",
            Refusal::UnknownType => "unknown_type",
            Refusal::Internal => "internal",
            Refusal::Other => "rejected",
        }
    }

    /// The refusal an envelope's `code` names; `Other` for an unknown or absent one.
    pub fn from_code(code: Option<&str>) -> Refusal {
        code.and_then(|c| Refusal::NAMED.into_iter().find(|r| r.label() == c))
            .unwrap_or(Refusal::Other)
    }

    /// The server closes the connection after it (busy, or framing lost).
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            Refusal::Busy | Refusal::BadMagic | Refusal::BadVersion | Refusal::FrameTooLarge
        )
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl CallError {
    /// Your own call's failure, counted under `kind` (a short, bounded label).
    pub fn failed(kind: impl Into<String>, message: impl std::fmt::Display) -> CallError {
        CallError::Failed {
            kind: kind.into(),
            message: message.to_string(),
        }
    }

    /// What a protocol driver answers for [`OpSpec::Call`]: your own operations are
    /// not the protocol's (the case is skipped).
    pub fn custom_call() -> CallError {
        CallError::Unsupported("a custom call")
    }

    /// Short, bounded label for error counts.
    pub fn kind(&self) -> String {
        match self {
            CallError::Connect(_) => "connect".into(),
            CallError::Timeout => "timeout".into(),
            CallError::Status(s) => format!("status_{s}"),
            CallError::Protocol(_) => "protocol".into(),
            CallError::Verify(_) => "verify".into(),
            CallError::Closed => "closed".into(),
            CallError::Unsupported(_) => "unsupported".into(),
            CallError::Refused { reason, .. } => reason.label().into(),
            CallError::Failed { kind, .. } => kind.clone(),
        }
    }

    /// True when the connection should be replaced after this error.
    pub fn breaks_connection(&self) -> bool {
        match self {
            CallError::Refused { reason, .. } => reason.closes_connection(),
            _ => matches!(
                self,
                CallError::Connect(_)
                    | CallError::Timeout
                    | CallError::Protocol(_)
                    | CallError::Closed
            ),
        }
    }
}

/// The contract operation a case exercises, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpSpec {
    Ping,
    /// Ids drawn pseudo-randomly from 1..=ids.
    GetItem {
        ids: u32,
    },
    ListItems {
        limit: u32,
        category: Option<String>,
    },
    /// `size` bytes echoed back.
    Echo {
        size: usize,
    },
    /// reference/002's score on a JSON vector of `dims` numbers.
    Score {
        dims: usize,
    },
    /// Your own operation, measured through the library (`crate::measure`): no
    /// protocol driver offers it, a closure performs it.
    Call {
        name: String,
    },
}

impl OpSpec {
    pub fn name(&self) -> &str {
        match self {
            OpSpec::Ping => "ping",
            OpSpec::GetItem { .. } => "get_item",
            OpSpec::ListItems { .. } => "list_items",
            OpSpec::Echo { .. } => "echo",
            OpSpec::Score { .. } => "score",
            OpSpec::Call { name } => name,
        }
    }

    /// The item id for call number `seq`: spread over the table, reproducible.
    pub fn item_id(ids: u32, seq: u64) -> i64 {
        let mut z = seq.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        1 + ((z ^ (z >> 31)) % u64::from(ids.max(1))) as i64
    }

    /// The JSON document `score` sends: `{"vector":[...]}` of `dims` numbers.
    pub fn score_doc(dims: usize) -> String {
        let nums: Vec<String> = (0..dims)
            .map(|i| format!("{:.3}", (i % 97) as f64 / 7.0))
            .collect();
        format!("{{\"vector\":[{}]}}", nums.join(","))
    }

    /// Deterministic echo payload of `size` bytes.
    pub fn echo_payload(size: usize) -> Vec<u8> {
        (0..size).map(|i| (i * 31 % 251) as u8).collect()
    }
}

/// One protocol's client side.
pub trait Driver: Send + Sync + 'static {
    /// One connection (or channel) to the target.
    type Conn: Send + 'static;

    /// Protocol name as shown in results (`rest-h1`, `grpc-tls`, ...).
    fn name(&self) -> String;

    /// Opens a connection, timing each stage.
    fn connect(
        &self,
    ) -> impl Future<Output = Result<(Self::Conn, ConnectTimings), CallError>> + Send;

    /// Another handle on the same connection for a concurrent in-flight caller, when
    /// the protocol multiplexes (HTTP/2, gRPC, WebSocket requests matched by id);
    /// `None` means one call at a time. A connection may change how it works once
    /// shared (a WebSocket used in place starts a reader task).
    fn share(&self, conn: &mut Self::Conn) -> Option<Self::Conn>;

    /// Performs call number `seq` of `op`, checking the answer's shape and size.
    fn call(
        &self,
        conn: &mut Self::Conn,
        op: &OpSpec,
        seq: u64,
    ) -> impl Future<Output = Result<CallOutcome, CallError>> + Send;

    /// Checks that the target answers `op` correctly (item 42 equals the dataset's,
    /// echo returns the same bytes, score equals the contract's value).
    fn verify(
        &self,
        conn: &mut Self::Conn,
        op: &OpSpec,
    ) -> impl Future<Output = Result<(), CallError>> + Send;

    /// Pipelines `window.count` calls of `op` on `conn`, at most `window.depth`
    /// unanswered (answers come back in request order), reporting each answer with
    /// its latency from its own send to `on_answer`. An `Err` means the connection
    /// failed; calls not reported by then never got an answer.
    fn pipeline<F>(
        &self,
        conn: &mut Self::Conn,
        op: &OpSpec,
        window: Window,
        on_answer: F,
    ) -> impl Future<Output = Result<(), CallError>> + Send
    where
        F: FnMut(std::time::Duration, Result<CallOutcome, CallError>) + Send,
    {
        let _ = (conn, op, window, on_answer);
        async { Err(CallError::Unsupported("pipelining")) }
    }

    /// Sends `blob` to the server, streamed (never held whole), and returns what the
    /// server says it received.
    fn upload(
        &self,
        conn: &mut Self::Conn,
        blob: Blob,
    ) -> impl Future<Output = Result<TransferOutcome, CallError>> + Send {
        let _ = (conn, blob);
        async { Err(CallError::Unsupported("upload")) }
    }

    /// Fetches `blob` from the server, streamed, returning its length and CRC32.
    fn download(
        &self,
        conn: &mut Self::Conn,
        blob: Blob,
    ) -> impl Future<Output = Result<TransferOutcome, CallError>> + Send {
        let _ = (conn, blob);
        async { Err(CallError::Unsupported("download")) }
    }

    /// Asks the server for `params.count` pushed events (the `stream` kind), on
    /// `conn` or on a connection of the driver's own when the protocol pushes
    /// elsewhere (GraphQL subscriptions run over a WebSocket).
    fn stream(
        &self,
        _conn: &mut Self::Conn,
        _params: &StreamParams,
    ) -> impl Future<Output = Result<PushStream, CallError>> + Send {
        async { Err(CallError::Unsupported("stream")) }
    }

    /// Opens a broadcast subscriber on a connection of its own; resolves once the
    /// subscription request is sent (the runner probes until it is live).
    fn subscribe(&self) -> impl Future<Output = Result<PushStream, CallError>> + Send {
        async { Err(CallError::Unsupported("subscribe")) }
    }

    /// Publishes `body` to every subscriber (the `broadcast` kind's publisher).
    fn publish(
        &self,
        _conn: &mut Self::Conn,
        _body: bytes::Bytes,
    ) -> impl Future<Output = Result<CallOutcome, CallError>> + Send {
        async { Err(CallError::Unsupported("broadcast")) }
    }
}
