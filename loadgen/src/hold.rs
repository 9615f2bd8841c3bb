//! The `hold` kind: open N connections (at most 64 handshakes at a time, through
//! `Driver::connect`, so any protocol), keep them all open, and meanwhile let one
//! more client call `op` at a fixed rate; its latency counts from each call's
//! intended time (coordinated omission corrected, as the engine's open loop).
//! Measured: set-up rate, connections held, the probe's latency, and the server's
//! memory per held connection from its admin `GET /metrics?format=json` (`rss_bytes`
//! before opening and while holding; every server shares core's admin).
//!
//! The generator's open-file limit is raised to its hard limit at start
//! (`raise_nofile_limit`); when even that is below N the count is capped and the
//! repetition says so. Protocol-agnostic; never prints.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use crate::driver::http::get_once;
use crate::driver::{CallError, Driver};
use crate::engine::{EngineError, Sinks};
use crate::scenario::{verify_target, CaseResult, CaseSpec, Kind, Repetition};
use crate::selfcheck::{CpuMeter, CPU_SATURATED};
use crate::stats::{HoldStats, Percentiles, Recorder};

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

/// The server's own view from its admin JSON: (RSS bytes, open connections).
pub async fn server_view(admin: &str) -> Option<(Option<u64>, Option<i64>)> {
    let (status, body) = get_once(admin, "/metrics?format=json", Duration::from_secs(5)).await?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some((v["rss_bytes"].as_u64(), v["open_connections"].as_i64()))
}

/// Runs every repetition of a hold case.
pub async fn run<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    sinks: &mut Sinks<'_>,
    result: &mut CaseResult,
) -> Result<(), EngineError> {
    let Kind::Hold {
        connections,
        probe_rate,
        ref admin,
    } = spec.kind
    else {
        return Ok(());
    };
    verify_target(driver, &spec.op).await?;
    let nofile = raise_nofile_limit();
    let count = capped(connections, nofile);
    for _ in 0..spec.repeat.max(1) {
        sinks.bar.set_position(0);
        let before = match admin {
            Some(a) => server_view(a).await,
            None => None,
        };
        let mut rec = Recorder::new();
        let t0 = Instant::now();
        let opened: Vec<_> = futures::stream::iter(0..count)
            .map(|_| {
                let d = driver.clone();
                async move { d.connect().await }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let setup = t0.elapsed();
        let mut held = Vec::with_capacity(count);
        for r in opened {
            match r {
                Ok((c, _)) => held.push(c),
                Err(e) => rec.record_error(&e.kind(), Duration::ZERO),
            }
        }
        sinks.bar.set_position(held.len() as u64);
        let during = match admin {
            Some(a) => server_view(a).await,
            None => None,
        };
        let cpu = CpuMeter::start();
        probe(driver, spec, probe_rate, &mut rec).await;
        let end = match admin {
            Some(a) => server_view(a).await,
            None => None,
        };
        let stats = HoldStats {
            wanted: connections,
            held: held.len(),
            failed: count - held.len(),
            setup_per_sec: held.len() as f64 / setup.as_secs_f64().max(1e-9),
            probe: Percentiles::from_histogram(rec.latency_histogram()),
            server_bytes_per_conn: bytes_per_conn(before, during, held.len()),
            server_open_connections: end.and_then(|v| v.1),
            nofile_limit: nofile,
            capped_by_nofile: count < connections,
        };
        drop(held);
        let mut rep = Repetition::of(rec.summary(spec.plan.duration));
        rep.workers = 1;
        rep.connections = stats.held + 1;
        rep.cpu_fraction = cpu.fraction();
        if stats.capped_by_nofile {
            rep.invalid.push(format!(
                "open-file limit {} caps the connections at {count} of {connections}",
                nofile.unwrap_or(0)
            ));
        }
        if let Some(f) = rep.cpu_fraction.filter(|f| *f > CPU_SATURATED) {
            rep.invalid.push(format!(
                "load generator CPU saturated ({:.0}% of its cores) during the probe",
                f * 100.0
            ));
        }
        rep.hold = Some(stats);
        result.repetitions.push(rep);
    }
    Ok(())
}

/// How many of `wanted` connections the open-file limit leaves room for.
pub fn capped(wanted: usize, nofile: Option<u64>) -> usize {
    let room = nofile.map_or(u64::MAX, |n| n.saturating_sub(FD_MARGIN));
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// RSS growth from before the connections to while they are held, per connection.
fn bytes_per_conn(
    before: Option<(Option<u64>, Option<i64>)>,
    during: Option<(Option<u64>, Option<i64>)>,
    held: usize,
) -> Option<f64> {
    let (a, b) = (before?.0?, during?.0?);
    (held > 0).then(|| (b as f64 - a as f64) / held as f64)
}

/// The probe: one more connection calling `spec.op` at `rate` per second for the
/// case's duration, each call's latency from its intended time.
async fn probe<D: Driver>(driver: &Arc<D>, spec: &CaseSpec, rate: f64, rec: &mut Recorder) {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now();
    let calls = (spec.plan.duration.as_secs_f64() * rate).ceil().max(1.0) as u64;
    let mut conn = None;
    for i in 0..calls {
        let due = start + period * i as u32;
        tokio::time::sleep_until(due).await;
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

/// Statistics across repetitions a hold case adds.
pub fn metrics(result: &CaseResult) -> Vec<(&'static str, Vec<f64>)> {
    let holds: Vec<&HoldStats> = result
        .repetitions
        .iter()
        .filter_map(|r| r.hold.as_ref())
        .collect();
    vec![
        (
            "setup_per_sec",
            holds.iter().map(|h| h.setup_per_sec).collect(),
        ),
        (
            "probe_p99_us",
            holds.iter().map(|h| h.probe.p99_us as f64).collect(),
        ),
    ]
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
