//! Statistics: per-call recording into HdrHistograms (microseconds, 3 significant
//! digits, 1 µs ..= 1 h, values clamped into range), summaries with percentiles, and
//! statistics across repetitions (reference/003's z-score outlier removal, then mean,
//! median, sample standard deviation, CV and a Student-t 95% confidence interval).
//! Pure computation: no IO, no clocks.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

const MAX_US: u64 = 3_600_000_000;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("constant histogram bounds are valid")
}

fn us(d: Duration) -> u64 {
    (d.as_micros().min(u128::from(MAX_US)) as u64).max(1)
}

/// Latency recorder of one worker or one case.
#[derive(Clone)]
pub struct Recorder {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    ttfb: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    sent: u64,
    received: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            latency: new_histogram(),
            service: new_histogram(),
            ttfb: new_histogram(),
            errors: BTreeMap::new(),
            sent: 0,
            received: 0,
        }
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// One successful call: `latency` as reported (corrected in open loop), `service`
    /// uncorrected, `ttfb` when the driver measured it, payload bytes both ways.
    pub fn record_ok(
        &mut self,
        latency: Duration,
        service: Duration,
        ttfb: Option<Duration>,
        sent: u64,
        received: u64,
    ) {
        self.latency.saturating_record(us(latency));
        self.service.saturating_record(us(service));
        if let Some(t) = ttfb {
            self.ttfb.saturating_record(us(t));
        }
        self.sent += sent;
        self.received += received;
    }

    /// One failed call, counted by kind (failures are not in the latency histograms).
    pub fn record_error(&mut self, kind: &str, _latency: Duration) {
        *self.errors.entry(kind.to_string()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides: `add` cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.ttfb.add(&other.ttfb);
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.sent += other.sent;
        self.received += other.received;
    }

    pub fn ok(&self) -> u64 {
        self.latency.len()
    }

    pub fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn latency_histogram(&self) -> &Histogram<u64> {
        &self.latency
    }

    /// The summary over a measured wall-clock window.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64().max(1e-9);
        Summary {
            requests: self.ok(),
            errors: self.errors(),
            errors_by_kind: self.errors.clone(),
            elapsed_s: elapsed.as_secs_f64(),
            rps: self.ok() as f64 / secs,
            mbps_sent: self.sent as f64 / 1e6 / secs,
            mbps_received: self.received as f64 / 1e6 / secs,
            latency: Percentiles::from_histogram(&self.latency),
            service: Percentiles::from_histogram(&self.service),
            ttfb: (!self.ttfb.is_empty()).then(|| Percentiles::from_histogram(&self.ttfb)),
        }
    }
}

/// What a case measured, in one repetition.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Summary {
    pub requests: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub elapsed_s: f64,
    pub rps: f64,
    /// Payload MB/s (10^6 bytes) each way.
    pub mbps_sent: f64,
    pub mbps_received: f64,
    /// Reported latency: from the intended send time in open loop.
    pub latency: Percentiles,
    /// Uncorrected service time (wrk2's -U); equals `latency` in closed loop.
    pub service: Percentiles,
    pub ttfb: Option<Percentiles>,
}

/// A latency distribution in microseconds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Percentiles {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub stddev_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub p9999_us: u64,
    pub max_us: u64,
}

impl Percentiles {
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        let q = |p: f64| h.value_at_quantile(p);
        Percentiles {
            count: h.len(),
            min_us: h.min(),
            mean_us: h.mean(),
            stddev_us: h.stdev(),
            p50_us: q(0.50),
            p90_us: q(0.90),
            p95_us: q(0.95),
            p99_us: q(0.99),
            p999_us: q(0.999),
            p9999_us: q(0.9999),
            max_us: h.max(),
        }
    }
}

/// Statistics of one metric across repetitions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RepStats {
    pub n: usize,
    pub kept: usize,
    /// Indices of the repetitions removed as outliers.
    pub removed: Vec<usize>,
    pub mean: f64,
    pub median: f64,
    pub stddev: f64,
    /// stddev / mean.
    pub cv: f64,
    /// 95% confidence interval of the mean (Student t, kept - 1 degrees of freedom);
    /// [mean, mean] when a single value is kept.
    pub ci95_low: f64,
    pub ci95_high: f64,
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n.max(1.0);
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Two-sided 95% Student t quantile for `dof` degrees of freedom.
pub fn t95(dof: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    match StudentsT::new(0.0, 1.0, dof.max(1) as f64) {
        Ok(t) => t.inverse_cdf(0.975),
        Err(_) => 1.959_964,
    }
}

