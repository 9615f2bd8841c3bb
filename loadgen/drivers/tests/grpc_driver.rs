//! The gRPC driver against a real protolab-grpc server: plain and mTLS, every op,
//! the connect breakdown, and verification.

mod common;

use std::sync::Arc;
use std::time::Duration;

use protolab_bench::OpSpec;
use protolab_bench::{run_case, CaseSpec, Hooks, Kind};
use protolab_bench::{LoadPlan, Model};
use protolab_core::server::start_in_process;
use protolab_drivers::GrpcDriver;
use protolab_drivers::TlsOptions;

fn spec(op: OpSpec, kind: Kind) -> CaseSpec {
    CaseSpec {
        name: "grpc".into(),
        protocol: "grpc".into(),
        target: String::new(),
        op,
        kind,
        plan: LoadPlan {
            model: Model::Closed,
            connections: 2,
            inflight: 4,
            duration: Duration::from_millis(400),
            warmup: Duration::from_millis(100),
            requests: None,
            requests_per_worker: None,
            timeout: Duration::from_secs(5),
            // Driver tests judge answers, not timing: a loaded test machine's lateness
            // is not the driver's.
            max_lag: Duration::from_secs(1),
            slow: None,
            schedule: None,
        },
        repeat: 1,
        z_threshold: 2.0,
        max_errors: protolab_bench::case::DEFAULT_MAX_ERRORS,
    }
}

#[tokio::test]
async fn grpc_plain_and_mtls_measure_every_op() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = dir.path().join("ca.crt");
    let mtls = |a: &mut protolab_core::ServerArgs| a.tls_ca = Some(ca);
    let s = start_in_process(
        &protolab_grpc::SPEC,
        dir.path(),
        1_000,
        mtls,
        protolab_grpc::app,
    )
    .await?;
    let (plain, tls, state) = (s.plain, s.tls, s.state);

    let opts = TlsOptions {
        ca: Some(dir.path().join("ca.crt")),
        cert: Some(dir.path().join("client.crt")),
        key: Some(dir.path().join("client.key")),
    };
    let targets = [
        plain.to_string(),
        format!("https://localhost:{}", tls.port()),
    ];
    let ops = [
        OpSpec::Ping,
        OpSpec::GetItem { ids: 1_000 },
        OpSpec::ListItems {
            limit: 20,
            category: None,
        },
        OpSpec::Echo { size: 2048 },
        OpSpec::Score { dims: 8 },
    ];
    for target in &targets {
        for op in &ops {
            let d = Arc::new(GrpcDriver::new(target, Some(&opts), 42, op).await?);
            let r = run_case(d, spec(op.clone(), Kind::Throughput), &mut Hooks::silent()).await;
            assert!(common::trusted(&r), "{target} {op:?}: {:?}", r.problems);
            let s = &r.repetitions[0].summary;
            assert!(s.requests > 10 && s.errors == 0, "{target} {op:?}: {s:?}");
        }
    }
    let op = OpSpec::Ping;
    let d = Arc::new(GrpcDriver::new(&targets[1], Some(&opts), 42, &op).await?);
    let r = run_case(
        d,
        spec(
            op,
            Kind::Connect {
                rate: 100.0,
                attempts: 5,
            },
        ),
        &mut Hooks::silent(),
    )
    .await;
    let c = r.repetitions[0]
        .connect
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no breakdown"))?;
    assert_eq!(c.total.count, 5);
    assert!(c.tls.as_ref().is_some_and(|t| t.count == 5));

    // Without a client certificate the mTLS port refuses: the case fails cleanly.
    let no_cert = TlsOptions {
        ca: opts.ca.clone(),
        cert: None,
        key: None,
    };
    let op = OpSpec::GetItem { ids: 10 };
    let d = Arc::new(GrpcDriver::new(&targets[1], Some(&no_cert), 42, &op).await?);
    let r = run_case(d, spec(op, Kind::Throughput), &mut Hooks::silent()).await;
    assert!(!r.valid && r.repetitions.is_empty(), "{:?}", r.problems);
    state.shutdown.cancel();
    Ok(())
}
