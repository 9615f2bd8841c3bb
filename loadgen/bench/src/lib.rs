//! protolab's measurement engine, as a library: the [`Driver`] trait a protocol
//! implements, the load engine (closed and open loop, coordinated-omission
//! corrected), HdrHistogram statistics, the kinds of measurement (one file each
//! under `kind/`) behind one [`run_case`], and the one validity verdict.
//!
//! It knows no protocol (drivers live in `protolab-drivers`) and no command line:
//! progress and raw samples leave through the small traits in [`sink`], which
//! callers implement (the `loadgen` binary with indicatif). [`results`] is a run's
//! files (run.json, .hlog, CSV, JSONL), which `loadgen report` and `compare` read.
//!
//! To benchmark your own calls with this engine, start at [`measure`].

pub mod case;
pub mod derived;
pub mod driver;
pub mod engine;
pub mod fleet;
mod kind;
pub mod measure;
mod pacer;
pub mod results;
pub mod selfcheck;
pub mod sink;
pub mod slow;
pub mod stats;
pub mod usage;
mod verdict;

pub use case::{
    CaseResult, CaseSpec, ConnectBreakdown, Kind, KindName, MatrixCell, Metric, Repetition, Status,
};
pub use driver::{CallError, CallOutcome, ConnectTimings, Driver, OpSpec, Refusal};
pub use engine::{EngineError, LoadPlan, Model, Schedule};
pub use kind::hold::{raise_nofile_limit, HoldStats};
pub use kind::pipeline::ClientLine;
pub use kind::push::PushStats;
pub use kind::transfer::{Direction, TransferStats};
pub use kind::{conclude, run_case};
pub use sink::{Hooks, NoProgress, Progress, RawSink, Tick};

/// Seconds since the Unix epoch (run ids, histogram log start times).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
