//! The engine's load models against a fake driver on tokio's paused clock: the
//! coordinated-omission correction, rate accuracy, budgets and warm-up exclusion,
//! with no network and no wall-clock flakiness.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use protolab_bench::engine::{self, LoadPlan, Model};
use protolab_bench::{CallError, CallOutcome, ConnectTimings, Driver, OpSpec};
use protolab_bench::{Hooks, Progress, Tick};
use tokio::time::Instant;

/// A server that answers in `service`, except that it stalls completely between
/// `stall.0` and `stall.1` after its creation (every call in that window waits).
struct FakeServer {
    born: Instant,
    service: Duration,
    stall: Option<(Duration, Duration)>,
    calls: AtomicU64,
}

impl FakeServer {
    fn new(service: Duration, stall: Option<(Duration, Duration)>) -> Arc<FakeServer> {
        Arc::new(FakeServer {
            born: Instant::now(),
            service,
            stall,
            calls: AtomicU64::new(0),
        })
    }
}

impl Driver for FakeServer {
    type Conn = ();
    fn name(&self) -> String {
        "fake".into()
    }
    async fn connect(&self) -> Result<((), ConnectTimings), CallError> {
        Ok(((), ConnectTimings::default()))
    }
    fn share(&self, _: &mut ()) -> Option<()> {
        Some(())
    }
    async fn call(&self, _: &mut (), _: &OpSpec, _: u64) -> Result<CallOutcome, CallError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Some((from, to)) = self.stall {
            let now = self.born.elapsed();
            if now >= from && now < to {
                tokio::time::sleep_until(self.born + to).await;
            }
        }
        tokio::time::sleep(self.service).await;
        Ok(CallOutcome {
            ttfb: None,
            sent: 10,
            received: 20,
        })
    }
    async fn verify(&self, _: &mut (), _: &OpSpec) -> Result<(), CallError> {
        Ok(())
    }
}

