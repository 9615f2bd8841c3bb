//! Cases: a kind of measurement (throughput, rate, latency, ...) of one operation on
//! one target, repeated; what a case is (`CaseSpec`, `Kind`) and what it measured
//! (`CaseResult`, `Repetition`). Data only: running a case is `crate::kind`, judging
//! it `crate::verdict`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::driver::OpSpec;
use crate::engine::LoadPlan;
use crate::kind::hold::HoldStats;
use crate::kind::push::PushStats;
use crate::kind::transfer::{Direction, TransferStats};
use crate::selfcheck::{Bottleneck, WindowUsage};
use crate::stats::{Interval, Percentiles, Recorder, RepStats, Summary};

/// What a case measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// Closed loop at full speed: connections x in-flight.
    Throughput,
    /// Throughput of `echo` at one payload size: MB/s both ways.
    Bandwidth,
    /// Open loop at `plan.model`'s fixed rate (reference/002 steady).
    Rate,
    /// Serial requests on one connection: time to first byte and total.
    Latency,
    /// `clients` parallel clients, each its own connection, `requests` each.
    Concurrency,
    /// A new connection per attempt at `rate` per second (reference/002 coldconn).
    Connect { rate: f64, attempts: u64 },
    /// Open-loop steps from `start` rate, x`factor` each step, until P99 or the error
    /// rate crosses its limit or the achieved rate falls short.
    Sweep {
        start: f64,
        factor: f64,
        max: f64,
        p99_limit_ms: f64,
        error_limit: f64,
    },
    /// reference/003: `plan.connections` clients, each on its own connection sending
    /// `messages` calls with up to `depth` unanswered (binary protocols pipeline).
    Pipeline { depth: usize, messages: u64 },
    /// reference/001's binary transfer: `transfers` blobs of `size` bytes per
    /// repetition, one way, in `chunk`-byte pieces (`None`: one whole body).
    Transfer {
        direction: Direction,
        size: u64,
        chunk: Option<u64>,
        transfers: u64,
    },
    /// `connections` held open at once while a probe client calls `op` at
    /// `probe_rate` per second for `plan.duration`; `admin` is the server's admin
    /// address (`host:port`) whose `/metrics?format=json` gives its RSS.
    Hold {
        connections: usize,
        probe_rate: f64,
        #[serde(default)]
        admin: Option<String>,
    },
    /// Server push: `connections` streams at once, each of `count` events
    /// `interval_ms` apart with `size` payload bytes; one-way latency from each
    /// event's send stamp, events/s, gaps and reorders (`crate::push`).
    Stream {
        count: u64,
        interval_ms: u64,
        size: usize,
    },
    /// Fan-out: `subscribers` subscribers and a publisher at `rate` messages/s of
    /// `size` bytes for the case's duration; delivery latency per subscriber, lost
    /// and lagged messages (`crate::push`).
    Broadcast {
        subscribers: usize,
        rate: f64,
        size: usize,
    },
}

impl Kind {
    /// What a kind implies for its plan: `latency` is serial requests on one
    /// connection (`requests` of them, default 1000); `concurrency` gives each client
    /// its own connection and exactly `requests_each` requests, with no warm-up. Both
    /// end by count, so their duration becomes a generous cap.
    pub fn shape_plan(&self, plan: &mut LoadPlan, requests: Option<u64>, requests_each: u64) {
        match self {
            Kind::Latency => {
                plan.connections = 1;
                plan.inflight = 1;
                plan.requests = Some(requests.unwrap_or(1000));
            }
            Kind::Concurrency => {
                plan.inflight = 1;
                plan.requests_per_worker = Some(requests_each);
                plan.warmup = Duration::ZERO;
            }
            _ => return,
        }
        plan.duration = plan.duration.max(Duration::from_secs(60));
    }

    /// The kind's name (`throughput`, `rate`, ...).
    pub fn name(&self) -> &'static str {
        self.id().as_str()
    }

    /// Which kind this is, without its parameters.
    pub fn id(&self) -> KindName {
        match self {
            Kind::Throughput => KindName::Throughput,
            Kind::Bandwidth => KindName::Bandwidth,
            Kind::Rate => KindName::Rate,
            Kind::Latency => KindName::Latency,
            Kind::Concurrency => KindName::Concurrency,
            Kind::Connect { .. } => KindName::Connect,
            Kind::Sweep { .. } => KindName::Sweep,
            Kind::Pipeline { .. } => KindName::Pipeline,
            Kind::Transfer { .. } => KindName::Transfer,
            Kind::Hold { .. } => KindName::Hold,
            Kind::Stream { .. } => KindName::Stream,
            Kind::Broadcast { .. } => KindName::Broadcast,
        }
    }
}

