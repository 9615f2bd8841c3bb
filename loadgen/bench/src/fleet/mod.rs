//! A distributed generator (issue 19): one coordinator and N members (`loadgen
//! worker`), after the gRPC benchmark driver and k6's execution segments.
//!
//! - Member i of n takes the segment [i/n, (i+1)/n) of the load ([`Segment`]):
//!   connections split, or rate/n with its schedule offset by i/(n·rate).
//! - The coordinator connects to each member, which says hello (its name and its
//!   orchestrator index, [`index_from_env`]) and has its clock offset measured; the
//!   members are ordered by index.
//! - Each repetition is one job per member with a common start time in that
//!   member's clock: every member opens its connections, then waits for the start,
//!   so every warm-up ends at once and every measured window is the same span.
//! - A member streams a heartbeat and the engine's ticks, then its outcome: its own
//!   verdict and its calls' histograms, intervals and send counts. The coordinator
//!   adds histograms (never averages percentiles), keeps each member's own line
//!   (`WorkerLine`) and judges the merged repetition by the usual rules.
//! - A member that dies, stalls ([`STALL`]) or starts late ([`LATE_START`]) makes
//!   the case FAILED with its name; every wait has a deadline.
//!
//! The messages are JSON lines over TCP ([`wire`]).

mod coordinator;
mod member;
mod merge;
mod segment;
pub mod wire;

pub use coordinator::{clock_offset, Fleet, FleetError, LATE_START, STALL};
pub use member::{serve, CaseRunner, Identity};
pub use merge::{merge, WorkerLine};
pub use segment::{index_from_env, Segment};
