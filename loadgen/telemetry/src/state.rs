//! The shared aggregate behind one mutex: per-(target, name) statistics, the
//! totals and the kept slow calls. The layer hands it one closed span at a time;
//! the `Telemetry` handle turns it into a report. It never sees a live span and
//! never formats anything.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

use crate::report::{SlowCall, SpanStats, TelemetryReport};

/// reference/001's `slow_call_threshold=0.1` (seconds).
pub(crate) const DEFAULT_SLOW_THRESHOLD: Duration = Duration::from_millis(100);
/// reference/001's `deep_stack_threshold=5`.
pub(crate) const DEFAULT_DEEP_STACK_THRESHOLD: u32 = 5;
/// Enough to see what the slowest calls have in common, at a bounded cost
/// (a slow call is ~150 bytes).
pub(crate) const DEFAULT_KEEP_SLOW: usize = 100;
/// HdrHistogram precision: 0.1 % of the value, as everywhere in protolab.
const SIGNIFICANT_DIGITS: u8 = 3;

/// What the builder decided; fixed once the layer is built.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) slow_threshold: Duration,
    pub(crate) keep_slow: usize,
    pub(crate) deep_stack_threshold: u32,
    pub(crate) round_trip_names: HashSet<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            slow_threshold: DEFAULT_SLOW_THRESHOLD,
            keep_slow: DEFAULT_KEEP_SLOW,
            deep_stack_threshold: DEFAULT_DEEP_STACK_THRESHOLD,
            round_trip_names: HashSet::new(),
        }
    }
}

/// One span, as the layer hands it over when it closes.
pub(crate) struct ClosedSpan {
    pub(crate) target: &'static str,
    pub(crate) name: &'static str,
    pub(crate) created: Instant,
    pub(crate) wall: Duration,
    pub(crate) busy: Duration,
    pub(crate) depth: u32,
    pub(crate) parent_name: Option<&'static str>,
    pub(crate) failed: bool,
    pub(crate) round_trip: bool,
    /// Round-trip spans closed in this span's tree (itself included): `Some` only
    /// for a root span.
    pub(crate) root_round_trips: Option<u64>,
}

