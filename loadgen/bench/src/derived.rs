//! Values derived from a case's measurements, each computed here once so the
//! terminal table, the reports, the regression gate and the dashboard agree: the
//! workload a case runs (its name without the protocol), the server's efficiency
//! (requests per CPU-second, memory per connection) and its CPU % over time.
//! Pure functions of `CaseResult`; nothing here measures or does IO.

use serde::Serialize;

use crate::case::CaseResult;
use crate::usage::ServerUsage;

/// Below this much server CPU time a requests-per-CPU-second figure is mostly
/// clock-tick rounding (/proc counts in 10 ms ticks), so none is given.
const MIN_CPU_SECONDS: f64 = 0.05;

/// Below this many connections, memory growth per connection is mostly allocator
/// and cache noise rather than what a connection costs, so none is given.
pub const MANY_CONNECTIONS: usize = 64;

/// How much server a case's work took.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Efficiency {
    /// Server CPU-seconds over the whole case (warm-up and every repetition).
    pub cpu_seconds: f64,
    /// Measured requests (all repetitions) per server CPU-second. The CPU time
    /// includes warm-up, so this is a lower bound; `None` when too little CPU was
    /// used to tell.
    pub requests_per_cpu_second: Option<f64>,
    /// Server memory growth per connection (peak minus start over the most
    /// connections a repetition opened, when that is [`MANY_CONNECTIONS`] or more),
    /// or the hold kind's own figure.
    pub memory_per_connection_bytes: Option<f64>,
    /// Highest server memory seen during the case.
    pub peak_memory_bytes: u64,
    /// Mean server CPU over the case, in % of one core.
    pub mean_cpu_percent: Option<f64>,
}

impl CaseResult {
    /// The target, not the generator, let this case down: it failed before measuring
    /// anything (verification, no connection) or a transfer came back corrupted. An
    /// INVALID case that is not broken has numbers the generator cannot vouch for
    /// (its CPU saturated, its schedule lagged).
    pub fn broken(&self) -> bool {
        let corrupted = self.repetitions.iter().any(|r| {
            r.transfer
                .as_ref()
                .is_some_and(|t| t.integrity_failures > 0)
        });
        self.skipped.is_none() && (self.repetitions.is_empty() || corrupted)
    }

    /// The workload: the case name without its `<protocol>/` prefix, so the same
    /// suite case on every endpoint shares one workload (`throughput/get_item`).
    pub fn workload(&self) -> &str {
        let name = &self.spec.name;
        name.strip_prefix(self.spec.protocol.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty())
            .unwrap_or(name)
    }

    /// The server's efficiency, when its usage was observed.
    pub fn efficiency(&self) -> Option<Efficiency> {
        let usage = self.server_usage.as_ref()?;
        let requests: u64 = self.repetitions.iter().map(|r| r.summary.requests).sum();
        let per_cpu = (usage.cpu_seconds >= MIN_CPU_SECONDS && requests > 0)
            .then(|| requests as f64 / usage.cpu_seconds);
        let held = self
            .repetitions
            .iter()
            .rev()
            .find_map(|r| r.hold.as_ref().and_then(|h| h.server_bytes_per_conn));
        let connections = self.repetitions.iter().map(|r| r.connections).max();
        let growth = usage.peak_rss_bytes.saturating_sub(usage.rss_start_bytes) as f64;
        let per_conn = held.or_else(|| {
            connections
                .filter(|c| *c >= MANY_CONNECTIONS)
                .map(|c| growth / c as f64)
        });
        let span = usage.samples.last().map(|s| s.0).unwrap_or(0.0);
        Some(Efficiency {
            cpu_seconds: usage.cpu_seconds,
            requests_per_cpu_second: per_cpu,
            memory_per_connection_bytes: per_conn,
            peak_memory_bytes: usage.peak_rss_bytes,
            mean_cpu_percent: (span > 0.0).then(|| usage.cpu_seconds / span * 100.0),
        })
    }
}

/// Server CPU in % of one core between consecutive samples, at each interval's end
/// (seconds since the case began). Samples are cumulative CPU-seconds, so each
/// point is the CPU used in that interval over its length.
pub fn cpu_percent_series(usage: &ServerUsage) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut prev = (0.0, 0.0);
    for &(t, cpu, _) in &usage.samples {
        let dt = t - prev.0;
        if dt > 1e-3 {
            out.push((t, ((cpu - prev.1) / dt * 100.0).max(0.0)));
            prev = (t, cpu);
        }
    }
    out
}

/// Server memory in bytes at each sample (seconds since the case began).
pub fn memory_series(usage: &ServerUsage) -> Vec<(f64, u64)> {
    usage.samples.iter().map(|&(t, _, m)| (t, m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> ServerUsage {
        ServerUsage {
            source: "proc".into(),
            cpu_seconds: 1.5,
            peak_rss_bytes: 30 << 20,
            rss_start_bytes: 10 << 20,
            rss_end_bytes: 20 << 20,
            samples: vec![
                (1.0, 0.5, 12 << 20),
                (2.0, 1.0, 30 << 20),
                (3.0, 1.5, 20 << 20),
            ],
            net_rx_bytes: None,
            net_tx_bytes: None,
        }
    }

    #[test]
    fn cpu_percent_is_per_interval() {
        let s = cpu_percent_series(&usage());
        assert_eq!(s, [(1.0, 50.0), (2.0, 50.0), (3.0, 50.0)]);
        assert_eq!(memory_series(&usage())[1], (2.0, 30 << 20));
    }

    #[test]
    fn efficiency_is_requests_over_cpu_and_growth_over_connections() {
        let json = include_str!("../../tests/fixtures/case.json");
        let mut c: CaseResult = serde_json::from_str(json).expect("fixture case parses");
        assert_eq!(c.workload(), "throughput/ping");
        assert!(c.efficiency().is_none(), "no usage, no efficiency");
        c.server_usage = Some(usage());
        let e = c.efficiency().expect("efficiency");
        assert_eq!(e.requests_per_cpu_second, Some(3000.0 / 1.5));
        // Too few connections to tell a connection's cost from noise.
        assert_eq!(e.memory_per_connection_bytes, None);
        c.repetitions[0].connections = 128;
        let e = c.efficiency().expect("efficiency");
        // (30 - 10) MiB over 128 connections.
        assert_eq!(
            e.memory_per_connection_bytes,
            Some(f64::from(20 << 20) / 128.0)
        );
        assert_eq!(e.mean_cpu_percent, Some(50.0));
    }

    #[test]
    fn broken_means_no_numbers_or_corrupted_transfers_not_merely_invalid() {
        let json = include_str!("../../tests/fixtures/case.json");
        let mut c: CaseResult = serde_json::from_str(json).expect("fixture case parses");
        assert!(!c.broken());
        c.valid = false;
        c.problems = vec!["open-loop schedule lag p99 9ms exceeds 5ms".into()];
        assert!(!c.broken(), "INVALID but measured");
        c.repetitions[0].transfer = Some(crate::TransferStats {
            direction: crate::Direction::Download,
            size_bytes: 10,
            chunk_bytes: None,
            transfers: 1,
            integrity_failures: 1,
            mbps: vec![1.0],
            largest_piece_bytes: 10,
        });
        assert!(c.broken(), "a corrupted transfer");
        c.repetitions.clear();
        assert!(c.broken(), "no numbers");
        c.skipped = Some("echo is not offered by sse".into());
        assert!(!c.broken(), "skipped is neither");
    }
}
