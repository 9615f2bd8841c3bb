//! The `pipeline` kind (reference/003): N clients start together, each on its own
//! connection, each sending M calls with up to D unanswered (`Driver::pipeline`;
//! answers arrive in request order). Every answer's latency runs from its own send;
//! a client's total time runs from the common start to its last answer (connection
//! set-up excluded: every client is connected before the start). One line per client
//! per repetition goes to `CaseResult::clients` and `clients.csv`.
//!
//! Protocol-agnostic: any driver that pipelines. Never decides pacing inside a
//! client (the window does) and never prints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::case::{CaseResult, CaseSpec, Kind, Metric, Repetition};
use crate::driver::{CallError, CallOutcome, Driver, OpSpec, Window};
use crate::engine::{verify_target, EngineError};
use crate::selfcheck::Meter;
use crate::sink::Hooks;
use crate::stats::Recorder;

/// reference/003's per-client line: who, how many, how long, how fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientLine {
    pub repetition: usize,
    pub client: usize,
    /// Calls the client was to send.
    pub messages: u64,
    /// Calls answered successfully.
    pub answered: u64,
    pub errors: u64,
    /// From the common start to the client's last answer.
    pub total_s: f64,
    /// Mean latency of its answered calls.
    pub mean_latency_us: f64,
}

/// What one client measured (its latencies go to the case's shared recorder: one
/// set of histograms per case, not per client).
struct ClientRun {
    line: ClientLine,
    unsupported: bool,
}

/// A pipeline case; its client lines wait here until the case is done.
pub(crate) struct Pipeline<'a, D> {
    driver: &'a Arc<D>,
    spec: &'a CaseSpec,
    clients: Vec<ClientLine>,
}

impl<'a, D: Driver> Pipeline<'a, D> {
    pub(crate) fn new(driver: &'a Arc<D>, spec: &'a CaseSpec) -> Self {
        Pipeline {
            driver,
            spec,
            clients: Vec::new(),
        }
    }
}

impl<D: Driver> super::Measure for Pipeline<'_, D> {
    async fn prepare(&mut self) -> Result<(), EngineError> {
        verify_target(self.driver, &self.spec.op).await
    }

    async fn repetition(
        &mut self,
        repetition: usize,
        hooks: &mut Hooks<'_>,
    ) -> Result<Repetition, EngineError> {
        let (driver, spec) = (self.driver, self.spec);
        let Kind::Pipeline { depth, messages } = spec.kind else {
            return Err(unsupported(spec));
        };
        let clients = spec.plan.connections.max(1);
        let conns: Vec<_> = futures::stream::iter(0..clients)
            .map(|_| {
                let d = driver.clone();
                async move { d.connect().await.map(|(c, _)| c) }
            })
            .buffered(64)
            .collect()
            .await;
        let opened = conns.iter().filter(|c| c.is_ok()).count();
        let all = Arc::new(Mutex::new(Recorder::new()));
        let server = hooks.server.clone();
        let meter = Meter::start(server.as_ref()).await;
        let start = Instant::now();
        let tasks: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(client, conn)| {
                let (d, op, rec) = (driver.clone(), spec.op.clone(), all.clone());
                let window = Window {
                    first_seq: client as u64 * messages,
                    count: messages,
                    depth,
                    timeout: spec.plan.timeout,
                };
                tokio::spawn(async move { one_client(&*d, conn, &op, window, start, &rec).await })
            })
            .collect();
        for (client, task) in tasks.into_iter().enumerate() {
            let mut run = task.await.map_err(|e| join_error(&e))?;
            if run.unsupported {
                return Err(unsupported(spec));
            }
            run.line.repetition = repetition;
            run.line.client = client;
            self.clients.push(run.line);
        }
        let elapsed = start.elapsed();
        let window = meter.stop().await;
        let all = all.lock().map(|r| r.clone()).unwrap_or_default();
        hooks.progress.set_position(all.ok() + all.errors());
        let mut rep = Repetition::measured(all, elapsed);
        rep.set_window(window);
        rep.workers = clients;
        rep.connections = opened;
        rep.planned_connections = clients;
        Ok(rep)
    }

    fn finish(self, result: &mut CaseResult) {
        result.clients = self.clients;
        let per_rep: Vec<f64> = (0..result.repetitions.len())
            .map(|r| {
                let lines: Vec<f64> = result
                    .clients
                    .iter()
                    .filter(|l| l.repetition == r)
                    .map(|l| l.total_s)
                    .collect();
                lines.iter().sum::<f64>() / lines.len().max(1) as f64
            })
            .collect();
        result.add_stat(Metric::ClientTotalS, &per_rep);
    }
}

