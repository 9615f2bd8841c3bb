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
    /// Server CPU-seconds: over the measured windows when they were observed,
    /// else over the whole case (warm-up and every repetition).
    pub cpu_seconds: f64,
    /// Whether `cpu_seconds` covers the measured windows only.
    pub windowed: bool,
    /// Measured requests (all repetitions) per server CPU-second (a lower bound
    /// when not windowed); `None` when too little CPU was used to tell.
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

/// What each call cost over the measured windows: both sides' CPU, bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerCall {
    /// Generator CPU-µs per completed call (answered or failed).
    pub client_us: f64,
    /// Server CPU-µs per completed call, when the server was observed.
    pub server_us: Option<f64>,
    /// Bytes on the server's network interface (both ways) per completed call, when
    /// its counters were observed (the compose lab's containers).
    pub wire_bytes: Option<f64>,
}

impl CaseResult {
    /// The target let this case down (the verdict's FAILED): no numbers, wrong
    /// answers, a corrupted transfer or errors beyond the budget. An INVALID case
    /// that is not failed has numbers the generator cannot vouch for.
    pub fn broken(&self) -> bool {
        self.status == crate::case::Status::Failed
    }

    /// Calls completed in every repetition, answered or failed.
    fn calls(&self) -> u64 {
        self.repetitions
            .iter()
            .map(|r| r.summary.requests + r.summary.errors)
            .sum()
    }

    /// What each call cost over the measured windows: both sides' CPU, bytes on the wire. `None` when a
    /// repetition's window was not measured or nothing completed.
    pub fn per_call(&self) -> Option<PerCall> {
        let windows: Vec<_> = self
            .repetitions
            .iter()
            .map(|r| r.window.as_ref())
            .collect::<Option<_>>()?;
        let calls = self.calls();
        if calls == 0 || windows.is_empty() {
            return None;
        }
        let per_call = |cpu: f64| cpu * 1e6 / calls as f64;
        let server: Option<f64> = windows.iter().map(|w| w.server_cpu_s).sum();
        let wire: Option<u64> = windows.iter().map(|w| w.server_net_bytes).sum();
        Some(PerCall {
            client_us: per_call(windows.iter().map(|w| w.client_cpu_s).sum()),
            server_us: server.map(per_call),
            wire_bytes: wire.map(|b| b as f64 / calls as f64),
        })
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
        let windowed: Option<f64> = self
            .repetitions
            .iter()
            .map(|r| r.window.as_ref().and_then(|w| w.server_cpu_s))
            .sum();
        let cpu_seconds = windowed.unwrap_or(usage.cpu_seconds);
        let per_cpu =
            (cpu_seconds >= MIN_CPU_SECONDS && requests > 0).then(|| requests as f64 / cpu_seconds);
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
            cpu_seconds,
            windowed: windowed.is_some(),
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
}
