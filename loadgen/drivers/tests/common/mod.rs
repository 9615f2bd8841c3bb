//! Shared by the driver and kind tests: real servers started in-process on loopback
//! ports chosen by the OS (protolab-binary with rate limits off unless a test is about
//! them), and small case builders with short, bounded plans.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protolab_bench::OpSpec;
use protolab_bench::{CaseResult, CaseSpec, Kind};
use protolab_bench::{LoadPlan, Model};
use protolab_binary::BinaryConfig;
use protolab_core::hub::Hub;
use protolab_core::server::{start_in_process, InProcess};
use protolab_core::{ServerSpec, ServerState};
use protolab_drivers::TlsOptions;

/// Rows in the test dataset.
pub const ITEMS: u32 = 1_000;

pub struct Server {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    pub state: ServerState,
    /// The server's broadcast hub, when the test built it.
    pub hub: Option<Hub>,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn tls_options(&self) -> TlsOptions {
        TlsOptions {
            ca: Some(self.dir.path().join("ca.crt")),
            ..Default::default()
        }
    }

    pub fn http(&self) -> String {
        format!("http://{}", self.plain)
    }

    /// The TLS port under the certificate's name.
    pub fn https(&self) -> String {
        format!("https://localhost:{}", self.tls.port())
    }
}

fn wrap(s: InProcess, hub: Option<Hub>, dir: tempfile::TempDir) -> Server {
    Server {
        plain: s.plain,
        tls: s.tls,
        state: s.state,
        hub,
        dir,
    }
}

/// Starts `spec`'s server with `app`.
pub async fn start(
    spec: &ServerSpec,
    app: impl FnOnce(ServerState) -> axum::Router,
) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let s = start_in_process(spec, dir.path(), ITEMS, |_| {}, app).await?;
    Ok(wrap(s, None, dir))
}

/// Starts a hub-based server (`app(state, hub)`) whose hub holds `capacity` messages.
pub async fn start_with_hub(
    spec: &ServerSpec,
    capacity: usize,
    app: impl FnOnce(ServerState, Hub) -> axum::Router,
) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let slot: Arc<Mutex<Option<Hub>>> = Arc::default();
    let keep = slot.clone();
    let s = start_in_process(
        spec,
        dir.path(),
        ITEMS,
        |_| {},
        move |state| {
            let hub = Hub::new(capacity, &state.metrics);
            if let Ok(mut k) = keep.lock() {
                *k = Some(hub.clone());
            }
            app(state, hub)
        },
    )
    .await?;
    let hub = slot.lock().ok().and_then(|mut h| h.take());
    Ok(wrap(s, hub, dir))
}

pub struct Binary {
    pub srv: protolab_binary::InProcess,
    pub dir: tempfile::TempDir,
}

impl Binary {
    /// The lab CA, for TLS targets.
    pub fn tls(&self) -> TlsOptions {
        TlsOptions {
            ca: Some(self.dir.path().join("ca.crt")),
            cert: None,
            key: None,
        }
    }

    pub fn plain(&self) -> String {
        self.srv.plain.to_string()
    }

    /// The TLS port by the name the lab certificate carries.
    pub fn tls_target(&self) -> String {
        format!("https://localhost:{}", self.srv.tls.port())
    }

    pub fn framed(&self) -> String {
        self.srv.framed.to_string()
    }

    pub fn admin(&self) -> String {
        self.srv.admin.to_string()
    }
}

/// No rate limits: tests not about them must not trip NET-001's 1000 msg/s.
pub fn unlimited() -> BinaryConfig {
    BinaryConfig {
        rate_limit: 0,
        global_rate_limit: 0,
        ..BinaryConfig::default()
    }
}

pub async fn binary(config: BinaryConfig) -> anyhow::Result<Binary> {
    let dir = tempfile::tempdir()?;
    let srv = protolab_binary::start_in_process(dir.path(), ITEMS, |_| {}, config).await?;
    Ok(Binary { srv, dir })
}

