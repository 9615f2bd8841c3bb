//! The load engine: opens connections, runs workers under a load model, and
//! aggregates what they report. It knows nothing of protocols (only `Driver`) and
//! nothing of output formats (it returns a `LoadResult`; progress and raw samples
//! leave through `Hooks`).
//!
//! Load models. Closed loop: each worker sends its next request when the previous
//! one is answered. Open loop: requests are due at a fixed rate (slot i at
//! `start + i / rate`); a free worker takes the next slot. Latency always counts from
//! the slot's due time (coordinated-omission correction, as wrk2), whether the
//! request went out late because every worker was busy or because the generator
//! woke late; the uncorrected service time is kept beside it. How late each send was
//! (send lag: actual send minus due time) is recorded for every request, and how
//! late an idle worker woke for its slot (timer lag) apart: the verdict tells the
//! generator's lateness from the server's.
//!
//! Every call counts, failed or not (`Recorder`), and so do connections that could
//! not be opened: they are the case's errors at the time they took to fail.
//!
//! Workers send one `Sample` per call over a channel to a single aggregator, which
//! drops warm-up samples, fills the recorders and per-second interval histograms,
//! and drives the progress. Both sides' CPU is measured over the measured window
//! only (`selfcheck::Meter`). Time is tokio's clock, so tests can pause it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use crate::driver::{CallError, Driver, OpSpec};
use crate::pacer::Pacer;
use crate::selfcheck::{Meter, WindowUsage};
use crate::sink::{Hooks, Tick};
use crate::slow::{SlowCall, SlowCalls, SlowPlan, Slowest};
use crate::stats::{new_histogram, Interval, Recorder};

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    Closed,
    Open { rate: f64 },
}

/// The floor of the send-lag limit (the limit is the larger of this and 10% of a
/// case's service-time P50).
pub const DEFAULT_MAX_LAG: Duration = Duration::from_millis(1);

/// One load run's parameters.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LoadPlan {
    pub model: Model,
    pub connections: usize,
    /// Concurrent requests per connection (needs a multiplexing protocol; otherwise
    /// each extra in-flight request gets its own connection).
    pub inflight: usize,
    /// Measured window, after warm-up; with `requests` it is the safety cap.
    pub duration: Duration,
    pub warmup: Duration,
    /// Closed loop: stop after this many measured requests in all.
    pub requests: Option<u64>,
    /// Closed loop: stop each worker after this many measured requests.
    pub requests_per_worker: Option<u64>,
    pub timeout: Duration,
    /// Open loop: the floor of the send-lag limit. A case whose send lag p99 exceeds
    /// the larger of this and 10% of its service-time P50 did not send on time.
    pub max_lag: Duration,
    /// Keep the slowest measured calls (`--slow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<SlowPlan>,
    /// A distributed run's common clock (`crate::fleet`): when the load starts, and
    /// this generator's offset into the open-loop schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

/// When a generator of a fleet starts, so that every generator's warm-up and
/// measured window are the same wall-clock span, and where its open-loop slots fall
/// in the fleet's merged schedule (k6's execution segments).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Schedule {
    /// The load begins at this Unix time (this generator's clock), once every
    /// connection is open and verified; a generator that gets there later starts at
    /// once and reports how late it was.
    pub start_at_unix: f64,
    /// Open loop: the first slot is this long after the start (slot i at
    /// `start + phase + i / rate`).
    #[serde(default)]
    pub phase: Duration,
}

