//! The `broadcast` kind: K subscribers, each on its own connection, and one
//! publisher sending `rate` messages/s for the case's duration. Every message
//! carries its sequence number and the publisher's send stamp (`m <seq> <µs> x..`),
//! so delivery latency is the publisher's stamp to each subscriber's arrival. Before
//! measuring, the publisher sends probes (`p <n>`) until every subscriber has seen
//! one: a subscription is live only once it receives, whatever the protocol says.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::tally::{Receiver, Tally};
use crate::case::{CaseSpec, Kind, LagStats, Repetition};
use crate::driver::{CallError, Driver, PushEvent, PushStream};
use crate::engine::{self, EngineError};
use crate::pacer::Pacer;
use crate::sink::{Hooks, Progress};
use crate::stats::new_histogram;
use hdrhistogram::Histogram;

/// Subscriptions opened at once.
const OPEN_AT_ONCE: usize = 64;
/// Pause between probes while waiting for subscriptions to go live.
const PROBE_EVERY: Duration = Duration::from_millis(20);
/// How long after the last publish a subscriber may still be waiting for messages.
const DRAIN: Duration = Duration::from_secs(2);

/// What a broadcast body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Probe,
    Measured { seq: u64, sent_us: u64 },
}

/// Measured message `seq`, stamped `sent_us`, padded with `x` to `size` bytes.
pub fn message_body(seq: u64, sent_us: u64, size: usize) -> Bytes {
    let mut s = format!("m {seq} {sent_us} ");
    if s.len() < size {
        s.extend(std::iter::repeat_n('x', size - s.len()));
    }
    Bytes::from(s)
}

/// A body this runner published, or `None` for anyone else's.
pub fn parse_body(body: &[u8]) -> Option<Body> {
    let text = std::str::from_utf8(body).ok()?;
    let mut words = text.split(' ');
    match words.next()? {
        "p" => Some(Body::Probe),
        "m" => Some(Body::Measured {
            seq: words.next()?.parse().ok()?,
            sent_us: words.next()?.parse().ok()?,
        }),
        _ => None,
    }
}

/// A broadcast case.
pub(crate) struct Broadcast<'a, D> {
    driver: &'a Arc<D>,
    spec: &'a CaseSpec,
}

impl<'a, D: Driver> Broadcast<'a, D> {
    pub(crate) fn new(driver: &'a Arc<D>, spec: &'a CaseSpec) -> Self {
        Broadcast { driver, spec }
    }
}

impl<D: Driver> super::Measure for Broadcast<'_, D> {
    async fn repetition(
        &mut self,
        _index: usize,
        hooks: &mut Hooks<'_>,
    ) -> Result<Repetition, EngineError> {
        let Kind::Broadcast {
            subscribers,
            rate,
            size,
        } = self.spec.kind
        else {
            return Err(EngineError::NoConnection(CallError::Unsupported(
                "broadcast",
            )));
        };
        run(self.driver, self.spec, subscribers, rate, size, hooks).await
    }
}

