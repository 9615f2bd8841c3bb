//! The one validity verdict: every kind's repetitions are judged here by the same
//! rules, from the facts each repetition recorded (both sides' CPU over the measured
//! window, send and timer lag, connections opened, errors, transfer integrity, the
//! publisher's lag). A kind never judges itself; it only records what happened.
//!
//! - **Skipped**: the protocol does not offer what the case needs.
//! - **FAILED**: the target let the case down: no numbers (verification, no
//!   connection), a corrupted transfer, or failed calls beyond the error budget.
//! - **INVALID**: the generator cannot vouch for the numbers: it was the bottleneck
//!   (client-bound), it sent late, or it could not open what was asked.
//! - Otherwise valid, with warnings a reader should see (co-saturation; a server
//!   that could not keep up with the offered rate).

use std::time::Duration;

use crate::case::{CaseResult, CaseSpec, Kind, LagStats, Repetition, Status};
use crate::driver::CallError;
use crate::engine::EngineError;
use crate::selfcheck::Bottleneck;

/// A send-lag limit is at least this share of the case's service-time P50.
const LAG_SHARE_OF_SERVICE: f64 = 0.10;

/// Judges `result` after its repetitions ran (`outcome`: whether they could).
pub(crate) fn judge(result: &mut CaseResult, outcome: Result<(), EngineError>) {
    match outcome {
        Err(EngineError::Verify {
            error: CallError::Unsupported(what),
            ..
        }) => {
            result.skipped = Some(format!("{what} is not offered by {}", result.spec.protocol));
            return set(result, Status::Skipped);
        }
        Err(e) => {
            result.problems.push(e.to_string());
            return set(result, Status::Failed);
        }
        Ok(()) => {}
    }
    let spec = result.spec.clone();
    let mut failed = Vec::new();
    let mut invalid = Vec::new();
    let mut warnings = Vec::new();
    for rep in &mut result.repetitions {
        let r = reasons(&spec, rep);
        rep.invalid = r.invalid.clone();
        failed.extend(r.failed);
        invalid.extend(r.invalid);
        warnings.extend(r.warnings);
    }
    if result.repetitions.is_empty() {
        failed.push("no repetition measured anything".to_string());
    }
    if let Some(why) = over_budget(&spec, &result.repetitions) {
        failed.push(why);
    }
    result.bottleneck = result
        .repetitions
        .iter()
        .filter_map(|r| r.window.as_ref().map(|w| w.bottleneck()))
        .max();
    let status = if !failed.is_empty() {
        Status::Failed
    } else if !invalid.is_empty() {
        Status::Invalid
    } else {
        Status::Valid
    };
    for list in [&mut failed, &mut invalid, &mut warnings] {
        dedup(list);
    }
    result.problems.extend(failed);
    result.problems.extend(invalid);
    result.warnings.extend(warnings);
    set(result, status);
}

/// Adds `why` to the case's problems and raises its status to at least `status`
/// (valid < INVALID < FAILED; a skipped case stays skipped).
pub(crate) fn at_least(result: &mut CaseResult, status: Status, why: String) {
    if result.status == Status::Skipped {
        return;
    }
    if !result.problems.contains(&why) {
        result.problems.push(why);
    }
    let rank = |s: Status| match s {
        Status::Valid | Status::Skipped => 0,
        Status::Invalid => 1,
        Status::Failed => 2,
    };
    if rank(status) > rank(result.status) {
        set(result, status);
    }
}

/// Records the verdict; `valid` stays true for a skipped case (it is neither
/// measured nor invalid), as run.json has always said.
fn set(result: &mut CaseResult, status: Status) {
    result.status = status;
    result.valid = matches!(status, Status::Valid | Status::Skipped);
}

/// Removes repeats, keeping the first of each.
fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|s| seen.insert(s.clone()));
}

/// Failed calls (and set-ups) of every repetition against the case's budget.
fn over_budget(spec: &CaseSpec, reps: &[Repetition]) -> Option<String> {
    let errors: u64 = reps.iter().map(|r| r.summary.errors).sum();
    let all: u64 = reps.iter().map(|r| r.summary.requests).sum::<u64>() + errors;
    let share = if all == 0 {
        0.0
    } else {
        errors as f64 / all as f64
    };
    (errors > 0 && share > spec.max_errors).then(|| {
        format!(
            "{errors} of {all} calls failed ({:.2}%, over the error budget of {:.2}%)",
            share * 100.0,
            spec.max_errors * 100.0
        )
    })
}

/// What one repetition's facts say.
#[derive(Default)]
struct Reasons {
    failed: Vec<String>,
    invalid: Vec<String>,
    warnings: Vec<String>,
}