/// What a run measured.
pub struct LoadResult {
    pub recorder: Recorder,
    /// Measured window: warm-up end to the last answer.
    pub elapsed: Duration,
    /// Per-second latency histograms of the measured window.
    pub intervals: Vec<Interval>,
    /// When the measured window began (the intervals' time base), Unix seconds.
    pub measured_start_unix_s: f64,
    /// Open loop: how late every request went out (actual send minus due time), µs.
    pub send_lag: Histogram<u64>,
    /// Open loop: how late idle workers woke for their slots, µs.
    pub timer_lag: Histogram<u64>,
    /// Calls sent in each second of the measured window (actual send times).
    pub sends_per_second: Vec<u64>,
    /// The slowest measured calls, when the plan asked for them.
    pub slow: Option<SlowCalls>,
    /// Both sides' CPU over the measured window.
    pub window: Option<WindowUsage>,
    pub workers: usize,
    /// Connections open when the load began, and how many were asked for.
    pub connections: usize,
    pub planned_connections: usize,
}

/// Errors that stop a run before it measures anything.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no connection could be opened: {0}")]
    NoConnection(CallError),
    #[error("verification of {op} failed: {error}")]
    Verify { op: String, error: CallError },
}

/// One completed (or failed) call.
struct Sample {
    /// Send time (due time in open loop) relative to the run start.
    at: Duration,
    /// The actual send time relative to the run start.
    sent_at: Duration,
    latency: Duration,
    service: Duration,
    ttfb: Option<Duration>,
    sent: u64,
    received: u64,
    error: Option<String>,
    /// Open loop: actual send minus due time.
    send_lag: Option<Duration>,
    /// Open loop: how late the worker woke when it slept for the slot.
    timer_lag: Option<Duration>,
    /// The worker that made it (connection `worker / inflight`) and its number.
    worker: u32,
    seq: u64,
}

struct Shared<D: Driver> {
    driver: Arc<D>,
    op: OpSpec,
    plan: LoadPlan,
    start: Instant,
    /// Open loop: the first slot's offset from `start` (a fleet member's segment).
    phase: Duration,
    warmup_end: Instant,
    end: Instant,
    slot: AtomicU64,
    budget: Option<AtomicU64>,
    /// tokio's clock is the real one (not the paused test clock): open-loop slots
    /// are waited for on a precise timer.
    clock_is_real: bool,
}

/// Opens connections, verifies the target, then runs `plan`.
pub async fn run<D: Driver>(
    driver: Arc<D>,
    op: &OpSpec,
    plan: &LoadPlan,
    hooks: &mut Hooks<'_>,
) -> Result<LoadResult, EngineError> {
    let planned = plan.connections.max(1);
    let (mut conns, failed) = open_connections(&driver, planned).await?;
    if let Some(first) = conns.first_mut() {
        verify(driver.as_ref(), first, op).await?;
    }
    let opened = conns.len();
    let mut slots: Vec<Option<D::Conn>> = Vec::new();
    for mut conn in conns {
        for _ in 1..plan.inflight.max(1) {
            slots.push(driver.share(&mut conn));
        }
        slots.push(Some(conn));
    }
    // A protocol that cannot share a connection opens one per extra in-flight call.
    let connections = opened + slots.iter().filter(|c| c.is_none()).count();
    let planned_connections = planned
        * if slots.iter().any(Option::is_none) {
            plan.inflight.max(1)
        } else {
            1
        };
    if let Some(at) = plan.schedule.map(|s| s.start_at_unix) {
        let ahead = at - crate::unix_now();
        if ahead > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(ahead)).await;
        }
    }
    let start = Instant::now();
    let warmup_end = start + plan.warmup;
    let shared = Arc::new(Shared {
        driver,
        op: op.clone(),
        plan: plan.clone(),
        start,
        phase: plan.schedule.map(|s| s.phase).unwrap_or_default(),
        warmup_end,
        end: warmup_end + plan.duration,
        slot: AtomicU64::new(0),
        budget: plan.requests.map(AtomicU64::new),
        clock_is_real: matches!(plan.model, Model::Open { .. }) && crate::pacer::clock_is_real(),
    });
    let (tx, rx) = mpsc::channel::<Vec<Sample>>(4096);
    let workers = slots.len();
    let handles: Vec<_> = slots
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            // Worker i makes calls i, i + workers, i + 2 * workers, ...: every call
            // number once, without a shared counter.
            let seqs = (i as u64, workers as u64);
            tokio::spawn(worker(shared.clone(), conn, i as u32, seqs, tx.clone()))
        })
        .collect();
    drop(tx);
    let measured_start_unix_s = crate::unix_now() + plan.warmup.as_secs_f64();
    let server = hooks.server.clone();
    let meter = async {
        sleep_until(warmup_end).await;
        Meter::start(server.as_ref()).await
    };
    let (mut agg, meter) = tokio::join!(aggregate(rx, plan, hooks), meter);
    for h in handles {
        let _ = h.await;
    }
    let window = meter.stop().await;
    let elapsed = Instant::now().saturating_duration_since(warmup_end);
    // Set-ups that failed count as the case's errors, at the time they took.
    for (e, took) in &failed {
        agg.recorder.record_error(&e.kind(), *took);
    }
    let intervals = agg.intervals();
    Ok(LoadResult {
        recorder: agg.recorder,
        elapsed,
        intervals,
        measured_start_unix_s,
        send_lag: agg.send_lag,
        timer_lag: agg.timer_lag,
        sends_per_second: agg.sends_per_second,
        slow: agg.slow.map(Slowest::finish),
        window,
        workers,
        connections,
        planned_connections,
    })
}

