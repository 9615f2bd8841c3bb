//! The engine as a library (`protolab_bench::measure`): closures with known delays,
//! failures and byte counts, measured under each load shape, and saved as a run
//! that reads back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use protolab_bench::measure::{calls, save, Bench, FnDriver};
use protolab_bench::{CallError, CallOutcome, KindName, OpSpec, Status};

const DELAY: Duration = Duration::from_millis(2);

async fn slow_call(_seq: u64) -> Result<(), CallError> {
    tokio::time::sleep(DELAY).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_calls_of_a_known_delay_give_its_percentiles() {
    let r = Bench::serial(200).run(calls("sleep", slow_call)).await;
    assert_eq!(r.status, Status::Valid, "{:?}", r.problems);
    assert_eq!(r.spec.name, "sleep/latency/sleep");
    assert_eq!(
        r.spec.op,
        OpSpec::Call {
            name: "sleep".into()
        }
    );
    let s = r.headline().expect("measured");
    assert_eq!(s.requests, 200);
    assert_eq!(s.errors, 0);
    // A 2 ms sleep takes at least 2 ms, and far less than 20 ms on any machine.
    assert!(s.latency.min_us >= 2_000, "min {} µs", s.latency.min_us);
    assert!(s.latency.p50_us < 20_000, "p50 {} µs", s.latency.p50_us);
    assert!(s.latency.p99_us >= s.latency.p50_us);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_count_under_their_kind_against_the_budget() {
    let fail_every_tenth = |seq: u64| async move {
        if seq % 10 == 9 {
            Err(CallError::failed("db", "row locked"))
        } else {
            Ok(())
        }
    };
    let within = Bench::serial(100)
        .max_errors(0.5)
        .run(calls("app", fail_every_tenth))
        .await;
    let s = within.headline().expect("measured");
    assert_eq!(s.requests + s.errors, 100);
    assert_eq!(s.errors_by_kind.get("db"), Some(&s.errors));
    assert!(s.errors >= 9, "{} errors", s.errors);
    assert_eq!(within.status, Status::Valid, "{:?}", within.problems);

    // The default budget is 0.1%: 10% failed calls fail the case.
    let over = Bench::serial(100).run(calls("app", fail_every_tenth)).await;
    assert_eq!(over.status, Status::Failed);
    assert!(
        over.problems.iter().any(|p| p.contains("error")),
        "{:?}",
        over.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_loop_sends_at_the_asked_rate() {
    let r = Bench::rate(200.0, Duration::from_secs(2))
        .warmup(Duration::from_millis(200))
        .connections_of(4)
        .run(calls("sleep", slow_call))
        .await;
    assert_eq!(r.spec.kind.id(), KindName::Rate);
    let s = r.headline().expect("measured");
    assert!((150.0..=250.0).contains(&s.rps), "{} calls/s", s.rps);
    assert!(s.latency.p50_us >= 2_000, "p50 {} µs", s.latency.p50_us);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_loop_with_connections_counts_each_connect() {
    let opened = Arc::new(AtomicU64::new(0));
    let count = opened.clone();
    let driver = FnDriver::new(
        "pool",
        move || {
            let count = count.clone();
            async move {
                count.fetch_add(1, Ordering::Relaxed);
                Ok::<_, CallError>(Arc::new("client"))
            }
        },
        |client: Arc<&'static str>, _seq| async move {
            assert_eq!(*client, "client");
            tokio::time::sleep(Duration::from_micros(200)).await;
            Ok::<_, CallError>(())
        },
    );
    let r = Bench::closed(3, Duration::from_millis(300))
        .warmup(Duration::from_millis(50))
        .repeat(2)
        .run(driver)
        .await;
    assert_eq!(r.status, Status::Valid, "{:?}", r.problems);
    assert_eq!(r.repetitions.len(), 2);
    assert!(r.repetitions.iter().all(|rep| rep.connections == 3));
    // Each repetition opens its own 3 (the engine may add one to verify).
    assert!(opened.load(Ordering::Relaxed) >= 6);
    assert!(r.headline().expect("merged").requests > 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_set_up_is_timed_apart_from_the_first_call() {
    let driver = FnDriver::new(
        "dial",
        || async {
            tokio::time::sleep(Duration::from_millis(3)).await;
            Ok::<_, CallError>(())
        },
        |(), _seq| async { Ok::<_, CallError>(()) },
    );
    let r = Bench::connections(20, 200.0).run(driver).await;
    assert_eq!(r.status, Status::Valid, "{:?}", r.problems);
    let c = r.repetitions[0].connect.as_ref().expect("breakdown");
    assert_eq!(c.tcp.count, 20);
    assert!(c.tcp.p50_us >= 3_000, "set-up p50 {} µs", c.tcp.p50_us);
    assert!(c.first_call.p50_us < c.tcp.p50_us);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_comes_from_the_bytes_calls_report() {
    let moved = |_seq| async {
        tokio::time::sleep(Duration::from_micros(100)).await;
        Ok::<_, CallError>(CallOutcome {
            ttfb: None,
            sent: 10_000,
            received: 20_000,
        })
    };
    let r = Bench::bandwidth(2, Duration::from_millis(300))
        .warmup(Duration::ZERO)
        .run(calls("bulk", moved))
        .await;
    let s = r.headline().expect("measured");
    let ratio = s.mbps_received / s.mbps_sent;
    assert!(s.mbps_sent > 0.0);
    assert!((1.99..=2.01).contains(&ratio), "down/up {ratio}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_run_reads_back_as_loadgen_reads_it() {
    let r = Bench::serial(50)
        .name("my-service/get")
        .target("memory")
        .run(calls("get", slow_call))
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = save(dir.path(), vec![r]).expect("saved");
    assert!(run_dir.join("run.json").exists());
    assert!(run_dir.join("summary.csv").exists());
    let run = protolab_bench::results::read(&run_dir).expect("reads back");
    assert_eq!(run.cases.len(), 1);
    let case = &run.cases[0];
    assert_eq!(case.spec.name, "my-service/get");
    assert_eq!(case.spec.target, "memory");
    assert_eq!(case.headline().expect("measured").requests, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slowest_calls_are_kept_with_their_call_number() {
    let one_slow = |seq: u64| async move {
        let pause = if seq == 7 { 30 } else { 1 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        Ok::<_, CallError>(())
    };
    let r = Bench::serial(20)
        .slow(Duration::from_millis(20), 5)
        .run(calls("mostly_quick", one_slow))
        .await;
    let slow = r.repetitions[0].slow.as_ref().expect("kept");
    assert_eq!(slow.threshold_us, 20_000);
    assert_eq!(slow.count, 1, "{slow:?}");
    let call = &slow.calls[0];
    assert_eq!(
        (call.seq, call.connection, call.error.as_deref()),
        (7, 0, None)
    );
    assert!(call.latency_us >= 30_000, "{} µs", call.latency_us);
}
