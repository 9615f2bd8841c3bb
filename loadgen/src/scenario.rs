//! Cases: a kind of measurement (throughput, rate, latency, ...) of one operation on
//! one target, repeated. Turns a case into engine plans, runs the repetitions, and
//! computes the statistics across them. Protocol-agnostic: works on any `Driver`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::driver::{Driver, OpSpec};
use crate::engine::{self, LoadPlan, Model, Sinks};
use crate::output::{JsonlWriter, OutputError};
use crate::stats::{rep_stats, Percentiles, Recorder, RepStats, Summary};

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
        direction: crate::stats::Direction,
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

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Throughput => "throughput",
            Kind::Bandwidth => "bandwidth",
            Kind::Rate => "rate",
            Kind::Latency => "latency",
            Kind::Concurrency => "concurrency",
            Kind::Connect { .. } => "connect",
            Kind::Sweep { .. } => "sweep",
            Kind::Pipeline { .. } => "pipeline",
            Kind::Transfer { .. } => "transfer",
            Kind::Hold { .. } => "hold",
            Kind::Stream { .. } => "stream",
            Kind::Broadcast { .. } => "broadcast",
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
}

/// One repetition's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repetition {
    pub summary: Summary,
    /// Generator CPU as a fraction of its cores (None: too short to tell).
    pub cpu_fraction: Option<f64>,
    pub workers: usize,
    pub connections: usize,
    pub invalid: Vec<String>,
    /// Sweep: the offered rate of this step.
    pub offered_rate: Option<f64>,
    /// Connect kind: the set-up breakdown.
    pub connect: Option<ConnectBreakdown>,
    /// Stream and broadcast kinds: delivery of pushed events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<crate::stats::PushStats>,
    /// Transfer kind: sizes, integrity and MB/s per transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<crate::stats::TransferStats>,
    /// Hold kind: held connections and the probe's latency meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<crate::stats::HoldStats>,
}