fn unsupported(spec: &CaseSpec) -> EngineError {
    EngineError::Verify {
        op: spec.op.name().to_string(),
        error: CallError::Unsupported("pipelining"),
    }
}

/// A client's answers on their way to the case's recorder: recorded under its lock
/// once per `SIZE` answers, not once per answer.
struct Answers<'a> {
    recorder: &'a Mutex<Recorder>,
    pending: Vec<(Duration, Result<CallOutcome, CallError>)>,
}

impl<'a> Answers<'a> {
    const SIZE: usize = 1024;

    fn new(recorder: &'a Mutex<Recorder>) -> Self {
        Answers {
            recorder,
            pending: Vec::with_capacity(Self::SIZE),
        }
    }

    fn push(&mut self, latency: Duration, r: Result<CallOutcome, CallError>) {
        self.pending.push((latency, r));
        if self.pending.len() >= Self::SIZE {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let Ok(mut rec) = self.recorder.lock() else {
            return;
        };
        for (latency, r) in self.pending.drain(..) {
            match r {
                Ok(o) => rec.record_ok(latency, latency, o.ttfb, o.sent, o.received),
                Err(e) => rec.record_error(&e.kind(), latency),
            }
        }
    }
}

fn join_error(e: &tokio::task::JoinError) -> EngineError {
    EngineError::NoConnection(CallError::Protocol(format!("client task failed: {e}")))
}

/// One client: its pipeline on its connection, or every call failed when it could
/// not connect or its connection broke.
async fn one_client<D: Driver>(
    driver: &D,
    conn: Result<D::Conn, CallError>,
    op: &OpSpec,
    window: Window,
    start: Instant,
    recorder: &Mutex<Recorder>,
) -> ClientRun {
    let (mut answered, mut errors, mut sum) = (0u64, 0u64, Duration::ZERO);
    let mut batch = Answers::new(recorder);
    let outcome = match conn {
        Err(e) => Err(e),
        Ok(mut conn) => {
            let on_answer = |latency: Duration, r: Result<CallOutcome, CallError>| {
                match &r {
                    Ok(_) => {
                        answered += 1;
                        sum += latency;
                    }
                    Err(_) => errors += 1,
                }
                batch.push(latency, r);
            };
            driver.pipeline(&mut conn, op, window, on_answer).await
        }
    };
    batch.flush();
    let total = start.elapsed();
    let unsupported = matches!(outcome, Err(CallError::Unsupported(_)));
    if let (Err(e), Ok(mut rec)) = (outcome, recorder.lock()) {
        // Calls never answered: each one a failure of the connection's kind, after
        // the time until the connection failed.
        let unanswered = window.count.saturating_sub(answered + errors);
        for _ in 0..unanswered {
            rec.record_error(&e.kind(), total);
        }
        errors += unanswered;
    }
    ClientRun {
        unsupported,
        line: ClientLine {
            repetition: 0,
            client: 0,
            messages: window.count,
            answered,
            errors,
            total_s: total.as_secs_f64(),
            mean_latency_us: sum.as_secs_f64() * 1e6 / answered.max(1) as f64,
        },
    }
}
