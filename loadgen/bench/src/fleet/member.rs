//! A fleet member (`loadgen worker`): listens for a coordinator, says who it is,
//! answers clock probes, and runs each job it is given with the caller's
//! [`CaseRunner`] (the one that knows the protocols), streaming a heartbeat and the
//! engine's ticks while it runs. One coordinator at a time; another is told `Busy`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::case::{CaseResult, CaseSpec};
use crate::fleet::wire::{self, Job, Measured, Outcome, ToCoordinator, ToMember, WireError};
use crate::sink::{Progress, Tick};

/// Runs one case of a job with the driver of `endpoint`.
pub trait CaseRunner: Send + Sync + 'static {
    fn run(
        &self,
        endpoint: &str,
        spec: CaseSpec,
        progress: &dyn Progress,
    ) -> impl Future<Output = CaseResult> + Send;
}

/// Who a member says it is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub index: Option<usize>,
}

/// Serves coordinators on `listener` until the task is dropped.
pub async fn serve<R: CaseRunner>(listener: TcpListener, me: Identity, runner: Arc<R>) {
    let busy = Arc::new(AtomicBool::new(false));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (me, runner, busy) = (me.clone(), runner.clone(), busy.clone());
        tokio::spawn(async move {
            let (reader, mut writer) = wire::split(stream);
            if busy.swap(true, Ordering::AcqRel) {
                let _ = writer.send(&ToCoordinator::Busy).await;
                return;
            }
            tracing::info!(%peer, "coordinator connected");
            match session(reader, writer, &me, runner.as_ref()).await {
                Ok(()) | Err(WireError::Closed) => tracing::info!(%peer, "coordinator left"),
                Err(e) => tracing::warn!(%peer, error = %e, "session ended"),
            }
            busy.store(false, Ordering::Release);
        });
    }
}

/// One coordinator's session: until it closes the connection.
async fn session<R: CaseRunner>(
    mut reader: wire::Reader,
    mut writer: wire::Writer,
    me: &Identity,
    runner: &R,
) -> Result<(), WireError> {
    writer
        .send(&ToCoordinator::Hello {
            name: me.name.clone(),
            index: me.index,
            version: wire::VERSION,
        })
        .await?;
    loop {
        match reader.recv::<ToMember>(None).await? {
            ToMember::Clock { seq } => writer.send(&clock(seq)).await?,
            ToMember::Job(job) => run_job(*job, &mut reader, &mut writer, runner).await?,
            // Nothing runs: an abort that crossed the job's end.
            ToMember::Abort => {}
        }
    }
}

/// The answer to clock probe `seq`: this member's clock now.
fn clock(seq: u64) -> ToCoordinator {
    ToCoordinator::Clock {
        seq,
        member_unix: crate::unix_now(),
    }
}

/// The engine's ticks, forwarded.
struct Ticks(mpsc::UnboundedSender<Tick>);

impl Progress for Ticks {
    fn tick(&self, tick: Tick) {
        let _ = self.0.send(tick);
    }
}

/// Runs `job` while answering the coordinator: a heartbeat each second, the
/// engine's ticks, and an abort that drops the case where it is.
async fn run_job<R: CaseRunner>(
    job: Job,
    reader: &mut wire::Reader,
    writer: &mut wire::Writer,
    runner: &R,
) -> Result<(), WireError> {
    let id = job.id;
    let (tx, mut ticks) = mpsc::unbounded_channel();
    let progress = Ticks(tx);
    let case = runner.run(&job.endpoint, job.spec, &progress);
    tokio::pin!(case);
    let mut beat = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            result = &mut case => {
                let outcome = Box::new(outcome(result));
                return writer.send(&ToCoordinator::Done { job: id, outcome }).await;
            }
            Some(tick) = ticks.recv() => writer.send(&ToCoordinator::Tick { job: id, tick }).await?,
            _ = beat.tick() => writer.send(&ToCoordinator::Alive { job: id }).await?,
            msg = reader.recv::<ToMember>(None) => match msg? {
                ToMember::Abort => return writer.send(&ToCoordinator::Aborted { job: id }).await,
                ToMember::Clock { seq } => writer.send(&clock(seq)).await?,
                ToMember::Job(_) => tracing::warn!("a job arrived while one runs: ignored"),
            },
        }
    }
}

/// A member's case result as its outcome: its verdict and its one repetition.
fn outcome(mut r: CaseResult) -> Outcome {
    let measured = r.repetitions.pop().and_then(Measured::take);
    Outcome {
        status: r.status,
        problems: r.problems,
        skipped: r.skipped,
        measured,
    }
}