/// A kind's name without its parameters: the one spelling the command line, the
/// suites, run.json and the reports share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KindName {
    Throughput,
    Rate,
    Latency,
    Concurrency,
    Bandwidth,
    Connect,
    Sweep,
    Pipeline,
    Transfer,
    Hold,
    Stream,
    Broadcast,
}

impl KindName {
    /// Every kind, in the order the command line lists them.
    pub const ALL: [KindName; 12] = [
        KindName::Throughput,
        KindName::Rate,
        KindName::Latency,
        KindName::Concurrency,
        KindName::Bandwidth,
        KindName::Connect,
        KindName::Sweep,
        KindName::Pipeline,
        KindName::Transfer,
        KindName::Hold,
        KindName::Stream,
        KindName::Broadcast,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KindName::Throughput => "throughput",
            KindName::Rate => "rate",
            KindName::Latency => "latency",
            KindName::Concurrency => "concurrency",
            KindName::Bandwidth => "bandwidth",
            KindName::Connect => "connect",
            KindName::Sweep => "sweep",
            KindName::Pipeline => "pipeline",
            KindName::Transfer => "transfer",
            KindName::Hold => "hold",
            KindName::Stream => "stream",
            KindName::Broadcast => "broadcast",
        }
    }
}

impl std::fmt::Display for KindName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for KindName {
    type Err = String;

    fn from_str(s: &str) -> Result<KindName, String> {
        KindName::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = KindName::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown kind {s:?} (one of {})", all.join(", "))
            })
    }
}

/// A statistic computed across a case's repetitions (`CaseResult::stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Successful calls per second.
    Rps,
    /// Latency percentiles, µs.
    P50Us,
    P99Us,
    /// Transfer kind: mean MB/s of a repetition's transfers.
    Mbps,
    /// Hold kind: connections set up per second, and the probe's P99.
    SetupPerSec,
    ProbeP99Us,
    /// Pipeline kind: the clients' mean total time.
    ClientTotalS,
}

impl Metric {
    /// The name run.json uses (`rps`, `p99_us`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Rps => "rps",
            Metric::P50Us => "p50_us",
            Metric::P99Us => "p99_us",
            Metric::Mbps => "mbps",
            Metric::SetupPerSec => "setup_per_sec",
            Metric::ProbeP99Us => "probe_p99_us",
            Metric::ClientTotalS => "client_total_s",
        }
    }
}

/// A case to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseSpec {
    pub name: String,
    pub protocol: String,
    pub target: String,
    pub op: OpSpec,
    pub kind: Kind,
    pub plan: LoadPlan,
    pub repeat: usize,
    /// |z| above which a repetition is an outlier (reference/003).
    pub z_threshold: f64,
    /// The error budget: failed calls (and connections, subscriptions) as a share of
    /// all, above which the case is FAILED.
    #[serde(default = "default_max_errors")]
    pub max_errors: f64,
}

/// The default error budget: 0.1% of calls.
pub const DEFAULT_MAX_ERRORS: f64 = 0.001;

fn default_max_errors() -> f64 {
    DEFAULT_MAX_ERRORS
}

/// One repetition's outcome: what it measured and the facts the verdict judges.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repetition {
    pub summary: Summary,
    /// Generator CPU as a fraction of its CPUs over the measured window (None: not
    /// measured); `window` has the detail.
    pub cpu_fraction: Option<f64>,
    /// Both sides' CPU over the measured window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowUsage>,
    pub workers: usize,
    /// Connections open while measuring, and how many were asked for.
    pub connections: usize,
    #[serde(default)]
    pub planned_connections: usize,
    /// Why this repetition's numbers cannot be trusted (the verdict's).
    pub invalid: Vec<String>,
    /// Sweep: the offered rate of this step.
    pub offered_rate: Option<f64>,
    /// Connect kind: the set-up breakdown.
    pub connect: Option<ConnectBreakdown>,
    /// Stream and broadcast kinds: delivery of pushed events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushStats>,
    /// Transfer kind: sizes, integrity and MB/s per transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferStats>,
    /// Hold kind: held connections and the probe's latency meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldStats>,
    /// Open loop: how late every request went out (actual send minus due time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag: Option<LagStats>,
    /// Open loop: how late idle workers woke for their slots (the generator's own
    /// lateness: timers, CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_lag: Option<LagStats>,
    /// Open loop: calls sent in each second of the measured window, min/mean/max.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sends_per_second: Option<SecondCounts>,
    /// The slowest measured calls (`--slow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<crate::slow::SlowCalls>,
    /// Each second of the measured window in brief (answered calls, P50, P99): the
    /// regression gate's noise estimate when a case ran once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_second: Vec<SecondStat>,
    /// Per-second latency histograms of the measured window, for the .hlog file.
    #[serde(skip)]
    pub intervals: Vec<Interval>,
    /// When those intervals' measured window began, Unix seconds.
    #[serde(skip)]
    pub intervals_start_unix_s: f64,
    /// Open loop: calls sent in each second of the measured window (what
    /// `sends_per_second` summarises; a fleet adds its members' up).
    #[serde(skip)]
    pub sends_each_second: Vec<u64>,
    /// Every call of the repetition, for the case's merged figures.
    #[serde(skip)]
    pub recorder: Option<Recorder>,
}

