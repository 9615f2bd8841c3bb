//! The regression gate on synthetic runs: regressions outside the noise fail it,
//! the same drop inside a wide confidence interval does not, small changes pass,
//! single repetitions fall back to the threshold, lower-is-better metrics point
//! the right way, broken cases fail, and the binary's exit code follows.

mod support;

use loadgen::report::compare::{compare, parse_percent, Verdict};
use loadgen::results::Run;
use protolab_bench::OpSpec;
use protolab_bench::{CaseResult, Kind};
use support::{case, rep, summary};

/// A case whose repetitions have these req/s and P99s (µs).
fn shaped(name: &str, rps: &[f64], p99_us: &[u64]) -> CaseResult {
    let reps = rps
        .iter()
        .zip(p99_us)
        .map(|(r, p)| {
            let mut s = summary(*r, 500, 1.0);
            s.latency.p99_us = *p;
            rep(s)
        })
        .collect();
    case("rest-h1", name, Kind::Throughput, OpSpec::Ping, reps)
}

fn run(cases: Vec<CaseResult>) -> Run {
    Run::new(cases, 1_700_000_000.0)
}

const TIGHT: [f64; 5] = [1000.0, 1010.0, 990.0, 1005.0, 995.0];
const P99: [u64; 5] = [2000, 2010, 1990, 2005, 1995];

fn scaled(v: &[f64], k: f64) -> Vec<f64> {
    v.iter().map(|x| x * k).collect()
}

fn baseline() -> Run {
    run(vec![
        shaped("drop", &TIGHT, &P99),
        shaped("noisy-drop", &TIGHT, &P99),
        shaped("small-drop", &TIGHT, &P99),
        shaped("slower-tail", &TIGHT, &P99),
        shaped("faster", &TIGHT, &P99),
        shaped("single", &[1000.0], &[2000]),
        shaped("single-small", &[1000.0], &[2000]),
        shaped("breaks", &TIGHT, &P99),
        shaped("gone", &TIGHT, &P99),
    ])
}

fn candidate() -> Run {
    let mut broken = shaped("breaks", &[], &[]);
    broken.valid = false;
    broken.problems = vec!["verification of ping failed: wrong answer".into()];
    run(vec![
        shaped("drop", &scaled(&TIGHT, 0.8), &P99),
        // Mean 800 (-20%) but so spread that its interval holds the baseline's mean.
        shaped("noisy-drop", &[500.0, 1300.0, 700.0, 1100.0, 400.0], &P99),
        shaped("small-drop", &scaled(&TIGHT, 0.95), &P99),
        shaped("slower-tail", &TIGHT, &P99.map(|p| p * 13 / 10)),
        shaped("faster", &scaled(&TIGHT, 1.3), &P99),
        shaped("single", &[800.0], &[2000]),
        shaped("single-small", &[950.0], &[2000]),
        broken,
        shaped("new", &TIGHT, &P99),
    ])
}

fn verdict(cmp: &loadgen::report::compare::Comparison, case: &str, metric: &str) -> Verdict {
    cmp.diffs
        .iter()
        .find(|d| d.case == format!("rest-h1/{case}") && d.metric == metric)
        .unwrap_or_else(|| panic!("no {metric} diff for {case}"))
        .verdict
}

#[test]
fn regressions_outside_the_noise_fail_and_noise_does_not() {
    let metrics = ["rps".to_string(), "p99".to_string()];
    let cmp = compare(&baseline(), &candidate(), 0.10, &metrics).expect("compare");
    assert_eq!(verdict(&cmp, "drop", "rps"), Verdict::Regressed);
    assert_eq!(verdict(&cmp, "noisy-drop", "rps"), Verdict::Noise);
    assert_eq!(verdict(&cmp, "small-drop", "rps"), Verdict::Ok);
    assert_eq!(verdict(&cmp, "slower-tail", "p99"), Verdict::Regressed);
    assert_eq!(verdict(&cmp, "slower-tail", "rps"), Verdict::Ok);
    assert_eq!(verdict(&cmp, "faster", "rps"), Verdict::Improved);
    // One repetition each: no interval, the threshold alone decides.
    assert_eq!(verdict(&cmp, "single", "rps"), Verdict::Regressed);
    assert!(cmp
        .diffs
        .iter()
        .any(|d| d.case.ends_with("/single") && d.threshold_only));
    assert_eq!(verdict(&cmp, "single-small", "rps"), Verdict::Ok);
    assert_eq!(cmp.broken, ["rest-h1/breaks"]);
    assert_eq!(cmp.missing, ["rest-h1/gone"]);
    assert_eq!(cmp.added, ["rest-h1/new"]);
    assert!(cmp.failed());
    let text = loadgen::report::compare::render_text(&cmp);
    assert!(
        text.contains("REGRESSED") && text.contains("within noise"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("FAIL"), "{text}");
}

#[test]
fn noise_and_small_changes_pass_the_gate() {
    let keep = |r: Run| {
        let mut r = r;
        r.cases.retain(|c| {
            ["noisy-drop", "small-drop", "faster", "single-small"].contains(&c.workload())
        });
        r
    };
    let metrics = ["p99".to_string(), "rps".to_string()];
    let cmp = compare(&keep(baseline()), &keep(candidate()), 0.10, &metrics).expect("compare");
    assert!(
        !cmp.failed(),
        "{}",
        loadgen::report::compare::render_text(&cmp)
    );
    // A 4% threshold makes the tight 5% drop a regression.
    let strict = compare(&keep(baseline()), &keep(candidate()), 0.04, &metrics).expect("compare");
    assert_eq!(verdict(&strict, "small-drop", "rps"), Verdict::Regressed);
}

#[test]
fn bad_inputs_are_refused() {
    assert!(compare(&baseline(), &candidate(), 0.1, &["p42".to_string()]).is_err());
    let other = run(vec![shaped("elsewhere", &TIGHT, &P99)]);
    assert!(compare(&baseline(), &other, 0.1, &["rps".to_string()]).is_err());
    assert_eq!(parse_percent("10%"), Ok(0.10));
    assert_eq!(parse_percent("2.5"), Ok(0.025));
    assert!(parse_percent("ten").is_err() && parse_percent("-3%").is_err());
}

#[test]
fn the_binary_exits_non_zero_on_a_regression_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, r: &Run| {
        let mut r = r.clone();
        r.run_id = name.into();
        loadgen::results::write(tmp.path(), &r).expect("write")
    };
    let base = write("base", &baseline());
    let worse = write("worse", &candidate());
    let mut calm = candidate();
    calm.cases.retain(|c| c.workload() == "noisy-drop");
    let calm = write("calm", &calm);
    let gate = |cand: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(["compare", "--max-regression", "10%", "--metric", "rps,p99"])
            .arg(&base)
            .arg(cand)
            .output()
            .expect("loadgen runs")
    };
    let out = gate(&worse);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("rest-h1/drop") && stdout.contains("REGRESSED"),
        "{stdout}"
    );
    let out = gate(&calm.join("run.json"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