fn plan(model: Model, connections: usize, duration: Duration) -> LoadPlan {
    LoadPlan {
        model,
        connections,
        inflight: 1,
        duration,
        warmup: Duration::from_millis(500),
        requests: None,
        requests_per_worker: None,
        timeout: Duration::from_secs(10),
        max_lag: Duration::from_millis(5),
        slow: None,
        schedule: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_stall_shows_in_corrected_latency_only() -> anyhow::Result<()> {
    let server = FakeServer::new(
        Duration::from_millis(1),
        Some((Duration::from_secs(2), Duration::from_secs(3))),
    );
    let p = plan(Model::Open { rate: 1000.0 }, 10, Duration::from_secs(3));
    let r = engine::run(server, &OpSpec::Ping, &p, &mut Hooks::silent()).await?;
    let s = r.recorder.summary(r.elapsed);
    assert!(
        s.latency.p99_us >= 900_000,
        "corrected p99 {} µs should include the 1 s stall",
        s.latency.p99_us
    );
    assert!(
        s.latency.max_us >= 1_000_000,
        "corrected max {} µs",
        s.latency.max_us
    );
    assert!(
        s.service.p99_us < 50_000,
        "uncorrected p99 {} µs should hide the stall",
        s.service.p99_us
    );
    assert!(
        s.service.max_us >= 990_000,
        "the stalled calls themselves took the stall"
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn open_loop_sends_at_the_rate_and_drops_warmup() -> anyhow::Result<()> {
    let server = FakeServer::new(Duration::from_micros(300), None);
    let p = plan(Model::Open { rate: 2000.0 }, 4, Duration::from_secs(2));
    let r = engine::run(server.clone(), &OpSpec::Ping, &p, &mut Hooks::silent()).await?;
    // 2.5 s at 2000/s were sent; 2 s of them measured.
    assert_eq!(server.calls.load(Ordering::Relaxed), 5000);
    assert_eq!(r.recorder.ok(), 4000);
    // Idle workers woke on time: no schedule lag for the verdict to hold against it.
    for lag in [&r.timer_lag, &r.send_lag] {
        assert!(lag.is_empty() || lag.value_at_quantile(0.99) <= p.max_lag.as_micros() as u64);
    }
    // 2000 sends in each measured second (within one at a boundary: slot times
    // are floating point), 4000 in all.
    assert_eq!(r.sends_per_second.iter().sum::<u64>(), 4000);
    assert!(
        r.sends_per_second[..2]
            .iter()
            .all(|n| n.abs_diff(2000) <= 1),
        "{:?}",
        r.sends_per_second
    );
    let s = r.recorder.summary(r.elapsed);
    assert!(
        (s.rps - 2000.0).abs() / 2000.0 < 0.01,
        "achieved {} req/s",
        s.rps
    );
    assert_eq!(s.latency.p50_us, s.service.p50_us);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn closed_loop_budgets_stop_exactly() -> anyhow::Result<()> {
    let server = FakeServer::new(Duration::from_millis(2), None);
    let mut p = plan(Model::Closed, 8, Duration::from_secs(60));
    p.requests = Some(1234);
    let r = engine::run(server, &OpSpec::Ping, &p, &mut Hooks::silent()).await?;
    assert_eq!(r.recorder.ok(), 1234);

    let server = FakeServer::new(Duration::from_millis(2), None);
    let mut p = plan(Model::Closed, 16, Duration::from_secs(60));
    p.warmup = Duration::ZERO;
    p.requests_per_worker = Some(25);
    let r = engine::run(server, &OpSpec::Ping, &p, &mut Hooks::silent()).await?;
    assert_eq!(r.recorder.ok(), 16 * 25);
    assert_eq!(r.workers, 16);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn closed_loop_throughput_matches_service_time() -> anyhow::Result<()> {
    let server = FakeServer::new(Duration::from_millis(1), None);
    let p = plan(Model::Closed, 4, Duration::from_secs(2));
    let r = engine::run(server, &OpSpec::Ping, &p, &mut Hooks::silent()).await?;
    let s = r.recorder.summary(r.elapsed);
    // 4 workers x 1 ms service = 4000 req/s.
    assert!((s.rps - 4000.0).abs() / 4000.0 < 0.02, "{} req/s", s.rps);
    let bytes = s.mbps_sent * 1e6 * r.elapsed.as_secs_f64();
    assert!(
        (bytes / 10.0 - s.requests as f64).abs() < 1.0,
        "{bytes} bytes for {} requests",
        s.requests
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_long_run_keeps_compact_per_second_histograms() -> anyhow::Result<()> {
    let server = FakeServer::new(Duration::from_millis(3), None);
    let mut p = plan(Model::Open { rate: 200.0 }, 4, Duration::from_secs(600));
    p.timeout = Duration::from_secs(1);
    let r = engine::run(server, &OpSpec::Ping, &p, &mut Hooks::silent()).await?;
    assert_eq!(r.recorder.ok(), 120_000);
    assert_eq!(r.intervals.len(), 600);
    assert!(r.intervals.windows(2).all(|w| w[0].offset < w[1].offset));
    let bytes: usize = r.intervals.iter().map(|i| i.size()).sum();
    // Ten minutes of per-second histograms in well under a megabyte (a full
    // histogram each would be ~110 MB).
    assert!(bytes < 600 * 1024, "{bytes} bytes");
    let h = r.intervals[300]
        .histogram()
        .ok_or_else(|| anyhow::anyhow!("decodes"))?;
    assert_eq!(h.len(), 200);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_observer_gets_one_tick_a_second_with_the_last_seconds_numbers() -> anyhow::Result<()> {
    let server = FakeServer::new(Duration::from_millis(1), None);
    let p = plan(Model::Closed, 4, Duration::from_secs(3));
    struct Ticks(std::sync::Mutex<Vec<Tick>>);
    impl Progress for Ticks {
        fn tick(&self, t: Tick) {
            if let Ok(mut v) = self.0.lock() {
                v.push(t);
            }
        }
    }
    let observe = Ticks(std::sync::Mutex::new(Vec::new()));
    engine::run(
        server,
        &OpSpec::Ping,
        &p,
        &mut Hooks {
            progress: &observe,
            raw: None,
            admin: None,
            server: None,
            same_clock: true,
        },
    )
    .await?;
    let ticks = observe
        .0
        .into_inner()
        .map_err(|_| anyhow::anyhow!("poisoned"))?;
    assert!(ticks.len() >= 3, "{} ticks", ticks.len());
    // A full measured second: 4 workers x 1 ms service, answered in ~1 ms.
    let busy: Vec<_> = ticks.iter().filter(|t| t.rps > 3000.0).collect();
    assert!(!busy.is_empty(), "{ticks:?}");
    for t in busy {
        assert!((1000..1100).contains(&t.p50_us), "{t:?}");
        assert!(t.p99_us >= t.p50_us && t.errors == 0, "{t:?}");
    }
    assert!(ticks.windows(2).all(|w| w[0].requests <= w[1].requests));
    Ok(())
}
