//! A tiny real run rendered: protolab-rest in process on loopback (port 0), a
//! repeated closed-loop case and a cold-connect case over TLS, written as a run
//! directory, its report rendered from that, and the run gated against itself.

use std::sync::Arc;
use std::time::Duration;

use loadgen::results::Run;
use protolab_bench::OpSpec;
use protolab_bench::{run_case, CaseSpec, Hooks, Kind};
use protolab_bench::{LoadPlan, Model};
use protolab_core::server::start_in_process;
use protolab_drivers::RestDriver;
use protolab_drivers::{HttpTarget, HttpVersion, TlsOptions};

fn spec(protocol: &str, workload: &str, kind: Kind, repeat: usize) -> CaseSpec {
    CaseSpec {
        name: format!("{protocol}/{workload}"),
        protocol: protocol.into(),
        target: String::new(),
        op: OpSpec::GetItem { ids: 1_000 },
        kind,
        plan: LoadPlan {
            model: Model::Closed,
            connections: 2,
            inflight: 1,
            duration: Duration::from_millis(300),
            warmup: Duration::from_millis(100),
            requests: None,
            requests_per_worker: None,
            timeout: Duration::from_secs(5),
            max_lag: Duration::from_millis(50),
            slow: None,
            schedule: None,
        },
        repeat,
        z_threshold: 2.0,
        max_errors: protolab_bench::case::DEFAULT_MAX_ERRORS,
    }
}

#[tokio::test]
async fn a_real_run_renders_and_passes_its_own_gate() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = start_in_process(
        &protolab_rest::SPEC,
        dir.path(),
        1_000,
        |_| {},
        protolab_rest::app,
    )
    .await?;
    let tls = TlsOptions {
        ca: Some(dir.path().join("ca.crt")),
        ..Default::default()
    };
    let op = OpSpec::GetItem { ids: 1_000 };
    let mut hooks = Hooks::silent();
    let plain = HttpTarget::new(&format!("http://{}", srv.plain), HttpVersion::H1, &tls).await?;
    let h1 = Arc::new(RestDriver::new(plain, 42, &op));
    let secure = format!("https://localhost:{}", srv.tls.port());
    let h2 = Arc::new(RestDriver::new(
        HttpTarget::new(&secure, HttpVersion::H2, &tls).await?,
        42,
        &op,
    ));
    // The h1 case keeps its 3 slowest calls of each repetition (`--slow 0s --slow-keep 3`).
    let mut slow = spec("rest-h1", "throughput/get_item", Kind::Throughput, 3);
    slow.plan.slow = Some(protolab_bench::slow::SlowPlan {
        threshold: Duration::ZERO,
        keep: 3,
    });
    let mut cases = vec![
        run_case(h1.clone(), slow, &mut hooks).await,
        run_case(
            h2.clone(),
            spec("rest-tls-h2", "throughput/get_item", Kind::Throughput, 3),
            &mut hooks,
        )
        .await,
    ];
    let connect = Kind::Connect {
        rate: 50.0,
        attempts: 10,
    };
    for (name, d) in [("rest-h1", h1), ("rest-tls-h2", h2)] {
        cases.push(
            run_case(
                d,
                spec(name, "connect/get_item", connect.clone(), 1),
                &mut hooks,
            )
            .await,
        );
    }
    for c in &cases {
        assert!(c.valid, "{}: {:?}", c.spec.name, c.problems);
    }
    let run = Run::new(cases, protolab_bench::unix_now());
    let out = tempfile::tempdir()?;
    let run_dir = loadgen::results::write(out.path(), &run)?;
    let slow_lines = std::fs::read_to_string(run_dir.join("slow_calls.jsonl"))?;
    let slow_lines: Vec<serde_json::Value> = slow_lines
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(slow_lines.len(), 9, "3 kept per repetition");
    assert!(slow_lines
        .iter()
        .all(|l| l["case"] == "rest-h1/throughput/get_item" && l["latency_us"].as_u64() > Some(0)));
    let written = loadgen::report::rerender(&run_dir)?;
    assert!(written.failed.is_empty(), "{:?}", written.failed);
    let names: Vec<String> = written
        .charts
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for want in [
        "spectrum-throughput_get_item",
        "boxes-throughput_get_item",
        "throughput-throughput",
        "connect-connect_get_item",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    for p in &written.charts {
        assert!(
            std::fs::read(p)?.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{}",
            p.display()
        );
    }
    let md = std::fs::read_to_string(&written.markdown)?;
    // Both protocols valid: one of them leads the workload in the answer.
    assert!(md.contains("| throughput/get_item | **rest-"), "{md}");
    for s in [
        "## The answer",
        "## All cases",
        "## Validity",
        "rest-tls-h2/throughput/get_item",
        "## connect",
        "tcp ",
        "## Slowest calls",
    ] {
        assert!(md.contains(s), "report.md lacks {s:?}:\n{md}");
    }
    assert!(std::fs::read_to_string(&written.html)?.contains("data:image/png;base64,"));
    // A run never regresses against itself.
    let metrics = ["rps".to_string(), "p99".to_string()];
    let cmp = loadgen::report::compare::compare(&run, &run, 0.10, &metrics)?;
    assert!(!cmp.failed() && cmp.diffs.len() == 8, "{cmp:?}");
    srv.stop().await;
    Ok(())
}
