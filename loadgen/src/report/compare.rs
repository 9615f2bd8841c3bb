//! The regression gate: two runs' cases matched by name, each chosen metric
//! compared (rps higher is better; p50 and p99 lower is better) and a verdict per
//! metric. A regression fails the gate only when the candidate is worse by more than
//! the threshold (the minimum effect size) AND a one-sided Welch t-test on the
//! repetitions says the difference is real (p < 0.05), so noise never fails a
//! pipeline and a real regression at a few repetitions does. A case that ran once
//! on either side is judged on its seconds instead (each second's calls, P50 and
//! P99, from run.json); one with too few of those is not judged, and says so. A case
//! valid in the baseline but invalid or failed in the candidate fails the gate too.
//! Reads two `Run`s; never measures.

use serde::Serialize;

use crate::results::Run;
use protolab_bench::case::SecondStat;
use protolab_bench::{CaseResult, Metric, Repetition};

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
    /// Worse beyond the threshold, but not beyond the noise: passes.
    Noise,
    /// Worse beyond the threshold and beyond the noise: fails the gate.
    Regressed,
    /// Too few samples on a side to tell noise from a difference: not judged.
    Unjudged,
}

/// One-sided significance a difference must reach to count as real.
const ALPHA: f64 = 0.05;

/// Fewest samples (repetitions, or seconds of a single repetition) a side needs.
const MIN_SAMPLES: usize = 3;

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
    /// What the samples were: `repetitions`, or `seconds` of single repetitions.
    pub samples: &'static str,
    /// The one-sided Welch t-test's p-value that the candidate is worse (better,
    /// for an improvement); `None` when not judged.
    pub p_value: Option<f64>,
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
    /// True when the gate must fail: a regression beyond the noise, or a broken case.
    pub fn failed(&self) -> bool {
        !self.broken.is_empty() || self.diffs.iter().any(|d| d.verdict == Verdict::Regressed)
    }

    /// Metrics the gate could not judge (too few samples on a side).
    pub fn unjudged(&self) -> usize {
        self.diffs
            .iter()
            .filter(|d| d.verdict == Verdict::Unjudged)
            .count()
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

/// A metric's samples for one case: one per repetition, or, when the case ran
/// once, one per second of that repetition.
fn samples(c: &CaseResult, m: GateMetric) -> (Vec<f64>, &'static str) {
    let of_rep = |r: &Repetition| match m.key {
        Metric::Rps => r.summary.rps,
        Metric::P50Us => r.summary.tail().p50_us as f64,
        _ => r.summary.tail().p99_us as f64,
    };
    if c.repetitions.len() >= 2 {
        return (c.repetitions.iter().map(of_rep).collect(), "repetitions");
    }
    let seconds = c.repetitions.iter().flat_map(|r| &r.per_second);
    let of_second = |s: &SecondStat| match m.key {
        Metric::Rps => s.calls as f64,
        Metric::P50Us => s.p50_us as f64,
        _ => s.p99_us as f64,
    };
    (seconds.map(of_second).collect(), "seconds")
}

/// Mean and sample variance.
fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n.max(1.0);
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var)
}

/// Welch's t-test: the one-sided p-value that `c`'s mean is above `b`'s.
fn p_above(b: &[f64], c: &[f64]) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let ((mb, vb), (mc, vc)) = (mean_var(b), mean_var(c));
    let (nb, nc) = (b.len() as f64, c.len() as f64);
    let se2 = vb / nb + vc / nc;
    if se2 <= 0.0 {
        // No spread on either side: the difference is exactly what it is.
        return if mc > mb { 0.0 } else { 1.0 };
    }
    let t = (mc - mb) / se2.sqrt();
    let dof = se2.powi(2) / ((vb / nb).powi(2) / (nb - 1.0) + (vc / nc).powi(2) / (nc - 1.0));
    if !t.is_finite() || !dof.is_finite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    match StudentsT::new(0.0, 1.0, dof.max(1.0)) {
        Ok(dist) => 1.0 - dist.cdf(t),
        Err(_) => 1.0,
    }
}

/// The verdict on one metric, when both cases have it.
fn diff(b: &CaseResult, c: &CaseResult, m: GateMetric, threshold: f64) -> Option<Diff> {
    let (sb, sc) = (b.stats.get(&m.key)?, c.stats.get(&m.key)?);
    if sb.kept == 0 || sc.kept == 0 {
        return None;
    }
    let ((xb, kind_b), (xc, kind_c)) = (samples(b, m), samples(c, m));
    let (mb, mc) = (mean_var(&xb).0, mean_var(&xc).0);
    let (mb, mc) = if xb.is_empty() || xc.is_empty() {
        (sb.mean, sc.mean)
    } else {
        (mb, mc)
    };
    let base = mb.abs().max(f64::MIN_POSITIVE);
    let worse_by = if m.higher_is_better {
        (mb - mc) / base
    } else {
        (mc - mb) / base
    };
    let judged = xb.len() >= MIN_SAMPLES && xc.len() >= MIN_SAMPLES;
    // The one-sided p-values that the candidate is worse, and that it is better.
    let (p_worse, p_better) = match (judged, m.higher_is_better) {
        (false, _) => (1.0, 1.0),
        (true, true) => (p_above(&xc, &xb), p_above(&xb, &xc)),
        (true, false) => (p_above(&xb, &xc), p_above(&xc, &xb)),
    };
    let verdict = match (judged, worse_by > threshold, worse_by < -threshold) {
        (false, true, _) => Verdict::Unjudged,
        (true, true, _) if p_worse < ALPHA => Verdict::Regressed,
        (true, true, _) => Verdict::Noise,
        (true, _, true) if p_better < ALPHA => Verdict::Improved,
        _ => Verdict::Ok,
    };
    let p_value = judged.then_some(if worse_by >= 0.0 { p_worse } else { p_better });
    Some(Diff {
        case: b.spec.name.clone(),
        metric: m.name,
        baseline: mb,
        baseline_ci: (sb.ci95_low, sb.ci95_high),
        candidate: mc,
        candidate_ci: (sc.ci95_low, sc.ci95_high),
        worse_by,
        samples: if kind_b == "seconds" || kind_c == "seconds" {
            "seconds"
        } else {
            "repetitions"
        },
        p_value,
        verdict,
    })
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
        let p = d
            .p_value
            .map_or(String::new(), |p| format!(", p={p:.3} over {}", d.samples));
        let verdict = match d.verdict {
            Verdict::Regressed => format!("REGRESSED{p}"),
            Verdict::Noise => format!("worse, within noise{p}"),
            Verdict::Improved => format!("improved{p}"),
            Verdict::Ok => "ok".to_string(),
            Verdict::Unjudged => {
                "NOT JUDGED: too few samples (run with --repeat 3 or longer)".into()
            }
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
    let verdict = match (cmp.failed(), cmp.unjudged()) {
        (true, _) => "FAIL".to_string(),
        (false, 0) => "pass".to_string(),
        (false, n) => format!("NOT JUDGED ({n} metric(s) with too few samples)"),
    };
    out.push_str(&format!(
        "{} regression(s) beyond {:.1}% and beyond the noise (one-sided Welch t-test, p < {ALPHA}), {} broken case(s): {verdict}\n",
        regressed,
        cmp.max_regression * 100.0,
        cmp.broken.len(),
    ));
    out
}
