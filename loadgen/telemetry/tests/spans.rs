//! What the layer measures per span: wall and busy time, nesting, errors and
//! network round trips. Each test installs its own subscriber on its own thread.

use std::thread::sleep;
use std::time::Duration;

use protolab_telemetry::{SpanStats, Telemetry, TelemetryBuilder, TelemetryLayer};
use tracing::dispatcher::DefaultGuard;
use tracing_subscriber::prelude::*;

fn install(builder: TelemetryBuilder) -> (DefaultGuard, Telemetry) {
    let (layer, telemetry) = builder.build();
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    (guard, telemetry)
}

fn row<'a>(report: &'a protolab_telemetry::TelemetryReport, name: &str) -> &'a SpanStats {
    match report.span(name) {
        Some(row) => row,
        None => panic!("no row for {name} in {report:#?}"),
    }
}

#[test]
fn sync_span_wall_and_busy_cover_the_sleep() {
    let (_guard, telemetry) = install(TelemetryLayer::builder());
    for _ in 0..3 {
        let _span = tracing::info_span!("sleepy").entered();
        sleep(Duration::from_millis(20));
    }
    let report = telemetry.report();
    let sleepy = row(&report, "sleepy");
    assert_eq!(sleepy.calls, 3);
    assert_eq!(sleepy.target, "spans");
    assert!(sleepy.p50_us >= 20_000, "{sleepy:?}");
    assert!(sleepy.p50_us < 220_000, "{sleepy:?}");
    assert!(sleepy.max_us >= sleepy.p50_us);
    // Entered for the whole sleep: busy is (nearly) all of wall.
    assert!(sleepy.busy_mean_us >= 20_000.0, "{sleepy:?}");
    assert!(sleepy.busy_mean_us <= sleepy.mean_us);
    assert_eq!(report.total_calls, 3);
    assert!(report.avg_call_us >= 20_000.0);
}

#[test]
fn nesting_gives_depths_and_parents() {
    let builder = TelemetryLayer::builder()
        .slow_threshold(Duration::ZERO)
        .deep_stack_threshold(2);
    let (_guard, telemetry) = install(builder);
    {
        let _root = tracing::info_span!("root").entered();
        let _child = tracing::info_span!("child").entered();
        let _grandchild = tracing::info_span!("grandchild").entered();
        assert_eq!(telemetry.report().open_spans, 3);
    }
    let report = telemetry.report();
    assert_eq!(report.open_spans, 0);
    assert_eq!(report.max_depth, 2);
    assert_eq!(report.deep_calls, 1);
    for (name, depth) in [("root", 0), ("child", 1), ("grandchild", 2)] {
        assert_eq!(row(&report, name).max_depth, depth, "{name}");
        assert_eq!(row(&report, name).mean_depth, f64::from(depth), "{name}");
    }
    // Threshold zero: every call is a slow call, each with its parent.
    assert_eq!(report.slow_call_count, 3);
    let parent_of = |name: &str| {
        let call = report.slow_calls.iter().find(|c| c.name == name);
        call.map(|c| (c.depth, c.parent.clone()))
    };
    assert_eq!(parent_of("root"), Some((0, None)));
    assert_eq!(parent_of("child"), Some((1, Some("root".to_owned()))));
    assert_eq!(parent_of("grandchild"), Some((2, Some("child".to_owned()))));
    // The root is open longest, so it has the largest total and comes first.
    assert_eq!(report.spans[0].name, "root");
}

#[tracing::instrument]
async fn wait_for_io() {
    tokio::time::sleep(Duration::from_millis(30)).await;
}

#[tokio::test]
async fn async_span_wall_includes_the_await_busy_does_not() {
    let (_guard, telemetry) = install(TelemetryLayer::builder());
    wait_for_io().await;
    wait_for_io().await;
    let report = telemetry.report();
    let wait = row(&report, "wait_for_io");
    assert_eq!(wait.calls, 2);
    assert!(wait.p50_us >= 30_000, "{wait:?}");
    assert!(wait.busy_mean_us * 5.0 < wait.mean_us, "{wait:?}");
}

#[tracing::instrument(err)]
fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    input.parse()
}

#[test]
fn errors_count_the_span_that_failed_only() {
    let (_guard, telemetry) = install(TelemetryLayer::builder().slow_threshold(Duration::ZERO));
    {
        let _batch = tracing::info_span!("batch").entered();
        for input in ["7", "x", "y"] {
            let _ = parse(input);
        }
        let _warned = tracing::info_span!("warned").entered();
        tracing::warn!("a warning is not a failure");
    }
    let report = telemetry.report();
    assert_eq!(
        (row(&report, "parse").calls, row(&report, "parse").errors),
        (3, 2)
    );
    assert_eq!(row(&report, "batch").errors, 0);
    assert_eq!(row(&report, "warned").errors, 0);
    assert_eq!(report.failed_calls, 2);
    let failed = report.slow_calls.iter().filter(|c| c.failed).count();
    assert_eq!(failed, 2);
}

#[tracing::instrument(fields(round_trip = true))]
fn get(key: u32) {}

/// Not a round trip itself; holds one two levels below the root.
#[tracing::instrument]
fn helper() {
    let _request = tracing::info_span!("http.request").entered();
}

#[tracing::instrument]
fn checkout() {
    get(1);
    tracing::info_span!("put", round_trip = true).in_scope(|| {});
    helper();
    let _local = tracing::info_span!("local").entered();
}

#[test]
fn round_trips_are_counted_per_name_and_per_root_call() {
    let builder = TelemetryLayer::builder().round_trip_span("http.request");
    let (_guard, telemetry) = install(builder);
    for _ in 0..4 {
        checkout();
    }
    for trips in [1, 2] {
        let _browse = tracing::info_span!("browse").entered();
        for key in 0..trips {
            get(key);
        }
    }
    let report = telemetry.report();
    assert_eq!(report.round_trips, 12 + 3);
    let checkout = row(&report, "checkout");
    assert_eq!(checkout.root_calls, 4);
    assert_eq!(checkout.round_trips_per_root_mean, 3.0);
    assert_eq!(checkout.round_trips_per_root_max, 3);
    assert_eq!(checkout.round_trips, 0);
    let browse = row(&report, "browse");
    assert_eq!(browse.round_trips_per_root_mean, 1.5);
    assert_eq!(browse.round_trips_per_root_max, 2);
    assert_eq!(row(&report, "get").round_trips, 4 + 3);
    assert_eq!(row(&report, "put").round_trips, 4);
    assert_eq!(row(&report, "http.request").round_trips, 4);
    assert_eq!(row(&report, "http.request").max_depth, 2);
    assert_eq!(row(&report, "helper").round_trips, 0);
    assert_eq!(row(&report, "local").round_trips, 0);
    // Not a root: no per-root figures.
    assert_eq!(row(&report, "get").root_calls, 0);
}

#[test]
fn a_root_round_trip_counts_for_itself() {
    let (_guard, telemetry) = install(TelemetryLayer::builder());
    get(1);
    let report = telemetry.report();
    let get = row(&report, "get");
    assert_eq!((get.root_calls, get.round_trips_per_root_mean), (1, 1.0));
}
