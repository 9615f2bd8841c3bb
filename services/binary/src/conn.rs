//! The connection loop both protocols share: read what is buffered, decode every
//! whole frame, answer them in order into one buffer, write it with one call.
//!
//! Replies that must wait (a dataset query, the score delay) go into a `FuturesOrdered`
//! queue; once one is queued, every later reply of that read waits behind it, so
//! answers leave in request order while the slow ones run concurrently. A protocol
//! plugs in through [`Protocol`]: its codec, what a frame does, how a refusal looks,
//! and (NET-001) messages pushed by the server. The loop owns the limits that are
//! the same for both: rate limits, the idle timeout (a complete frame resets it, so
//! a slowloris trickling bytes is still closed), write timeouts and shutdown.
//! Memory is bounded: reads are capped by the codec's length limit, an idle
//! connection holds a small read buffer, and a client that does not read stalls
//! only itself until the write timeout closes it.

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesOrdered};
use futures::{FutureExt, StreamExt};
use protolab_wire::{CodecError, ErrorCode, WireError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Decoder;

use crate::limits::{ClientLimiter, Verdict};
use crate::Shared;

/// Read buffer of a quiet connection (most of an idle connection's memory).
const SMALL_READ: usize = 4 * 1024;
/// Read buffer of a connection whose last read filled its buffer (pipelining).
const LARGE_READ: usize = 64 * 1024;
/// Pending output written out mid-stream (downloads) once it reaches this.
const WRITE_CHUNK: usize = 64 * 1024;

/// A reply that was not ready when its request was read.
pub(crate) enum Reply {
    /// Encoded frames.
    Bytes(BytesMut),
    /// Encoded frames produced one piece at a time (downloads), never held whole.
    Stream(BoxStream<'static, Bytes>),
}

/// The replies to one read, in request order.
pub(crate) struct Replies {
    pub out: BytesMut,
    queue: FuturesOrdered<BoxFuture<'static, Reply>>,
}

impl Replies {
    fn new() -> Replies {
        Replies {
            out: BytesMut::new(),
            queue: FuturesOrdered::new(),
        }
    }

    /// A reply ready now: encoded straight into the output unless an earlier reply is
    /// still pending, in which case it queues behind it.
    pub fn now(&mut self, encode: impl FnOnce(&mut BytesMut) -> Result<(), WireError>) {
        let mut scratch = BytesMut::new();
        let queued = !self.queue.is_empty();
        let buf = if queued { &mut scratch } else { &mut self.out };
        let mark = buf.len();
        if let Err(e) = encode(buf) {
            tracing::error!(error = %e, "reply does not encode");
            buf.truncate(mark);
            return;
        }
        if queued {
            self.queue
                .push_back(futures::future::ready(Reply::Bytes(scratch)).boxed());
        }
    }

    /// A reply that needs to wait; it still leaves in request order.
    pub fn later(&mut self, reply: impl Future<Output = Reply> + Send + 'static) {
        self.queue.push_back(reply.boxed());
    }
}

/// What a frame asks of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// Answer what came before, then close (the framed protocol's close frame).
    Close,
}

/// One protocol on top of the shared loop.
pub(crate) trait Protocol: Send {
    type Codec: Decoder<Item = Result<Self::Frame, WireError>, Error = CodecError> + Send;
    type Frame: Send;

    /// Handles one well-formed frame that passed the rate limits.
    fn frame(&mut self, frame: Self::Frame, replies: &mut Replies) -> Flow;

    /// Encodes a refusal (bad frame, rate limited, busy, fatal framing error).
    fn reject(&self, code: ErrorCode, message: &str, out: &mut BytesMut) -> Result<(), WireError>;

    /// Waits for a message the server pushes (broadcast) and encodes it into `out`.
    /// Must be cancel-safe; never resolves for protocols without pushes.
    fn pushed<'a>(&'a mut self, out: &'a mut BytesMut) -> impl Future<Output = ()> + Send + 'a;

    /// Records the per-op counts of the batch just answered, plus `rejected` frames
    /// the loop refused (bad frames, rate limited).
    fn record(&mut self, elapsed: Duration, rejected: u64);
}

/// Serves one connection until EOF, a fatal error, idleness, a close or shutdown.
pub(crate) async fn serve<S, P>(mut io: S, mut codec: P::Codec, mut proto: P, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    P: Protocol,
{
    let idle = shared.config.idle_timeout;
    let shutdown = shared.state.shutdown.clone();
    let mut limiter = ClientLimiter::new(shared.config.rate_limit);
    let unlimited = limiter.is_unlimited(&shared.global);
    let mut buf = BytesMut::new();
    let mut replies = Replies::new();
    let mut last_frame = tokio::time::Instant::now();
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    let mut busy = false;
    loop {
        if buf.is_empty() && !busy && buf.capacity() > SMALL_READ {
            buf = BytesMut::new();
        }
        buf.reserve(if busy { LARGE_READ } else { SMALL_READ });
        let room = buf.capacity() - buf.len();
        let n = tokio::select! {
            r = io.read_buf(&mut buf) => match r {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!(error = %e, "read failed");
                    break;
                }
            },
            () = proto.pushed(&mut replies.out) => {
                if write_out(&mut io, &mut replies.out, idle).await.is_err() {
                    break;
                }
                continue;
            }
            () = &mut idle_timer => {
                let deadline = last_frame + idle;
                if tokio::time::Instant::now() >= deadline {
                    tracing::debug!("idle timeout");
                    break;
                }
                idle_timer.as_mut().reset(deadline);
                continue;
            }
            () = shutdown.cancelled() => break,
        };
        busy = n == room;
        let started = Instant::now();
        let batch = if n == 0 {
            decode_eof(&mut codec, &mut buf, &mut proto, &mut replies)
        } else {
            let mut ctx = BatchCtx {
                limiter: &mut limiter,
                shared,
                now: (!unlimited).then(Instant::now),
            };
            decode_batch(&mut codec, &mut buf, &mut proto, &mut replies, &mut ctx)
        };
        if batch.frames > 0 {
            last_frame = tokio::time::Instant::now();
        }
        if let Err(e) = flush(&mut io, &mut replies, idle).await {
            tracing::debug!(error = %e, "write failed");
            break;
        }
        proto.record(started.elapsed(), batch.rejected);
        if n == 0 || batch.close {
            break;
        }
    }
    let _ = tokio::time::timeout(idle, io.shutdown()).await;
}

struct BatchCtx<'a> {
    limiter: &'a mut ClientLimiter,
    shared: &'a Shared,
    /// The batch's clock reading, when a rate limit is in force.
    now: Option<Instant>,
}

