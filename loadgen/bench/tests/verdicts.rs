//! The verdict on a real clock (a paused clock cannot test lateness): failures in
//! the tail and the error budget, a starved generator, a stall in one repetition
//! seen in the merged figures, and a push stream whose consumer reads slowly. Fake
//! drivers, no network; every run is bounded to a few seconds.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use protolab_bench::case::{CaseSpec, Status, DEFAULT_MAX_ERRORS};
use protolab_bench::driver::{PushEvent, PushStream, Pushed, StreamParams};
use protolab_bench::{
    run_case, CallError, CallOutcome, ConnectTimings, Driver, Hooks, Kind, LoadPlan, Model, OpSpec,
};

/// How the fake server treats a call.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers in `service`; every `fail_every`-th call is a 500 (0: never).
    Answer { service: Duration, fail_every: u64 },
    /// Never answers every `hang_every`-th call; the others in `service`.
    Hang { service: Duration, hang_every: u64 },
    /// Burns `cpu` of the calling thread's CPU per call, then answers.
    Burn { cpu: Duration },
    /// Answers in `service`, but stalls every call between `from` and `to` after
    /// it was made.
    Stall {
        service: Duration,
        from: Duration,
        to: Duration,
    },
}

struct Fake {
    behaviour: Behaviour,
    born: tokio::time::Instant,
    calls: AtomicU64,
}

fn fake(behaviour: Behaviour) -> Arc<Fake> {
    Arc::new(Fake {
        behaviour,
        born: tokio::time::Instant::now(),
        calls: AtomicU64::new(0),
    })
}

const OK: CallOutcome = CallOutcome {
    ttfb: None,
    sent: 10,
    received: 10,
};

impl Driver for Fake {
    type Conn = ();
    fn name(&self) -> String {
        "fake".into()
    }
    async fn connect(&self) -> Result<((), ConnectTimings), CallError> {
        Ok(((), ConnectTimings::default()))
    }
    fn share(&self, _: &mut ()) -> Option<()> {
        None
    }
    async fn call(&self, _: &mut (), _: &OpSpec, _: u64) -> Result<CallOutcome, CallError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        match self.behaviour {
            Behaviour::Answer {
                service,
                fail_every,
            } => {
                tokio::time::sleep(service).await;
                if fail_every > 0 && n % fail_every == 0 {
                    return Err(CallError::Status(500));
                }
            }
            Behaviour::Hang {
                service,
                hang_every,
            } => {
                if n % hang_every == 0 {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(service).await;
            }
            Behaviour::Burn { cpu } => {
                let t = Instant::now();
                while t.elapsed() < cpu {
                    std::hint::spin_loop();
                }
            }
            Behaviour::Stall { service, from, to } => {
                let now = self.born.elapsed();
                if now >= from && now < to {
                    tokio::time::sleep_until(self.born + to).await;
                }
                tokio::time::sleep(service).await;
            }
        }
        Ok(OK)
    }
    async fn verify(&self, _: &mut (), _: &OpSpec) -> Result<(), CallError> {
        Ok(())
    }
    async fn stream(&self, _: &mut (), p: &StreamParams) -> Result<PushStream, CallError> {
        Ok(Box::pin(SlowConsumer::new(p.count, p.interval_ms)))
    }
}

