//! The `transfer` kind (reference/001's binary file transfer): `transfers` blobs of
//! `size` bytes one way per repetition, over one connection, through the driver's
//! `upload` / `download` (streamed both ways: the generator holds one piece at a
//! time). Each transfer is checked against the pattern's CRC32 and length; a
//! mismatch is an integrity failure, never a fast number. Latency is the duration of
//! one transfer; MB/s is size over that duration.
//!
//! Protocol-agnostic: any driver that transfers. A protocol that cannot (NET-001
//! upload, SSE) makes the case skipped, not failed.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use serde::{Deserialize, Serialize};

use crate::case::{CaseResult, CaseSpec, Kind, Metric, Repetition};
use crate::driver::{Blob, CallError, Driver, TransferOutcome};
use crate::engine::{verify_target, EngineError};
use crate::selfcheck::Meter;
use crate::sink::Hooks;
use crate::stats::Recorder;

/// Slowest transfer rate before a transfer times out, on top of the case's timeout.
const MIN_RATE_BYTES_PER_S: f64 = 1e6;

/// A transfer case: the expected checksum is computed once, before the first
/// repetition and outside every timed transfer.
pub(crate) struct Transfer<'a, D> {
    driver: &'a Arc<D>,
    spec: &'a CaseSpec,
    expected: u32,
}

impl<'a, D: Driver> Transfer<'a, D> {
    pub(crate) fn new(driver: &'a Arc<D>, spec: &'a CaseSpec) -> Self {
        Transfer {
            driver,
            spec,
            expected: 0,
        }
    }
}

impl<D: Driver> super::Measure for Transfer<'_, D> {
    async fn prepare(&mut self) -> Result<(), EngineError> {
        verify_target(self.driver, &self.spec.op).await?;
        let Kind::Transfer { size, .. } = self.spec.kind else {
            return Err(unsupported("transfer"));
        };
        self.expected =
            tokio::task::spawn_blocking(move || protolab_core::contract::pattern_crc32(size))
                .await
                .map_err(|e| EngineError::NoConnection(CallError::Protocol(e.to_string())))?;
        Ok(())
    }

    async fn repetition(
        &mut self,
        _index: usize,
        hooks: &mut Hooks<'_>,
    ) -> Result<Repetition, EngineError> {
        let (driver, spec) = (self.driver, self.spec);
        let Kind::Transfer {
            direction,
            size,
            chunk,
            transfers,
        } = spec.kind
        else {
            return Err(unsupported("transfer"));
        };
        let expected = self.expected;
        let blob = Blob { size, chunk };
        let limit = spec.plan.timeout + Duration::from_secs_f64(size as f64 / MIN_RATE_BYTES_PER_S);
        let mut conn = None;
        let mut rec = Recorder::new();
        let mut stats = TransferStats {
            direction,
            size_bytes: size,
            chunk_bytes: chunk,
            transfers: 0,
            integrity_failures: 0,
            mbps: Vec::new(),
            mbps_total: 0.0,
            largest_piece_bytes: 0,
        };
        let server = hooks.server.clone();
        let meter = Meter::start(server.as_ref()).await;
        // Time spent transferring: connection set-up is left out.
        let mut transferring = Duration::ZERO;
        for done in 0..transfers.max(1) {
            let c = match connected(driver, &mut conn).await {
                Ok(c) => c,
                Err(e) => {
                    rec.record_error(&e.kind(), Duration::ZERO);
                    hooks.progress.set_position(done + 1);
                    continue;
                }
            };
            let t0 = Instant::now();
            let r = tokio::time::timeout(limit, one(driver, c, direction, blob))
                .await
                .unwrap_or(Err(CallError::Timeout));
            let took = t0.elapsed();
            transferring += took;
            match r {
                Err(CallError::Unsupported(what)) => return Err(unsupported(what)),
                Err(e) => {
                    tracing::debug!(error = %e, "transfer failed");
                    if e.breaks_connection() {
                        conn = None;
                    }
                    rec.record_error(&e.kind(), took);
                }
                Ok(o) => record(&mut rec, &mut stats, o, direction, (size, expected), took),
            }
            hooks.progress.set_position(done + 1);
        }
        let window = meter.stop().await;
        let good_bytes = stats.transfers as f64 * size as f64;
        stats.mbps_total = good_bytes / 1e6 / transferring.as_secs_f64().max(1e-9);
        let mut rep = Repetition::measured(rec, transferring);
        rep.set_window(window);
        rep.workers = 1;
        rep.connections = usize::from(conn.is_some());
        rep.planned_connections = 1;
        rep.transfer = Some(stats);
        Ok(rep)
    }

    fn finish(self, result: &mut CaseResult) {
        let mbps: Vec<f64> = result
            .repetitions
            .iter()
            .filter_map(|r| r.transfer.as_ref())
            .map(|t| t.mbps_total)
            .collect();
        result.add_stat(Metric::Mbps, &mbps);
    }
}

