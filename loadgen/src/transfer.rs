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

use crate::driver::{Blob, CallError, Driver, TransferOutcome};
use crate::engine::{EngineError, Sinks};
use crate::scenario::{verify_target, CaseResult, CaseSpec, Kind, Repetition};
use crate::stats::{Direction, Recorder, TransferStats};

/// Slowest transfer rate before a transfer times out, on top of the case's timeout.
const MIN_RATE_BYTES_PER_S: f64 = 1e6;

/// Runs every repetition of a transfer case.
pub async fn run<D: Driver>(
    driver: &Arc<D>,
    spec: &CaseSpec,
    sinks: &mut Sinks<'_>,
    result: &mut CaseResult,
) -> Result<(), EngineError> {
    let Kind::Transfer {
        direction,
        size,
        chunk,
        transfers,
    } = spec.kind
    else {
        return Ok(());
    };
    verify_target(driver, &spec.op).await?;
    // The expected checksum, computed once, outside every timed transfer.
    let expected =
        tokio::task::spawn_blocking(move || protolab_core::contract::pattern_crc32(size))
            .await
            .map_err(|e| EngineError::NoConnection(CallError::Protocol(e.to_string())))?;
    let blob = Blob { size, chunk };
    let limit = spec.plan.timeout + Duration::from_secs_f64(size as f64 / MIN_RATE_BYTES_PER_S);
    for _ in 0..spec.repeat.max(1) {
        sinks.bar.set_position(0);
        let mut conn = None;
        let mut rec = Recorder::new();
        let mut stats = TransferStats {
            direction,
            size_bytes: size,
            chunk_bytes: chunk,
            transfers: 0,
            integrity_failures: 0,
            mbps: Vec::new(),
            largest_piece_bytes: 0,
        };
        let start = Instant::now();
        for _ in 0..transfers.max(1) {
            let t0 = Instant::now();
            let r = tokio::time::timeout(limit, one(driver, &mut conn, direction, blob))
                .await
                .unwrap_or(Err(CallError::Timeout));
            let took = t0.elapsed();
            match r {
                Err(CallError::Unsupported(what)) => {
                    return Err(EngineError::Verify {
                        op: "transfer",
                        error: CallError::Unsupported(what),
                    })
                }
                Err(e) => {
                    tracing::debug!(error = %e, "transfer failed");
                    if e.breaks_connection() {
                        conn = None;
                    }
                    rec.record_error(&e.kind(), took);
                }
                Ok(o) => record(&mut rec, &mut stats, o, direction, (size, expected), took),
            }
            sinks.bar.inc(1);
        }
        let mut rep = Repetition::of(rec.summary(start.elapsed()));
        rep.workers = 1;
        rep.connections = 1;
        if stats.integrity_failures > 0 {
            rep.invalid.push(format!(
                "{} of {} transfers failed the length/CRC32 check",
                stats.integrity_failures,
                transfers.max(1)
            ));
        }
        rep.transfer = Some(stats);
        result.repetitions.push(rep);
    }
    Ok(())
}

/// One transfer on the case's connection (opened first when there is none).
async fn one<D: Driver>(
    driver: &Arc<D>,
    conn: &mut Option<D::Conn>,
    direction: Direction,
    blob: Blob,
) -> Result<TransferOutcome, CallError> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(driver.connect().await?.0),
    };
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

/// Statistics across repetitions a transfer case adds: mean MB/s per repetition.
pub fn metrics(result: &CaseResult) -> Vec<(&'static str, Vec<f64>)> {
    let mbps = result
        .repetitions
        .iter()
        .filter_map(|r| r.transfer.as_ref())
        .map(|t| t.mbps.iter().sum::<f64>() / t.mbps.len().max(1) as f64)
        .collect();
    vec![("mbps", mbps)]
}
