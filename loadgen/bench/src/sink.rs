//! What leaves a running case besides its result: progress (the CLI's progress bar,
//! the dashboard's live numbers) and, optionally, every raw sample (reference/002's
//! JSONL). Small traits the caller implements; the engine and the kinds only call
//! them, so this crate knows no terminal, no file format and no web page.

use std::time::Duration;

use crate::usage::{AdminView, ServerProbe};

/// One second of a running load, as data.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tick {
    /// Measured calls so far (answers and errors; warm-up excluded).
    pub requests: u64,
    pub errors: u64,
    /// Calls per second over the last interval.
    pub rps: f64,
    /// Latency of the calls answered in the last interval, µs (0: none answered).
    pub p50_us: u64,
    pub p99_us: u64,
}

/// Where a case reports how far it is. Every method has a do-nothing default.
pub trait Progress: Send + Sync {
    /// Work done so far in the current repetition (calls, events, connections,
    /// transfers): the position of a progress bar.
    fn set_position(&self, _done: u64) {}
    /// Once a second while the engine's load runs.
    fn tick(&self, _tick: Tick) {}
}

/// Progress nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {}

/// Where raw samples go (`--raw`: reference/002's JSONL). A failed write is reported
/// once and the sink is dropped for the rest of the case; the measurement goes on.
pub trait RawSink: Send {
    /// A new case begins (`#TEST=<case>`).
    fn header(&mut self, case: &str) -> std::io::Result<()>;
    /// A measured call that succeeded after `latency`.
    fn ok(&mut self, latency: Duration) -> std::io::Result<()>;
    /// A measured call that failed, by error kind.
    fn err(&mut self, kind: &str) -> std::io::Result<()>;
    /// A connection set-up: TCP (and TLS), the first call on it, the whole attempt.
    fn connect(&mut self, setup: Duration, call: Duration, total: Duration) -> std::io::Result<()>;
}

/// What a case is given besides its driver and its spec.
pub struct Hooks<'a> {
    pub progress: &'a dyn Progress,
    pub raw: Option<&'a mut dyn RawSink>,
    /// The server's own view of itself (the hold kind's memory per connection).
    pub admin: Option<AdminView>,
    /// The server's CPU, read at the start and end of every measured window (which
    /// side was the bottleneck).
    pub server: Option<ServerProbe>,
    /// Whether the server's clock is the generator's (same host): a pushed event's
    /// server-side stamp can only be compared with its arrival then.
    pub same_clock: bool,
}

impl<'a> Hooks<'a> {
    /// Hooks that report nothing.
    pub fn silent() -> Hooks<'a> {
        Hooks {
            progress: &NoProgress,
            raw: None,
            admin: None,
            server: None,
            same_clock: true,
        }
    }

    /// Writes one raw line, giving up on the raw sink after its first error.
    pub(crate) fn raw(&mut self, write: impl FnOnce(&mut dyn RawSink) -> std::io::Result<()>) {
        if let Some(w) = self.raw.as_deref_mut() {
            if let Err(e) = write(w) {
                tracing::warn!(error = %e, "raw samples no longer written");
                self.raw = None;
            }
        }
    }
}
