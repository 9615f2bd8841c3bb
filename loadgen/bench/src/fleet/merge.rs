//! A fleet's repetition from its members' parts: histograms added (never
//! percentiles averaged), counts summed, each second's interval histograms added,
//! and every member's own line kept beside the merged figures.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::case::{LagStats, Repetition, SecondCounts, SecondStat, Status};
use crate::fleet::segment::Segment;
use crate::fleet::wire::Measured;
use crate::selfcheck::WindowUsage;
use crate::stats::{new_histogram, Interval, Recorder};

/// One member's repetition in brief, as run.json keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerLine {
    pub name: String,
    pub segment: Segment,
    pub repetition: usize,
    pub status: Status,
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p99_us: u64,
    pub connections: usize,
    /// Its own generator CPU over the window, as a fraction of its CPUs.
    pub client_cpu_fraction: Option<f64>,
    /// Open loop: its send lag p99.
    pub send_lag_p99_us: Option<u64>,
    /// How much later than the fleet's start it began (negative: earlier), ms.
    pub start_late_ms: f64,
    /// Its clock minus the coordinator's, ms, and the round trip that measured it.
    pub clock_offset_ms: f64,
    pub clock_rtt_ms: f64,
    /// Its own verdict's reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl std::fmt::Display for WorkerLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {} calls, {:.0}/s, p99 {} µs, started {:+.1} ms, clock {:+.2} ms",
            self.name,
            self.segment,
            self.requests,
            self.rps,
            self.p99_us,
            self.start_late_ms,
            self.clock_offset_ms
        )
    }
}

/// The members' parts of one repetition as one repetition. `parts` is never empty.
pub fn merge(parts: &[&Measured]) -> Repetition {
    let mut recorder = Recorder::new();
    for p in parts {
        recorder.merge(&p.recorder);
    }
    // The members' windows are the same span (one start time, one warm-up): the
    // merged window is the longest of them.
    let elapsed = parts
        .iter()
        .map(|p| p.rep.summary.elapsed_s)
        .fold(0.0, f64::max);
    let elapsed = Duration::from_secs_f64(elapsed);
    let mut rep = Repetition::measured(recorder, elapsed);
    rep.workers = parts.iter().map(|p| p.rep.workers).sum();
    rep.connections = parts.iter().map(|p| p.rep.connections).sum();
    rep.planned_connections = parts.iter().map(|p| p.rep.planned_connections).sum();
    rep.set_window(fleet_window(parts));
    // The lag figures are the worst member's (each member's own are in its line).
    let worst = |lag: fn(&Repetition) -> Option<&LagStats>| {
        parts
            .iter()
            .filter_map(|p| lag(&p.rep))
            .max_by_key(|l| l.p99_us)
            .cloned()
    };
    rep.send_lag = worst(|r| r.send_lag.as_ref());
    rep.timer_lag = worst(|r| r.timer_lag.as_ref());
    let sends = add_up(parts.iter().map(|p| p.sends_each_second.as_slice()));
    if parts.iter().any(|p| p.rep.sends_per_second.is_some()) {
        rep.sends_per_second = SecondCounts::of(&sends, elapsed);
    }
    rep.sends_each_second = sends;
    rep.intervals = add_intervals(parts);
    rep.intervals_start_unix_s = parts
        .iter()
        .map(|p| p.measured_start_unix_s)
        .fold(f64::INFINITY, f64::min);
    rep.per_second = SecondStat::of(&rep.intervals, elapsed);
    rep
}

/// The fleet's generator CPU over the window: every member's CPU-seconds over
/// every member's CPUs; the busiest thread is the busiest of any member. The
/// server's side is the coordinator's to fill.
fn fleet_window(parts: &[&Measured]) -> Option<WindowUsage> {
    let windows: Vec<&WindowUsage> = parts.iter().filter_map(|p| p.rep.window.as_ref()).collect();
    if windows.len() < parts.len() {
        return None;
    }
    let wall_s = windows.iter().map(|w| w.wall_s).fold(0.0, f64::max);
    let client_cpu_s: f64 = windows.iter().map(|w| w.client_cpu_s).sum();
    let client_cpus: usize = windows.iter().map(|w| w.client_cpus).sum();
    Some(WindowUsage {
        wall_s,
        client_cpu_s,
        client_cpus,
        client_cpu_fraction: client_cpu_s / wall_s.max(1e-3) / client_cpus.max(1) as f64,
        busiest_thread_fraction: windows
            .iter()
            .map(|w| w.busiest_thread_fraction)
            .fold(0.0, f64::max),
        server_cpu_s: None,
        server_cpus: None,
        server_cpu_fraction: None,
        server_net_bytes: None,
        replicas: Vec::new(),
    })
}