/// The send-lag limit of a repetition: the larger of the plan's floor and 10% of
/// its service-time P50.
fn lag_limit(spec: &CaseSpec, rep: &Repetition) -> Duration {
    let service_p50 = Duration::from_micros(rep.summary.service.p50_us);
    spec.plan
        .max_lag
        .max(service_p50.mul_f64(LAG_SHARE_OF_SERVICE))
}

fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

fn reasons(spec: &CaseSpec, rep: &Repetition) -> Reasons {
    let mut r = Reasons::default();
    let bottleneck = rep.window.as_ref().map(|w| w.bottleneck());
    if let Some(w) = &rep.window {
        let server = w.server_cpu_fraction.map_or_else(
            || "the server was not observed".to_string(),
            |f| {
                format!(
                    "the server used {:.0}% of its {} CPU",
                    f * 100.0,
                    fmt_cpus(w.server_cpus)
                )
            },
        );
        let client = format!(
            "the generator used {:.0}% of its {} CPU(s), its busiest thread {:.0}% of one",
            w.client_cpu_fraction * 100.0,
            w.client_cpus,
            w.busiest_thread_fraction * 100.0
        );
        match w.bottleneck() {
            Bottleneck::ClientBound => r.invalid.push(format!(
                "client-bound: {client} while {server}: the figure measures the generator"
            )),
            Bottleneck::CoSaturated => r.warnings.push(format!(
                "co-saturated: {client} and {server}: the figure is a lower bound of the server"
            )),
            _ => {}
        }
    }
    let limit = lag_limit(spec, rep);
    if let Some(t) = rep.timer_lag.as_ref().filter(|t| over(t, limit)) {
        r.invalid.push(format!(
            "the generator woke late for its send slots: timer lag p99 {} exceeds {} ({:.1}% of sends later than 1 ms)",
            ms(t.p99_us),
            ms(limit.as_micros() as u64),
            t.late_share * 100.0
        ));
    }
    if let Some(l) = rep.send_lag.as_ref().filter(|l| over(l, limit)) {
        let what = format!(
            "send lag p99 {} exceeds {} ({:.1}% of sends later than 1 ms)",
            ms(l.p99_us),
            ms(limit.as_micros() as u64),
            l.late_share * 100.0
        );
        match bottleneck {
            Some(Bottleneck::ServerBound) => r.warnings.push(format!(
                "the server could not keep up with the offered rate: {what}; latency counts from the intended send times"
            )),
            _ => r.invalid.push(format!(
                "{what}: the generator did not send at the offered rate (more connections, or a less loaded generator)"
            )),
        }
    }
    let planned = rep.planned_connections;
    if planned > 0 && rep.connections < planned {
        r.invalid.push(format!(
            "opened {} of {planned} connections",
            rep.connections
        ));
    }
    if let Some(h) = rep.hold.as_ref().filter(|h| h.capped_by_nofile) {
        r.invalid.push(format!(
            "open-file limit {} caps the connections at {} of {}",
            h.nofile_limit.unwrap_or(0),
            h.held + h.failed,
            h.wanted
        ));
    }
    if let (Kind::Transfer { transfers, .. }, Some(t)) = (&spec.kind, &rep.transfer) {
        if t.integrity_failures > 0 {
            r.failed.push(format!(
                "{} of {} transfers failed the length/CRC32 check",
                t.integrity_failures,
                transfers.max(&1)
            ));
        }
    }
    if let (Kind::Broadcast { rate, .. }, Some(p)) = (&spec.kind, &rep.push) {
        let slot = Duration::from_secs_f64(LAG_SHARE_OF_SERVICE / rate.max(1e-3));
        let limit = spec.plan.max_lag.max(slot);
        if let Some(l) = p.publish_lag.as_ref().filter(|l| over(l, limit)) {
            r.invalid.push(format!(
                "the publisher fell behind its schedule: publish lag p99 {} exceeds {} ({:.0} of {rate:.0} messages/s)",
                ms(l.p99_us),
                ms(limit.as_micros() as u64),
                p.publish_rate
            ));
        }
    }
    r
}

fn over(lag: &LagStats, limit: Duration) -> bool {
    Duration::from_micros(lag.p99_us) > limit
}