fn spec(kind: Kind, model: Model, connections: usize, duration: Duration) -> CaseSpec {
    CaseSpec {
        name: "fake".into(),
        protocol: "fake".into(),
        target: String::new(),
        op: OpSpec::Ping,
        kind,
        plan: LoadPlan {
            model,
            connections,
            inflight: 1,
            duration,
            warmup: Duration::from_millis(200),
            requests: None,
            requests_per_worker: None,
            timeout: Duration::from_millis(300),
            max_lag: Duration::from_millis(1),
            slow: None,
            schedule: None,
        },
        repeat: 1,
        z_threshold: 2.0,
        max_errors: DEFAULT_MAX_ERRORS,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_failing_half_its_calls_fails_the_case() {
    let d = fake(Behaviour::Answer {
        service: Duration::from_millis(1),
        fail_every: 2,
    });
    let s = spec(Kind::Throughput, Model::Closed, 4, Duration::from_secs(1));
    let r = run_case(d, s, &mut Hooks::silent()).await;
    assert_eq!(r.status, Status::Failed, "{:?}", r.problems);
    assert!(r.broken() && !r.valid);
    assert!(
        r.problems.iter().any(|p| p.contains("error budget")),
        "{:?}",
        r.problems
    );
    let s = &r.repetitions[0].summary;
    assert!((s.error_rate() - 0.5).abs() < 0.05, "{s:?}");
    assert!(
        s.all_calls.is_some(),
        "failures are in the all-calls histogram"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_never_answer_put_the_timeout_in_the_tail() {
    let d = fake(Behaviour::Hang {
        service: Duration::from_millis(1),
        hang_every: 5,
    });
    let s = spec(
        Kind::Throughput,
        Model::Closed,
        8,
        Duration::from_millis(1500),
    );
    let r = run_case(d, s, &mut Hooks::silent()).await;
    let s = &r.repetitions[0].summary;
    let all = s.all_calls.as_ref().expect("failed calls are recorded");
    // 20% of calls time out after 300 ms: the all-calls P99 is at least that,
    // while the successes' own P99 stays fast.
    assert!(all.p99_us >= 300_000, "all calls p99 {} µs", all.p99_us);
    assert!(
        s.latency.p99_us < 100_000,
        "successes p99 {} µs",
        s.latency.p99_us
    );
    assert_eq!(s.tail().p99_us, all.p99_us);
    assert_eq!(r.status, Status::Failed, "20% timeouts are over budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generator_that_cannot_keep_the_rate_is_invalid_and_latency_grows() {
    // Each call burns 2 ms of the generator's CPU: two connections manage at most
    // ~1000 calls/s, and 3000/s are asked for.
    let d = fake(Behaviour::Burn {
        cpu: Duration::from_millis(2),
    });
    let s = spec(
        Kind::Rate,
        Model::Open { rate: 3000.0 },
        2,
        Duration::from_secs(1),
    );
    let r = run_case(d, s, &mut Hooks::silent()).await;
    assert_eq!(r.status, Status::Invalid, "{:?}", r.problems);
    let rep = &r.repetitions[0];
    let lag = rep.send_lag.as_ref().expect("open loop records send lag");
    assert!(lag.p99_us > 100_000, "send lag p99 {} µs", lag.p99_us);
    // Latency counts from the intended send times: it grows with the backlog,
    // far beyond the 2 ms a call takes.
    assert!(
        rep.summary.latency.p99_us > 100_000,
        "corrected p99 {} µs",
        rep.summary.latency.p99_us
    );
    assert!(
        rep.summary.service.p99_us < 50_000,
        "{:?}",
        rep.summary.service
    );
    let accuracy = rep.sends_per_second.as_ref().expect("per-second sends");
    assert!(accuracy.max < 2000, "{accuracy:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_in_one_repetition_shows_in_the_merged_tail() {
    // Repetitions run back to back; the second second of the case (inside the
    // second repetition's measured window) stalls for 1 s.
    let d = fake(Behaviour::Stall {
        service: Duration::from_millis(2),
        from: Duration::from_millis(1700),
        to: Duration::from_millis(2700),
    });
    let mut s = spec(
        Kind::Rate,
        Model::Open { rate: 200.0 },
        4,
        Duration::from_millis(1200),
    );
    s.repeat = 2;
    s.plan.timeout = Duration::from_secs(5);
    let r = run_case(d, s, &mut Hooks::silent()).await;
    assert_eq!(r.repetitions.len(), 2);
    let merged = r.merged.as_ref().expect("merged figures");
    assert_eq!(
        merged.requests,
        r.repetitions
            .iter()
            .map(|x| x.summary.requests)
            .sum::<u64>()
    );
    assert!(
        merged.latency.p999_us >= 800_000,
        "merged p99.9 {} µs",
        merged.latency.p999_us
    );
    let calm = r.repetitions[0].summary.latency.p999_us;
    assert!(
        calm < 200_000,
        "the first repetition saw no stall: {calm} µs"
    );
}

/// A stream whose consumer reads slowly: each event is made (and stamped by the
/// "server") only when the consumer asks for it, 30 ms after the last, while the
/// schedule has one every 10 ms.
struct SlowConsumer {
    next: u64,
    count: u64,
    delay: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SlowConsumer {
    fn new(count: u64, _interval_ms: u64) -> SlowConsumer {
        SlowConsumer {
            next: 0,
            count,
            delay: None,
        }
    }
}

impl Stream for SlowConsumer {
    type Item = Result<Pushed, CallError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.next >= self.count {
            return Poll::Ready(None);
        }
        let delay = self
            .delay
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(30))));
        if delay.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.delay = None;
        let seq = self.next;
        self.next += 1;
        let now = protolab_core::contract::now_micros();
        Poll::Ready(Some(Ok(Pushed {
            arrived_us: now,
            event: PushEvent::Event {
                seq,
                sent_at_us: now,
            },
        })))
    }
}

use std::future::Future;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_shows_as_growing_delivery_latency() {
    let kind = Kind::Stream {
        count: 20,
        interval_ms: 10,
        size: 8,
    };
    let s = spec(kind, Model::Closed, 1, Duration::from_secs(1));
    let r = run_case(fake_stream(), s, &mut Hooks::silent()).await;
    let push = r.repetitions[0].push.as_ref().expect("push stats");
    assert_eq!(push.received, 20);
    // Event i arrives ~30(i+1) ms after the request but was due 10 i ms after it:
    // the delay grows by ~20 ms an event, to ~400 ms; the server's own stamp
    // (made when the consumer asked) hides all of it.
    assert!(push.delivery.p99_us >= 300_000, "{:?}", push.delivery);
    assert!(push.delivery.min_us >= 20_000, "{:?}", push.delivery);
    let one_way = push.one_way.as_ref().expect("same clock");
    assert!(one_way.p99_us < 20_000, "{one_way:?}");
}

fn fake_stream() -> Arc<Fake> {
    fake(Behaviour::Answer {
        service: Duration::from_millis(1),
        fail_every: 0,
    })
}