impl Repetition {
    /// A repetition with `summary` and nothing kind-specific yet.
    pub fn of(summary: Summary) -> Repetition {
        Repetition {
            summary,
            cpu_fraction: None,
            workers: 0,
            connections: 0,
            invalid: Vec::new(),
            offered_rate: None,
            connect: None,
            push: None,
            transfer: None,
            hold: None,
        }
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
    pub valid: bool,
    /// Why the case failed or cannot be trusted (verification, saturation, lag).
    pub problems: Vec<String>,
    pub repetitions: Vec<Repetition>,
    /// Across repetitions: rps, p50_us, p99_us.
    pub stats: BTreeMap<String, RepStats>,
    /// Sweep: the highest offered rate that met the limits.
    pub knee_rate: Option<f64>,
    /// The server's CPU and memory during the case, when it could be observed.
    #[serde(default)]
    pub server_usage: Option<crate::usage::ServerUsage>,
    /// Per-second histograms of the last repetition, for the .hlog file.
    #[serde(skip)]
    pub intervals: Vec<crate::stats::Interval>,
    /// When those intervals' measured window began, Unix seconds.
    #[serde(skip)]
    pub intervals_start_unix_s: f64,
    /// Pipeline kind: reference/003's line per client per repetition (clients.csv).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<crate::pipeline::ClientLine>,
    /// Why the case was not run: the protocol does not offer what it needs (the
    /// case is neither measured nor invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Runs every repetition (or step) of `spec` with `driver`, showing progress on `bar`.
pub async fn run_case<D: Driver>(driver: Arc<D>, spec: CaseSpec, bar: &ProgressBar) -> CaseResult {
    run_case_with(
        driver,
        spec,
        &mut Sinks {
            bar,
            raw: None,
            ticks: None,
        },
    )
    .await
}

/// `run_case`, also writing every measured sample to `sinks.raw` under a
/// `#TEST=<case>` header (reference/002's JSONL).
pub async fn run_case_with<D: Driver>(
    driver: Arc<D>,
    spec: CaseSpec,
    sinks: &mut Sinks<'_>,
) -> CaseResult {
    raw_line(sinks, |w| w.header(&spec.name));
    let mut result = CaseResult {
        spec: spec.clone(),
        valid: true,
        problems: Vec::new(),
        repetitions: Vec::new(),
        stats: BTreeMap::new(),
        knee_rate: None,
        server_usage: None,
        intervals: Vec::new(),
        intervals_start_unix_s: 0.0,
        clients: Vec::new(),
        skipped: None,
    };
    let outcome = match &spec.kind {
        Kind::Connect { rate, attempts } => {
            run_connect(&driver, &spec, *rate, *attempts, sinks, &mut result).await
        }
        Kind::Sweep { .. } => run_sweep(&driver, &spec, sinks, &mut result).await,
        Kind::Pipeline { .. } => crate::pipeline::run(&driver, &spec, sinks, &mut result).await,
        Kind::Transfer { .. } => crate::transfer::run(&driver, &spec, sinks, &mut result).await,
        Kind::Hold { .. } => crate::hold::run(&driver, &spec, sinks, &mut result).await,
        Kind::Stream { .. } | Kind::Broadcast { .. } => {
            crate::push::run(&driver, &spec, sinks, &mut result).await
        }
        _ => {
            let mut r = Ok(());
            for _ in 0..spec.repeat.max(1) {
                r = run_rep(&driver, &spec, &spec.plan, None, sinks, &mut result).await;
                if r.is_err() {
                    break;
                }
            }
            r
        }
    };
    if let Err(engine::EngineError::Verify {
        error: crate::driver::CallError::Unsupported(what),
        ..
    }) = &outcome
    {
        result.skipped = Some(format!("{what} is not offered by {}", spec.protocol));
        return result;
    }
    if let Err(e) = outcome {
        result.valid = false;
        result.problems.push(e.to_string());
        return result;
    }
    for rep in &result.repetitions {
        if !rep.invalid.is_empty() {
            result.valid = false;
            result.problems.extend(rep.invalid.iter().cloned());
        }
    }
    result.problems.dedup();
    if !matches!(spec.kind, Kind::Sweep { .. }) {
        let metric = |f: &dyn Fn(&Repetition) -> f64| -> Vec<f64> {
            result.repetitions.iter().map(f).collect()
        };
        let z = spec.z_threshold;
        let rps = rep_stats(&metric(&|r| r.summary.rps), z);
        let p50 = rep_stats(&metric(&|r| r.summary.latency.p50_us as f64), z);
        let p99 = rep_stats(&metric(&|r| r.summary.latency.p99_us as f64), z);
        result.stats = BTreeMap::from([
            ("rps".into(), rps),
            ("p50_us".into(), p50),
            ("p99_us".into(), p99),
        ]);
        for (name, values) in kind_metrics(&spec.kind, &result) {
            result.stats.insert(name.into(), rep_stats(&values, z));
        }
    }
    result
}

/// Per-repetition metrics a kind adds to `CaseResult::stats`.
fn kind_metrics(kind: &Kind, result: &CaseResult) -> Vec<(&'static str, Vec<f64>)> {
    match kind {
        Kind::Pipeline { .. } => crate::pipeline::metrics(result),
        Kind::Transfer { .. } => crate::transfer::metrics(result),
        Kind::Hold { .. } => crate::hold::metrics(result),
        _ => Vec::new(),
    }
}

/// Opens one connection and verifies that the target answers `op` correctly (the
/// check every kind makes before it measures).
pub async fn verify_target<D: Driver>(
    driver: &Arc<D>,
    op: &OpSpec,
) -> Result<(), engine::EngineError> {
    let mut conns = engine::open_connections(driver, 1).await?;
    if let Some(c) = conns.first_mut() {
        driver
            .verify(c, op)
            .await
            .map_err(|error| engine::EngineError::Verify {
                op: op.name(),
                error,
            })?;
    }
    Ok(())
}

async fn run_rep<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    plan: &LoadPlan,
    offered_rate: Option<f64>,
    sinks: &mut Sinks<'_>,
    result: &mut CaseResult,
) -> Result<(), engine::EngineError> {
    sinks.bar.set_position(0);
    let r = engine::run(driver.clone(), &spec.op, plan, sinks).await?;
    result.repetitions.push(Repetition {
        summary: r.recorder.summary(r.elapsed),
        cpu_fraction: r.cpu_fraction,
        workers: r.workers,
        connections: r.connections,
        invalid: r.invalid,
        offered_rate,
        connect: None,
        push: None,
        transfer: None,
        hold: None,
    });
    result.intervals = r.intervals;
    result.intervals_start_unix_s = r.measured_start_unix_s;
    Ok(())
}

async fn run_sweep<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    sinks: &mut Sinks<'_>,
    result: &mut CaseResult,
) -> Result<(), engine::EngineError> {
    let Kind::Sweep {
        start,
        factor,
        max,
        p99_limit_ms,
        error_limit,
    } = spec.kind
    else {
        return Ok(());
    };
    let mut rate = start.max(1.0);
    while rate <= max {
        let plan = LoadPlan {
            model: Model::Open { rate },
            ..spec.plan.clone()
        };
        run_rep(driver, spec, &plan, Some(rate), sinks, result).await?;
        let Some(s) = result.repetitions.last().map(|r| &r.summary) else {
            break;
        };
        let total = (s.requests + s.errors).max(1) as f64;
        let ok = (s.latency.p99_us as f64) <= p99_limit_ms * 1000.0
            && (s.errors as f64 / total) <= error_limit
            && s.rps >= 0.95 * rate;
        if !ok {
            break;
        }
        result.knee_rate = Some(rate);
        rate *= factor.max(1.01);
    }
    Ok(())
}