/// Element-wise sums of counts per second.
fn add_up<'a>(series: impl Iterator<Item = &'a [u64]>) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for s in series {
        if out.len() < s.len() {
            out.resize(s.len(), 0);
        }
        for (o, v) in out.iter_mut().zip(s) {
            *o += v;
        }
    }
    out
}

/// Second k of the merged window is the sum of every member's second k.
fn add_intervals(parts: &[&Measured]) -> Vec<Interval> {
    let seconds = parts.iter().map(|p| p.intervals.len()).max().unwrap_or(0);
    (0..seconds)
        .map(|k| {
            let mut sum: Histogram<u64> = new_histogram();
            let mut shape = None;
            for i in parts.iter().filter_map(|p| p.intervals.get(k)) {
                shape.get_or_insert((i.offset, i.length));
                if let Some(h) = i.histogram() {
                    let _ = sum.add(&h);
                }
            }
            let (offset, length) =
                shape.unwrap_or((Duration::from_secs(k as u64), Duration::from_secs(1)));
            Interval::new(offset, length, &sum)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(latencies_us: &[u64], elapsed_s: f64, sends: &[u64]) -> Measured {
        let mut r = Recorder::new();
        let mut h = new_histogram();
        for &l in latencies_us {
            r.record_ok(
                Duration::from_micros(l),
                Duration::from_micros(l),
                None,
                10,
                20,
            );
            h.record(l).expect("in range");
        }
        r.record_error("timeout", Duration::from_millis(5));
        let mut rep = Repetition::measured(r.clone(), Duration::from_secs_f64(elapsed_s));
        rep.workers = 2;
        rep.connections = 2;
        rep.planned_connections = 2;
        Measured {
            rep,
            recorder: r,
            intervals: vec![Interval::new(Duration::ZERO, Duration::from_secs(1), &h)],
            measured_start_unix_s: 100.0 + elapsed_s,
            sends_each_second: sends.to_vec(),
        }
    }

    #[test]
    fn the_merge_is_the_sum_of_the_members() {
        let a = part(&[100, 200, 300], 2.0, &[3, 4]);
        let b = part(&[1000, 2000], 2.1, &[5]);
        let m = merge(&[&a, &b]);
        assert_eq!(m.summary.requests, 5);
        assert_eq!(m.summary.errors, 2);
        assert_eq!(m.summary.elapsed_s, 2.1);
        assert_eq!(m.connections, 4);
        assert_eq!(m.sends_each_second, [8, 4]);
        let mut all = a.recorder.clone();
        all.merge(&b.recorder);
        assert_eq!(
            m.recorder
                .as_ref()
                .map(|r| r.summary(Duration::from_secs_f64(2.1))),
            Some(all.summary(Duration::from_secs_f64(2.1)))
        );
        // P99 of the merged calls is a call of b's, not an average of two P99s.
        assert!(m.summary.latency.p99_us >= 2000);
        let second = m.intervals[0].histogram().expect("decodes");
        assert_eq!(second.len(), 5);
        assert_eq!(m.intervals_start_unix_s, 102.0);
    }

    #[test]
    fn a_part_crosses_the_wire_unchanged() {
        let a = part(&[100, 250], 1.0, &[2]);
        let text = serde_json::to_string(&a).expect("serialises");
        let back: Measured = serde_json::from_str(&text).expect("parses");
        let d = Duration::from_secs(1);
        assert_eq!(back.recorder.summary(d), a.recorder.summary(d));
        assert_eq!(back.intervals, a.intervals);
        assert_eq!(back.rep.summary, a.rep.summary);
    }
}
