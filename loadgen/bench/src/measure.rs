//! Measuring your own calls with protolab's engine (reference/001's "Python API for
//! existing apps", the Rust way): describe the load with a [`Bench`], hand it your
//! call as an async closure ([`calls`], [`FnDriver`]) or any [`Driver`] (protolab's
//! own protocol drivers included), and get a [`CaseResult`]: the same statistics,
//! validity verdict and error budget as `loadgen`, which you can print
//! ([`crate::results::brief`]), assert on, or save with [`save`] as a run
//! directory that `loadgen report` and `loadgen compare` read.
//!
//! ```
//! use std::time::Duration;
//! use protolab_bench::measure::{calls, Bench};
//! use protolab_bench::CallError;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Your operation: here a 1 ms sleep that fails every 1000th call.
//! let driver = calls("my_call", |seq| async move {
//!     tokio::time::sleep(Duration::from_millis(1)).await;
//!     if seq % 1000 == 999 {
//!         return Err(CallError::failed("db", "row locked"));
//!     }
//!     Ok(())
//! });
//! let result = Bench::closed(4, Duration::from_millis(300))
//!     .warmup(Duration::from_millis(50))
//!     .run(driver)
//!     .await;
//! let summary = result.headline().expect("measured");
//! assert!(summary.latency.p50_us >= 1_000);
//! println!("{}: {}", result.spec.name, protolab_bench::results::brief(&result));
//! # }
//! ```
//!
//! What each constructor measures (the `loadgen` kind it is):
//! - [`Bench::closed`]: closed loop at full speed (`throughput`);
//! - [`Bench::rate`]: open loop at a fixed rate, latency from each call's intended
//!   send time (`rate`, coordinated-omission corrected);
//! - [`Bench::serial`]: a fixed count of calls one after another (`latency`);
//! - [`Bench::clients`]: parallel clients with a fixed count each (`concurrency`);
//! - [`Bench::connections`]: a new connection per attempt, timed (`connect`);
//! - [`Bench::bandwidth`]: closed loop, MB/s from the bytes your calls report
//!   (`bandwidth`; return a [`CallOutcome`] with `sent` and `received`).
//!
//! A call that returns an error is recorded as failed under its kind
//! ([`CallError::failed`]`("db", e)` counts under `db`), at the time it took; more
//! failures than the error budget ([`Bench::max_errors`], 0.1% by default) make the
//! case FAILED, exactly as on the command line.

use std::future::Future;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::case::{CaseResult, CaseSpec, Kind, DEFAULT_MAX_ERRORS};
use crate::driver::{CallError, CallOutcome, ConnectTimings, Driver, OpSpec};
use crate::engine::{LoadPlan, Model, DEFAULT_MAX_LAG};
use crate::results::{self, files::OutputError, Run};
use crate::sink::Hooks;

/// A [`Driver`] made of two closures: `connect` opens what your calls share (a
/// client, a pool, a connection: anything `Clone`), and `call` performs call number
/// `seq` on a clone of it. See [`calls`] when there is nothing to open.
///
/// The connect closure's whole time is reported as the connection's set-up (the
/// `tcp` stage of the `connect` kind's breakdown). With [`Bench::inflight`] above 1,
/// the concurrent callers of one connection get clones of it.
pub struct FnDriver<C, K, F> {
    name: String,
    connect: K,
    call: F,
    conn: PhantomData<fn() -> C>,
}

impl<C, K, F> FnDriver<C, K, F> {
    /// A driver named `name` (the protocol and operation column of the results).
    pub fn new(name: impl Into<String>, connect: K, call: F) -> Self {
        FnDriver {
            name: name.into(),
            connect,
            call,
            conn: PhantomData,
        }
    }
}

/// The connect step of a driver with nothing to open.
pub type NoConnection = fn() -> std::future::Ready<Result<(), CallError>>;

fn no_connection() -> std::future::Ready<Result<(), CallError>> {
    std::future::ready(Ok(()))
}

/// A driver for calls that need no connection of their own: `call(seq)` is one call.
///
/// The closure's future may return `Ok(())` or `Ok(CallOutcome { .. })` (with the
/// bytes the call moved).
pub fn calls<F, Fut, T>(
    name: impl Into<String>,
    call: F,
) -> FnDriver<(), NoConnection, impl Fn((), u64) -> Fut + Send + Sync + 'static>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, CallError>> + Send,
    T: Into<CallOutcome>,
{
    FnDriver::new(name, no_connection as NoConnection, move |(), seq| {
        call(seq)
    })
}