impl Repetition {
    /// A repetition of `recorder`'s calls over `elapsed`, nothing kind-specific yet.
    pub fn measured(recorder: Recorder, elapsed: Duration) -> Repetition {
        let mut r = Repetition::of(recorder.summary(elapsed));
        r.recorder = Some(recorder);
        r
    }

    /// A repetition with `summary` and nothing kind-specific yet.
    pub fn of(summary: Summary) -> Repetition {
        Repetition {
            summary,
            cpu_fraction: None,
            window: None,
            workers: 0,
            connections: 0,
            planned_connections: 0,
            invalid: Vec::new(),
            offered_rate: None,
            connect: None,
            push: None,
            transfer: None,
            hold: None,
            send_lag: None,
            timer_lag: None,
            sends_per_second: None,
            slow: None,
            per_second: Vec::new(),
            intervals: Vec::new(),
            intervals_start_unix_s: 0.0,
            sends_each_second: Vec::new(),
            recorder: None,
        }
    }

    /// Records the measured window's CPU use.
    pub(crate) fn set_window(&mut self, window: Option<WindowUsage>) {
        self.cpu_fraction = window.as_ref().map(|w| w.client_cpu_fraction);
        self.window = window;
    }
}

/// How late sends were (µs), and the share later than 1 ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagStats {
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub count: u64,
    /// Share of sends later than 1 ms.
    pub late_share: f64,
}

impl LagStats {
    /// The lag histogram `h` (µs) summarised; `None` when empty.
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Option<LagStats> {
        if h.is_empty() {
            return None;
        }
        let late = h.len() - h.count_between(0, 1000);
        Some(LagStats {
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
            count: h.len(),
            late_share: late as f64 / h.len() as f64,
        })
    }
}

/// One second of a measured window, in brief.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SecondStat {
    /// Calls answered in that second.
    pub calls: u64,
    pub p50_us: u64,
    pub p99_us: u64,
}

impl SecondStat {
    /// Every whole second of `intervals` (the last, partial one left out).
    pub fn of(intervals: &[Interval], elapsed: Duration) -> Vec<SecondStat> {
        let whole = elapsed.as_secs() as usize;
        intervals
            .iter()
            .filter(|i| (i.offset.as_secs() as usize) < whole)
            .filter_map(|i| i.histogram())
            .filter(|h| !h.is_empty())
            .map(|h| SecondStat {
                calls: h.len(),
                p50_us: h.value_at_quantile(0.5),
                p99_us: h.value_at_quantile(0.99),
            })
            .collect()
    }
}

/// Counts per second of a window: the open-loop accuracy figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondCounts {
    pub min: u64,
    pub mean: f64,
    pub max: u64,
    /// Whole seconds counted (a partial last second is left out).
    pub seconds: usize,
}

impl SecondCounts {
    /// The whole seconds of `counts` (the last, partial one left out unless it is
    /// the only one); `None` when there are none.
    pub fn of(counts: &[u64], elapsed: Duration) -> Option<SecondCounts> {
        let whole = (elapsed.as_secs() as usize).min(counts.len()).max(1);
        let counted = counts.get(..whole)?;
        Some(SecondCounts {
            min: *counted.iter().min()?,
            mean: counted.iter().sum::<u64>() as f64 / counted.len() as f64,
            max: *counted.iter().max()?,
            seconds: counted.len(),
        })
    }
}

/// reference/002's coldconn, per stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectBreakdown {
    pub tcp: Percentiles,
    pub tls: Option<Percentiles>,
    pub handshake: Option<Percentiles>,
    pub first_call: Percentiles,
    pub total: Percentiles,
}

