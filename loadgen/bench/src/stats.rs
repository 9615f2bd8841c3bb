//! Statistics: per-call recording into HdrHistograms (microseconds, 3 significant
//! digits, 1 µs ..= 1 h, values clamped into range), summaries with percentiles, and
//! statistics across repetitions (reference/003's z-score outlier removal, then mean,
//! median, sample standard deviation, CV and a Student-t 95% confidence interval).
//! Pure computation: it never does IO, reads a clock or decides validity; callers
//! pass durations in and get numbers out.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest recordable value: one hour in microseconds; longer calls are clamped to it.
pub const MAX_US: u64 = 3_600_000_000;

/// An empty histogram with the recorder's bounds (1 µs ..= 1 h, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("constant histogram bounds are valid")
}

/// A duration as whole microseconds clamped into the histogram's range (a sub-µs call
/// counts as 1 µs: the histogram cannot hold 0).
fn us(d: Duration) -> u64 {
    (d.as_micros().min(u128::from(MAX_US)) as u64).max(1)
}

/// Latency recorder of one worker or one case: HdrHistograms in microseconds
/// (3 significant digits, 1 µs ..= 1 h, values clamped into range, never an error),
/// error counts by kind and payload bytes both ways.
///
/// Every call, failed or not, lands in the all-calls histogram at its (corrected)
/// latency, a timeout at the time until it was given up: a server that fails fast
/// or never answers shows in that tail. Successes also keep their own histograms
/// (reported latency, service time, time to first byte).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "RecorderWire", try_from = "RecorderWire")]
pub struct Recorder {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    ttfb: Histogram<u64>,
    all: Histogram<u64>,
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
            all: new_histogram(),
            errors: BTreeMap::new(),
            sent: 0,
            received: 0,
        }
    }
}

impl Recorder {
    /// An empty recorder.
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
        self.all.saturating_record(us(latency));
        self.service.saturating_record(us(service));
        if let Some(t) = ttfb {
            self.ttfb.saturating_record(us(t));
        }
        self.sent += sent;
        self.received += received;
    }

    /// One failed call, counted by kind, at the latency it took to fail (from its
    /// intended time in open loop; a timeout's is the time until it was given up).
    /// It lands in the all-calls histogram only: the successes' histograms stay
    /// what the server answered.
    pub fn record_error(&mut self, kind: &str, latency: Duration) {
        self.all.saturating_record(us(latency));
        match self.errors.get_mut(kind) {
            Some(n) => *n += 1,
            None => {
                self.errors.insert(kind.to_string(), 1);
            }
        }
    }

    /// Adds `other`'s calls to this recorder: the same as having recorded them here.
    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides: `add` cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.ttfb.add(&other.ttfb);
        let _ = self.all.add(&other.all);
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.sent += other.sent;
        self.received += other.received;
    }

    /// Successful calls recorded.
    pub fn ok(&self) -> u64 {
        self.latency.len()
    }

    /// Failed calls recorded, all kinds.
    pub fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The reported (corrected in open loop) latency histogram, in microseconds.
    pub fn latency_histogram(&self) -> &Histogram<u64> {
        &self.latency
    }

    /// Every call's latency, failed ones included, in microseconds.
    pub fn all_calls_histogram(&self) -> &Histogram<u64> {
        &self.all
    }

    /// The summary over a measured wall-clock window. Rates are 0 for an empty
    /// window rather than a division by (almost) zero.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64();
        let rate = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
        Summary {
            requests: self.ok(),
            errors: self.errors(),
            errors_by_kind: self.errors.clone(),
            elapsed_s: secs,
            rps: rate(self.ok() as f64),
            mbps_sent: rate(self.sent as f64 / 1e6),
            mbps_received: rate(self.received as f64 / 1e6),
            latency: Percentiles::from_histogram(&self.latency),
            service: Percentiles::from_histogram(&self.service),
            ttfb: (!self.ttfb.is_empty()).then(|| Percentiles::from_histogram(&self.ttfb)),
            all_calls: (self.errors() > 0).then(|| Percentiles::from_histogram(&self.all)),
            latency_histogram: (!self.latency.is_empty())
                .then(|| encode_histogram(&self.latency))
                .flatten(),
        }
    }
}

