//! The `sweep` kind: open-loop steps from a start rate, ×factor each step, until P99,
//! the error rate or the achieved rate gives out; the last step that held is the
//! knee (`CaseResult::knee_rate`). Each step is one repetition at its own rate, so
//! no statistics across them are given.

use std::sync::Arc;

use crate::case::{CaseResult, CaseSpec, Kind, Repetition};
use crate::driver::Driver;
use crate::engine::{EngineError, LoadPlan, Model};
use crate::sink::Hooks;

/// A sweep in progress.
pub(crate) struct Sweep<'a, D> {
    driver: &'a Arc<D>,
    spec: &'a CaseSpec,
    /// The rate of the next step.
    rate: f64,
    /// The highest rate that held so far.
    knee: Option<f64>,
}

impl<'a, D: Driver> Sweep<'a, D> {
    pub(crate) fn new(driver: &'a Arc<D>, spec: &'a CaseSpec) -> Self {
        let rate = match spec.kind {
            Kind::Sweep { start, .. } => start.max(1.0),
            _ => 1.0,
        };
        Sweep {
            driver,
            spec,
            rate,
            knee: None,
        }
    }
}

impl<D: Driver> super::Measure for Sweep<'_, D> {
    async fn repetition(
        &mut self,
        _index: usize,
        hooks: &mut Hooks<'_>,
    ) -> Result<Repetition, EngineError> {
        let plan = LoadPlan {
            model: Model::Open { rate: self.rate },
            ..self.spec.plan.clone()
        };
        let mut rep = super::load::run(self.driver, self.spec, &plan, hooks).await?;
        rep.offered_rate = Some(self.rate);
        Ok(rep)
    }

    fn more(&mut self, last: &Repetition) -> bool {
        let Kind::Sweep {
            factor,
            max,
            p99_limit_ms,
            error_limit,
            ..
        } = self.spec.kind
        else {
            return false;
        };
        let s = &last.summary;
        let total = (s.requests + s.errors).max(1) as f64;
        let held = (s.latency.p99_us as f64) <= p99_limit_ms * 1000.0
            && (s.errors as f64 / total) <= error_limit
            && s.rps >= 0.95 * self.rate;
        if !held {
            return false;
        }
        self.knee = Some(self.rate);
        self.rate *= factor.max(1.01);
        self.rate <= max
    }

    fn limit(&self, spec: &CaseSpec) -> usize {
        match spec.kind {
            // Steps end at the knee or the highest rate; never zero.
            Kind::Sweep { start, max, .. } if start.max(1.0) <= max => usize::MAX,
            _ => 0,
        }
    }

    fn finish(self, result: &mut CaseResult) {
        result.knee_rate = self.knee;
        // Steps run at different rates: statistics across them, or their calls
        // merged, mean nothing.
        result.stats.clear();
        result.merged = None;
        result.merged_without_outliers = None;
    }
}
