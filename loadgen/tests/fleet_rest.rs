//! A fleet of two `loadgen worker`s (the binary's own worker, with the real REST
//! driver) against protolab-rest in process on loopback: the case runs on both,
//! the server's calls are the merged count, and every call was verified.

use std::time::Duration;

use protolab_bench::case::{CaseSpec, Status, DEFAULT_MAX_ERRORS};
use protolab_bench::fleet::{Fleet, Identity};
use protolab_bench::{Kind, LoadPlan, Model, NoProgress, OpSpec};
use protolab_core::server::start_in_process;
use protolab_drivers::TlsOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_load_a_real_server_and_their_calls_add_up() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = start_in_process(
        &protolab_rest::SPEC,
        dir.path(),
        1_000,
        |_| {},
        protolab_rest::app,
    )
    .await?;
    let mut addrs = Vec::new();
    for (index, name) in ["w1", "w2"].into_iter().enumerate() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        addrs.push(listener.local_addr()?);
        let me = Identity {
            name: name.into(),
            index: Some(index),
        };
        tokio::spawn(loadgen::fleet::serve_worker(
            listener,
            me,
            TlsOptions::default(),
        ));
    }
    let mut fleet = Fleet::connect(&addrs, Duration::from_secs(10)).await?;
    let spec = CaseSpec {
        name: "rest-h1/items".into(),
        protocol: "rest-h1".into(),
        target: format!("http://{}", srv.plain),
        op: OpSpec::GetItem { ids: 1_000 },
        kind: Kind::Throughput,
        plan: LoadPlan {
            model: Model::Closed,
            connections: 4,
            inflight: 1,
            duration: Duration::from_millis(800),
            warmup: Duration::from_millis(200),
            requests: None,
            requests_per_worker: None,
            timeout: Duration::from_secs(5),
            max_lag: Duration::from_millis(50),
            slow: None,
            schedule: None,
        },
        repeat: 1,
        z_threshold: 2.0,
        max_errors: DEFAULT_MAX_ERRORS,
    };
    let before = srv.state.metrics.totals().messages;
    let r = fleet.run_case("rest-h1", spec, None, &NoProgress).await;
    let served = srv.state.metrics.totals().messages - before;
    assert_ne!(r.status, Status::Failed, "{:?}", r.problems);
    let names: Vec<&str> = r.workers.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["w1", "w2"]);
    let merged = r.merged.as_ref().expect("merged figures");
    let sum: u64 = r.workers.iter().map(|w| w.requests).sum();
    assert_eq!(merged.requests, sum);
    assert_eq!(merged.errors, 0);
    assert!(r.workers.iter().all(|w| w.requests > 0));
    // The server answered at least the measured calls (and the warm-up's, and each
    // worker's verification).
    assert!(served >= sum, "served {served}, measured {sum}");
    Ok(())
}
