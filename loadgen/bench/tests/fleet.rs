//! The distributed generator's coordinator and members over real TCP on loopback,
//! with a fake driver (no protocol): the merge is the sum of the members, the open
//! loop's rate is split and interleaved, and a member that dies, goes silent or
//! starts late makes the case FAILED with its name, each within a bound. Every
//! case is a second or two.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use protolab_bench::case::{CaseSpec, Status, DEFAULT_MAX_ERRORS};
use protolab_bench::fleet::wire::{self, ToCoordinator, ToMember};
use protolab_bench::fleet::{serve, CaseRunner, Fleet, Identity};
use protolab_bench::stats::decode_histogram;
use protolab_bench::{
    run_case, CallError, CallOutcome, CaseResult, ConnectTimings, Driver, Hooks, Kind, LoadPlan,
    Model, NoProgress, OpSpec, Progress,
};

/// Answers every call in 200 µs.
struct Fake;

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
        tokio::time::sleep(Duration::from_micros(200)).await;
        Ok(CallOutcome {
            ttfb: None,
            sent: 10,
            received: 10,
        })
    }
    async fn verify(&self, _: &mut (), _: &OpSpec) -> Result<(), CallError> {
        Ok(())
    }
}

/// Runs each job on [`Fake`], after `delay` (a member that starts late).
struct Runner {
    delay: Duration,
}

impl CaseRunner for Runner {
    async fn run(&self, _endpoint: &str, spec: CaseSpec, progress: &dyn Progress) -> CaseResult {
        tokio::time::sleep(self.delay).await;
        let mut hooks = Hooks::silent();
        hooks.progress = progress;
        run_case(Arc::new(Fake), spec, &mut hooks).await
    }
}

/// A member named `name` on a loopback port, in this runtime.
async fn member(name: &str, index: usize, delay: Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let me = Identity {
        name: name.into(),
        index: Some(index),
    };
    tokio::spawn(serve(listener, me, Arc::new(Runner { delay })));
    addr
}

/// A member in a runtime of its own, which `kill` drops with every socket it has.
fn killable_member(name: &'static str, index: usize) -> (SocketAddr, std::sync::mpsc::Sender<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (kill, killed) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let addr = rt.block_on(member(name, index, Duration::ZERO));
        let _ = addr_tx.send(addr);
        let _ = killed.recv();
        rt.shutdown_background();
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the member listens");
    (addr, kill)
}

fn spec(kind: Kind, model: Model, connections: usize, duration: Duration) -> CaseSpec {
    CaseSpec {
        name: "fake/fleet".into(),
        protocol: "fake".into(),
        target: "fake".into(),
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
            timeout: Duration::from_secs(2),
            max_lag: Duration::from_millis(20),
            slow: None,
            schedule: None,
        },
        repeat: 1,
        z_threshold: 2.0,
        max_errors: DEFAULT_MAX_ERRORS,
    }
}