fn fmt_cpus(cpus: Option<f64>) -> String {
    match cpus {
        Some(c) if (c - c.round()).abs() < 1e-9 => format!("{c:.0}"),
        Some(c) => format!("{c:.2}"),
        None => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selfcheck::WindowUsage;

    fn fixture() -> CaseResult {
        let json = include_str!("../../tests/fixtures/case.json");
        serde_json::from_str(json).expect("fixture case parses")
    }

    fn judged(mut c: CaseResult, outcome: Result<(), EngineError>) -> CaseResult {
        c.problems.clear();
        c.warnings.clear();
        judge(&mut c, outcome);
        c
    }

    fn window(client: f64, server: Option<f64>) -> WindowUsage {
        crate::selfcheck::test_window(client, client, server)
    }

    #[test]
    fn failed_means_no_numbers_corruption_or_errors_over_budget() {
        let c = judged(fixture(), Ok(()));
        assert_eq!(
            (c.status, c.valid, c.broken()),
            (Status::Valid, true, false)
        );

        let mut client_bound = fixture();
        client_bound.repetitions[0].window = Some(window(0.97, Some(0.4)));
        let c = judged(client_bound, Ok(()));
        assert_eq!(c.status, Status::Invalid, "{:?}", c.problems);
        assert!(!c.broken(), "INVALID but measured");
        assert!(
            c.problems[0].starts_with("client-bound"),
            "{:?}",
            c.problems
        );
        assert_eq!(c.bottleneck, Some(Bottleneck::ClientBound));

        let mut both = fixture();
        both.repetitions[0].window = Some(window(0.97, Some(0.95)));
        let c = judged(both, Ok(()));
        assert_eq!(c.status, Status::Valid);
        assert!(
            c.warnings[0].starts_with("co-saturated"),
            "{:?}",
            c.warnings
        );

        let mut corrupted = fixture();
        corrupted.spec.kind = Kind::Transfer {
            direction: crate::Direction::Download,
            size: 10,
            chunk: None,
            transfers: 1,
        };
        corrupted.repetitions[0].transfer = Some(crate::TransferStats {
            direction: crate::Direction::Download,
            size_bytes: 10,
            chunk_bytes: None,
            transfers: 0,
            integrity_failures: 1,
            mbps: vec![],
            mbps_total: 0.0,
            largest_piece_bytes: 10,
        });
        assert!(judged(corrupted, Ok(())).broken(), "a corrupted transfer");

        let mut empty = fixture();
        empty.repetitions.clear();
        assert!(judged(empty, Ok(())).broken(), "no numbers");

        let unsupported = Err(EngineError::Verify {
            op: "echo".into(),
            error: CallError::Unsupported("echo"),
        });
        let c = judged(fixture(), unsupported);
        assert_eq!(
            (c.status, c.valid, c.broken()),
            (Status::Skipped, true, false)
        );
        assert!(c.skipped.is_some());
    }

    #[test]
    fn the_error_budget_fails_a_case_that_answered_most_calls() {
        let mut c = fixture();
        let requests = c.repetitions[0].summary.requests;
        assert!(requests >= 1000, "the fixture has enough calls");
        // Within the 0.1% budget: valid.
        c.repetitions[0].summary.errors = requests / 2000;
        let ok = judged(c.clone(), Ok(()));
        assert_eq!(ok.status, Status::Valid, "{:?}", ok.problems);
        // Half of them failed: FAILED, whatever the latency of the rest.
        c.repetitions[0].summary.errors = requests;
        let failed = judged(c.clone(), Ok(()));
        assert_eq!(failed.status, Status::Failed);
        assert!(
            failed.problems[0].contains("error budget"),
            "{:?}",
            failed.problems
        );
        c.spec.max_errors = 0.6;
        assert_eq!(judged(c, Ok(())).status, Status::Valid, "a budget of 60%");
    }

    #[test]
    fn late_sends_are_the_generators_unless_the_server_was_the_limit() {
        let mut c = fixture();
        c.spec.plan.max_lag = Duration::from_millis(1);
        c.repetitions[0].summary.service.p50_us = 200;
        c.repetitions[0].send_lag = Some(LagStats {
            p50_us: 3_000,
            p99_us: 9_000,
            max_us: 12_000,
            count: 1000,
            late_share: 0.7,
        });
        let c1 = judged(c.clone(), Ok(()));
        assert_eq!(c1.status, Status::Invalid);
        assert!(
            c1.problems[0].starts_with("send lag p99 9.000 ms"),
            "{:?}",
            c1.problems
        );
        c.repetitions[0].window = Some(window(0.5, Some(0.97)));
        let c2 = judged(c.clone(), Ok(()));
        assert_eq!(c2.status, Status::Valid, "{:?}", c2.problems);
        assert!(
            c2.warnings[0].contains("could not keep up"),
            "{:?}",
            c2.warnings
        );
        // A worker that woke late is the generator's, whoever was busy.
        c.repetitions[0].timer_lag = c.repetitions[0].send_lag.clone();
        assert_eq!(judged(c, Ok(())).status, Status::Invalid);
    }

    #[test]
    fn connections_that_never_opened_are_not_counted_as_measured() {
        let mut c = fixture();
        c.repetitions[0].planned_connections = 64;
        c.repetitions[0].connections = 60;
        let c = judged(c, Ok(()));
        assert_eq!(c.status, Status::Invalid);
        assert_eq!(c.problems, ["opened 60 of 64 connections"]);
    }
}