/// Checks that `conn`'s target answers `op` correctly.
pub async fn verify<D: Driver>(
    driver: &D,
    conn: &mut D::Conn,
    op: &OpSpec,
) -> Result<(), EngineError> {
    driver
        .verify(conn, op)
        .await
        .map_err(|error| EngineError::Verify {
            op: op.name().to_string(),
            error,
        })
}

/// Opens one connection and verifies that the target answers `op` correctly (the
/// check every kind makes before it measures).
pub async fn verify_target<D: Driver>(driver: &Arc<D>, op: &OpSpec) -> Result<(), EngineError> {
    let (mut conns, _) = open_connections(driver, 1).await?;
    match conns.first_mut() {
        Some(c) => verify(driver.as_ref(), c, op).await,
        None => Ok(()),
    }
}

/// A connection set-up that failed, and how long it took to fail.
pub type FailedSetup = (CallError, Duration);

/// Opens `n` connections, at most 64 handshakes at a time; the ones that could not
/// be opened come back as failures. None at all is an error.
pub async fn open_connections<D: Driver>(
    driver: &Arc<D>,
    n: usize,
) -> Result<(Vec<D::Conn>, Vec<FailedSetup>), EngineError> {
    use futures::StreamExt;
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(|_| {
            let d = driver.clone();
            async move {
                let t0 = Instant::now();
                d.connect().await.map_err(|e| (e, t0.elapsed()))
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut conns = Vec::with_capacity(n);
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok((c, _)) => conns.push(c),
            Err(f) => failed.push(f),
        }
    }
    if conns.is_empty() {
        if let Some((e, _)) = failed.pop() {
            return Err(EngineError::NoConnection(e));
        }
    }
    if let Some((e, _)) = failed.first() {
        tracing::warn!(opened = conns.len(), wanted = n, error = %e, "some connections failed");
    }
    Ok((conns, failed))
}

/// The next send time, or `None` when the run is over for this worker.
/// Returns (due time, lateness when the worker slept for the slot).
/// `now` is the time the previous call ended (closed loop: the next one goes now).
async fn next_slot<D: Driver>(
    s: &Shared<D>,
    done_here: u64,
    now: Instant,
    pacer: &Pacer,
) -> Option<(Instant, Option<Duration>)> {
    match s.plan.model {
        Model::Closed => {
            let counted = now >= s.warmup_end;
            if let Some(cap) = s.plan.requests_per_worker {
                if counted && done_here >= cap {
                    return None;
                }
            }
            if let Some(budget) = &s.budget {
                if counted
                    && budget
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| b.checked_sub(1))
                        .is_err()
                {
                    return None;
                }
            }
            (now < s.end).then_some((now, None))
        }
        Model::Open { rate } => {
            let now = Instant::now();
            let i = s.slot.fetch_add(1, Ordering::Relaxed);
            let due =
                s.start + s.phase + Duration::from_secs_f64(i as f64 / rate.max(f64::MIN_POSITIVE));
            if due >= s.end {
                return None;
            }
            if due > now {
                pacer.sleep_until(due).await;
                Some((due, Some(Instant::now().saturating_duration_since(due))))
            } else {
                Some((due, None))
            }
        }
    }
}

