//! The `stream` kind: `connections` streams at once, each asking for `count` events
//! `interval_ms` apart with `size` payload bytes. Before measuring, the target must
//! answer the case's op correctly and push a 3-event probe stream in order.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::tally::{Receiver, Tally};
use crate::case::{CaseSpec, Kind, Repetition};
use crate::driver::{CallError, Driver, PushEvent, StreamParams};
use crate::engine::{self, EngineError};
use crate::sink::Hooks;

/// A stream case.
pub(crate) struct Stream<'a, D> {
    driver: &'a Arc<D>,
    spec: &'a CaseSpec,
}

impl<'a, D: Driver> Stream<'a, D> {
    pub(crate) fn new(driver: &'a Arc<D>, spec: &'a CaseSpec) -> Self {
        Stream { driver, spec }
    }
}

impl<D: Driver> super::Measure for Stream<'_, D> {
    async fn repetition(
        &mut self,
        _index: usize,
        hooks: &mut Hooks<'_>,
    ) -> Result<Repetition, EngineError> {
        let Kind::Stream {
            count,
            interval_ms,
            size,
        } = self.spec.kind
        else {
            return Err(EngineError::NoConnection(CallError::Unsupported("stream")));
        };
        run(self.driver, self.spec, count, interval_ms, size, hooks).await
    }
}

/// One repetition.
async fn run<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    count: u64,
    interval_ms: u64,
    size: usize,
    hooks: &mut Hooks<'_>,
) -> Result<Repetition, EngineError> {
    let params = StreamParams {
        count,
        interval_ms,
        size,
    };
    let planned = spec.plan.connections.max(1);
    let (mut conns, failed) = engine::open_connections(driver, planned).await?;
    if let Some(first) = conns.first_mut() {
        verify(driver.as_ref(), first, spec).await?;
    }
    let tally = Arc::new(Tally::default());
    for (e, took) in &failed {
        tally.error(&e.kind(), *took);
    }
    let same_clock = hooks.same_clock;
    // Bounded in time: the stream's own length plus a timeout's grace.
    let length = Duration::from_millis(interval_ms.saturating_mul(count));
    let deadline = Instant::now() + spec.plan.duration.max(length) + spec.plan.timeout;
    let server = hooks.server.clone();
    let meter = crate::selfcheck::Meter::start(server.as_ref()).await;
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (driver, tally) = (driver.clone(), tally.clone());
            tokio::spawn(async move {
                let r = receive(
                    driver.as_ref(),
                    &mut conn,
                    &params,
                    &tally,
                    deadline,
                    same_clock,
                )
                .await;
                tally.finish(&r);
            })
        })
        .collect();
    super::push::join_showing(tasks, hooks.progress, &tally).await;
    let elapsed = start.elapsed();
    let window = meter.stop().await;
    let (delivery, push) = tally.result(count, elapsed);
    Ok(super::push::repetition(
        delivery, push, elapsed, window, planned,
    ))
}

/// Reads one stream until it ends, fails or `deadline` passes. Event `i` was meant
/// to go out `i * interval` after the request (at once when unpaced): its latency
/// runs from then, on the generator's clock, so a server that falls behind its
/// schedule or a consumer that reads slowly shows. The server's own stamp is
/// compared with the arrival only when its clock is ours (`same_clock`).
async fn receive<D: Driver>(
    driver: &D,
    conn: &mut D::Conn,
    params: &StreamParams,
    tally: &Tally,
    deadline: Instant,
    same_clock: bool,
) -> Receiver {
    let mut r = Receiver::new(false);
    let asked = Instant::now();
    let asked_us = protolab_core::contract::now_micros();
    let opened = tokio::time::timeout_at(deadline, driver.stream(conn, params)).await;
    let mut events = match opened {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tally.error(&e.kind(), asked.elapsed());
            return r;
        }
        Err(_) => {
            tally.error(&CallError::Timeout.kind(), asked.elapsed());
            return r;
        }
    };
    let interval_us = params.interval_ms.saturating_mul(1000);
    loop {
        let item = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(_) => {
                tally.error(&CallError::Timeout.kind(), asked.elapsed());
                break;
            }
        };
        match item {
            Ok(p) => match p.event {
                PushEvent::Event { seq, sent_at_us } => {
                    let due_us = asked_us.saturating_add(seq.saturating_mul(interval_us));
                    let l = super::push::latency_us(due_us, p.arrived_us);
                    r.event(seq, l);
                    let one_way =
                        same_clock.then(|| super::push::latency_us(sent_at_us, p.arrived_us));
                    tally.delivery(l, p.arrived_us, one_way);
                }
                PushEvent::Lagged(n) => r.lagged += n,
                PushEvent::Resumed => r.resumed += 1,
                PushEvent::Message(_) => {}
            },
            Err(e) => {
                tally.error(&e.kind(), asked.elapsed());
                break;
            }
        }
    }
    r
}

/// The case's op answers correctly, and a 3-event stream arrives whole and in order.
async fn verify<D: Driver>(
    driver: &D,
    conn: &mut D::Conn,
    spec: &CaseSpec,
) -> Result<(), EngineError> {
    let fail = |error| EngineError::Verify {
        op: "stream".into(),
        error,
    };
    engine::verify(driver, conn, &spec.op).await?;
    let probe = StreamParams {
        count: 3,
        interval_ms: 0,
        size: 8,
    };
    let events = tokio::time::timeout(spec.plan.timeout, async {
        let s = driver.stream(conn, &probe).await?;
        let all: Vec<_> = s.collect().await;
        all.into_iter().collect::<Result<Vec<_>, CallError>>()
    })
    .await
    .map_err(|_| fail(CallError::Timeout))?
    .map_err(fail)?;
    let seqs: Vec<u64> = events
        .iter()
        .filter_map(|p| match p.event {
            PushEvent::Event { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    if seqs != [0, 1, 2] {
        return Err(fail(CallError::Verify(format!(
            "a 3-event stream gave sequence {seqs:?}"
        ))));
    }
    Ok(())
}
