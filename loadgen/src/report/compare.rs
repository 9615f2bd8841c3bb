//! The regression gate: two runs' cases matched by name, each chosen metric
//! compared (rps higher is better; p50 and p99 lower is better) and a verdict per
//! metric. A regression fails the gate only when it is beyond the threshold AND the
//! difference is outside both runs' 95% confidence intervals (each run's mean lies
//! outside the other's interval), so noise never fails a pipeline. With a single
//! repetition on both sides there is no interval and the threshold alone decides
//! (the row says so). A case valid in the baseline but invalid or failed in the
//! candidate fails the gate too. Reads two `Run`s; never measures.

use serde::Serialize;

use crate::results::Run;
use protolab_bench::stats::RepStats;
use protolab_bench::{CaseResult, Metric};

/// A comparable metric: its name on the command line, its key in
/// `CaseResult::stats`, and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateMetric {
    pub name: &'static str,
    pub key: Metric,
    pub higher_is_better: bool,
}

/// Every metric the gate knows.
pub const METRICS: [GateMetric; 3] = [
    GateMetric {
        name: "rps",
        key: Metric::Rps,
        higher_is_better: true,
    },
    GateMetric {
        name: "p50",
        key: Metric::P50Us,
        higher_is_better: false,
    },
    GateMetric {
        name: "p99",
        key: Metric::P99Us,
        higher_is_better: false,
    },
];

/// Why two runs could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("unknown metric '{0}' (known: rps, p50, p99)")]
    UnknownMetric(String),
    #[error("the runs have no case name in common")]
    NothingInCommon,
}

/// What one metric of one case did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within the threshold.
    Ok,
    /// Better beyond the threshold and outside the intervals.
    Improved,
    /// Worse beyond the threshold, but inside a confidence interval: noise.
    Noise,
    /// Worse beyond the threshold and outside both intervals: fails the gate.
    Regressed,
}

/// One metric of one case, both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub case: String,
    pub metric: &'static str,
    pub baseline: f64,
    pub baseline_ci: (f64, f64),
    pub candidate: f64,
    pub candidate_ci: (f64, f64),
    /// How much worse the candidate is, as a fraction of the baseline (negative:
    /// better).
    pub worse_by: f64,
    /// Both sides ran one repetition: the threshold alone decided.
    pub threshold_only: bool,
    pub verdict: Verdict,
}

/// The gate's findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Largest tolerated regression, as a fraction (0.10 = 10%).
    pub max_regression: f64,
    pub diffs: Vec<Diff>,
    /// Cases valid in the baseline but invalid or failed in the candidate.
    pub broken: Vec<String>,
    /// Baseline cases the candidate lacks, and candidate cases that are new.
    pub missing: Vec<String>,
    pub added: Vec<String>,
}

impl Comparison {
    /// True when the gate must fail: a regression outside the noise, or a broken case.
    pub fn failed(&self) -> bool {
        !self.broken.is_empty() || self.diffs.iter().any(|d| d.verdict == Verdict::Regressed)
    }
}

/// Compares `candidate` against `baseline` on `metrics` (names from [`METRICS`]).
pub fn compare(
    baseline: &Run,
    candidate: &Run,
    max_regression: f64,
    metrics: &[String],
) -> Result<Comparison, CompareError> {
    let chosen: Vec<GateMetric> = metrics
        .iter()
        .map(|m| {
            METRICS
                .iter()
                .find(|k| k.name == m.trim())
                .copied()
                .ok_or_else(|| CompareError::UnknownMetric(m.clone()))
        })
        .collect::<Result<_, _>>()?;
    let find = |run: &'_ Run, name: &str| run.cases.iter().find(|c| c.spec.name == name).cloned();
    let mut out = Comparison {
        max_regression,
        diffs: Vec::new(),
        broken: Vec::new(),
        missing: Vec::new(),
        added: candidate
            .cases
            .iter()
            .filter(|c| find(baseline, &c.spec.name).is_none())
            .map(|c| c.spec.name.clone())
            .collect(),
    };
    let mut common = 0;
    for b in &baseline.cases {
        let Some(c) = find(candidate, &b.spec.name) else {
            out.missing.push(b.spec.name.clone());
            continue;
        };
        common += 1;
        if b.valid && (!c.valid || c.repetitions.is_empty()) {
            out.broken.push(b.spec.name.clone());
            continue;
        }
        out.diffs.extend(
            chosen
                .iter()
                .filter_map(|m| diff(b, &c, *m, max_regression)),
        );
    }
    if common == 0 {
        return Err(CompareError::NothingInCommon);
    }
    Ok(out)
}