/// A short closed-loop plan.
pub fn plan(connections: usize, inflight: usize) -> LoadPlan {
    LoadPlan {
        model: Model::Closed,
        connections,
        inflight,
        duration: Duration::from_millis(500),
        warmup: Duration::from_millis(100),
        requests: None,
        requests_per_worker: None,
        timeout: Duration::from_secs(5),
        // Driver tests judge answers, not timing: a loaded test machine's lateness
        // is not the driver's.
        max_lag: Duration::from_secs(1),
        slow: None,
        schedule: None,
    }
}

pub fn case(op: OpSpec, kind: Kind, plan: LoadPlan) -> CaseSpec {
    named("test", op, kind, plan)
}

/// A case whose name and protocol label are `name`.
pub fn named(name: &str, op: OpSpec, kind: Kind, plan: LoadPlan) -> CaseSpec {
    CaseSpec {
        name: name.into(),
        protocol: name.into(),
        target: String::new(),
        op,
        kind,
        plan,
        repeat: 1,
        z_threshold: 2.0,
        max_errors: protolab_bench::case::DEFAULT_MAX_ERRORS,
    }
}

/// The request/response ops every full driver offers.
pub fn all_ops() -> Vec<OpSpec> {
    vec![
        OpSpec::Ping,
        OpSpec::GetItem { ids: ITEMS },
        OpSpec::ListItems {
            limit: 50,
            category: None,
        },
        OpSpec::Echo { size: 4096 },
        OpSpec::Score { dims: 16 },
    ]
}

/// Whether a case is valid but for, at most, the generator's own saturation: the
/// servers of these tests run in the test's process, so the "generator's" CPU
/// includes the server's and its saturation says nothing about either here.
pub fn trusted(r: &CaseResult) -> bool {
    r.valid
        || (r.status == protolab_bench::case::Status::Invalid
            && r.problems.iter().all(|p| p.starts_with("client-bound")))
}

/// Asserts a trusted case that measured calls and had no errors.
pub fn assert_clean(r: &CaseResult, what: &str) {
    assert!(trusted(r), "{what}: {:?}", r.problems);
    let s = &r.repetitions[0].summary;
    assert!(s.requests > 0 && s.errors == 0, "{what}: {s:?}");
}

/// A stream case of `count` events on `connections` streams.
pub fn stream_case(count: u64, size: usize, connections: usize) -> CaseSpec {
    let kind = Kind::Stream {
        count,
        interval_ms: 0,
        size,
    };
    case(OpSpec::Ping, kind, plan(connections, 1))
}

/// A broadcast case: `subscribers`, `rate` messages/s for `duration`.
pub fn broadcast_case(subscribers: usize, rate: f64, duration: Duration) -> CaseSpec {
    let kind = Kind::Broadcast {
        subscribers,
        rate,
        size: 48,
    };
    let mut p = plan(1, 1);
    p.duration = duration;
    case(OpSpec::Ping, kind, p)
}

/// Checks a stream case received every event of every stream, in order.
pub fn assert_whole_stream(r: &CaseResult, streams: usize, count: u64, what: &str) {
    assert!(trusted(r), "{what}: {:?}", r.problems);
    let rep = &r.repetitions[0];
    let p = rep.push.as_ref().expect("push stats");
    assert_eq!(p.subscribers, streams, "{what}");
    assert_eq!(p.received, count * streams as u64, "{what}: {p:?}");
    assert_eq!((p.lost, p.gaps, p.reorders), (0, 0, 0), "{what}: {p:?}");
    assert_eq!(rep.summary.requests, p.received, "{what}");
    assert!(
        p.events_per_sec > 0.0 && p.delivery.count == p.received,
        "{what}"
    );
}

/// Checks a broadcast case delivered every message to every subscriber.
pub fn assert_full_fanout(r: &CaseResult, subscribers: usize, messages: u64, what: &str) {
    assert!(trusted(r), "{what}: {:?}", r.problems);
    let p = r.repetitions[0].push.as_ref().expect("push stats");
    assert_eq!(p.subscribers, subscribers, "{what}");
    assert_eq!(p.published, messages, "{what}: {p:?}");
    assert_eq!(p.received, messages * subscribers as u64, "{what}: {p:?}");
    assert_eq!((p.lost, p.lagged, p.gaps), (0, 0, 0), "{what}: {p:?}");
    let spread = p.subscriber_p99.as_ref().expect("per-subscriber p99");
    assert_eq!(spread.count, subscribers as u64, "{what}");
}