/// A worker's samples on their way to the aggregator, sent in batches: one channel
/// message (and one aggregator wake-up) per 128 calls or 100 ms, not per call.
struct Batch {
    samples: Vec<Sample>,
    since: Instant,
    tx: mpsc::Sender<Vec<Sample>>,
}

impl Batch {
    const SIZE: usize = 128;
    const AGE: Duration = Duration::from_millis(100);

    /// Adds a sample of a call that ended `now`; false once the aggregator is gone.
    async fn push(&mut self, sample: Sample, now: Instant) -> bool {
        self.samples.push(sample);
        if self.samples.len() >= Self::SIZE
            || now.saturating_duration_since(self.since) >= Self::AGE
        {
            return self.flush(now).await;
        }
        true
    }

    async fn flush(&mut self, now: Instant) -> bool {
        self.since = now;
        if self.samples.is_empty() {
            return true;
        }
        let full = std::mem::replace(&mut self.samples, Vec::with_capacity(Self::SIZE));
        self.tx.send(full).await.is_ok()
    }
}

async fn worker<D: Driver>(
    s: Arc<Shared<D>>,
    conn: Option<D::Conn>,
    index: u32,
    seqs: (u64, u64),
    tx: mpsc::Sender<Vec<Sample>>,
) {
    let mut batch = Batch {
        samples: Vec::with_capacity(Batch::SIZE),
        since: Instant::now(),
        tx,
    };
    calls(&s, conn, index, seqs, &mut batch).await;
    batch.flush(Instant::now()).await;
}

/// One worker's calls until the plan ends: call `first` and then every `step`th.
async fn calls<D: Driver>(
    s: &Shared<D>,
    mut conn: Option<D::Conn>,
    worker: u32,
    (first, step): (u64, u64),
    batch: &mut Batch,
) {
    let open = matches!(s.plan.model, Model::Open { .. });
    let mut done_here = 0u64;
    let mut seq = first;
    let mut deadline = Deadline::new(s.plan.timeout);
    let pacer = Pacer::new(s.clock_is_real);
    let mut now = Instant::now();
    while let Some((due, timer_lag)) = next_slot(s, done_here, now, &pacer).await {
        let at = due.saturating_duration_since(s.start);
        if due >= s.warmup_end {
            done_here += 1;
        }
        let fresh = conn.is_none();
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match s.driver.connect().await {
                Ok((c, _)) => conn.insert(c),
                Err(e) => {
                    let failed = Instant::now();
                    let sample = Sample::failed(s, (worker, seq), due, failed, failed, &e);
                    if !batch.push(sample, failed).await {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    now = Instant::now();
                    continue;
                }
            },
        };
        // Closed loop: the call goes out when the last one ended (its `due`), unless
        // a connection had to be opened first.
        let sent_at = if open || fresh { Instant::now() } else { due };
        // Pinned where it is made: a call's future is large, and handing it on by
        // value cost three copies of it per call in the h1 ping profile.
        let result = {
            let call = std::pin::pin!(s.driver.call(c, &s.op, seq));
            deadline
                .run(sent_at + s.plan.timeout, call)
                .await
                .unwrap_or(Err(CallError::Timeout))
        };
        let call = (worker, seq);
        seq += step;
        let finished = Instant::now();
        now = finished;
        let sample = match result {
            Ok(o) => Sample {
                at,
                sent_at: sent_at.saturating_duration_since(s.start),
                latency: finished.saturating_duration_since(due),
                service: finished.saturating_duration_since(sent_at),
                ttfb: o.ttfb,
                sent: o.sent,
                received: o.received,
                error: None,
                send_lag: open.then(|| sent_at.saturating_duration_since(due)),
                timer_lag,
                worker,
                seq: call.1,
            },
            Err(e) => {
                if e.breaks_connection() {
                    conn = None;
                }
                let mut f = Sample::failed(s, call, due, sent_at, finished, &e);
                f.timer_lag = timer_lag;
                f
            }
        };
        if !batch.push(sample, finished).await {
            break;
        }
    }
}

