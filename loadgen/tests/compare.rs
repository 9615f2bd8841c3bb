//! The regression gate on synthetic runs: regressions beyond the noise fail it,
//! the same drop among widely spread repetitions does not, small changes pass, a
//! 15% regression at 5 repetitions with a 3% CV fails while runs of the same
//! distribution pass (seeded), single repetitions are judged on their seconds or
//! not at all, lower-is-better metrics point the right way, broken cases fail, and
//! the binary's exit code follows (1 on a regression, 2 when it cannot judge).

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
    // One repetition each and no seconds to go by: not judged, never a regression.
    assert_eq!(verdict(&cmp, "single", "rps"), Verdict::Unjudged);
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

/// A seeded normal sample of `n` values whose mean is exactly `mean` (the noise is
/// centred: the regression a test asks for is the one the samples show) and whose
/// coefficient of variation is about `cv`.
fn normal(seed: u64, n: usize, mean: f64, cv: f64) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let z: Vec<f64> = (0..n)
        .map(|_| {
            // Box-Muller.
            let (u1, u2) = (uniform().max(1e-12), uniform());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect();
    let centre = z.iter().sum::<f64>() / n as f64;
    z.iter().map(|z| mean * (1.0 + cv * (z - centre))).collect()
}

#[test]
fn a_real_fifteen_percent_regression_fails_and_the_same_build_passes() {
    let metrics = ["rps".to_string(), "p99".to_string()];
    for seed in 1..=20u64 {
        let rps = |s: u64, mean: f64| normal(s, 5, mean, 0.03);
        let p99 = |s: u64, mean: f64| -> Vec<u64> {
            normal(s, 5, mean, 0.03)
                .into_iter()
                .map(|v| v as u64)
                .collect()
        };
        let base = run(vec![shaped(
            "c",
            &rps(seed, 1000.0),
            &p99(seed + 100, 2000.0),
        )]);
        let same = run(vec![shaped(
            "c",
            &rps(seed + 200, 1000.0),
            &p99(seed + 300, 2000.0),
        )]);
        let worse = run(vec![shaped(
            "c",
            &rps(seed + 400, 850.0),
            &p99(seed + 500, 2300.0),
        )]);
        let pass = compare(&base, &same, 0.10, &metrics).expect("compare");
        assert!(
            !pass.failed(),
            "seed {seed}: {}",
            loadgen::report::compare::render_text(&pass)
        );
        let fail = compare(&base, &worse, 0.10, &metrics).expect("compare");
        assert_eq!(
            verdict(&fail, "c", "rps"),
            Verdict::Regressed,
            "seed {seed}"
        );
        assert_eq!(
            verdict(&fail, "c", "p99"),
            Verdict::Regressed,
            "seed {seed}"
        );
    }
}

#[test]
fn a_single_repetition_is_judged_on_its_seconds() {
    use protolab_bench::case::SecondStat;
    let with_seconds = |calls: &[u64]| {
        let mut c = shaped(
            "once",
            &[calls.iter().sum::<u64>() as f64 / calls.len() as f64],
            &[2000],
        );
        c.repetitions[0].per_second = calls
            .iter()
            .map(|n| SecondStat {
                calls: *n,
                p50_us: 500,
                p99_us: 2000,
            })
            .collect();
        run(vec![c])
    };
    let metrics = ["rps".to_string()];
    let steady = [1000, 1010, 990, 1005, 995, 1002];
    let base = with_seconds(&steady);
    let cmp = compare(
        &base,
        &with_seconds(&[800, 810, 790, 805, 795, 802]),
        0.10,
        &metrics,
    )
    .expect("compare");
    assert_eq!(verdict(&cmp, "once", "rps"), Verdict::Regressed);
    assert_eq!(cmp.diffs[0].samples, "seconds");
    // The same mean drop among seconds that swing wildly is noise.
    let noisy = with_seconds(&[300, 1300, 500, 1200, 400, 1100]);
    let cmp = compare(&base, &noisy, 0.10, &metrics).expect("compare");
    assert_eq!(verdict(&cmp, "once", "rps"), Verdict::Noise);
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
    // Nothing to judge a single repetition by: its own exit status, not a pass.
    let mut once = candidate();
    once.cases.retain(|c| c.workload() == "single");
    let once = write("once", &once);
    let out = gate(&once);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
