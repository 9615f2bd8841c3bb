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

use crate::case::{LagStats, Repetition};
use crate::selfcheck::WindowUsage;
use crate::sink::Progress;
use crate::stats::{Percentiles, Recorder};

use super::tally::Tally;

/// A repetition from what a push runner measured: `planned` subscriptions or
/// streams asked for.
pub(crate) fn repetition(
    delivery: Recorder,
    push: PushStats,
    elapsed: Duration,
    window: Option<WindowUsage>,
    planned: usize,
) -> Repetition {
    let mut rep = Repetition::measured(delivery, elapsed);
    rep.set_window(window);
    rep.workers = push.subscribers;
    rep.connections = push.subscribers;
    rep.planned_connections = planned;
    rep.push = Some(push);
    rep
}

/// Latency of an event meant to go out at `due_us` that arrived at `arrived_us`.
pub(crate) fn latency_us(due_us: u64, arrived_us: u64) -> u64 {
    arrived_us.saturating_sub(due_us).max(1)
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
    /// Delivery latency of every event, from the time it was meant to go out (a
    /// stream's request time plus its place in the schedule, a broadcast's publish
    /// slot) to its arrival, both on the generator's clock: a slow server or a slow
    /// consumer shows as latency.
    pub delivery: Percentiles,
    /// Stream: the server's own send stamp to arrival, only when the server shares
    /// the generator's clock (same host); `None` means the clock domain is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_way: Option<Percentiles>,
    /// Broadcast: the spread across subscribers of each one's P50 and P99.
    pub subscriber_p50: Option<Percentiles>,
    pub subscriber_p99: Option<Percentiles>,
    /// Broadcast: messages the publisher sent in the measured phase, and at what
    /// rate it managed to send them (messages/s).
    #[serde(default)]
    pub published: u64,
    #[serde(default)]
    pub publish_rate: f64,
    /// Broadcast: how late each publish went out after its slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_lag: Option<LagStats>,
    /// Times a stream's connection dropped and the driver resumed it (SSE
    /// Last-Event-ID).
    #[serde(default)]
    pub resumed: u64,
}
