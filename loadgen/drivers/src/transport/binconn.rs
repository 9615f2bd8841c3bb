//! The client side the two binary drivers (NET-001, framed) share: one TCP or TLS
//! connection framed by a `protolab_wire` codec, with one call at a time or many
//! pipelined (the server answers in request order), and the connect breakdown.
//!
//! What a request looks like and whether a frame answers it is the protocol's
//! business, given by a [`Wire`]; this module never builds a protocol message itself
//! and never uses a second codec. Frames the server pushes unasked (NET-001
//! BROADCAST) are skipped by the `Wire`, so they never count as answers.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use protolab_wire::{CodecError, WireError};
use rustls_pki_types::ServerName;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_util::codec::{Decoder, Encoder, Framed};

use crate::transport::http::TlsOptions;
use protolab_bench::driver::{CallError, CallOutcome, ConnectTimings, OpSpec, Window};
use protolab_bench::engine::Deadline;

use crate::transport::{dial, Io, Peers, TlsTo};

/// One framed connection.
pub type BinConn<C> = Framed<Io, C>;

/// Read buffer a fresh connection starts with: small, so thousands of held
/// connections stay cheap; it grows to the largest frame seen.
const READ_BUFFER: usize = 4096;

/// Where a binary server listens, resolved once (connect timings never include DNS).
#[derive(Clone)]
pub struct Target {
    /// Where connections go: every address the host resolved to, in turn.
    pub peers: Peers,
    tls: Option<TlsTo>,
}

impl Target {
    /// `host:port`, or `https://host:port` / `tls://host:port` for TLS (which needs
    /// `tls.ca`; a client certificate is presented when given).
    pub async fn new(target: &str, tls: &TlsOptions) -> Result<Target, CallError> {
        let (secure, hostport) = match target.split_once("://") {
            Some(("https" | "tls", rest)) => (true, rest),
            Some((_, rest)) => (false, rest),
            None => (false, target),
        };
        let hostport = hostport.trim_end_matches('/');
        let peers = Peers::resolve(hostport).await?;
        let tls = if secure {
            let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
            let ca = tls
                .ca
                .as_deref()
                .ok_or_else(|| CallError::Connect("TLS needs --ca".into()))?;
            let client = tls.cert.as_deref().zip(tls.key.as_deref());
            let config = protolab_core::tls::client_config(ca, client, &[])
                .map_err(|e| CallError::Connect(e.to_string()))?;
            let name = ServerName::try_from(host.to_string())
                .map_err(|e| CallError::Connect(e.to_string()))?;
            Some((TlsConnector::from(config), name))
        } else {
            None
        };
        Ok(Target { peers, tls })
    }

    /// Whether connections use TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// TCP, then TLS when configured, framed by `codec`.
    pub async fn connect<C>(&self, codec: C) -> Result<(BinConn<C>, ConnectTimings), CallError> {
        let (io, timings) = dial(&self.peers, self.tls.as_ref()).await?;
        Ok((Framed::with_capacity(io, codec, READ_BUFFER), timings))
    }
}

/// A call whose answer is awaited.
#[derive(Debug)]
pub struct Pending {
    /// What the answer must carry (a request id, a timestamp).
    pub tag: u64,
    /// Payload bytes sent.
    pub sent: u64,
    /// Payload bytes of the answer so far.
    pub received: u64,
    /// Keep the answer's body in `kept` (verification).
    pub keep: bool,
    pub kept: BytesMut,
}

impl Pending {
    pub fn new(tag: u64, sent: usize) -> Pending {
        Pending {
            tag,
            sent: sent as u64,
            received: 0,
            keep: false,
            kept: BytesMut::new(),
        }
    }

    /// Counts (and, when kept, stores) a piece of the answer's body.
    pub fn take(&mut self, body: &[u8]) {
        self.received += body.len() as u64;
        if self.keep {
            self.kept.extend_from_slice(body);
        }
    }

    fn outcome(&self, ttfb: Option<Duration>) -> CallOutcome {
        CallOutcome {
            ttfb,
            sent: self.sent,
            received: self.received,
        }
    }
}

/// What one received frame means for the call awaiting its answer.
#[derive(Debug)]
pub enum Step {
    /// Not an answer (a frame the server pushes unasked).
    Skip,
    /// Part of the answer; more frames follow.
    More,
    /// The answer is complete (or is a refusal).
    Done(Result<(), CallError>),
}

/// One binary protocol's requests and answers.
pub trait Wire: Send + Sync {
    type Codec: Decoder<Item = Result<Self::Frame, WireError>, Error = CodecError>
        + Encoder<Self::Frame, Error = CodecError>
        + Send
        + Unpin;
    type Frame: Send;

    /// The frame of call `seq` of `op`, and its pending answer.
    fn request(&self, op: &OpSpec, seq: u64) -> Result<(Self::Frame, Pending), CallError>;

    /// Applies one received frame to the call awaiting it.
    fn answer(&self, op: &OpSpec, frame: Self::Frame, pending: &mut Pending) -> Step;
}

