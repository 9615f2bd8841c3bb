//! The hold kind against real servers: a few hundred connections held open through
//! `Driver::connect` (NET-001 and REST), a probe calling at a fixed rate meanwhile,
//! and the server's own view from its admin JSON (open connections, RSS).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{binary, named, plan, unlimited};
use protolab_bench::{run_case, CaseResult, Hooks, Kind};
use protolab_bench::{Driver, OpSpec};
use protolab_drivers::Net001Driver;
use protolab_drivers::RestDriver;
use protolab_drivers::{HttpTarget, HttpVersion, TlsOptions};

const HELD: usize = 300;

async fn hold<D: Driver>(d: D, admin: Option<String>) -> CaseResult {
    let kind = Kind::Hold {
        connections: HELD,
        probe_rate: 100.0,
        admin,
    };
    let mut p = plan(1, 1);
    p.duration = Duration::from_millis(1000);
    let name = d.name();
    let mut hooks = Hooks::silent();
    hooks.admin = protolab_drivers::admin_view(&kind);
    run_case(Arc::new(d), named(&name, OpSpec::Ping, kind, p), &mut hooks).await
}

fn assert_held(r: &CaseResult) -> &protolab_bench::HoldStats {
    assert!(common::trusted(r), "{:?}", r.problems);
    let rep = &r.repetitions[0];
    let h = rep.hold.as_ref().expect("hold stats");
    assert_eq!((h.wanted, h.held, h.failed), (HELD, HELD, 0), "{h:?}");
    assert!(h.setup_per_sec > 0.0 && !h.capped_by_nofile);
    // 100/s for 1 s: every probe call answered, latency from its intended time.
    assert_eq!(rep.summary.requests, 100, "{:?}", rep.summary);
    assert_eq!(h.probe.count, 100);
    assert!(h.probe.p99_us > 0);
    assert!(r.stats.contains_key(&protolab_bench::Metric::SetupPerSec));
    h
}

#[tokio::test]
async fn net001_holds_hundreds_while_the_probe_runs() -> anyhow::Result<()> {
    let b = binary(unlimited()).await?;
    let d = Net001Driver::new(&b.plain(), &b.tls(), None, 42, &OpSpec::Ping).await?;
    let r = hold(d, Some(b.admin())).await;
    let h = assert_held(&r);
    // The server counts the held connections and the probe's as open.
    assert!(
        h.server_open_connections.is_some_and(|n| n >= HELD as i64),
        "{h:?}"
    );
    assert!(h.server_bytes_per_conn.is_some(), "{h:?}");
    b.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn rest_holds_hundreds_without_an_admin_address() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = protolab_core::server::start_in_process(
        &protolab_rest::SPEC,
        dir.path(),
        100,
        |_| {},
        protolab_rest::app,
    )
    .await?;
    let t = HttpTarget::new(
        &format!("http://{}", s.plain),
        HttpVersion::H1,
        &TlsOptions::default(),
    )
    .await?;
    let r = hold(RestDriver::new(t, 42, &OpSpec::Ping), None).await;
    let h = assert_held(&r);
    assert_eq!(
        (h.server_bytes_per_conn, h.server_open_connections),
        (None, None)
    );
    s.stop().await;
    Ok(())
}