/// The verdict on one metric, when both cases have it.
fn diff(b: &CaseResult, c: &CaseResult, m: GateMetric, threshold: f64) -> Option<Diff> {
    let (sb, sc) = (b.stats.get(&m.key)?, c.stats.get(&m.key)?);
    if sb.kept == 0 || sc.kept == 0 {
        return None;
    }
    let base = sb.mean.abs().max(f64::MIN_POSITIVE);
    let worse_by = if m.higher_is_better {
        (sb.mean - sc.mean) / base
    } else {
        (sc.mean - sb.mean) / base
    };
    let threshold_only = sb.ci95_degenerate && sc.ci95_degenerate;
    let apart = outside(sc.mean, sb) && outside(sb.mean, sc);
    let verdict = match (worse_by > threshold, worse_by < -threshold, apart) {
        (true, _, true) => Verdict::Regressed,
        (true, _, false) => Verdict::Noise,
        (_, true, true) => Verdict::Improved,
        _ => Verdict::Ok,
    };
    Some(Diff {
        case: b.spec.name.clone(),
        metric: m.name,
        baseline: sb.mean,
        baseline_ci: (sb.ci95_low, sb.ci95_high),
        candidate: sc.mean,
        candidate_ci: (sc.ci95_low, sc.ci95_high),
        worse_by,
        threshold_only,
        verdict,
    })
}

/// True when `v` lies outside `s`'s 95% confidence interval (a degenerate
/// interval is the mean alone, so only the mean itself is inside it).
fn outside(v: f64, s: &RepStats) -> bool {
    v < s.ci95_low || v > s.ci95_high
}

/// `10%`, `10` (percent) or `0.1%` → a fraction.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage (e.g. 10%)"))?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(format!("'{s}' must be a positive percentage"));
    }
    Ok(v / 100.0)
}

/// The comparison as a text table for a terminal or a CI log.
pub fn render_text(cmp: &Comparison) -> String {
    let value = |metric: &str, v: f64| match metric {
        "rps" => format!("{v:.0}"),
        _ => format!("{:.3} ms", v / 1000.0),
    };
    let with_ci = |metric: &str, v: f64, ci: (f64, f64)| {
        let half = (ci.1 - ci.0) / 2.0;
        if half > 0.0 {
            format!(
                "{} ±{}",
                value(metric, v),
                value(metric, half).trim_end_matches(" ms")
            )
        } else {
            value(metric, v)
        }
    };
    let mut rows: Vec<[String; 6]> = vec![[
        "case".into(),
        "metric".into(),
        "baseline".into(),
        "candidate".into(),
        "worse by".into(),
        "verdict".into(),
    ]];
    for d in &cmp.diffs {
        let verdict = match (d.verdict, d.threshold_only) {
            (Verdict::Regressed, true) => "REGRESSED (n=1: threshold only)".into(),
            (Verdict::Regressed, false) => "REGRESSED".into(),
            (Verdict::Noise, _) => "worse, within noise".into(),
            (Verdict::Improved, _) => "improved".into(),
            (Verdict::Ok, _) => "ok".to_string(),
        };
        rows.push([
            d.case.clone(),
            d.metric.into(),
            with_ci(d.metric, d.baseline, d.baseline_ci),
            with_ci(d.metric, d.candidate, d.candidate_ci),
            format!("{:+.1}%", d.worse_by * 100.0),
            verdict,
        ]);
    }
    let mut widths = [0usize; 6];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if (2..5).contains(&i) {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    for b in &cmp.broken {
        out.push_str(&format!(
            "BROKEN: {b} is invalid or failed in the candidate\n"
        ));
    }
    for m in &cmp.missing {
        out.push_str(&format!("missing from the candidate: {m}\n"));
    }
    for a in &cmp.added {
        out.push_str(&format!("new in the candidate: {a}\n"));
    }
    let regressed = cmp
        .diffs
        .iter()
        .filter(|d| d.verdict == Verdict::Regressed)
        .count();
    out.push_str(&format!(
        "{} regression(s) beyond {:.1}% and outside the noise, {} broken case(s): {}\n",
        regressed,
        cmp.max_regression * 100.0,
        cmp.broken.len(),
        if cmp.failed() { "FAIL" } else { "pass" }
    ));
    out
}
