//! The `pipeline` kind (reference/003): N clients start together, each on its own
//! connection, each sending M calls with up to D unanswered (`Driver::pipeline`;
//! answers arrive in request order). Every answer's latency runs from its own send;
//! a client's total time runs from the common start to its last answer (connection
//! set-up excluded: every client is connected before the start). One line per client
//! per repetition goes to `CaseResult::clients` and `clients.csv`.
//!
//! Protocol-agnostic: any driver that pipelines. Never decides pacing inside a
//! client (the window does) and never prints.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::driver::{CallError, Driver, Window};
use crate::engine::{EngineError, Sinks};
use crate::output::{write_atomic, OutputError};
use crate::scenario::{verify_target, CaseResult, CaseSpec, Kind, Repetition};
use crate::selfcheck::{CpuMeter, CPU_SATURATED};
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

/// Runs every repetition of a pipeline case.
pub async fn run<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    sinks: &mut Sinks<'_>,
    result: &mut CaseResult,
) -> Result<(), EngineError> {
    let Kind::Pipeline { depth, messages } = spec.kind else {
        return Ok(());
    };
    verify_target(driver, &spec.op).await?;
    for repetition in 0..spec.repeat.max(1) {
        sinks.bar.set_position(0);
        let clients = spec.plan.connections.max(1);
        let conns: Vec<_> = futures::stream::iter(0..clients)
            .map(|_| {
                let d = driver.clone();
                async move { d.connect().await.map(|(c, _)| c) }
            })
            .buffered(64)
            .collect()
            .await;
        let all = Arc::new(Mutex::new(Recorder::new()));
        let cpu = CpuMeter::start();
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
                return Err(EngineError::Verify {
                    op: spec.op.name(),
                    error: CallError::Unsupported("pipelining"),
                });
            }
            run.line.repetition = repetition;
            run.line.client = client;
            result.clients.push(run.line);
        }
        let elapsed = start.elapsed();
        let all = all.lock().map(|r| r.clone()).unwrap_or_default();
        sinks.bar.set_position(all.ok() + all.errors());
        let mut rep = Repetition::of(all.summary(elapsed));
        rep.workers = clients;
        rep.connections = clients;
        rep.cpu_fraction = cpu.fraction();
        if let Some(f) = rep.cpu_fraction.filter(|f| *f > CPU_SATURATED) {
            rep.invalid.push(format!(
                "load generator CPU saturated ({:.0}% of its cores)",
                f * 100.0
            ));
        }
        result.repetitions.push(rep);
    }
    Ok(())
}

fn join_error(e: &tokio::task::JoinError) -> EngineError {
    EngineError::NoConnection(CallError::Protocol(format!("client task failed: {e}")))
}

/// One client: its pipeline on its connection, or every call failed when it could
/// not connect or its connection broke.
async fn one_client<D: Driver>(
    driver: &D,
    conn: Result<D::Conn, CallError>,
    op: &crate::driver::OpSpec,
    window: Window,
    start: Instant,
    recorder: &Mutex<Recorder>,
) -> ClientRun {
    let tally = Mutex::new((0u64, 0u64, Duration::ZERO));
    let outcome = match conn {
        Err(e) => Err(e),
        Ok(mut conn) => {
            let on_answer = |latency: Duration, r: Result<_, CallError>| {
                let (Ok(mut rec), Ok(mut t)) = (recorder.lock(), tally.lock()) else {
                    return;
                };
                match r {
                    Ok(o) => {
                        let o: crate::driver::CallOutcome = o;
                        rec.record_ok(latency, latency, o.ttfb, o.sent, o.received);
                        t.0 += 1;
                        t.2 += latency;
                    }
                    Err(e) => {
                        rec.record_error(&e.kind(), latency);
                        t.1 += 1;
                    }
                }
            };
            driver.pipeline(&mut conn, op, window, on_answer).await
        }
    };
    let total = start.elapsed();
    let (answered, mut errors, sum) = tally.into_inner().unwrap_or_default();
    let unsupported = matches!(outcome, Err(CallError::Unsupported(_)));
    if let (Err(e), Ok(mut rec)) = (outcome, recorder.lock()) {
        // Calls never answered: each one a failure of the connection's kind.
        let unanswered = window.count.saturating_sub(answered + errors);
        for _ in 0..unanswered {
            rec.record_error(&e.kind(), Duration::ZERO);
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

/// Statistics across repetitions a pipeline case adds: the clients' mean total time.
pub fn metrics(result: &CaseResult) -> Vec<(&'static str, Vec<f64>)> {
    let per_rep = (0..result.repetitions.len())
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
    vec![("client_total_s", per_rep)]
}

/// Column names of clients.csv.
pub const CLIENTS_CSV_HEADER: [&str; 8] = [
    "case",
    "repetition",
    "client",
    "messages",
    "answered",
    "errors",
    "total_time_s",
    "mean_latency_ms",
];

/// Writes clients.csv (reference/003's per-client lines of every pipeline case) into
/// `dir`; nothing when no case has client lines.
pub fn write_clients_csv(dir: &Path, cases: &[CaseResult]) -> Result<(), OutputError> {
    if cases.iter().all(|c| c.clients.is_empty()) {
        return Ok(());
    }
    let err = |e: csv::Error| OutputError::Format(format!("clients.csv: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CLIENTS_CSV_HEADER).map_err(err)?;
    for case in cases {
        for l in &case.clients {
            w.write_record([
                case.spec.name.clone(),
                l.repetition.to_string(),
                l.client.to_string(),
                l.messages.to_string(),
                l.answered.to_string(),
                l.errors.to_string(),
                format!("{:.6}", l.total_s),
                format!("{:.4}", l.mean_latency_us / 1000.0),
            ])
            .map_err(err)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| OutputError::Format(format!("clients.csv: {e}")))?;
    write_atomic(&dir.join("clients.csv"), &bytes)
}