/// One repetition.
async fn run<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    subscribers: usize,
    rate: f64,
    size: usize,
    hooks: &mut Hooks<'_>,
) -> Result<Repetition, EngineError> {
    let timeout = spec.plan.timeout;
    let mut publisher = engine::open_connections(driver, 1).await?.0.pop();
    if let Some(p) = publisher.as_mut() {
        engine::verify(driver.as_ref(), p, &spec.op).await?;
    }
    let messages = (rate * spec.plan.duration.as_secs_f64()).round().max(1.0) as u64;
    let tally = Arc::new(Tally::default());
    let streams = open_subscribers(driver, subscribers, timeout, &tally).await?;
    let live = Arc::new(AtomicUsize::new(0));
    let stop = CancellationToken::new();
    // Subscribers stop when this run returns, early or not.
    let _stop_on_return = stop.clone().drop_guard();
    let wanted = streams.len();
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|s| {
            tokio::spawn(subscriber(
                s,
                messages,
                tally.clone(),
                live.clone(),
                stop.clone(),
            ))
        })
        .collect();
    if let Some(p) = publisher.as_mut() {
        probe(driver.as_ref(), p, &live, wanted, timeout)
            .await
            .map_err(|error| EngineError::Verify {
                op: "broadcast".into(),
                error,
            })?;
    }
    let server = hooks.server.clone();
    let meter = crate::selfcheck::Meter::start(server.as_ref()).await;
    let start = Instant::now();
    let start_us = protolab_core::contract::now_micros();
    let schedule = Schedule {
        messages,
        rate,
        size,
        start,
        start_us,
    };
    let (published, lag) = publish(
        driver,
        &mut publisher,
        &schedule,
        timeout,
        &tally,
        hooks.progress,
    )
    .await;
    let publish_time = start.elapsed();
    let drain = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(DRAIN.min(timeout)).await;
        drain.cancel();
    });
    super::push::join_showing(tasks, hooks.progress, &tally).await;
    // The window: first publish to last delivery.
    let last_us = tally.last_arrival_us().max(start_us);
    let window = Duration::from_micros(last_us - start_us).max(publish_time);
    let usage = meter.stop().await;
    let (delivery, mut push) = tally.result(messages, window);
    push.published = published;
    // Over the schedule's own length: a publisher on time scores exactly `rate`.
    let scheduled = messages as f64 / rate.max(1e-3);
    push.publish_rate = published as f64 / publish_time.as_secs_f64().max(scheduled);
    push.publish_lag = LagStats::of(&lag);
    Ok(super::push::repetition(
        delivery,
        push,
        window,
        usage,
        subscribers,
    ))
}

/// Opens `n` subscriptions, `OPEN_AT_ONCE` at a time; failures are counted as
/// `subscribe_<kind>` errors; none at all is an error.
async fn open_subscribers<D: Driver>(
    driver: &Arc<D>,
    n: usize,
    timeout: Duration,
    tally: &Tally,
) -> Result<Vec<PushStream>, EngineError> {
    let results: Vec<_> = futures::stream::iter(0..n.max(1))
        .map(|_| {
            let d = driver.clone();
            async move {
                let t0 = Instant::now();
                tokio::time::timeout(timeout, d.subscribe())
                    .await
                    .unwrap_or(Err(CallError::Timeout))
                    .map_err(|e| (e, t0.elapsed()))
            }
        })
        .buffer_unordered(OPEN_AT_ONCE)
        .collect()
        .await;
    let mut streams = Vec::with_capacity(n);
    let mut last = None;
    for r in results {
        match r {
            Ok(s) => streams.push(s),
            Err((e, took)) => {
                tally.error(&format!("subscribe_{}", e.kind()), took);
                last = Some(e);
            }
        }
    }
    match (streams.is_empty(), last) {
        (true, Some(e @ CallError::Unsupported(_))) => Err(EngineError::Verify {
            op: "subscribe".into(),
            error: e,
        }),
        (true, Some(e)) => Err(EngineError::NoConnection(e)),
        _ => Ok(streams),
    }
}

/// Publishes probes until `want` subscribers have seen one (or `timeout` passes
/// with at least one live).
async fn probe<D: Driver>(
    driver: &D,
    conn: &mut D::Conn,
    live: &AtomicUsize,
    want: usize,
    timeout: Duration,
) -> Result<(), CallError> {
    let deadline = Instant::now() + timeout;
    for n in 0u64.. {
        driver.publish(conn, Bytes::from(format!("p {n}"))).await?;
        tokio::time::sleep(PROBE_EVERY).await;
        let now_live = live.load(Ordering::Relaxed);
        if now_live >= want {
            break;
        }
        if Instant::now() >= deadline {
            if now_live == 0 {
                return Err(CallError::Verify(
                    "no subscriber received a published message".into(),
                ));
            }
            tracing::warn!(live = now_live, want, "not every subscription went live");
            break;
        }
    }
    Ok(())
}

