//! The one validity verdict: every kind's repetitions are judged here by the same
//! rules, from the facts each repetition recorded (the generator's CPU, open-loop
//! send lag, held connections, transfer integrity, the publisher's rate). A kind
//! never marks itself invalid; it only records what happened.
//!
//! A case is *skipped* when its protocol does not offer what it needs, *broken*
//! (`CaseResult::broken`) when it measured nothing or a transfer came back corrupted,
//! and INVALID when the generator cannot vouch for its numbers.

use std::time::Duration;

use crate::case::{CaseResult, CaseSpec, Kind, Repetition};
use crate::driver::CallError;
use crate::engine::{EngineError, Model};
use crate::selfcheck::CPU_SATURATED;

/// A broadcast publisher below this share of its rate has not measured the rate
/// the case asked for.
const PUBLISHER_BEHIND: f64 = 0.9;

/// Judges `result` after its repetitions ran (`outcome`: whether they could).
pub(crate) fn judge(result: &mut CaseResult, outcome: Result<(), EngineError>) {
    match outcome {
        Err(EngineError::Verify {
            error: CallError::Unsupported(what),
            ..
        }) => {
            result.skipped = Some(format!("{what} is not offered by {}", result.spec.protocol));
            return;
        }
        Err(e) => {
            result.valid = false;
            result.problems.push(e.to_string());
            return;
        }
        Ok(()) => {}
    }
    let spec = result.spec.clone();
    for rep in &mut result.repetitions {
        rep.invalid = reasons(&spec, rep);
        if !rep.invalid.is_empty() {
            result.valid = false;
            result.problems.extend(rep.invalid.iter().cloned());
        }
    }
    result.problems.dedup();
}

/// Why one repetition's numbers cannot be trusted; empty when they can.
fn reasons(spec: &CaseSpec, rep: &Repetition) -> Vec<String> {
    let mut why = Vec::new();
    if let Some(f) = rep.cpu_fraction.filter(|f| *f > CPU_SATURATED) {
        why.push(format!(
            "load generator CPU saturated ({:.0}% of its cores)",
            f * 100.0
        ));
    }
    let open = matches!(spec.plan.model, Model::Open { .. }) || rep.offered_rate.is_some();
    if let Some(lag) = rep.lag.as_ref().filter(|_| open) {
        let p99 = Duration::from_micros(lag.p99_us);
        if p99 > spec.plan.max_lag {
            why.push(format!(
                "open-loop schedule lag p99 {p99:?} exceeds {:?}",
                spec.plan.max_lag
            ));
        }
    }
    if let Some(h) = rep.hold.as_ref().filter(|h| h.capped_by_nofile) {
        why.push(format!(
            "open-file limit {} caps the connections at {} of {}",
            h.nofile_limit.unwrap_or(0),
            h.held + h.failed,
            h.wanted
        ));
    }
    if let (Kind::Transfer { transfers, .. }, Some(t)) = (&spec.kind, &rep.transfer) {
        if t.integrity_failures > 0 {
            why.push(format!(
                "{} of {} transfers failed the length/CRC32 check",
                t.integrity_failures,
                transfers.max(&1)
            ));
        }
    }
    if let (Kind::Broadcast { rate, .. }, Some(p)) = (&spec.kind, &rep.push) {
        if p.publish_rate < PUBLISHER_BEHIND * rate {
            why.push(format!(
                "publisher fell behind: {:.0} of {rate:.0} messages/s",
                p.publish_rate
            ));
        }
    }
    why
}