/// A call's timeout without a timer per call: one sleep per worker, moved only when
/// it would fire before the current call's deadline, and then a slack (1/8 of the
/// timeout) past it, so a worker touches the timer wheel about once per slack
/// instead of twice per call (insert and remove). A call is given up between its
/// deadline and a slack after it, and its latency is the time it was given up.
pub struct Deadline {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    slack: Duration,
}

impl Deadline {
    /// A deadline keeper for calls that time out after `timeout`.
    pub fn new(timeout: Duration) -> Deadline {
        let slack = timeout / 8;
        Deadline {
            sleep: Box::pin(sleep_until(Instant::now() + timeout + slack)),
            slack,
        }
    }

    /// `call`'s output, or `None` when it was still running at `due`.
    pub async fn run<F: std::future::Future>(
        &mut self,
        due: Instant,
        call: F,
    ) -> Option<F::Output> {
        if self.sleep.deadline() < due {
            self.sleep.as_mut().reset(due + self.slack);
        }
        tokio::select! {
            biased;
            out = call => Some(out),
            _ = self.sleep.as_mut() => None,
        }
    }
}

impl Sample {
    /// A call due at `due`, sent at `sent_at`, that failed at `finished`: its
    /// latency runs from the due time (the send in closed loop, where they are one).
    fn failed<D: Driver>(
        s: &Shared<D>,
        (worker, seq): (u32, u64),
        due: Instant,
        sent_at: Instant,
        finished: Instant,
        e: &CallError,
    ) -> Sample {
        tracing::debug!(error = %e, "call failed");
        let open = matches!(s.plan.model, Model::Open { .. });
        Sample {
            at: due.saturating_duration_since(s.start),
            sent_at: sent_at.saturating_duration_since(s.start),
            latency: finished.saturating_duration_since(due),
            service: finished.saturating_duration_since(sent_at),
            ttfb: None,
            sent: 0,
            received: 0,
            error: Some(e.kind()),
            send_lag: open.then(|| sent_at.saturating_duration_since(due)),
            timer_lag: None,
            worker,
            seq,
        }
    }
}

/// The aggregator's state.
struct Aggregate {
    recorder: Recorder,
    /// Seconds of the measured window still receiving samples, by index (batches
    /// from different workers arrive out of order, and a slow call late).
    open: std::collections::BTreeMap<usize, Histogram<u64>>,
    /// Seconds no sample can reach any more (older than the call timeout), compact.
    closed: Vec<Interval>,
    /// How many seconds stay open.
    window: usize,
    send_lag: Histogram<u64>,
    timer_lag: Histogram<u64>,
    /// Measured calls by the second of the measured window they were sent in.
    sends_per_second: Vec<u64>,
    slow: Option<Slowest>,
    /// Workers per connection (a slow call's connection is its worker's).
    inflight: u32,
}

