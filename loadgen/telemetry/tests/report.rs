//! The report as a whole: slow calls, JSON, the printed summary and reset.

use std::thread::sleep;
use std::time::Duration;

use protolab_telemetry::{
    Telemetry, TelemetryBuilder, TelemetryError, TelemetryLayer, TelemetryReport,
};
use tracing::dispatcher::DefaultGuard;
use tracing_subscriber::prelude::*;

fn install(builder: TelemetryBuilder) -> (DefaultGuard, Telemetry) {
    let (layer, telemetry) = builder.build();
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    (guard, telemetry)
}

#[tracing::instrument]
fn work(sleep_ms: u64) {
    sleep(Duration::from_millis(sleep_ms));
}

/// Five calls under a 10 ms threshold, two of them slow (15 and 30 ms).
fn five_calls(builder: TelemetryBuilder) -> TelemetryReport {
    let (_guard, telemetry) = install(builder.slow_threshold(Duration::from_millis(10)));
    for sleep_ms in [0, 15, 0, 30, 0] {
        work(sleep_ms);
    }
    telemetry.report()
}

#[test]
fn slow_calls_are_counted_and_kept_slowest_first() {
    let report = five_calls(TelemetryLayer::builder());
    assert_eq!(report.slow_call_count, 2);
    assert_eq!(report.slow_threshold_us, 10_000);
    let kept: Vec<u64> = report.slow_calls.iter().map(|c| c.duration_us).collect();
    assert_eq!(kept.len(), 2);
    assert!(
        kept[0] >= 30_000 && kept[1] >= 15_000 && kept[1] < 30_000,
        "{kept:?}"
    );
    let first = &report.slow_calls[0];
    assert_eq!(
        (first.name.as_str(), first.depth, first.parent.as_deref()),
        ("work", 0, None)
    );
    assert!(first.start_unix_s > 1.6e9, "{first:?}");
}

#[test]
fn keep_slow_bounds_the_list_not_the_count() {
    let report = five_calls(TelemetryLayer::builder().keep_slow(1));
    assert_eq!(report.slow_call_count, 2);
    assert_eq!(report.slow_calls.len(), 1);
    assert!(report.slow_calls[0].duration_us >= 30_000);
}

/// A report with every field in use: nesting, round trips, an error, slow calls.
fn busy_report() -> TelemetryReport {
    let builder = TelemetryLayer::builder()
        .slow_threshold(Duration::from_millis(5))
        .deep_stack_threshold(1);
    let (_guard, telemetry) = install(builder);
    for _ in 0..2 {
        let _root = tracing::info_span!("checkout").entered();
        tracing::info_span!("get", round_trip = true).in_scope(|| sleep(Duration::from_millis(6)));
        tracing::info_span!("pay").in_scope(|| tracing::error!("card declined"));
    }
    telemetry.report()
}

#[test]
fn json_saved_then_loaded_is_equal() {
    let report = busy_report();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("telemetry.json");
    report.save_json(&path).expect("saved");
    assert_eq!(TelemetryReport::load_json(&path).expect("loaded"), report);
    // Atomic write: only the file itself is left in the folder.
    let entries = std::fs::read_dir(dir.path()).expect("listed").count();
    assert_eq!(entries, 1);
}

#[test]
fn save_into_a_missing_folder_is_an_io_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("missing").join("telemetry.json");
    let err = busy_report().save_json(&path).expect_err("no such folder");
    assert!(matches!(err, TelemetryError::Io { .. }), "{err}");
}

#[test]
fn display_prints_the_summary() {
    let report = busy_report();
    let text = report.to_string();
    println!("{text}");
    for line in [
        "CALL TELEMETRY SUMMARY",
        "Total Calls:              6",
        "Failed Calls:             2",
        "Network Round Trips:      2",
        "Open Spans (now):         0",
        "Max Stack Depth:          1",
        "Deep Calls (depth>=1):    4",
        "Slow Calls (>=5ms):       4",
        "Avg Call Duration:",
        "SPANS (by total time):",
        "SLOW CALLS:",
        "depth=0  parent=-",
        "depth=1  parent=checkout",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.starts_with(&"=".repeat(80)), "{text}");
    let checkout_row = text.lines().find(|l| l.contains("report::checkout"));
    assert!(
        checkout_row.is_some_and(|l| l.trim_end().ends_with("1.00")),
        "{text}"
    );
}

#[test]
fn reset_forgets_everything() {
    let (_guard, telemetry) = install(TelemetryLayer::builder().slow_threshold(Duration::ZERO));
    work(0);
    work(0);
    assert_eq!(telemetry.report().total_calls, 2);
    telemetry.reset();
    let report = telemetry.report();
    assert_eq!(report.total_calls, 0);
    assert!(
        report.spans.is_empty() && report.slow_calls.is_empty(),
        "{report:?}"
    );
    assert_eq!((report.slow_call_count, report.avg_call_us), (0, 0.0));
    work(0);
    assert_eq!(telemetry.report().total_calls, 1);
}
