//! stats against known distributions and hand-computed statistics: percentiles of a
//! uniform distribution, merge = one recorder, Student-t intervals, z-score outliers.

use std::time::Duration;

use protolab_bench::stats::{
    decode_histogram, new_histogram, rep_stats, t95, z_outliers, Interval, Percentiles, Recorder,
    MAX_US,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn us(v: u64) -> Duration {
    Duration::from_micros(v)
}

#[test]
fn percentiles_of_a_uniform_distribution() {
    let mut r = Recorder::new();
    for v in 1..=10_000u64 {
        r.record_ok(us(v), us(v), None, 1, 2);
    }
    let s = r.summary(Duration::from_secs(2));
    assert_eq!(s.requests, 10_000);
    let l = &s.latency;
    // 3 significant digits: within 0.1% above the exact sample.
    assert!(close(l.p50_us as f64, 5000.0, 5.0), "{}", l.p50_us);
    assert!(close(l.p90_us as f64, 9000.0, 9.0), "{}", l.p90_us);
    assert!(close(l.p99_us as f64, 9900.0, 10.0), "{}", l.p99_us);
    assert!(close(l.p999_us as f64, 9990.0, 10.0), "{}", l.p999_us);
    assert_eq!((l.count, l.min_us), (10_000, 1));
    assert!(close(l.max_us as f64, 10_000.0, 10.0), "{}", l.max_us);
    assert!(close(l.mean_us, 5000.5, 3.0), "{}", l.mean_us);
    // Population stddev of 1..=10000: sqrt((n^2 - 1) / 12) = 2886.75.
    assert!(close(l.stddev_us, 2886.75, 3.0), "{}", l.stddev_us);
    assert_eq!(s.service, s.latency, "closed loop: service = latency");
    assert!(s.ttfb.is_none());
    assert!(close(s.rps, 5000.0, 1e-9));
    assert!(close(s.mbps_sent, 0.005, 1e-12));
    assert!(close(s.mbps_received, 0.01, 1e-12));
}

#[test]
fn mean_and_stddev_of_a_fixed_sample() {
    // 2,4,4,4,5,5,7,9 (µs ×1000): mean 5000, population stddev 2000.
    let mut r = Recorder::new();
    for v in [2u64, 4, 4, 4, 5, 5, 7, 9] {
        r.record_ok(us(v * 1000), us(v * 1000), Some(us(v)), 0, 0);
    }
    let s = r.summary(Duration::from_secs(1));
    assert!(
        close(s.latency.mean_us, 5000.0, 5.0),
        "{}",
        s.latency.mean_us
    );
    assert!(
        close(s.latency.stddev_us, 2000.0, 5.0),
        "{}",
        s.latency.stddev_us
    );
    let ttfb = s.ttfb.expect("ttfb recorded");
    assert_eq!((ttfb.count, ttfb.min_us, ttfb.max_us), (8, 2, 9));
}

#[test]
fn merge_equals_recording_into_one() {
    let (mut a, mut b, mut all) = (Recorder::new(), Recorder::new(), Recorder::new());
    for v in 1..500u64 {
        let d = us(v * 13);
        let target = if v % 3 == 0 { &mut a } else { &mut b };
        target.record_ok(d, d / 2, Some(d / 4), v, 2 * v);
        all.record_ok(d, d / 2, Some(d / 4), v, 2 * v);
    }
    a.record_error("timeout", Duration::ZERO);
    b.record_error("connect", Duration::ZERO);
    all.record_error("timeout", Duration::ZERO);
    all.record_error("connect", Duration::ZERO);
    a.merge(&b);
    assert_eq!((a.ok(), a.errors()), (all.ok(), all.errors()));
    assert_eq!(a.latency_histogram(), all.latency_histogram());
    let second = Duration::from_secs(1);
    assert_eq!(a.summary(second), all.summary(second));
}

#[test]
fn errors_are_counted_by_kind_and_values_clamped() {
    let mut r = Recorder::new();
    r.record_error("status_503", Duration::ZERO);
    r.record_error("status_503", Duration::ZERO);
    r.record_error("timeout", Duration::from_secs(5));
    r.record_ok(Duration::from_secs(10_000), Duration::ZERO, None, 0, 0);
    let s = r.summary(Duration::from_secs(1));
    assert_eq!((s.requests, s.errors), (1, 3));
    assert_eq!(s.errors_by_kind.get("status_503"), Some(&2));
    assert_eq!(s.errors_by_kind.get("timeout"), Some(&1));
    assert!(s.latency.max_us >= MAX_US - MAX_US / 1000, "clamped to 1 h");
    assert_eq!(s.service.min_us, 1, "0 is recorded as 1 µs");
}

#[test]
fn empty_recorder_and_empty_window_give_zeros() {
    let mut r = Recorder::new();
    let s = r.summary(Duration::ZERO);
    assert_eq!(s.latency, Percentiles::default());
    assert_eq!((s.requests, s.rps), (0, 0.0));
    r.record_ok(us(10), us(10), None, 100, 100);
    let s = r.summary(Duration::ZERO);
    assert_eq!((s.rps, s.mbps_sent), (0.0, 0.0), "no division by zero");
    assert_eq!(Percentiles::from_histogram(&new_histogram()).count, 0);
}

#[test]
fn intervals_are_compact_and_decode_to_the_same_histogram() {
    let mut h = new_histogram();
    for v in [120u64, 130, 150, 900, 12_000, 250_000] {
        h.record(v).expect("in range");
    }
    let i = Interval::new(Duration::from_secs(3), Duration::from_secs(1), &h);
    assert!(i.size() < 200, "{} bytes", i.size());
    assert_eq!(i.histogram(), Some(h));
}

#[test]
fn confidence_interval_matches_a_hand_computation() {
    // mean 14, s = 3.1623, t(0.975, 4) = 2.7764 → 14 ± 3.9264
    let s = rep_stats(&[10.0, 12.0, 14.0, 16.0, 18.0], 2.0);
    assert_eq!((s.n, s.kept, s.removed.len()), (5, 5, 0));
    assert!(close(s.mean, 14.0, 1e-12));
    assert_eq!(s.median, 14.0);
    assert!(close(s.stddev, 3.162_278, 1e-5), "{}", s.stddev);
    assert!(close(s.cv, 3.162_278 / 14.0, 1e-6));
    assert!(close(s.ci95_high - s.mean, 3.9264, 1e-3), "{}", s.ci95_high);
    assert!(close(s.mean - s.ci95_low, 3.9264, 1e-3), "{}", s.ci95_low);
    assert!(!s.ci95_degenerate);
}

#[test]
fn student_t_quantiles_match_tables() {
    // scipy.stats.t.ppf(0.975, dof)
    for (dof, t) in [
        (1, 12.7062),
        (2, 4.3027),
        (4, 2.7764),
        (9, 2.2622),
        (30, 2.0423),
    ] {
        assert!(close(t95(dof), t, 1e-3), "dof {dof}: {}", t95(dof));
    }
    assert!(close(t95(100_000), 1.95996, 1e-3));
}

#[test]
fn single_value_gives_a_flagged_point_interval() {
    let one = rep_stats(&[7.0], 2.0);
    assert_eq!((one.ci95_low, one.ci95_high, one.kept), (7.0, 7.0, 1));
    assert_eq!((one.median, one.stddev, one.cv), (7.0, 0.0, 0.0));
    assert!(one.ci95_degenerate);
    let two = rep_stats(&[1.0, 3.0], 2.0);
    assert_eq!(two.median, 2.0);
    assert!(!two.ci95_degenerate && two.ci95_low < 2.0 && two.ci95_high > 2.0);
    let none = rep_stats(&[], 2.0);
    assert_eq!((none.n, none.mean, none.median), (0, 0.0, 0.0));
    assert!(none.ci95_degenerate);
}

#[test]
fn outliers_are_removed_by_z_score() {
    let s = rep_stats(&[10.0, 11.0, 9.0, 10.0, 12.0, 11.0, 10.0, 100.0], 2.0);
    assert_eq!(s.removed, vec![7]);
    assert_eq!((s.n, s.kept), (8, 7));
    assert!(close(s.mean, 73.0 / 7.0, 1e-12), "{}", s.mean);
    assert_eq!(s.median, 10.0);
    assert!(rep_stats(&[1.0, 100.0], 0.5).removed.is_empty(), "n < 3");
    assert!(
        z_outliers(&[5.0, 5.0, 5.0, 5.0], 0.1).is_empty(),
        "no spread"
    );
    // |z| <= (n - 1) / sqrt(n) with the sample stddev: 5 values never pass 2.
    assert!(z_outliers(&[0.0, 0.0, 0.0, 0.0, 1e9], 2.0).is_empty());
    assert_eq!(z_outliers(&[0.0, 0.0, 0.0, 0.0, 0.0, 1e9], 2.0), vec![5]);
}

#[test]
fn non_finite_values_are_removed_not_averaged() {
    let s = rep_stats(&[f64::NAN, 10.0, 12.0, f64::INFINITY], 2.0);
    assert_eq!(s.removed, vec![0, 3]);
    assert_eq!(s.kept, 2);
    assert!(close(s.mean, 11.0, 1e-12));
    assert!(s.ci95_low.is_finite() && s.ci95_high.is_finite());
}

#[test]
fn summary_carries_the_whole_latency_histogram() {
    let mut r = Recorder::new();
    for v in 1..=10_000u64 {
        r.record_ok(us(v), us(v), None, 0, 0);
    }
    let s = r.summary(Duration::from_secs(1));
    let text = s
        .latency_histogram
        .as_deref()
        .expect("histogram in the summary");
    assert!(text.len() < 16_000, "compact: {} bytes", text.len());
    let h = decode_histogram(text).expect("decodes");
    assert_eq!(Percentiles::from_histogram(&h), s.latency);
    assert!(decode_histogram("not base64!").is_none());
    let empty = Recorder::new().summary(Duration::from_secs(1));
    assert!(empty.latency_histogram.is_none());
}
