//! The push kinds: `stream` (the server pushes N events to each of `connections`
//! streams) and `broadcast` (K subscribers, one publisher at a fixed rate). They run
//! over any `Driver` through its `stream` / `subscribe` / `publish` methods, so a
//! protocol takes part by decoding its wire format and nothing more; what arrived
//! is judged here: one-way latency from each event's send stamp (the server's for a
//! stream, the publisher's for a broadcast: wall clock, same host), events/s, gaps,
//! reorders, losses and lag notices, into `Repetition.push` and `Repetition.summary`
//! (deliveries as requests, delivery latency as latency). Repetitions as for every
//! kind. Never a protocol detail, never output formatting beyond the table note.

mod broadcast;
mod stream;
pub mod tally;

use std::sync::Arc;
use std::time::Duration;

use crate::driver::Driver;
use crate::engine::{EngineError, Sinks};
use crate::scenario::{CaseResult, CaseSpec, Kind, Repetition};
use crate::stats::{PushStats, Recorder};

pub use broadcast::{message_body, parse_body, Body};

/// Runs every repetition of a `stream` or `broadcast` case.
pub async fn run<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    sinks: &mut Sinks<'_>,
    result: &mut CaseResult,
) -> Result<(), EngineError> {
    for _ in 0..spec.repeat.max(1) {
        sinks.bar.set_position(0);
        let rep = match spec.kind {
            Kind::Stream {
                count,
                interval_ms,
                size,
            } => stream::run(driver, spec, count, interval_ms, size, sinks).await?,
            Kind::Broadcast {
                subscribers,
                rate,
                size,
            } => broadcast::run(driver, spec, subscribers, rate, size, sinks).await?,
            _ => return Ok(()),
        };
        result.repetitions.push(rep);
    }
    Ok(())
}

/// A repetition from what a push runner measured.
fn repetition(
    delivery: Recorder,
    push: PushStats,
    elapsed: Duration,
    cpu: crate::selfcheck::CpuMeter,
    mut invalid: Vec<String>,
) -> Repetition {
    let cpu_fraction = cpu.fraction();
    if let Some(f) = cpu_fraction.filter(|f| *f > crate::selfcheck::CPU_SATURATED) {
        invalid.push(format!(
            "load generator CPU saturated ({:.0}% of its cores)",
            f * 100.0
        ));
    }
    Repetition {
        summary: delivery.summary(elapsed),
        cpu_fraction,
        workers: push.subscribers,
        connections: push.subscribers,
        invalid,
        offered_rate: None,
        connect: None,
        push: Some(push),
        transfer: None,
        hold: None,
    }
}

/// One-way latency of an event stamped `sent_us` that arrived at `arrived_us`.
fn latency_us(sent_us: u64, arrived_us: u64) -> u64 {
    arrived_us.saturating_sub(sent_us).max(1)
}

/// Shows deliveries on the progress bar until dropped.
fn progress(sinks: &Sinks<'_>, tally: &Arc<tally::Tally>) -> tokio::task::JoinHandle<()> {
    let (bar, tally) = (sinks.bar.clone(), tally.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let n = tally.delivered.load(std::sync::atomic::Ordering::Relaxed);
            bar.set_position(n);
        }
    })
}

/// What names a push case beside its kind (`1000x64B`, `100subs@100/s`); `None`
/// for the other kinds, which are named by their op.
pub fn case_label(kind: &Kind) -> Option<String> {
    match kind {
        Kind::Stream { count, size, .. } => Some(format!("{count}x{size}B")),
        Kind::Broadcast {
            subscribers, rate, ..
        } => Some(format!("{subscribers}subs@{rate}")),
        _ => None,
    }
}

/// The results table's note for a push case.
pub fn note(p: &PushStats) -> String {
    let mut parts = vec![
        format!("{:.0} events/s", p.events_per_sec),
        format!("delivery p99 {:.3} ms", p.delivery.p99_us as f64 / 1000.0),
        format!("lost {}", p.lost),
        format!("lagged {}", p.lagged),
    ];
    if p.gaps + p.reorders > 0 {
        parts.push(format!("gaps {} reorders {}", p.gaps, p.reorders));
    }
    if let Some(s) = &p.subscriber_p99 {
        parts.push(format!(
            "{} subscribers, their p99 {:.3}..{:.3} ms",
            p.subscribers,
            s.min_us as f64 / 1000.0,
            s.max_us as f64 / 1000.0
        ));
    }
    if p.resumed > 0 {
        parts.push(format!("resumed {}", p.resumed));
    }
    parts.join(", ")
}