async fn fleet(addrs: &[SocketAddr]) -> Fleet {
    Fleet::connect(addrs, Duration::from_secs(10))
        .await
        .expect("the fleet forms")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merged_case_is_the_sum_of_its_members() {
    let addrs = [
        member("b", 1, Duration::ZERO).await,
        member("a", 0, Duration::ZERO).await,
    ];
    let mut f = fleet(&addrs).await;
    let names: Vec<String> = f.members().into_iter().map(|m| m.0).collect();
    assert_eq!(names, ["a", "b"], "ordered by index");
    let mut s = spec(Kind::Throughput, Model::Closed, 5, Duration::from_secs(1));
    s.repeat = 2;
    let r = f.run_case("fake", s, None, &NoProgress).await;
    assert_ne!(r.status, Status::Failed, "{:?}", r.problems);
    assert_eq!(r.repetitions.len(), 2);
    assert_eq!(r.workers.len(), 4, "a line per member per repetition");
    for (rep_index, rep) in r.repetitions.iter().enumerate() {
        let lines: Vec<_> = r
            .workers
            .iter()
            .filter(|w| w.repetition == rep_index)
            .collect();
        let calls: u64 = lines.iter().map(|w| w.requests).sum();
        assert!(calls > 0);
        assert_eq!(rep.summary.requests, calls);
        assert_eq!(rep.connections, 5);
        let conns: Vec<usize> = lines.iter().map(|w| w.connections).collect();
        assert_eq!(
            conns,
            [3, 2],
            "connections split, the remainder to the first"
        );
        let h = rep
            .summary
            .latency_histogram
            .as_deref()
            .and_then(decode_histogram)
            .expect("a merged histogram");
        assert_eq!(
            h.len(),
            calls,
            "the merged histogram holds every member's calls"
        );
        let per_second: u64 = rep.per_second.iter().map(|s| s.calls).sum();
        assert!(per_second > 0 && per_second <= calls);
        for w in &lines {
            assert!(w.start_late_ms.abs() < 250.0, "{w}");
        }
    }
    let merged = r.merged.expect("merged figures");
    let all: u64 = r.workers.iter().map(|w| w.requests).sum();
    assert_eq!(merged.requests, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_is_split_and_the_members_together_send_it() {
    let addrs = [
        member("a", 0, Duration::ZERO).await,
        member("b", 1, Duration::ZERO).await,
    ];
    let mut f = fleet(&addrs).await;
    let s = spec(
        Kind::Rate,
        Model::Open { rate: 400.0 },
        4,
        Duration::from_secs(2),
    );
    let r = f.run_case("fake", s, None, &NoProgress).await;
    assert_ne!(r.status, Status::Failed, "{:?}", r.problems);
    let rep = &r.repetitions[0];
    let sends = rep.sends_per_second.as_ref().expect("open-loop counts");
    assert!((sends.mean - 400.0).abs() <= 20.0, "{sends:?}");
    for w in &r.workers {
        assert!((w.rps - 200.0).abs() <= 20.0, "{w}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_dies_fails_the_case_with_its_name_and_no_hang() {
    let a = member("a", 0, Duration::ZERO).await;
    let (b, kill) = killable_member("b", 1);
    let mut f = fleet(&[a, b]).await;
    let s = spec(Kind::Throughput, Model::Closed, 2, Duration::from_secs(4));
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let _ = kill.send(());
    });
    let began = Instant::now();
    let r = f.run_case("fake", s.clone(), None, &NoProgress).await;
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(r.status, Status::Failed);
    assert!(
        r.problems.iter().any(|p| p.starts_with("worker b lost")),
        "{:?}",
        r.problems
    );
    assert_eq!(f.size(), (1, 2));
    let again = f.run_case("fake", s, None, &NoProgress).await;
    assert_eq!(again.status, Status::Failed);
    assert!(
        again
            .problems
            .iter()
            .any(|p| p.contains("1 of its 2 workers (lost: b)")),
        "{:?}",
        again.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_starts_late_fails_the_case() {
    let addrs = [
        member("a", 0, Duration::ZERO).await,
        member("slow", 1, Duration::from_secs(3)).await,
    ];
    let mut f = fleet(&addrs).await;
    let s = spec(
        Kind::Throughput,
        Model::Closed,
        2,
        Duration::from_millis(500),
    );
    let r = f.run_case("fake", s, None, &NoProgress).await;
    assert_eq!(r.status, Status::Failed);
    assert!(
        r.problems
            .iter()
            .any(|p| p.starts_with("worker slow started") && p.contains("after the fleet")),
        "{:?}",
        r.problems
    );
}

/// A member that joins properly, then never answers its job.
async fn silent_member() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (mut reader, mut writer) = wire::split(stream);
        let hello = ToCoordinator::Hello {
            name: "mute".into(),
            index: Some(1),
            version: wire::VERSION,
        };
        let _ = writer.send(&hello).await;
        while let Ok(msg) = reader.recv::<ToMember>(None).await {
            if let ToMember::Clock { seq } = msg {
                let member_unix = protolab_bench::unix_now();
                let _ = writer
                    .send(&ToCoordinator::Clock { seq, member_unix })
                    .await;
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_member_is_stalled_not_waited_for() {
    let addrs = [member("a", 0, Duration::ZERO).await, silent_member().await];
    let mut f = fleet(&addrs).await;
    let s = spec(Kind::Throughput, Model::Closed, 2, Duration::from_secs(30));
    let began = Instant::now();
    let r = f.run_case("fake", s, None, &NoProgress).await;
    let took = began.elapsed();
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(r.status, Status::Failed);
    assert!(
        r.problems
            .iter()
            .any(|p| p.starts_with("worker mute stalled")),
        "{:?}",
        r.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_has_a_deadline_and_a_member_serves_one_coordinator() {
    // Nothing listens on a port just released.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        l.local_addr().expect("bound")
    };
    let began = Instant::now();
    let err = Fleet::connect(&[gone], Duration::from_secs(1)).await;
    assert!(err.is_err());
    assert!(began.elapsed() < Duration::from_secs(5));

    let a = member("a", 0, Duration::ZERO).await;
    let _first = fleet(&[a]).await;
    let second = Fleet::connect(&[a], Duration::from_secs(5)).await;
    let why = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(why.contains("busy"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_that_cannot_be_split_is_skipped_with_the_reason() {
    let addrs = [
        member("a", 0, Duration::ZERO).await,
        member("b", 1, Duration::ZERO).await,
    ];
    let mut f = fleet(&addrs).await;
    let s = spec(
        Kind::Throughput,
        Model::Closed,
        1,
        Duration::from_millis(300),
    );
    let r = f.run_case("fake", s, None, &NoProgress).await;
    assert_eq!(r.status, Status::Skipped);
    assert!(r.skipped.is_some_and(|w| w.contains("at least 2")));
}
