//! The kinds the engine runs directly: `throughput`, `bandwidth`, `latency` and
//! `concurrency` (closed loop) and `rate` (open loop at a fixed rate). Each
//! repetition is one `engine::run` of the case's plan; the kind shapes the plan
//! (`Kind::shape_plan`) and nothing more.

use std::sync::Arc;

use crate::case::{CaseSpec, Repetition};
use crate::driver::Driver;
use crate::engine::{self, EngineError, LoadPlan};
use crate::sink::Hooks;
use crate::stats::Percentiles;

/// A closed- or open-loop case.
pub(crate) struct Load<'a, D> {
    driver: &'a Arc<D>,
    spec: &'a CaseSpec,
}

impl<'a, D: Driver> Load<'a, D> {
    pub(crate) fn new(driver: &'a Arc<D>, spec: &'a CaseSpec) -> Self {
        Load { driver, spec }
    }
}

impl<D: Driver> super::Measure for Load<'_, D> {
    async fn repetition(
        &mut self,
        _index: usize,
        hooks: &mut Hooks<'_>,
    ) -> Result<Repetition, EngineError> {
        run(self.driver, self.spec, &self.spec.plan, hooks).await
    }
}

/// One engine run of `plan` as a repetition (the sweep runs its steps through it too).
pub(crate) async fn run<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    plan: &LoadPlan,
    hooks: &mut Hooks<'_>,
) -> Result<Repetition, EngineError> {
    let r = engine::run(driver.clone(), &spec.op, plan, hooks).await?;
    let mut rep = Repetition::of(r.recorder.summary(r.elapsed));
    rep.cpu_fraction = r.cpu_fraction;
    rep.workers = r.workers;
    rep.connections = r.connections;
    rep.lag = (!r.lateness.is_empty()).then(|| Percentiles::from_histogram(&r.lateness));
    rep.intervals = r.intervals;
    rep.intervals_start_unix_s = r.measured_start_unix_s;
    Ok(rep)
}
