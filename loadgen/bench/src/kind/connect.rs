//! The `connect` kind (reference/002's coldconn): a fresh connection per attempt at
//! a fixed rate, each making one call; every stage timed (TCP, TLS, protocol
//! handshake, first call, total). The target is verified once before the first
//! repetition.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::case::{CaseSpec, ConnectBreakdown, Kind, Repetition};
use crate::driver::{CallError, Driver};
use crate::engine::EngineError;
use crate::selfcheck::Meter;
use crate::sink::Hooks;
use crate::stats::{new_histogram, Percentiles, Recorder};

/// A connect case.
pub(crate) struct Connect<'a, D> {
    driver: &'a Arc<D>,
    spec: &'a CaseSpec,
}

impl<'a, D: Driver> Connect<'a, D> {
    pub(crate) fn new(driver: &'a Arc<D>, spec: &'a CaseSpec) -> Self {
        Connect { driver, spec }
    }
}

impl<D: Driver> super::Measure for Connect<'_, D> {
    async fn prepare(&mut self) -> Result<(), EngineError> {
        crate::engine::verify_target(self.driver, &self.spec.op).await
    }

    async fn repetition(
        &mut self,
        _index: usize,
        hooks: &mut Hooks<'_>,
    ) -> Result<Repetition, EngineError> {
        let Kind::Connect { rate, attempts } = self.spec.kind else {
            return Err(EngineError::NoConnection(CallError::Unsupported("connect")));
        };
        Ok(attempts_at(self.driver, self.spec, rate, attempts, hooks).await)
    }
}

/// `attempts` connections at `rate` per second, each with one call.
async fn attempts_at<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    rate: f64,
    attempts: u64,
    hooks: &mut Hooks<'_>,
) -> Repetition {
    let (mut tcp, mut tls, mut hs, mut first, mut total) = (
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
    );
    let server = hooks.server.clone();
    let meter = Meter::start(server.as_ref()).await;
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    for i in 0..attempts {
        tokio::time::sleep_until(start + period * i as u32).await;
        let t0 = Instant::now();
        let attempt = async {
            let (mut conn, timings) = driver.connect().await?;
            let t1 = Instant::now();
            driver.call(&mut conn, &spec.op, i).await?;
            Ok::<_, CallError>((timings, t1.elapsed()))
        };
        match tokio::time::timeout(spec.plan.timeout, attempt)
            .await
            .unwrap_or(Err(CallError::Timeout))
        {
            Ok((t, call)) => {
                tcp.record_ok(t.tcp, t.tcp, None, 0, 0);
                if let Some(d) = t.tls {
                    tls.record_ok(d, d, None, 0, 0);
                }
                if let Some(d) = t.handshake {
                    hs.record_ok(d, d, None, 0, 0);
                }
                first.record_ok(call, call, None, 0, 0);
                let all = t0.elapsed();
                total.record_ok(all, all, None, 0, 0);
                hooks.raw(|w| w.connect(t.tcp + t.tls.unwrap_or_default(), call, all));
            }
            Err(e) => {
                total.record_error(&e.kind(), t0.elapsed());
                hooks.raw(|w| w.err(&e.kind()));
            }
        }
        hooks.progress.set_position(i + 1);
    }
    let elapsed = start.elapsed();
    let window = meter.stop().await;
    let pct =
        |r: &Recorder| (r.ok() > 0).then(|| Percentiles::from_histogram(r.latency_histogram()));
    let empty = || Percentiles::from_histogram(&new_histogram());
    let breakdown = ConnectBreakdown {
        tcp: pct(&tcp).unwrap_or_else(empty),
        tls: pct(&tls),
        handshake: pct(&hs),
        first_call: pct(&first).unwrap_or_else(empty),
        total: pct(&total).unwrap_or_else(empty),
    };
    let mut rep = Repetition::measured(total, elapsed);
    rep.set_window(window);
    rep.workers = 1;
    rep.connections = attempts as usize;
    rep.planned_connections = attempts as usize;
    rep.offered_rate = Some(rate);
    rep.connect = Some(breakdown);
    rep
}
