//! The kinds the engine runs directly: `throughput`, `bandwidth`, `latency` and
//! `concurrency` (closed loop) and `rate` (open loop at a fixed rate). Each
//! repetition is one `engine::run` of the case's plan; the kind shapes the plan
//! (`Kind::shape_plan`) and nothing more.

use std::sync::Arc;

use crate::case::{CaseSpec, LagStats, Repetition, SecondCounts, SecondStat};
use crate::driver::Driver;
use crate::engine::{self, EngineError, LoadPlan, Model};
use crate::sink::Hooks;

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
    let mut rep = Repetition::measured(r.recorder, r.elapsed);
    rep.set_window(r.window);
    rep.workers = r.workers;
    rep.connections = r.connections;
    rep.planned_connections = r.planned_connections;
    if matches!(plan.model, Model::Open { .. }) {
        rep.send_lag = LagStats::of(&r.send_lag);
        rep.timer_lag = LagStats::of(&r.timer_lag);
        rep.sends_per_second = SecondCounts::of(&r.sends_per_second, r.elapsed);
        rep.sends_each_second = r.sends_per_second;
    }
    rep.slow = r.slow;
    rep.per_second = SecondStat::of(&r.intervals, r.elapsed);
    rep.intervals = r.intervals;
    rep.intervals_start_unix_s = r.measured_start_unix_s;
    Ok(rep)
}