/// A [`Recorder`] as data (a fleet member's calls on their way to the coordinator):
/// each histogram in [`encode_histogram`]'s text, so the sum of the members'
/// recorders is exactly the recorder of all their calls.
#[derive(Serialize, Deserialize)]
struct RecorderWire {
    latency: String,
    service: String,
    ttfb: String,
    all: String,
    errors: BTreeMap<String, u64>,
    sent: u64,
    received: u64,
}

impl From<Recorder> for RecorderWire {
    fn from(r: Recorder) -> RecorderWire {
        let text = |h: &Histogram<u64>| encode_histogram(h).unwrap_or_default();
        RecorderWire {
            latency: text(&r.latency),
            service: text(&r.service),
            ttfb: text(&r.ttfb),
            all: text(&r.all),
            errors: r.errors,
            sent: r.sent,
            received: r.received,
        }
    }
}

impl TryFrom<RecorderWire> for Recorder {
    type Error = String;

    fn try_from(w: RecorderWire) -> Result<Recorder, String> {
        let histogram = |name: &str, text: &str| {
            decode_histogram(text).ok_or_else(|| format!("the {name} histogram does not decode"))
        };
        Ok(Recorder {
            latency: histogram("latency", &w.latency)?,
            service: histogram("service", &w.service)?,
            ttfb: histogram("ttfb", &w.ttfb)?,
            all: histogram("all-calls", &w.all)?,
            errors: w.errors,
            sent: w.sent,
            received: w.received,
        })
    }
}

/// A histogram as text for run.json: HdrHistogram's compressed V2 encoding (what a
/// `.hlog` line holds) in base64, a few KB for a latency histogram. `None` (logged)
/// if it cannot be encoded.
pub fn encode_histogram(h: &Histogram<u64>) -> Option<String> {
    use base64::Engine;
    use hdrhistogram::serialization::Serializer;
    let mut bytes = Vec::new();
    match hdrhistogram::serialization::V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        Err(e) => {
            tracing::warn!(error = ?e, "histogram not encoded");
            None
        }
    }
}

/// The histogram [`encode_histogram`] wrote; `None` when `text` is not one.
pub fn decode_histogram(text: &str) -> Option<Histogram<u64>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .ok()
}

/// One interval's histogram kept compactly (HdrHistogram's V2 encoding holds only
/// the non-zero counts: a few KB instead of ~190 KB), so a long run's per-second
/// histograms keep the generator's memory flat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Start of the interval, from the start of the measured window.
    pub offset: Duration,
    /// Length of the interval.
    pub length: Duration,
    #[serde(with = "base64_bytes")]
    encoded: Vec<u8>,
}

/// Bytes as base64 text in JSON.
mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

impl Interval {
    /// Encodes `h` (an encoding failure is logged and leaves the interval empty).
    pub fn new(offset: Duration, length: Duration, h: &Histogram<u64>) -> Interval {
        let mut encoded = Vec::new();
        use hdrhistogram::serialization::Serializer;
        if let Err(e) = hdrhistogram::serialization::V2Serializer::new().serialize(h, &mut encoded)
        {
            tracing::warn!(error = ?e, "interval histogram not encoded");
            encoded.clear();
        }
        Interval {
            offset,
            length,
            encoded,
        }
    }

    /// The histogram back; `None` if it could not be encoded.
    pub fn histogram(&self) -> Option<Histogram<u64>> {
        hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut self.encoded.as_slice())
            .ok()
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.encoded.len()
    }
}

/// What a case measured, in one repetition.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Summary {
    /// Successful calls.
    pub requests: u64,
    /// Failed calls, all kinds.
    pub errors: u64,
    /// Failed calls by kind ("timeout", "connect", "status_503", ...).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// The measured window, seconds.
    pub elapsed_s: f64,
    /// Successful calls per second.
    pub rps: f64,
    /// Payload MB/s (10^6 bytes) each way.
    pub mbps_sent: f64,
    pub mbps_received: f64,
    /// Reported latency: from the intended send time in open loop.
    pub latency: Percentiles,
    /// Uncorrected service time (wrk2's -U); equals `latency` in closed loop.
    pub service: Percentiles,
    /// Time to first byte, when the driver measured it.
    pub ttfb: Option<Percentiles>,
    /// Every call, failed ones included, at its (corrected) latency; present when
    /// any call failed (otherwise it equals `latency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_calls: Option<Percentiles>,
    /// The whole `latency` distribution ([`encode_histogram`]), so reports draw the
    /// full percentile spectrum from run.json alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_histogram: Option<String>,
}