impl Aggregate {
    fn push(&mut self, s: Sample, warmup: Duration, hooks: &mut Hooks<'_>) {
        if s.at < warmup {
            return;
        }
        if let Some(l) = s.send_lag {
            self.send_lag.saturating_record(micros(l));
        }
        if let Some(l) = s.timer_lag {
            self.timer_lag.saturating_record(micros(l));
        }
        let second = s.sent_at.saturating_sub(warmup).as_secs() as usize;
        if self.sends_per_second.len() <= second {
            self.sends_per_second.resize(second + 1, 0);
        }
        self.sends_per_second[second] += 1;
        hooks.raw(|w| match &s.error {
            None => w.ok(s.latency),
            Some(kind) => w.err(kind),
        });
        if let Some(slow) = self.slow.as_mut() {
            slow.offer(s.latency, |latency_us| SlowCall {
                latency_us,
                at_ms: (s.at - warmup).as_millis() as u64,
                connection: s.worker / self.inflight,
                seq: s.seq,
                error: s.error.clone(),
            });
        }
        let index = (s.at - warmup).as_secs() as usize;
        match &s.error {
            None => {
                if index + self.window >= self.open.keys().next_back().copied().unwrap_or(0) {
                    let h = self.open.entry(index).or_insert_with(new_histogram);
                    h.saturating_record(s.latency.as_micros().max(1) as u64);
                }
                self.close_before(index.saturating_sub(self.window));
                self.recorder
                    .record_ok(s.latency, s.service, s.ttfb, s.sent, s.received);
            }
            Some(kind) => self.recorder.record_error(kind, s.latency),
        }
    }

    /// Encodes and drops the open seconds before `index`.
    fn close_before(&mut self, index: usize) {
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= index {
                break;
            }
            let (i, h) = entry.remove_entry();
            self.closed.push(Interval::new(
                Duration::from_secs(i as u64),
                Duration::from_secs(1),
                &h,
            ));
        }
    }

    /// Every second of the measured window, in order.
    fn intervals(&mut self) -> Vec<Interval> {
        self.close_before(usize::MAX);
        let mut all = std::mem::take(&mut self.closed);
        all.sort_by_key(|i| i.offset);
        all
    }
}

async fn aggregate(
    mut rx: mpsc::Receiver<Vec<Sample>>,
    plan: &LoadPlan,
    hooks: &mut Hooks<'_>,
) -> Aggregate {
    let warmup = plan.warmup;
    let mut agg = Aggregate {
        recorder: Recorder::new(),
        open: std::collections::BTreeMap::new(),
        closed: Vec::new(),
        window: plan.timeout.as_secs() as usize + 2,
        send_lag: new_histogram(),
        timer_lag: new_histogram(),
        sends_per_second: Vec::new(),
        slow: plan.slow.map(Slowest::new),
        inflight: plan.inflight.max(1) as u32,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last = (0u64, Instant::now());
    // The last interval's latencies, for the progress tick.
    let mut recent = new_histogram();
    loop {
        tokio::select! {
            batch = rx.recv() => {
                let Some(samples) = batch else { break };
                for s in samples {
                    if s.error.is_none() && s.at >= warmup {
                        recent.saturating_record(s.latency.as_micros().max(1) as u64);
                    }
                    agg.push(s, warmup, hooks);
                }
            }
            _ = tick.tick() => {
                let done = agg.recorder.ok() + agg.recorder.errors();
                let rate = (done - last.0) as f64 / last.1.elapsed().as_secs_f64().max(1e-3);
                last = (done, Instant::now());
                let q = |q: f64| if recent.is_empty() { 0 } else { recent.value_at_quantile(q) };
                hooks.progress.set_position(done);
                hooks.progress.tick(Tick { requests: done, errors: agg.recorder.errors(), rps: rate, p50_us: q(0.5), p99_us: q(0.99) });
                recent.reset();
            }
        }
    }
    agg
}

/// A duration in whole microseconds (a histogram of µs cannot hold 0: 1 at least).
fn micros(d: Duration) -> u64 {
    (d.as_micros().min(u128::from(crate::stats::MAX_US)) as u64).max(1)
}