/// reference/003's z-score outlier removal (|z| > `z_threshold`, only with n >= 3),
/// then the statistics of what is kept.
pub fn rep_stats(values: &[f64], z_threshold: f64) -> RepStats {
    let (mean_all, sd_all) = mean_sd(values);
    let removed: Vec<usize> = if values.len() >= 3 && sd_all > 0.0 {
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| ((*v - mean_all) / sd_all).abs() > z_threshold)
            .map(|(i, _)| i)
            .collect()
    } else {
        Vec::new()
    };
    let kept: Vec<f64> = values
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(_, v)| *v)
        .collect();
    let (mean, stddev) = mean_sd(&kept);
    let mut sorted = kept.clone();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    let half = if kept.len() > 1 {
        t95(kept.len() - 1) * stddev / (kept.len() as f64).sqrt()
    } else {
        0.0
    };
    RepStats {
        n: values.len(),
        kept: kept.len(),
        removed,
        mean,
        median,
        stddev,
        cv: if mean != 0.0 {
            stddev / mean.abs()
        } else {
            0.0
        },
        ci95_low: mean - half,
        ci95_high: mean + half,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let mut r = Recorder::new();
        for v in 1..=10_000u64 {
            r.record_ok(
                Duration::from_micros(v),
                Duration::from_micros(v),
                None,
                1,
                2,
            );
        }
        let s = r.summary(Duration::from_secs(2));
        assert_eq!(s.requests, 10_000);
        assert!(
            close(s.latency.p50_us as f64, 5000.0, 5.0),
            "{}",
            s.latency.p50_us
        );
        assert!(
            close(s.latency.p99_us as f64, 9900.0, 10.0),
            "{}",
            s.latency.p99_us
        );
        assert!(close(s.latency.mean_us, 5000.5, 3.0));
        assert!(
            close(s.latency.stddev_us, 2886.9, 3.0),
            "{}",
            s.latency.stddev_us
        );
        assert!(close(s.rps, 5000.0, 1e-9));
        assert!(close(s.mbps_received, 0.01, 1e-12));
    }

    #[test]
    fn merge_equals_recording_into_one() {
        let (mut a, mut b, mut all) = (Recorder::new(), Recorder::new(), Recorder::new());
        for v in 1..500u64 {
            let d = Duration::from_micros(v * 13);
            if v % 3 == 0 {
                a.record_ok(d, d, Some(d), 1, 1)
            } else {
                b.record_ok(d, d, Some(d), 1, 1)
            }
            all.record_ok(d, d, Some(d), 1, 1);
        }
        a.record_error("timeout", Duration::ZERO);
        all.record_error("timeout", Duration::ZERO);
        a.merge(&b);
        assert_eq!(
            a.summary(Duration::from_secs(1)),
            all.summary(Duration::from_secs(1))
        );
    }

    #[test]
    fn errors_are_counted_by_kind_and_values_clamped() {
        let mut r = Recorder::new();
        r.record_error("status_503", Duration::ZERO);
        r.record_error("status_503", Duration::ZERO);
        r.record_error("timeout", Duration::ZERO);
        r.record_ok(Duration::from_secs(10_000), Duration::ZERO, None, 0, 0);
        let s = r.summary(Duration::from_secs(1));
        assert_eq!(s.errors, 3);
        assert_eq!(s.errors_by_kind.get("status_503"), Some(&2));
        assert!(s.latency.max_us >= 3_599_000_000);
        assert_eq!(s.service.min_us, 1);
    }

    #[test]
    fn confidence_interval_matches_a_hand_computation() {
        // mean 14, s = 3.1623, t(0.975, 4) = 2.7764 → 14 ± 3.9264
        let s = rep_stats(&[10.0, 12.0, 14.0, 16.0, 18.0], 2.0);
        assert!(close(s.mean, 14.0, 1e-12));
        assert!(close(s.stddev, 3.162_277, 1e-5));
        assert!(
            close(s.ci95_high - s.mean, 3.9264, 1e-3),
            "{}",
            s.ci95_high - s.mean
        );
        assert!(close(s.cv, 3.162_277 / 14.0, 1e-6));
        assert_eq!(s.median, 14.0);
        let one = rep_stats(&[7.0], 2.0);
        assert_eq!((one.ci95_low, one.ci95_high, one.kept), (7.0, 7.0, 1));
    }

    #[test]
    fn outliers_are_removed_by_z_score() {
        let s = rep_stats(&[10.0, 11.0, 9.0, 10.0, 12.0, 11.0, 10.0, 100.0], 2.0);
        assert_eq!(s.removed, vec![7]);
        assert_eq!(s.kept, 7);
        assert!(s.mean < 11.0);
        assert!(
            rep_stats(&[1.0, 100.0], 0.5).removed.is_empty(),
            "no removal below 3 values"
        );
    }
}
