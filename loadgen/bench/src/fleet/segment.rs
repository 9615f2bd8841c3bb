//! A member's share of a case (k6's execution segments): member i of n takes the
//! segment [i/n, (i+1)/n) of the load. Closed loop: the connections (and a
//! count-ended case's requests) are split as evenly as whole numbers allow, the
//! remainder going to the first members. Open loop: each member sends rate/n, its
//! schedule offset by i/(n·rate), so that the merged arrivals are evenly spaced
//! exactly as one generator's would be.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::case::{CaseSpec, Kind};
use crate::engine::{Model, Schedule};

/// Member `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}/{}, {}/{})",
            self.index,
            self.count,
            self.index + 1,
            self.count
        )
    }
}

impl Segment {
    /// This segment's whole-number share of `total`: `total / count`, plus one for
    /// the first `total % count` members. The shares add up to `total`.
    pub fn share(&self, total: u64) -> u64 {
        let count = self.count.max(1) as u64;
        let index = self.index as u64;
        total / count + u64::from(index < total % count)
    }

    /// `spec` as this member runs it: its share of the connections (and requests),
    /// or of the rate with its offset into the schedule; the fleet's start time is
    /// set later, per repetition (`start_at_unix` 0 here). An error says why the
    /// case cannot be split (a kind that runs on one generator, fewer connections
    /// than members).
    pub fn apply(&self, spec: &CaseSpec) -> Result<CaseSpec, String> {
        let n = self.count;
        match spec.kind {
            Kind::Throughput | Kind::Bandwidth | Kind::Rate | Kind::Concurrency => {}
            Kind::Latency => {
                return Err(
                    "latency is serial calls on one connection: it runs on one generator"
                        .to_string(),
                )
            }
            ref k => return Err(format!("the {} kind is not run by a fleet yet", k.name())),
        }
        let mut out = spec.clone();
        let plan = &mut out.plan;
        let connections = self.share(plan.connections as u64) as usize;
        if connections == 0 {
            return Err(format!(
                "{} connection(s) cannot be split over {n} generators: ask for at least {n}",
                plan.connections
            ));
        }
        plan.connections = connections;
        plan.requests = plan.requests.map(|r| self.share(r));
        let phase = match plan.model {
            Model::Open { rate } => {
                plan.model = Model::Open {
                    rate: rate / n as f64,
                };
                Duration::from_secs_f64(self.index as f64 / rate.max(f64::MIN_POSITIVE))
            }
            Model::Closed => Duration::ZERO,
        };
        plan.schedule = Some(Schedule {
            start_at_unix: 0.0,
            phase,
        });
        Ok(out)
    }
}

/// This process's index in an indexed deployment, 0-based, from the environment:
/// `TASK_SLOT` (swarm's `{{.Task.Slot}}`, 1-based, which the stack file passes),
/// `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job) or `NOMAD_ALLOC_INDEX`.
pub fn index_from_env(var: impl Fn(&str) -> Option<String>) -> Option<usize> {
    let num = |name: &str| var(name)?.trim().parse::<usize>().ok();
    num("TASK_SLOT")
        .and_then(|slot| slot.checked_sub(1))
        .or_else(|| num("JOB_COMPLETION_INDEX"))
        .or_else(|| num("NOMAD_ALLOC_INDEX"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::OpSpec;
    use crate::engine::LoadPlan;

    fn spec(kind: Kind, model: Model, connections: usize) -> CaseSpec {
        CaseSpec {
            name: "t".into(),
            protocol: "rest-h1".into(),
            target: "http://x".into(),
            op: OpSpec::Ping,
            kind,
            plan: LoadPlan {
                model,
                connections,
                inflight: 1,
                duration: Duration::from_secs(5),
                warmup: Duration::from_secs(1),
                requests: Some(1001),
                requests_per_worker: None,
                timeout: Duration::from_secs(5),
                max_lag: Duration::from_millis(1),
                slow: None,
                schedule: None,
            },
            repeat: 1,
            z_threshold: 2.0,
            max_errors: 0.001,
        }
    }

    #[test]
    fn shares_add_up_and_differ_by_at_most_one() {
        for total in [0u64, 1, 2, 7, 10, 64, 1001] {
            for count in 1..=7 {
                let shares: Vec<u64> = (0..count)
                    .map(|index| Segment { index, count }.share(total))
                    .collect();
                assert_eq!(shares.iter().sum::<u64>(), total, "{total} over {count}");
                let (min, max) = (shares.iter().min(), shares.iter().max());
                assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1));
            }
        }
    }

    #[test]
    fn closed_loop_splits_connections_and_requests() {
        let s = spec(Kind::Throughput, Model::Closed, 10);
        let parts: Vec<CaseSpec> = (0..3)
            .map(|index| Segment { index, count: 3 }.apply(&s).expect("splits"))
            .collect();
        let conns: Vec<usize> = parts.iter().map(|p| p.plan.connections).collect();
        assert_eq!(conns, [4, 3, 3]);
        let reqs: u64 = parts.iter().filter_map(|p| p.plan.requests).sum();
        assert_eq!(reqs, 1001);
        assert!(parts
            .iter()
            .all(|p| p.plan.schedule.is_some_and(|s| s.phase.is_zero())));
    }

    #[test]
    fn open_loop_interleaves_the_members_slots_evenly() {
        let rate = 1000.0;
        let s = spec(Kind::Rate, Model::Open { rate }, 8);
        let mut due = Vec::new();
        for index in 0..4 {
            let p = Segment { index, count: 4 }.apply(&s).expect("splits");
            let Model::Open { rate: r } = p.plan.model else {
                panic!("still open loop")
            };
            assert_eq!(r, 250.0);
            let phase = p.plan.schedule.map(|s| s.phase).unwrap_or_default();
            // The engine's slot i of this member: phase + i / r.
            due.extend((0..25).map(|i| phase.as_secs_f64() + i as f64 / r));
        }
        due.sort_by(f64::total_cmp);
        for (k, t) in due.iter().enumerate() {
            assert!((t - k as f64 / rate).abs() < 1e-9, "slot {k} at {t}");
        }
    }

    #[test]
    fn cases_that_cannot_be_split_say_why() {
        let few = spec(Kind::Throughput, Model::Closed, 1);
        let err = Segment { index: 1, count: 2 }.apply(&few);
        assert!(err.is_err_and(|e| e.contains("at least 2")));
        let serial = spec(Kind::Latency, Model::Closed, 1);
        assert!(Segment { index: 0, count: 2 }.apply(&serial).is_err());
    }

    #[test]
    fn the_index_comes_from_the_orchestrators_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(index_from_env(env(&[("TASK_SLOT", "3")])), Some(2));
        assert_eq!(
            index_from_env(env(&[("JOB_COMPLETION_INDEX", "0")])),
            Some(0)
        );
        assert_eq!(index_from_env(env(&[("NOMAD_ALLOC_INDEX", "5")])), Some(5));
        assert_eq!(index_from_env(env(&[("TASK_SLOT", "0")])), None);
        assert_eq!(index_from_env(env(&[])), None);
    }
}