/// What the layer and every `Telemetry` clone share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    aggregate: Mutex<Aggregate>,
    /// Spans created and not yet closed (live state: `reset` leaves it alone).
    open_spans: AtomicU64,
    /// One clock pair read at build time, so a span's Unix start time costs no
    /// second clock read: `epoch_unix_s + (created - epoch)`.
    epoch: Instant,
    epoch_unix_s: f64,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        let epoch_unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        Self {
            config,
            aggregate: Mutex::new(Aggregate::default()),
            open_spans: AtomicU64::new(0),
            epoch: Instant::now(),
            epoch_unix_s,
        }
    }

    pub(crate) fn span_opened(&self) {
        self.open_spans.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one closed span: the only place the layer takes the lock.
    pub(crate) fn span_closed(&self, span: ClosedSpan) {
        self.open_spans.fetch_sub(1, Ordering::Relaxed);
        let start_unix_s = self.epoch_unix_s
            + span
                .created
                .saturating_duration_since(self.epoch)
                .as_secs_f64();
        self.lock().record(&self.config, &span, start_unix_s);
    }

    pub(crate) fn report(&self) -> TelemetryReport {
        let open_spans = self.open_spans.load(Ordering::Relaxed);
        self.lock().report(&self.config, open_spans)
    }

    pub(crate) fn reset(&self) {
        *self.lock() = Aggregate::default();
    }

    /// A panic elsewhere while holding the lock leaves counters that are still
    /// counters: keep going rather than panic the user's app.
    fn lock(&self) -> MutexGuard<'_, Aggregate> {
        self.aggregate
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Aggregate {
    by_span: HashMap<(&'static str, &'static str), SpanAccumulator>,
    total_calls: u64,
    failed_calls: u64,
    total_wall_us: u64,
    round_trips: u64,
    max_depth: u32,
    deep_calls: u64,
    slow_call_count: u64,
    /// Slowest first, at most `keep_slow` long.
    slowest: Vec<SlowCall>,
}

impl Aggregate {
    fn record(&mut self, config: &Config, span: &ClosedSpan, start_unix_s: f64) {
        let wall_us = micros(span.wall);
        self.by_span
            .entry((span.target, span.name))
            .or_insert_with(SpanAccumulator::new)
            .record(span, wall_us);
        self.total_calls += 1;
        self.failed_calls += u64::from(span.failed);
        self.total_wall_us = self.total_wall_us.saturating_add(wall_us);
        self.round_trips += u64::from(span.round_trip);
        self.max_depth = self.max_depth.max(span.depth);
        self.deep_calls += u64::from(span.depth >= config.deep_stack_threshold);
        if span.wall >= config.slow_threshold {
            self.slow_call_count += 1;
            let slow = || SlowCall {
                target: span.target.to_owned(),
                name: span.name.to_owned(),
                duration_us: wall_us,
                busy_us: micros(span.busy),
                depth: span.depth,
                parent: span.parent_name.map(str::to_owned),
                start_unix_s: round_to(start_unix_s, 6),
                failed: span.failed,
            };
            keep_slowest(&mut self.slowest, config.keep_slow, wall_us, slow);
        }
    }

    fn report(&self, config: &Config, open_spans: u64) -> TelemetryReport {
        let mut spans: Vec<SpanStats> = self
            .by_span
            .iter()
            .map(|(&(target, name), acc)| acc.stats(target, name))
            .collect();
        spans.sort_by(|a, b| {
            (b.total_us, &a.target, &a.name).cmp(&(a.total_us, &b.target, &b.name))
        });
        TelemetryReport {
            total_calls: self.total_calls,
            failed_calls: self.failed_calls,
            round_trips: self.round_trips,
            open_spans,
            max_depth: self.max_depth,
            deep_stack_threshold: config.deep_stack_threshold,
            deep_calls: self.deep_calls,
            avg_call_us: mean(self.total_wall_us, self.total_calls),
            slow_threshold_us: micros(config.slow_threshold),
            slow_call_count: self.slow_call_count,
            spans,
            slow_calls: self.slowest.clone(),
        }
    }
}

/// Inserts a slow call into `slowest` (slowest first) and caps it at `keep`; the
/// call is only built (strings allocated) when it will be kept.
fn keep_slowest(
    slowest: &mut Vec<SlowCall>,
    keep: usize,
    duration_us: u64,
    call: impl FnOnce() -> SlowCall,
) {
    let full = slowest.len() >= keep;
    if full && slowest.last().is_none_or(|c| c.duration_us >= duration_us) {
        return;
    }
    let at = slowest.partition_point(|c| c.duration_us >= duration_us);
    slowest.insert(at, call());
    slowest.truncate(keep);
}

/// One (target, name) row being accumulated.
struct SpanAccumulator {
    wall_us: Histogram<u64>,
    total_wall_us: u64,
    total_busy_us: u64,
    calls: u64,
    errors: u64,
    depth_sum: u64,
    max_depth: u32,
    round_trips: u64,
    root_calls: u64,
    root_round_trips_sum: u64,
    root_round_trips_max: u64,
}

impl SpanAccumulator {
    fn new() -> Self {
        Self {
            // Auto-resizing, so a span open for days still records exactly.
            wall_us: Histogram::new(SIGNIFICANT_DIGITS)
                .expect("3 significant digits is within HdrHistogram's 0..=5"),
            total_wall_us: 0,
            total_busy_us: 0,
            calls: 0,
            errors: 0,
            depth_sum: 0,
            max_depth: 0,
            round_trips: 0,
            root_calls: 0,
            root_round_trips_sum: 0,
            root_round_trips_max: 0,
        }
    }

    fn record(&mut self, span: &ClosedSpan, wall_us: u64) {
        // `record` grows the auto-resizing histogram (`saturating_record` would
        // clamp to its current top); it fails only past u64 range, then clamp.
        if self.wall_us.record(wall_us).is_err() {
            self.wall_us.saturating_record(wall_us);
        }
        self.total_wall_us = self.total_wall_us.saturating_add(wall_us);
        self.total_busy_us = self.total_busy_us.saturating_add(micros(span.busy));
        self.calls += 1;
        self.errors += u64::from(span.failed);
        self.depth_sum += u64::from(span.depth);
        self.max_depth = self.max_depth.max(span.depth);
        self.round_trips += u64::from(span.round_trip);
        if let Some(round_trips) = span.root_round_trips {
            self.root_calls += 1;
            self.root_round_trips_sum += round_trips;
            self.root_round_trips_max = self.root_round_trips_max.max(round_trips);
        }
    }

    fn stats(&self, target: &str, name: &str) -> SpanStats {
        SpanStats {
            target: target.to_owned(),
            name: name.to_owned(),
            calls: self.calls,
            errors: self.errors,
            total_us: self.total_wall_us,
            mean_us: mean(self.total_wall_us, self.calls),
            p50_us: self.wall_us.value_at_quantile(0.50),
            p90_us: self.wall_us.value_at_quantile(0.90),
            p99_us: self.wall_us.value_at_quantile(0.99),
            max_us: self.wall_us.max(),
            busy_mean_us: mean(self.total_busy_us, self.calls),
            mean_depth: mean(self.depth_sum, self.calls),
            max_depth: self.max_depth,
            round_trips: self.round_trips,
            root_calls: self.root_calls,
            round_trips_per_root_mean: mean(self.root_round_trips_sum, self.root_calls),
            round_trips_per_root_max: self.root_round_trips_max,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `sum / count` to three decimals, 0 for no calls (JSON has no NaN).
fn mean(sum: u64, count: u64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    round_to(sum as f64 / count as f64, 3)
}

/// Rounds to `decimals` places as `integer / 10^decimals`, which is exactly how
/// serde_json parses such a short decimal back: the saved report then loads back
/// equal to the one in memory (a 17-digit float might not, off by one ulp).
fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow(duration_us: u64) -> SlowCall {
        SlowCall {
            target: "t".into(),
            name: format!("call{duration_us}"),
            duration_us,
            busy_us: 0,
            depth: 0,
            parent: None,
            start_unix_s: 0.0,
            failed: false,
        }
    }

    #[test]
    fn keep_slowest_is_sorted_and_bounded() {
        let mut kept = Vec::new();
        for d in [30, 10, 50, 20, 40, 50] {
            keep_slowest(&mut kept, 3, d, || slow(d));
        }
        let durations: Vec<u64> = kept.iter().map(|c| c.duration_us).collect();
        assert_eq!(durations, [50, 50, 40]);
    }

    #[test]
    fn keep_zero_keeps_nothing() {
        let mut kept = Vec::new();
        keep_slowest(&mut kept, 0, 99, || slow(99));
        assert!(kept.is_empty());
    }

    #[test]
    fn mean_of_nothing_is_zero_and_means_are_rounded() {
        assert_eq!(mean(5, 0), 0.0);
        assert_eq!(mean(10, 3), 3.333);
        assert_eq!(round_to(1_712_345_678.123_456_7, 6), 1_712_345_678.123_457);
    }
}