/// A finished case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub spec: CaseSpec,
    /// The verdict; `valid` is false for INVALID and FAILED cases.
    #[serde(default)]
    pub status: Status,
    pub valid: bool,
    /// Why the case failed or cannot be trusted (verification, errors over budget,
    /// the generator's saturation or lateness).
    pub problems: Vec<String>,
    /// What a reader should know about valid numbers (co-saturation, a server that
    /// could not keep up with the offered rate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Which side was the limit (the worst repetition's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck: Option<Bottleneck>,
    pub repetitions: Vec<Repetition>,
    /// Every repetition's calls together: the headline figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Summary>,
    /// The same without the repetitions the outlier rule removed, when it removed any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_without_outliers: Option<Summary>,
    /// Across repetitions: rps, p50_us, p99_us and the kind's own metrics.
    pub stats: BTreeMap<Metric, RepStats>,
    /// Sweep: the highest offered rate that met the limits.
    pub knee_rate: Option<f64>,
    /// The server's CPU and memory during the case, when it could be observed.
    #[serde(default)]
    pub server_usage: Option<crate::usage::ServerUsage>,
    /// Pipeline kind: reference/003's line per client per repetition (clients.csv).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<crate::kind::pipeline::ClientLine>,
    /// Why the case was not run: the protocol does not offer what it needs (the
    /// case is neither measured nor invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// A distributed run: every generator's own line per repetition (its share of
    /// the load, what it measured, its own verdict), beside the merged figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<crate::fleet::WorkerLine>,
    /// A matrix case: its cell of the grid (the server's replicas, the clients, the
    /// messages each or the rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<MatrixCell>,
}

/// One cell of a suite's matrix (reference/003's replicas × clients × messages).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatrixCell {
    /// Replicas of the server the case ran against.
    pub replicas: u32,
    /// Clients, each its own connection.
    pub clients: usize,
    /// Calls each client makes (a concurrency case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// The offered rate (a rate case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

/// A case's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Measured, and the numbers can be trusted.
    #[default]
    Valid,
    /// Measured, but the generator cannot vouch for the numbers (it was the
    /// bottleneck, it sent late, it could not open what was asked).
    Invalid,
    /// The target let the case down: no numbers, wrong answers, a corrupted
    /// transfer, or errors beyond the budget.
    Failed,
    /// The protocol does not offer what the case needs.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Invalid => "INVALID",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        }
    }
}

impl CaseResult {
    /// The figures a case is quoted by: every repetition's calls merged, else (a
    /// sweep, or a run.json from before merging) its last repetition's; `None`
    /// when it measured nothing.
    pub fn headline(&self) -> Option<&Summary> {
        let last = self.repetitions.last()?;
        Some(self.merged.as_ref().unwrap_or(&last.summary))
    }

    /// The verdict as the tables write it: `valid*` when valid with warnings. (A
    /// run.json from before cases had a status says INVALID by `valid` alone.)
    pub fn verdict_label(&self) -> &'static str {
        match self.status {
            Status::Valid if !self.valid => "INVALID",
            Status::Valid if !self.warnings.is_empty() => "valid*",
            s => s.as_str(),
        }
    }

    /// A case that could not be run at all (its target unreachable, say): FAILED
    /// with `why`, so a suite records it and goes on.
    pub fn failed(spec: CaseSpec, why: String) -> CaseResult {
        let mut c = CaseResult::new(spec);
        c.status = Status::Failed;
        c.valid = false;
        c.problems.push(why);
        c
    }

    /// A case not run: `why` says what it needs that it did not get.
    pub fn skipped(spec: CaseSpec, why: String) -> CaseResult {
        let mut c = CaseResult::new(spec);
        c.status = Status::Skipped;
        c.skipped = Some(why);
        c
    }

    /// A case about to run: valid until judged, nothing measured yet.
    pub fn new(spec: CaseSpec) -> CaseResult {
        CaseResult {
            spec,
            status: Status::Valid,
            valid: true,
            problems: Vec::new(),
            warnings: Vec::new(),
            bottleneck: None,
            repetitions: Vec::new(),
            merged: None,
            merged_without_outliers: None,
            stats: BTreeMap::new(),
            knee_rate: None,
            server_usage: None,
            clients: Vec::new(),
            skipped: None,
            workers: Vec::new(),
            cell: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_and_kind_names_are_one_spelling() {
        for m in [
            Metric::Rps,
            Metric::P50Us,
            Metric::P99Us,
            Metric::Mbps,
            Metric::SetupPerSec,
            Metric::ProbeP99Us,
            Metric::ClientTotalS,
        ] {
            let json = serde_json::to_value(m).expect("serialises");
            assert_eq!(json, serde_json::Value::from(m.as_str()));
        }
        for k in KindName::ALL {
            assert_eq!(k.as_str().parse::<KindName>(), Ok(k));
        }
        assert!("nonsense".parse::<KindName>().is_err());
        assert_eq!(Kind::Throughput.name(), "throughput");
    }
}