fn unsupported(what: &'static str) -> EngineError {
    EngineError::Verify {
        op: "transfer".into(),
        error: CallError::Unsupported(what),
    }
}

/// The case's connection, opened when there is none.
async fn connected<'c, D: Driver>(
    driver: &Arc<D>,
    conn: &'c mut Option<D::Conn>,
) -> Result<&'c mut D::Conn, CallError> {
    Ok(match conn {
        Some(c) => c,
        None => conn.insert(driver.connect().await?.0),
    })
}

/// One transfer on the case's connection.
async fn one<D: Driver>(
    driver: &Arc<D>,
    c: &mut D::Conn,
    direction: Direction,
    blob: Blob,
) -> Result<TransferOutcome, CallError> {
    match direction {
        Direction::Upload => driver.upload(c, blob).await,
        Direction::Download => driver.download(c, blob).await,
    }
}

/// Records a finished transfer: a success only when length and CRC32 match.
fn record(
    rec: &mut Recorder,
    stats: &mut TransferStats,
    o: TransferOutcome,
    direction: Direction,
    (size, crc32): (u64, u32),
    took: Duration,
) {
    stats.largest_piece_bytes = stats.largest_piece_bytes.max(o.largest_piece);
    if o.bytes != size || o.crc32 != crc32 {
        tracing::warn!(
            got_bytes = o.bytes,
            got_crc = o.crc32,
            size,
            crc32,
            "transfer integrity failure"
        );
        stats.integrity_failures += 1;
        rec.record_error("integrity", took);
        return;
    }
    stats.transfers += 1;
    stats
        .mbps
        .push(size as f64 / 1e6 / took.as_secs_f64().max(1e-9));
    let (sent, received) = match direction {
        Direction::Upload => (size, 0),
        Direction::Download => (0, size),
    };
    rec.record_ok(took, took, o.ttfb, sent, received);
}

/// Which way a transfer goes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Upload,
    Download,
}

/// Large transfers (the `transfer` kind), one repetition. The repetition's `summary`
/// holds the per-transfer durations as latency and MB/s as `mbps_sent`/`mbps_received`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TransferStats {
    pub direction: Direction,
    pub size_bytes: u64,
    /// Chunk size; `None` for a whole-body transfer.
    pub chunk_bytes: Option<u64>,
    /// Completed transfers whose CRC32 matched.
    pub transfers: u64,
    /// Transfers whose CRC32 or length did not match (each also counted as an error).
    pub integrity_failures: u64,
    /// MB/s (10^6 bytes) of each completed transfer.
    pub mbps: Vec<f64>,
    /// MB/s of the repetition: the bytes of every completed transfer over the time
    /// spent transferring (connection set-up left out).
    #[serde(default)]
    pub mbps_total: f64,
    /// Largest piece of a blob the generator held at once: the memory bound.
    #[serde(default)]
    pub largest_piece_bytes: u64,
}
