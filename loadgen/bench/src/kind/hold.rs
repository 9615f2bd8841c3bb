//! The `hold` kind: open N connections (at most 64 handshakes at a time, through
//! `Driver::connect`, so any protocol), keep them all open, and meanwhile let one
//! more client call `op` at a fixed rate; its latency counts from each call's
//! intended time (coordinated omission corrected, as the engine's open loop).
//! Measured: set-up rate, connections held, the probe's latency, and the server's
//! memory per held connection from its own view (`Hooks::admin`: RSS before opening
//! and while holding, and the connections it counts open).
//!
//! The generator's open-file limit is raised to its hard limit at start
//! (`raise_nofile_limit`); when even that is below N the count is capped and the
//! repetition says so. Protocol-agnostic; never prints.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::case::{CaseResult, CaseSpec, Kind, Metric, Repetition};
use crate::driver::{CallError, Driver};
use crate::engine::{open_connections, verify_target, EngineError};
use crate::pacer::Pacer;
use crate::selfcheck::Meter;
use crate::sink::Hooks;
use crate::stats::{Percentiles, Recorder};
use crate::usage::AdminReading;

/// File descriptors the generator keeps for itself beyond the held connections
/// (stdio, the runtime, the probe, result files).
const FD_MARGIN: u64 = 64;

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit now in force.
pub fn raise_nofile_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(rlimit::INFINITY) {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "open-file limit not raised");
            rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
        }
    }
}

/// A hold case.
pub(crate) struct Hold<'a, D> {
    driver: &'a Arc<D>,
    spec: &'a CaseSpec,
    /// Connections to open: the ask, capped by the open-file limit.
    count: usize,
    nofile: Option<u64>,
}

impl<'a, D: Driver> Hold<'a, D> {
    pub(crate) fn new(driver: &'a Arc<D>, spec: &'a CaseSpec) -> Self {
        Hold {
            driver,
            spec,
            count: 0,
            nofile: None,
        }
    }
}

impl<D: Driver> super::Measure for Hold<'_, D> {
    async fn prepare(&mut self) -> Result<(), EngineError> {
        let Kind::Hold { connections, .. } = self.spec.kind else {
            return Err(EngineError::NoConnection(CallError::Unsupported("hold")));
        };
        verify_target(self.driver, &self.spec.op).await?;
        self.nofile = raise_nofile_limit();
        self.count = capped(connections, self.nofile);
        Ok(())
    }

    async fn repetition(
        &mut self,
        _index: usize,
        hooks: &mut Hooks<'_>,
    ) -> Result<Repetition, EngineError> {
        let (driver, spec) = (self.driver, self.spec);
        let Kind::Hold {
            connections,
            probe_rate,
            ..
        } = spec.kind
        else {
            return Err(EngineError::NoConnection(CallError::Unsupported("hold")));
        };
        let count = self.count;
        let view = || async {
            match &hooks.admin {
                Some(v) => v().await,
                None => None,
            }
        };
        let before = view().await;
        let mut rec = Recorder::new();
        let t0 = Instant::now();
        let (held, failed) = open_connections(driver, count).await?;
        let setup = t0.elapsed();
        // Connections that could not be held are the case's errors.
        for (e, took) in &failed {
            rec.record_error(&e.kind(), *took);
        }
        hooks.progress.set_position(held.len() as u64);
        let during = view().await;
        let server = hooks.server.clone();
        let meter = Meter::start(server.as_ref()).await;
        let probing = Instant::now();
        probe(driver, spec, probe_rate, &mut rec).await;
        let probed = probing.elapsed();
        let window = meter.stop().await;
        let end = view().await;
        let stats = HoldStats {
            wanted: connections,
            held: held.len(),
            failed: count - held.len(),
            setup_per_sec: held.len() as f64 / setup.as_secs_f64().max(1e-9),
            probe: Percentiles::from_histogram(rec.latency_histogram()),
            server_bytes_per_conn: bytes_per_conn(before, during, held.len()),
            server_open_connections: end.and_then(|v| v.open_connections),
            nofile_limit: self.nofile,
            capped_by_nofile: count < connections,
        };
        drop(held);
        // The probe's own window: its calls over the time it took.
        let mut rep = Repetition::measured(rec, probed);
        rep.set_window(window);
        rep.workers = 1;
        rep.connections = stats.held + 1;
        rep.planned_connections = count + 1;
        rep.hold = Some(stats);
        Ok(rep)
    }

    fn finish(self, result: &mut CaseResult) {
        let holds: Vec<&HoldStats> = result
            .repetitions
            .iter()
            .filter_map(|r| r.hold.as_ref())
            .collect();
        let setup: Vec<f64> = holds.iter().map(|h| h.setup_per_sec).collect();
        let probe: Vec<f64> = holds.iter().map(|h| h.probe.p99_us as f64).collect();
        result.add_stat(Metric::SetupPerSec, &setup);
        result.add_stat(Metric::ProbeP99Us, &probe);
    }
}

