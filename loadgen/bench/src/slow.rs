//! The slowest calls of a case (`--slow 50ms`): every measured call at or over a
//! threshold is counted, and the `keep` slowest are kept with what identifies them
//! (when it was sent, on which connection, its call number, the error if it failed),
//! so a tail can be traced back to the calls that made it. The engine's aggregator
//! offers it every measured call; a call under the slowest kept one costs one
//! comparison.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What to keep: calls at or over `threshold`, the `keep` slowest of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlowPlan {
    pub threshold: Duration,
    pub keep: usize,
}

/// The slowest calls kept by default per repetition.
pub const DEFAULT_KEEP: usize = 20;

/// One slow call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SlowCall {
    /// Its latency (from the intended send time in open loop), µs. First: calls
    /// order by it.
    pub latency_us: u64,
    /// When it was due, milliseconds into the measured window.
    pub at_ms: u64,
    /// The connection it went out on (its index among the case's connections).
    pub connection: u32,
    /// Its call number (the `seq` a driver was given: which item it asked for).
    pub seq: u64,
    /// The error kind when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A repetition's slow calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowCalls {
    pub threshold_us: u64,
    /// Every measured call at or over the threshold.
    pub count: u64,
    /// The slowest of them, slowest first.
    pub calls: Vec<SlowCall>,
}

/// Keeps the slowest calls offered to it.
#[derive(Debug)]
pub(crate) struct Slowest {
    plan: SlowPlan,
    count: u64,
    /// A min-heap: its top is the fastest call kept, the one to drop next.
    kept: BinaryHeap<Reverse<SlowCall>>,
}

impl Slowest {
    pub(crate) fn new(plan: SlowPlan) -> Slowest {
        Slowest {
            plan,
            count: 0,
            kept: BinaryHeap::with_capacity(plan.keep + 1),
        }
    }

    /// Offers a call that took `latency`; `call` builds its record only when kept.
    pub(crate) fn offer(&mut self, latency: Duration, call: impl FnOnce(u64) -> SlowCall) {
        if latency < self.plan.threshold {
            return;
        }
        self.count += 1;
        let us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        let full = self.kept.len() >= self.plan.keep;
        if full && self.kept.peek().is_none_or(|Reverse(c)| c.latency_us >= us) {
            return;
        }
        self.kept.push(Reverse(call(us)));
        if self.kept.len() > self.plan.keep {
            self.kept.pop();
        }
    }

    pub(crate) fn finish(self) -> SlowCalls {
        let mut calls: Vec<SlowCall> = self.kept.into_iter().map(|Reverse(c)| c).collect();
        calls.sort_by(|a, b| b.cmp(a));
        SlowCalls {
            threshold_us: self.plan.threshold.as_micros().min(u128::from(u64::MAX)) as u64,
            count: self.count,
            calls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(seq: u64) -> impl FnOnce(u64) -> SlowCall {
        move |latency_us| SlowCall {
            latency_us,
            at_ms: seq,
            connection: 0,
            seq,
            error: None,
        }
    }

    #[test]
    fn counts_every_slow_call_and_keeps_the_slowest_first() {
        let mut s = Slowest::new(SlowPlan {
            threshold: Duration::from_millis(10),
            keep: 2,
        });
        for (seq, ms) in [(0, 5), (1, 12), (2, 30), (3, 10), (4, 20), (5, 9)] {
            s.offer(Duration::from_millis(ms), call(seq));
        }
        let out = s.finish();
        assert_eq!(out.threshold_us, 10_000);
        assert_eq!(out.count, 4, "12, 30, 10 and 20 ms are at or over 10 ms");
        let kept: Vec<(u64, u64)> = out.calls.iter().map(|c| (c.seq, c.latency_us)).collect();
        assert_eq!(kept, vec![(2, 30_000), (4, 20_000)]);
    }

    #[test]
    fn keeping_none_still_counts() {
        let mut s = Slowest::new(SlowPlan {
            threshold: Duration::ZERO,
            keep: 0,
        });
        s.offer(Duration::from_millis(1), call(0));
        let out = s.finish();
        assert_eq!((out.count, out.calls.len()), (1, 0));
    }
}