/// A codec failure as a call error (EOF mid-frame is a closed connection).
pub fn codec_error(e: CodecError) -> CallError {
    match e {
        CodecError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => CallError::Closed,
        CodecError::Io(e) => CallError::Protocol(format!("io: {e}")),
        CodecError::Wire(e) => CallError::Protocol(format!("server stream: {e}")),
    }
}

/// The next frame, or why there is none.
pub async fn next_frame<S, F>(stream: &mut S) -> Result<F, CallError>
where
    S: futures::Stream<Item = Result<Result<F, WireError>, CodecError>> + Unpin,
{
    match stream.next().await {
        None => Err(CallError::Closed),
        Some(Err(e)) => Err(codec_error(e)),
        Some(Ok(Err(e))) => Err(CallError::Protocol(format!("bad frame from server: {e}"))),
        Some(Ok(Ok(frame))) => Ok(frame),
    }
}

/// Reads frames into `pending` until its answer is complete; returns the time to
/// the answer's first frame.
async fn read_answer<W, S>(
    wire: &W,
    op: &OpSpec,
    stream: &mut S,
    pending: &mut Pending,
    start: Instant,
) -> Result<Option<Duration>, CallError>
where
    W: Wire,
    S: futures::Stream<Item = Result<Result<W::Frame, WireError>, CodecError>> + Unpin,
{
    let mut first = None;
    loop {
        let frame = next_frame(stream).await?;
        match wire.answer(op, frame, pending) {
            Step::Skip => continue,
            Step::More => {
                first.get_or_insert_with(|| start.elapsed());
            }
            Step::Done(r) => {
                first.get_or_insert_with(|| start.elapsed());
                return r.map(|()| first);
            }
        }
    }
}

/// One call: send, then read until answered. With `keep`, the answer's body too.
pub async fn call<W: Wire>(
    wire: &W,
    conn: &mut BinConn<W::Codec>,
    op: &OpSpec,
    seq: u64,
    keep: bool,
) -> Result<(CallOutcome, Bytes), CallError> {
    let (frame, mut pending) = wire.request(op, seq)?;
    pending.keep = keep;
    exchange(wire, conn, op, frame, pending).await
}

/// Sends `frame` and reads until `pending` is answered; returns the outcome and the
/// kept body.
pub async fn exchange<W: Wire>(
    wire: &W,
    conn: &mut BinConn<W::Codec>,
    op: &OpSpec,
    frame: W::Frame,
    mut pending: Pending,
) -> Result<(CallOutcome, Bytes), CallError> {
    let start = Instant::now();
    conn.send(frame).await.map_err(codec_error)?;
    let ttfb = read_answer(wire, op, conn, &mut pending, start).await?;
    Ok((pending.outcome(ttfb), pending.kept.freeze()))
}

/// `window.count` calls with up to `window.depth` unanswered, in this task on the
/// unsplit connection: the window is topped up in batches (when a quarter of it has
/// been answered), each batch written with one flush and stamped with one send time,
/// then answers are matched to sends in order. No channel, semaphore or timer per
/// call: the timeout is one lazily moved sleep (`Deadline`).
pub async fn pipeline<W, F>(
    wire: &W,
    conn: &mut BinConn<W::Codec>,
    op: &OpSpec,
    window: Window,
    mut on_answer: F,
) -> Result<(), CallError>
where
    W: Wire,
    F: FnMut(Duration, Result<CallOutcome, CallError>) + Send,
{
    let depth = window.depth.max(1);
    let refill_at = depth - (depth / 4).max(1);
    let mut queue: VecDeque<(Instant, Pending)> = VecDeque::with_capacity(depth.min(1 << 16));
    let mut next = 0u64;
    let mut deadline = Deadline::new(window.timeout);
    let mut now = Instant::now();
    while next < window.count || !queue.is_empty() {
        if queue.len() <= refill_at && next < window.count {
            let sent_at = Instant::now();
            while queue.len() < depth && next < window.count {
                let (frame, pending) = wire.request(op, window.first_seq + next)?;
                next += 1;
                queue.push_back((sent_at, pending));
                conn.feed(frame).await.map_err(codec_error)?;
            }
            conn.flush().await.map_err(codec_error)?;
        }
        let Some((sent_at, pending)) = queue.front_mut() else {
            break;
        };
        let sent_at = *sent_at;
        let answer = deadline
            .run(
                now + window.timeout,
                read_answer(wire, op, conn, pending, sent_at),
            )
            .await
            .ok_or(CallError::Timeout)?;
        now = Instant::now();
        let latency = now.saturating_duration_since(sent_at);
        let Some((_, pending)) = queue.pop_front() else {
            break;
        };
        match answer {
            Ok(ttfb) => on_answer(latency, Ok(pending.outcome(ttfb))),
            Err(e) if e.breaks_connection() => return Err(e),
            Err(e) => on_answer(latency, Err(e)),
        }
    }
    Ok(())
}