/// How many of `wanted` connections the open-file limit leaves room for.
pub fn capped(wanted: usize, nofile: Option<u64>) -> usize {
    let room = nofile.map_or(u64::MAX, |n| n.saturating_sub(FD_MARGIN));
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// RSS growth from before the connections to while they are held, per connection.
fn bytes_per_conn(
    before: Option<AdminReading>,
    during: Option<AdminReading>,
    held: usize,
) -> Option<f64> {
    let (a, b) = (before?.rss_bytes?, during?.rss_bytes?);
    (held > 0).then(|| (b as f64 - a as f64) / held as f64)
}

/// The probe: one more connection calling `spec.op` at `rate` per second for the
/// case's duration, each call's latency from its intended time.
async fn probe<D: Driver>(driver: &Arc<D>, spec: &CaseSpec, rate: f64, rec: &mut Recorder) {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now();
    let calls = (spec.plan.duration.as_secs_f64() * rate).ceil().max(1.0) as u64;
    let mut conn = None;
    let pacer = Pacer::new(crate::pacer::clock_is_real());
    for i in 0..calls {
        let due = start + period * i as u32;
        pacer.sleep_until(due).await;
        let sent = Instant::now();
        let attempt = async {
            let c = match &mut conn {
                Some(c) => c,
                None => conn.insert(driver.connect().await?.0),
            };
            driver.call(c, &spec.op, i).await
        };
        let r = tokio::time::timeout(spec.plan.timeout, attempt)
            .await
            .unwrap_or(Err(CallError::Timeout));
        let now = Instant::now();
        match r {
            Ok(o) => rec.record_ok(now - due, now - sent, o.ttfb, o.sent, o.received),
            Err(e) => {
                if e.breaks_connection() {
                    conn = None;
                }
                rec.record_error(&e.kind(), now - due);
            }
        }
    }
}

/// Held connections (the `hold` kind), one repetition.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HoldStats {
    /// Connections asked for, and how many were open at once at the peak.
    pub wanted: usize,
    pub held: usize,
    /// Connections that could not be opened (by error kind in the summary).
    pub failed: usize,
    /// Connections opened per second while setting up.
    pub setup_per_sec: f64,
    /// The probe client's latency while every connection was held.
    pub probe: Percentiles,
    /// Server memory growth per held connection, when the server could be observed.
    pub server_bytes_per_conn: Option<f64>,
    /// Connections the server itself counted open at the end of the hold (its admin
    /// `/metrics?format=json`), when it could be asked.
    #[serde(default)]
    pub server_open_connections: Option<i64>,
    /// The generator's open-file limit, and whether it capped `wanted` below the ask.
    #[serde(default)]
    pub nofile_limit: Option<u64>,
    #[serde(default)]
    pub capped_by_nofile: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_file_limit_caps_the_count() {
        assert_eq!(capped(10_000, Some(1024)), 1024 - FD_MARGIN as usize);
        assert_eq!(capped(100, Some(1024)), 100);
        assert_eq!(capped(100, None), 100);
        assert_eq!(capped(100, Some(10)), 0);
        assert!(raise_nofile_limit().is_some_and(|n| n > 0));
    }
}
