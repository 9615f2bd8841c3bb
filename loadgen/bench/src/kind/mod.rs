//! The kinds of measurement, one file each, behind one entry point: [`run_case`]
//! picks the kind's [`Measure`], runs its repetitions in the one repetition loop,
//! computes the statistics across them and hands the result to the one validity
//! verdict (`crate::verdict`). A kind only measures: it never decides validity,
//! repeats itself or knows a protocol.
//!
//! Adding a kind: a `Kind` variant (and its `KindName`), a file here with a type
//! implementing [`Measure`], and one arm in [`run_case`].

pub(crate) mod broadcast;
pub(crate) mod connect;
pub(crate) mod hold;
pub(crate) mod load;
pub(crate) mod pipeline;
pub(crate) mod push;
pub(crate) mod stream;
pub(crate) mod sweep;
pub(crate) mod tally;
pub(crate) mod transfer;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use crate::case::{CaseResult, CaseSpec, Kind, Metric, Repetition, Status};
use crate::driver::Driver;
use crate::engine::EngineError;
use crate::sink::Hooks;
use crate::stats::{rep_stats, Recorder};

/// One kind's way of measuring a case, one repetition (or sweep step) at a time.
pub(crate) trait Measure: Send {
    /// Once, before the first repetition: verify the target, compute what every
    /// repetition checks against.
    fn prepare(&mut self) -> impl Future<Output = Result<(), EngineError>> + Send {
        async { Ok(()) }
    }

    /// Measures repetition `index` (0-based).
    fn repetition(
        &mut self,
        index: usize,
        hooks: &mut Hooks<'_>,
    ) -> impl Future<Output = Result<Repetition, EngineError>> + Send;

    /// Whether another repetition may follow `last` (a sweep stops at its knee).
    fn more(&mut self, _last: &Repetition) -> bool {
        true
    }

    /// The most repetitions to run.
    fn limit(&self, spec: &CaseSpec) -> usize {
        spec.repeat.max(1)
    }

    /// What the kind adds to the result once every repetition is in: its own
    /// statistics across repetitions, its per-case fields.
    fn finish(self, _result: &mut CaseResult)
    where
        Self: Sized,
    {
    }
}

/// Runs every repetition (or step) of `spec` with `driver`, then judges the case.
pub async fn run_case<D: Driver>(
    driver: Arc<D>,
    spec: CaseSpec,
    hooks: &mut Hooks<'_>,
) -> CaseResult {
    hooks.raw(|w| w.header(&spec.name));
    let mut result = CaseResult::new(spec.clone());
    let d = &driver;
    let s = &spec;
    let r = &mut result;
    let outcome = match &spec.kind {
        Kind::Throughput | Kind::Bandwidth | Kind::Rate | Kind::Latency | Kind::Concurrency => {
            repeat(load::Load::new(d, s), s, hooks, r).await
        }
        Kind::Sweep { .. } => repeat(sweep::Sweep::new(d, s), s, hooks, r).await,
        Kind::Connect { .. } => repeat(connect::Connect::new(d, s), s, hooks, r).await,
        Kind::Pipeline { .. } => repeat(pipeline::Pipeline::new(d, s), s, hooks, r).await,
        Kind::Transfer { .. } => repeat(transfer::Transfer::new(d, s), s, hooks, r).await,
        Kind::Hold { .. } => repeat(hold::Hold::new(d, s), s, hooks, r).await,
        Kind::Stream { .. } => repeat(stream::Stream::new(d, s), s, hooks, r).await,
        Kind::Broadcast { .. } => repeat(broadcast::Broadcast::new(d, s), s, hooks, r).await,
    };
    crate::verdict::judge(&mut result, outcome);
    result
}

/// Concludes a case whose repetitions were measured elsewhere (a fleet's merged
/// repetitions, already in `result`): the same statistics, merged figures and
/// verdict as [`run_case`]; then `more`, what was found outside the repetitions (a
/// member's own verdict, a member lost), each raising the status to at least its
/// own.
pub fn conclude(
    result: &mut CaseResult,
    outcome: Result<(), EngineError>,
    more: Vec<(Status, String)>,
) {
    if !result.repetitions.is_empty() {
        result.stats = common_stats(result);
        merge(result);
    }
    crate::verdict::judge(result, outcome);
    for (status, why) in more {
        crate::verdict::at_least(result, status, why);
    }
}

/// The one repetition loop: every kind's repetitions, then the statistics across
/// them (reference/003's outlier removal, mean, CV, confidence interval).
async fn repeat<M: Measure>(
    mut m: M,
    spec: &CaseSpec,
    hooks: &mut Hooks<'_>,
    result: &mut CaseResult,
) -> Result<(), EngineError> {
    m.prepare().await?;
    for index in 0..m.limit(spec) {
        hooks.progress.set_position(0);
        let rep = m.repetition(index, hooks).await?;
        let more = m.more(&rep);
        result.repetitions.push(rep);
        if !more {
            break;
        }
    }
    result.stats = common_stats(result);
    merge(result);
    m.finish(result);
    Ok(())
}

/// The headline figures: every repetition's calls in one histogram (with and
/// without the repetitions the outlier rule removed, when it removed any).
fn merge(result: &mut CaseResult) {
    let removed: Vec<usize> = result
        .stats
        .values()
        .flat_map(|s| s.removed.iter().copied())
        .collect();
    let merged = |skip: &[usize]| {
        let mut all = Recorder::new();
        let mut elapsed = std::time::Duration::ZERO;
        for (i, rep) in result.repetitions.iter().enumerate() {
            if let (false, Some(r)) = (skip.contains(&i), &rep.recorder) {
                all.merge(r);
                elapsed += std::time::Duration::from_secs_f64(rep.summary.elapsed_s);
            }
        }
        all.summary(elapsed)
    };
    if result.repetitions.iter().any(|r| r.recorder.is_some()) {
        result.merged = Some(merged(&[]));
        if !removed.is_empty() {
            result.merged_without_outliers = Some(merged(&removed));
        }
    }
}

/// rps, P50 and P99 across repetitions.
fn common_stats(result: &CaseResult) -> BTreeMap<Metric, crate::stats::RepStats> {
    let metric =
        |f: &dyn Fn(&Repetition) -> f64| -> Vec<f64> { result.repetitions.iter().map(f).collect() };
    let z = result.spec.z_threshold;
    BTreeMap::from([
        (Metric::Rps, rep_stats(&metric(&|r| r.summary.rps), z)),
        (
            Metric::P50Us,
            rep_stats(&metric(&|r| r.summary.latency.p50_us as f64), z),
        ),
        (
            Metric::P99Us,
            rep_stats(&metric(&|r| r.summary.latency.p99_us as f64), z),
        ),
    ])
}

impl CaseResult {
    /// Adds a kind's own statistic across repetitions.
    pub(crate) fn add_stat(&mut self, metric: Metric, values: &[f64]) {
        let stats = rep_stats(values, self.spec.z_threshold);
        self.stats.insert(metric, stats);
    }
}