#[derive(Default)]
struct Batch {
    frames: usize,
    rejected: u64,
    close: bool,
}

/// Decodes and answers every whole frame in `buf`.
fn decode_batch<P: Protocol>(
    codec: &mut P::Codec,
    buf: &mut BytesMut,
    proto: &mut P,
    replies: &mut Replies,
    ctx: &mut BatchCtx<'_>,
) -> Batch {
    let mut batch = Batch::default();
    loop {
        let item = match codec.decode(buf) {
            Ok(Some(item)) => item,
            Ok(None) => return batch,
            Err(e) => {
                fatal(proto, replies, &e);
                batch.rejected += 1;
                batch.close = true;
                return batch;
            }
        };
        batch.frames += 1;
        let verdict = match ctx.now {
            None => Verdict::Allow,
            Some(now) => ctx.limiter.check(&ctx.shared.global, now),
        };
        match verdict {
            Verdict::Allow => {}
            Verdict::Limited | Verdict::Disconnect => {
                batch.rejected += 1;
                replies.now(|o| proto.reject(ErrorCode::RateLimited, "rate limited", o));
                if verdict == Verdict::Disconnect {
                    tracing::debug!("client ignores rate limiting: disconnecting");
                    batch.close = true;
                    return batch;
                }
                continue;
            }
        }
        match item {
            Ok(frame) => {
                if proto.frame(frame, replies) == Flow::Close {
                    batch.close = true;
                    return batch;
                }
            }
            Err(e) => {
                batch.rejected += 1;
                replies.now(|o| proto.reject(e.code(), &e.to_string(), o));
            }
        }
    }
}

/// At EOF: answers a last whole frame if any (rate limits no longer matter), and
/// drops a truncated one.
fn decode_eof<P: Protocol>(
    codec: &mut P::Codec,
    buf: &mut BytesMut,
    proto: &mut P,
    replies: &mut Replies,
) -> Batch {
    let mut batch = Batch::default();
    loop {
        match codec.decode_eof(buf) {
            Ok(Some(Ok(frame))) => {
                batch.frames += 1;
                if proto.frame(frame, replies) == Flow::Close {
                    return batch;
                }
            }
            Ok(Some(Err(e))) => replies.now(|o| proto.reject(e.code(), &e.to_string(), o)),
            Ok(None) => return batch,
            Err(e) => {
                tracing::debug!(error = %e, "truncated frame at end of stream");
                return batch;
            }
        }
    }
}

fn fatal<P: Protocol>(proto: &P, replies: &mut Replies, e: &CodecError) {
    tracing::debug!(error = %e, "stream no longer framed: closing");
    if let Some(code) = e.code() {
        replies.now(|o| proto.reject(code, &e.to_string(), o));
    }
}

/// Writes every reply of the batch, in order: ready ones together, then each pending
/// one as it completes.
async fn flush<S>(io: &mut S, replies: &mut Replies, timeout: Duration) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    loop {
        while let Some(Some(reply)) = replies.queue.next().now_or_never() {
            put(io, &mut replies.out, reply, timeout).await?;
        }
        write_out(io, &mut replies.out, timeout).await?;
        match replies.queue.next().await {
            Some(reply) => put(io, &mut replies.out, reply, timeout).await?,
            None => return Ok(()),
        }
    }
}

async fn put<S>(
    io: &mut S,
    out: &mut BytesMut,
    reply: Reply,
    timeout: Duration,
) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    match reply {
        Reply::Bytes(b) => out.unsplit(b),
        Reply::Stream(mut s) => {
            while let Some(piece) = s.next().await {
                out.extend_from_slice(&piece);
                if out.len() >= WRITE_CHUNK {
                    write_out(io, out, timeout).await?;
                }
            }
        }
    }
    Ok(())
}

/// Writes `out` (bounded by `timeout`: a client that stops reading is dropped) and
/// empties it, releasing a large buffer.
async fn write_out<S>(io: &mut S, out: &mut BytesMut, timeout: Duration) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    if out.is_empty() {
        return Ok(());
    }
    let write = async {
        io.write_all(out).await?;
        io.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "client does not read",
            ))
        }
    }
    out.clear();
    if out.capacity() > LARGE_READ {
        *out = BytesMut::new();
    }
    Ok(())
}

/// Answers a connection over the limit with a refusal, then closes it.
pub(crate) async fn refuse<S, P>(mut io: S, proto: &P, timeout: Duration)
where
    S: AsyncWrite + Unpin,
    P: Protocol,
{
    let mut out = BytesMut::new();
    if proto
        .reject(
            ErrorCode::ServerBusy,
            "server busy: connection limit reached",
            &mut out,
        )
        .is_ok()
    {
        let _ = write_out(&mut io, &mut out, timeout).await;
    }
    let _ = tokio::time::timeout(timeout, io.shutdown()).await;
}