/// The publisher's schedule: message `seq` is due at `start + seq / rate`.
struct Schedule {
    messages: u64,
    rate: f64,
    size: usize,
    start: Instant,
    start_us: u64,
}

impl Schedule {
    fn offset(&self, seq: u64) -> Duration {
        Duration::from_secs_f64(seq as f64 / self.rate.max(1e-3))
    }
}

/// The measured messages at their slots, each stamped with its slot (so a late
/// publish shows in the delivery latency); returns how many were published and how
/// late each went out (µs).
async fn publish<D: Driver>(
    driver: &Arc<D>,
    conn: &mut Option<D::Conn>,
    schedule: &Schedule,
    timeout: Duration,
    tally: &Tally,
    progress: &dyn Progress,
) -> (u64, Histogram<u64>) {
    let mut published = 0;
    let mut lag = new_histogram();
    // Slots on the precise timer, as open-loop sends: tokio's 1 ms wheel alone puts
    // the publish lag's p99 over the 1 ms the verdict allows.
    let pacer = Pacer::new(crate::pacer::clock_is_real());
    for seq in 0..schedule.messages {
        let offset = schedule.offset(seq);
        let due = schedule.start + offset;
        pacer.sleep_until(due).await;
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match driver.connect().await {
                Ok((c, _)) => conn.insert(c),
                Err(e) => {
                    tally.error(&format!("publish_{}", e.kind()), due.elapsed());
                    continue;
                }
            },
        };
        let due_us = schedule.start_us + offset.as_micros() as u64;
        lag.saturating_record(due.elapsed().as_micros().max(1) as u64);
        let body = message_body(seq, due_us, schedule.size);
        let sent = tokio::time::timeout(timeout, driver.publish(c, body))
            .await
            .unwrap_or(Err(CallError::Timeout));
        match sent {
            Ok(_) => published += 1,
            Err(e) => {
                tally.error(&format!("publish_{}", e.kind()), due.elapsed());
                if e.breaks_connection() {
                    *conn = None;
                }
            }
        }
        progress.set_position(tally.delivered());
    }
    (published, lag)
}

/// One subscriber: counts measured messages until the last, an error, or `stop`.
async fn subscriber(
    mut s: PushStream,
    messages: u64,
    tally: Arc<Tally>,
    live: Arc<AtomicUsize>,
    stop: CancellationToken,
) {
    let mut r = Receiver::new(true);
    let mut is_live = false;
    while !r.saw_last(messages) {
        let item = tokio::select! {
            item = s.next() => item,
            _ = stop.cancelled() => break,
        };
        let p = match item {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                tally.error(&e.kind(), Duration::ZERO);
                break;
            }
            None => {
                tally.error(&CallError::Closed.kind(), Duration::ZERO);
                break;
            }
        };
        match p.event {
            PushEvent::Message(body) => match parse_body(&body) {
                Some(Body::Probe) if !is_live => {
                    is_live = true;
                    live.fetch_add(1, Ordering::Relaxed);
                }
                Some(Body::Measured { seq, sent_us }) => {
                    let l = super::push::latency_us(sent_us, p.arrived_us);
                    r.event(seq, l);
                    tally.delivery(l, p.arrived_us, None);
                }
                _ => {}
            },
            PushEvent::Lagged(n) => r.lagged += n,
            PushEvent::Resumed => r.resumed += 1,
            PushEvent::Event { .. } => {}
        }
    }
    tally.finish(&r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_pad() {
        let b = message_body(7, 1_700_000_000_000_000, 64);
        assert_eq!(b.len(), 64);
        assert_eq!(
            parse_body(&b),
            Some(Body::Measured {
                seq: 7,
                sent_us: 1_700_000_000_000_000
            })
        );
        assert_eq!(parse_body(b"p 3"), Some(Body::Probe));
        assert_eq!(parse_body(b"hello"), None);
        assert_eq!(message_body(1, 2, 0).as_ref(), b"m 1 2 ");
    }
}