impl<C, K, KFut, F, Fut, T> Driver for FnDriver<C, K, F>
where
    C: Clone + Send + Sync + 'static,
    K: Fn() -> KFut + Send + Sync + 'static,
    KFut: Future<Output = Result<C, CallError>> + Send,
    F: Fn(C, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, CallError>> + Send,
    T: Into<CallOutcome>,
{
    type Conn = C;

    fn name(&self) -> String {
        self.name.clone()
    }

    async fn connect(&self) -> Result<(C, ConnectTimings), CallError> {
        let began = tokio::time::Instant::now();
        let conn = (self.connect)().await?;
        let timings = ConnectTimings {
            tcp: began.elapsed(),
            ..ConnectTimings::default()
        };
        Ok((conn, timings))
    }

    fn share(&self, conn: &mut C) -> Option<C> {
        Some(conn.clone())
    }

    async fn call(&self, conn: &mut C, _op: &OpSpec, seq: u64) -> Result<CallOutcome, CallError> {
        (self.call)(conn.clone(), seq).await.map(Into::into)
    }

    /// One call: your closure checks its own answer, so a call that succeeds is a
    /// verified one.
    async fn verify(&self, conn: &mut C, _op: &OpSpec) -> Result<(), CallError> {
        (self.call)(conn.clone(), 0).await.map(|_| ())
    }
}

/// A case to measure: the load, its warm-up, repetitions and limits. The defaults
/// are the command line's: 2 s warm-up, 10 s timeout per call, one repetition,
/// outliers at |z| > 2, an error budget of 0.1%.
#[derive(Debug, Clone)]
pub struct Bench {
    spec: CaseSpec,
    /// The operation was named by `op()`, not taken from the driver.
    op_set: bool,
    name_set: bool,
}

impl Bench {
    fn of(kind: Kind, model: Model, connections: usize, duration: Duration) -> Bench {
        let mut plan = LoadPlan {
            model,
            connections: connections.max(1),
            inflight: 1,
            duration,
            warmup: Duration::from_secs(2),
            requests: None,
            requests_per_worker: None,
            timeout: Duration::from_secs(10),
            max_lag: DEFAULT_MAX_LAG,
            slow: None,
            schedule: None,
        };
        kind.shape_plan(&mut plan, None, 0);
        Bench {
            spec: CaseSpec {
                name: String::new(),
                protocol: String::new(),
                target: String::new(),
                op: OpSpec::Call {
                    name: String::new(),
                },
                kind,
                plan,
                repeat: 1,
                z_threshold: 2.0,
                max_errors: DEFAULT_MAX_ERRORS,
            },
            op_set: false,
            name_set: false,
        }
    }

    /// Closed loop at full speed: `connections` callers (each waits for its answer
    /// before the next call) for `duration` after the warm-up.
    pub fn closed(connections: usize, duration: Duration) -> Bench {
        Bench::of(Kind::Throughput, Model::Closed, connections, duration)
    }

    /// Open loop: calls due at `per_second`, spread over `connections` callers (16
    /// unless [`Bench::connections_of`] says otherwise), for `duration`. Latency
    /// counts from each call's due time, so a stall shows in the tail.
    pub fn rate(per_second: f64, duration: Duration) -> Bench {
        let model = Model::Open { rate: per_second };
        Bench::of(Kind::Rate, model, 16, duration)
    }

    /// `calls` calls one after another on one connection, no warm-up.
    pub fn serial(calls: u64) -> Bench {
        let mut b = Bench::of(Kind::Latency, Model::Closed, 1, Duration::ZERO);
        b.spec.plan.requests = Some(calls);
        b.spec.plan.warmup = Duration::ZERO;
        b
    }

    /// `clients` parallel clients, each on its own connection making `calls_each`
    /// calls.
    pub fn clients(clients: usize, calls_each: u64) -> Bench {
        let mut b = Bench::of(Kind::Concurrency, Model::Closed, clients, Duration::ZERO);
        b.spec.plan.requests_per_worker = Some(calls_each);
        b
    }

    /// `attempts` new connections at `per_second`, each making one call: the set-up
    /// time, the first call and the total, each with its percentiles.
    pub fn connections(attempts: u64, per_second: f64) -> Bench {
        let kind = Kind::Connect {
            rate: per_second,
            attempts,
        };
        Bench::of(kind, Model::Closed, 1, Duration::from_secs(60))
    }

    /// Closed loop like [`Bench::closed`], reported as MB/s each way from the bytes
    /// your calls return in their [`CallOutcome`].
    pub fn bandwidth(connections: usize, duration: Duration) -> Bench {
        Bench::of(Kind::Bandwidth, Model::Closed, connections, duration)
    }

    /// Callers for an open-loop case (the default is 16).
    pub fn connections_of(mut self, connections: usize) -> Bench {
        self.spec.plan.connections = connections.max(1);
        self
    }

    /// Concurrent calls per connection (clones of your connection share it).
    pub fn inflight(mut self, inflight: usize) -> Bench {
        self.spec.plan.inflight = inflight.max(1);
        self
    }

    /// Calls before the measured window, not counted.
    pub fn warmup(mut self, warmup: Duration) -> Bench {
        self.spec.plan.warmup = warmup;
        self
    }

    /// Repetitions: more than one gives the spread across them (mean, CV, 95%
    /// confidence interval, outliers removed at |z| above [`Bench::z_threshold`]).
    pub fn repeat(mut self, repetitions: usize) -> Bench {
        self.spec.repeat = repetitions.max(1);
        self
    }

    /// |z| above which a repetition is an outlier (reference/003).
    pub fn z_threshold(mut self, z: f64) -> Bench {
        self.spec.z_threshold = z;
        self
    }

    /// A call still unanswered after `timeout` fails as `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Bench {
        self.spec.plan.timeout = timeout;
        self
    }

    /// Keeps the `keep` slowest calls of each repetition at or over `threshold`
    /// (`CaseResult::repetitions[i].slow`): when each was due, on which connection,
    /// its call number and its error.
    pub fn slow(mut self, threshold: Duration, keep: usize) -> Bench {
        self.spec.plan.slow = Some(crate::slow::SlowPlan { threshold, keep });
        self
    }

    /// The error budget: the share of failed calls above which the case is FAILED.
    pub fn max_errors(mut self, share: f64) -> Bench {
        self.spec.max_errors = share;
        self
    }

    /// The case's name in results (by default `<driver>/<kind>/<operation>`).
    pub fn name(mut self, name: impl Into<String>) -> Bench {
        self.spec.name = name.into();
        self.name_set = true;
        self
    }

    /// Where the calls go, as results should show it (a URL, a host).
    pub fn target(mut self, target: impl Into<String>) -> Bench {
        self.spec.target = target.into();
        self
    }

    /// The operation, for a protocol driver of protolab's own (`OpSpec::Ping`,
    /// `OpSpec::GetItem { .. }`); a closure driver's operation is its name.
    pub fn op(mut self, op: OpSpec) -> Bench {
        self.spec.op = op;
        self.op_set = true;
        self
    }

    /// The case as it will run.
    pub fn spec(&self) -> &CaseSpec {
        &self.spec
    }

    /// Measures `driver` under this load and judges the result.
    pub async fn run<D: Driver>(self, driver: D) -> CaseResult {
        self.run_with(Arc::new(driver), &mut Hooks::silent()).await
    }

    /// [`Bench::run`] with a shared driver and your own [`Hooks`] (progress, raw
    /// samples, the server's CPU).
    pub async fn run_with<D: Driver>(self, driver: Arc<D>, hooks: &mut Hooks<'_>) -> CaseResult {
        let mut spec = self.spec;
        spec.protocol = driver.name();
        if !self.op_set {
            spec.op = OpSpec::Call {
                name: spec.protocol.clone(),
            };
        }
        if !self.name_set {
            spec.name = format!("{}/{}/{}", spec.protocol, spec.kind.name(), spec.op.name());
        }
        crate::run_case(driver, spec, hooks).await
    }
}

/// Saves `cases` as a run under `root` (`root/<run-id>/run.json`, one .hlog per
/// case, summary.csv), as `loadgen` does: `loadgen report <dir>` draws it and
/// `loadgen compare <old> <new>` judges it against another run. Returns the run's
/// directory.
pub fn save(root: &Path, cases: Vec<CaseResult>) -> Result<PathBuf, OutputError> {
    results::write(root, &Run::new(cases, crate::unix_now()))
}
