//! What the push kinds share: `stream` (the server pushes N events to each of
//! `connections` streams) and `broadcast` (K subscribers, one publisher at a fixed
//! rate) run over any `Driver` through its `stream` / `subscribe` / `publish`
//! methods, so a protocol takes part by decoding its wire format and nothing more;
//! what arrived is judged here: one-way latency from each event's send stamp (the
//! server's for a stream, the publisher's for a broadcast: wall clock, same host),
//! events/s, gaps, reorders, losses and lag notices, into `Repetition.push` and
//! `Repetition.summary` (deliveries as requests, delivery latency as latency).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::case::Repetition;
use crate::selfcheck::CpuMeter;
use crate::sink::Progress;
use crate::stats::{Percentiles, Recorder};

use super::tally::Tally;

/// A repetition from what a push runner measured.
pub(crate) fn repetition(
    delivery: Recorder,
    push: PushStats,
    elapsed: Duration,
    cpu: CpuMeter,
) -> Repetition {
    let mut rep = Repetition::of(delivery.summary(elapsed));
    rep.cpu_fraction = cpu.fraction();
    rep.workers = push.subscribers;
    rep.connections = push.subscribers;
    rep.push = Some(push);
    rep
}

/// One-way latency of an event stamped `sent_us` that arrived at `arrived_us`.
pub(crate) fn latency_us(sent_us: u64, arrived_us: u64) -> u64 {
    arrived_us.saturating_sub(sent_us).max(1)
}

/// Awaits `tasks`, showing deliveries on the progress meanwhile.
pub(crate) async fn join_showing(
    tasks: Vec<tokio::task::JoinHandle<()>>,
    progress: &dyn Progress,
    tally: &Tally,
) {
    let all = futures::future::join_all(tasks);
    tokio::pin!(all);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = &mut all => break,
            _ = tick.tick() => progress.set_position(tally.delivered()),
        }
    }
    progress.set_position(tally.delivered());
}

/// Server push (the `stream` and `broadcast` kinds), one repetition. Filled by the
/// push runners; read by the printer and the reports.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct PushStats {
    /// Subscribers (1 for a stream).
    pub subscribers: usize,
    /// Events each subscriber should have received.
    pub expected_per_subscriber: u64,
    /// Events received, over all subscribers.
    pub received: u64,
    /// Events never received (`expected * subscribers - received`), lagged included.
    pub lost: u64,
    /// Events the server reported as skipped for a slow subscriber (`lagged` notices).
    pub lagged: u64,
    /// Sequence gaps (a jump forward) and reorders (a step back) seen, all subscribers.
    pub gaps: u64,
    pub reorders: u64,
    /// Events received per second, over all subscribers.
    pub events_per_sec: f64,
    /// One-way delivery latency of every event: its send stamp to its arrival (same
    /// host clock, so only meaningful with server and generator on one machine).
    pub delivery: Percentiles,
    /// Broadcast: the spread across subscribers of each one's P50 and P99.
    pub subscriber_p50: Option<Percentiles>,
    pub subscriber_p99: Option<Percentiles>,
    /// Broadcast: messages the publisher sent in the measured phase, and at what
    /// rate it managed to send them (messages/s).
    #[serde(default)]
    pub published: u64,
    #[serde(default)]
    pub publish_rate: f64,
    /// Times a stream's connection dropped and the driver resumed it (SSE
    /// Last-Event-ID).
    #[serde(default)]
    pub resumed: u64,
}
