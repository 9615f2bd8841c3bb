//! What a coordinator and its members say to each other: one JSON object per line
//! over TCP. Every read has a deadline and a size bound, so neither side can be
//! hung or swollen by the other.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::case::{CaseSpec, Repetition, Status};
use crate::fleet::segment::Segment;
use crate::sink::Tick;
use crate::stats::{Interval, Recorder};

/// The version both sides must speak.
pub const VERSION: u32 = 1;

/// The longest line either side accepts (a repetition's histograms are tens of KB).
const MAX_LINE: u64 = 64 << 20;

/// Coordinator to member.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToMember {
    /// Answer with your clock (offset measurement): probe `seq`.
    Clock { seq: u64 },
    /// Run one repetition of a case.
    Job(Box<Job>),
    /// Stop the job in progress (another member failed); answer `Aborted`.
    Abort,
}

/// One repetition of a case for one member: its segment of the load, already
/// applied to `spec` (which has `repeat` 1 and the fleet's start time).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    /// The endpoint (`rest-h1`, `framed`, ...) whose driver runs the case.
    pub endpoint: String,
    pub segment: Segment,
    pub spec: CaseSpec,
}

/// Member to coordinator.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToCoordinator {
    /// The first line of a session.
    Hello {
        name: String,
        /// The member's index from its orchestrator, when it has one.
        index: Option<usize>,
        version: u32,
    },
    /// The member already serves another coordinator; the session ends.
    Busy,
    Clock {
        seq: u64,
        member_unix: f64,
    },
    /// Once a second while a job runs: the member is alive.
    Alive {
        job: u64,
    },
    /// The engine's second.
    Tick {
        job: u64,
        tick: Tick,
    },
    Done {
        job: u64,
        outcome: Box<Outcome>,
    },
    Aborted {
        job: u64,
    },
}

/// What a member's repetition came to: its own verdict and, when it measured
/// anything, every figure the coordinator merges.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    pub problems: Vec<String>,
    pub skipped: Option<String>,
    pub measured: Option<Measured>,
}

/// A member's repetition with the parts run.json leaves out (the calls' histograms,
/// the per-second intervals and send counts), which a merge needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub rep: Repetition,
    pub recorder: Recorder,
    pub intervals: Vec<Interval>,
    pub measured_start_unix_s: f64,
    pub sends_each_second: Vec<u64>,
}

impl Measured {
    /// `rep`'s figures, taken out of it (`None` when it kept no recorder).
    pub fn take(mut rep: Repetition) -> Option<Measured> {
        let recorder = rep.recorder.take()?;
        Some(Measured {
            intervals: std::mem::take(&mut rep.intervals),
            measured_start_unix_s: rep.intervals_start_unix_s,
            sends_each_second: std::mem::take(&mut rep.sends_each_second),
            recorder,
            rep,
        })
    }
}

/// Why a session could not go on.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection closed")]
    Closed,
    #[error("no answer in time")]
    Timeout,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("unreadable message: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a message longer than {MAX_LINE} bytes")]
    TooLong,
}

/// The reading side of a session.
pub struct Reader {
    inner: BufReader<OwnedReadHalf>,
    /// The line read so far: a read cut short (a `select!` that took another
    /// branch, a deadline) leaves its bytes here and the next one goes on.
    line: Vec<u8>,
}

/// The writing side of a session.
pub struct Writer {
    inner: OwnedWriteHalf,
}

/// A session's two halves.
pub fn split(stream: TcpStream) -> (Reader, Writer) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    (
        Reader {
            inner: BufReader::new(r),
            line: Vec::new(),
        },
        Writer { inner: w },
    )
}

impl Reader {
    /// The next message, by `until` when given. Cancel-safe: dropped before it
    /// completes, it loses nothing.
    pub async fn recv<T: DeserializeOwned>(
        &mut self,
        until: Option<Instant>,
    ) -> Result<T, WireError> {
        let room = MAX_LINE.saturating_sub(self.line.len() as u64);
        let mut limited = (&mut self.inner).take(room);
        let read = limited.read_until(b'\n', &mut self.line);
        match until {
            Some(t) => tokio::time::timeout_at(t, read)
                .await
                .map_err(|_| WireError::Timeout)??,
            None => read.await?,
        };
        if self.line.last() != Some(&b'\n') {
            return Err(if self.line.len() as u64 >= MAX_LINE {
                WireError::TooLong
            } else {
                WireError::Closed
            });
        }
        let msg = serde_json::from_slice(&self.line);
        self.line.clear();
        Ok(msg?)
    }
}

impl Writer {
    /// Sends `msg` as one line (within 10 s: a peer that stops reading is gone).
    pub async fn send<T: Serialize>(&mut self, msg: &T) -> Result<(), WireError> {
        let mut bytes = serde_json::to_vec(msg)?;
        bytes.push(b'\n');
        let write = self.inner.write_all(&bytes);
        tokio::time::timeout(std::time::Duration::from_secs(10), write)
            .await
            .map_err(|_| WireError::Timeout)??;
        Ok(())
    }
}