/// Writes one raw line, giving up on the raw file after its first error.
fn raw_line(
    sinks: &mut Sinks<'_>,
    write: impl FnOnce(&mut JsonlWriter) -> Result<(), OutputError>,
) {
    if let Some(w) = sinks.raw.as_deref_mut() {
        if let Err(e) = write(w) {
            tracing::warn!(error = %e, "raw samples no longer written");
            sinks.raw = None;
        }
    }
}

/// A fresh connection per attempt at a fixed rate; each attempt makes one call.
async fn run_connect<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    rate: f64,
    attempts: u64,
    sinks: &mut Sinks<'_>,
    result: &mut CaseResult,
) -> Result<(), engine::EngineError> {
    let mut conns = engine::open_connections(driver, 1).await?;
    if let Some(c) = conns.first_mut() {
        driver
            .verify(c, &spec.op)
            .await
            .map_err(|error| engine::EngineError::Verify {
                op: spec.op.name(),
                error,
            })?;
    }
    drop(conns);
    let (mut tcp, mut tls, mut hs, mut first, mut total) = (
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
    );
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    for i in 0..attempts {
        tokio::time::sleep_until(start + period * i as u32).await;
        let t0 = Instant::now();
        let attempt = async {
            let (mut conn, timings) = driver.connect().await?;
            let t1 = Instant::now();
            driver.call(&mut conn, &spec.op, i).await?;
            Ok::<_, crate::driver::CallError>((timings, t1.elapsed()))
        };
        match tokio::time::timeout(spec.plan.timeout, attempt)
            .await
            .unwrap_or(Err(crate::driver::CallError::Timeout))
        {
            Ok((t, call)) => {
                tcp.record_ok(t.tcp, t.tcp, None, 0, 0);
                if let Some(d) = t.tls {
                    tls.record_ok(d, d, None, 0, 0);
                }
                if let Some(d) = t.handshake {
                    hs.record_ok(d, d, None, 0, 0);
                }
                first.record_ok(call, call, None, 0, 0);
                let all = t0.elapsed();
                total.record_ok(all, all, None, 0, 0);
                raw_line(sinks, |w| {
                    w.connect(t.tcp + t.tls.unwrap_or_default(), call, all)
                });
            }
            Err(e) => {
                total.record_error(&e.kind(), t0.elapsed());
                raw_line(sinks, |w| w.err(&e.kind()));
            }
        }
    }
    let elapsed = start.elapsed();
    let pct =
        |r: &Recorder| (r.ok() > 0).then(|| Percentiles::from_histogram(r.latency_histogram()));
    let empty = || Percentiles::from_histogram(&engine::histogram());
    result.repetitions.push(Repetition {
        summary: total.summary(elapsed),
        cpu_fraction: None,
        workers: 1,
        connections: attempts as usize,
        invalid: Vec::new(),
        offered_rate: Some(rate),
        connect: Some(ConnectBreakdown {
            tcp: pct(&tcp).unwrap_or_else(empty),
            tls: pct(&tls),
            handshake: pct(&hs),
            first_call: pct(&first).unwrap_or_else(empty),
            total: pct(&total).unwrap_or_else(empty),
        }),
        push: None,
        transfer: None,
        hold: None,
    });
    Ok(())
}