impl Summary {
    /// Failed calls as a share of all calls (0 when there were none).
    pub fn error_rate(&self) -> f64 {
        let all = self.requests + self.errors;
        if all == 0 {
            0.0
        } else {
            self.errors as f64 / all as f64
        }
    }

    /// The tail to quote: every call's when any failed, else the successes'.
    pub fn tail(&self) -> &Percentiles {
        self.all_calls.as_ref().unwrap_or(&self.latency)
    }
}

/// A latency distribution in microseconds (all zero when nothing was recorded).
/// Percentiles are HdrHistogram's: the highest value equivalent to the sample at that
/// quantile, so within 0.1% (3 significant digits) above the exact sample.
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
    /// The distribution held by `h`, whose values are microseconds.
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

/// Statistics of one metric across repetitions (e.g. the rps of each repetition).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RepStats {
    /// Values given.
    pub n: usize,
    /// Values the statistics are over: `n` minus `removed`.
    pub kept: usize,
    /// Indices of the values removed: outliers by z-score, and non-finite values.
    pub removed: Vec<usize>,
    pub mean: f64,
    pub median: f64,
    /// Sample standard deviation (n - 1), 0 for a single value.
    pub stddev: f64,
    /// Coefficient of variation: stddev / |mean| (0 when the mean is 0).
    pub cv: f64,
    /// 95% confidence interval of the mean (Student t, kept - 1 degrees of freedom).
    pub ci95_low: f64,
    pub ci95_high: f64,
    /// True when fewer than two values were kept: the interval is then [mean, mean]
    /// and says nothing about spread.
    #[serde(default)]
    pub ci95_degenerate: bool,
}

/// Mean and sample standard deviation (n - 1 denominator; 0 below two values).
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

fn median(v: &[f64]) -> f64 {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Two-sided 95% Student t quantile (t at 0.975) for `dof` degrees of freedom.
pub fn t95(dof: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    match StudentsT::new(0.0, 1.0, dof.max(1) as f64) {
        Ok(t) => t.inverse_cdf(0.975),
        Err(_) => 1.959_964,
    }
}

/// Indices of the values whose z-score (against the mean and sample standard
/// deviation of all of them) exceeds `z_threshold`; none below three values or when
/// all are equal. One pass, as reference/003 does. With the sample standard
/// deviation |z| can never exceed (n - 1) / sqrt(n), so a threshold of 2 removes
/// nothing below six values.
pub fn z_outliers(values: &[f64], z_threshold: f64) -> Vec<usize> {
    let (mean, sd) = mean_sd(values);
    if values.len() < 3 || sd <= 0.0 || !sd.is_finite() {
        return Vec::new();
    }
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| ((*v - mean) / sd).abs() > z_threshold)
        .map(|(i, _)| i)
        .collect()
}

/// reference/003's z-score outlier removal (see [`z_outliers`]), then the statistics
/// of what is kept. Non-finite values (a NaN rate from an empty repetition) are
/// removed first and listed in `removed` too. Empty input gives all zeros.
pub fn rep_stats(values: &[f64], z_threshold: f64) -> RepStats {
    let finite: Vec<(usize, f64)> = values
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let just_values: Vec<f64> = finite.iter().map(|(_, v)| *v).collect();
    let outliers = z_outliers(&just_values, z_threshold);
    let kept: Vec<f64> = finite
        .iter()
        .enumerate()
        .filter(|(j, _)| !outliers.contains(j))
        .map(|(_, (_, v))| *v)
        .collect();
    let mut removed: Vec<usize> = (0..values.len())
        .filter(|i| !values[*i].is_finite())
        .chain(outliers.iter().map(|j| finite[*j].0))
        .collect();
    removed.sort_unstable();
    let (mean, stddev) = mean_sd(&kept);
    let degenerate = kept.len() < 2;
    let half = if degenerate {
        0.0
    } else {
        t95(kept.len() - 1) * stddev / (kept.len() as f64).sqrt()
    };
    RepStats {
        n: values.len(),
        kept: kept.len(),
        removed,
        mean,
        median: median(&kept),
        stddev,
        cv: if mean != 0.0 {
            stddev / mean.abs()
        } else {
            0.0
        },
        ci95_low: mean - half,
        ci95_high: mean + half,
        ci95_degenerate: degenerate,
    }
}
