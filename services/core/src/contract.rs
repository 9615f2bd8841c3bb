//! The operation contract: what every server offers, with the same limits and the
//! same meaning, so that numbers from different protocols measure the same work.
//!
//! Pure functions and plain types only: no IO beyond a timer, no protocol. Each server
//! maps `ContractError` to its protocol's error (HTTP status, gRPC code, ERROR frame).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Largest page `list_items` returns.
pub const MAX_LIST_LIMIT: i64 = 1000;
/// Default page size when a client gives none.
pub const DEFAULT_LIST_LIMIT: i64 = 20;
/// Default cap on an echo / request body: 1 MiB, the top of the bandwidth sweep.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
/// Largest download: room for the 500 MB transfer case with margin.
pub const MAX_DOWNLOAD: u64 = 1 << 30;
/// Default and largest download chunk.
pub const DEFAULT_CHUNK: u32 = 64 * 1024;
pub const MAX_CHUNK: u32 = 4 << 20;
/// Stream bounds: a stream must end, and each event must fit any transport.
pub const MAX_STREAM_COUNT: u64 = 10_000_000;
pub const MAX_STREAM_EVENT: usize = 64 * 1024;
pub const MAX_STREAM_INTERVAL_MS: u64 = 60_000;

/// The operations, named once; also the `op` label of every metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Ping,
    GetItem,
    ListItems,
    Echo,
    Score,
    Stream,
    Download,
    Upload,
    Broadcast,
    Subscribe,
}

impl Op {
    pub const ALL: [Op; 10] = [
        Op::Ping,
        Op::GetItem,
        Op::ListItems,
        Op::Echo,
        Op::Score,
        Op::Stream,
        Op::Download,
        Op::Upload,
        Op::Broadcast,
        Op::Subscribe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Ping => "ping",
            Op::GetItem => "get_item",
            Op::ListItems => "list_items",
            Op::Echo => "echo",
            Op::Score => "score",
            Op::Stream => "stream",
            Op::Download => "download",
            Op::Upload => "upload",
            Op::Broadcast => "broadcast",
            Op::Subscribe => "subscribe",
        }
    }
}

/// Why an operation failed; the message is safe to show a client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContractError {
    #[error("item {0} not found")]
    NotFound(i64),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("internal error")]
    Internal,
}

impl ContractError {
    /// The error's kind for programs, in JSON error envelopes (`"code"`): the names
    /// NET-001's statuses and the framed protocol's refusals use.
    pub fn code(&self) -> &'static str {
        match self {
            ContractError::NotFound(_) => "not_found",
            ContractError::InvalidArgument(_) => ContractError::BAD_REQUEST,
            ContractError::TooLarge { .. } => "too_large",
            ContractError::Internal => "internal",
        }
    }

    /// The code of an invalid argument, and of a request that could not be read.
    pub const BAD_REQUEST: &'static str = "bad_request";

    fn invalid(msg: impl Into<String>) -> Self {
        ContractError::InvalidArgument(msg.into())
    }
}

/// `list_items` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub offset: i64,
    #[serde(default = "default_limit")]
    pub limit: i64,
    #[serde(default)]
    pub category: Option<String>,
}

fn default_limit() -> i64 {
    DEFAULT_LIST_LIMIT
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            offset: 0,
            limit: DEFAULT_LIST_LIMIT,
            category: None,
        }
    }
}

impl ListQuery {
    pub fn validate(&self) -> Result<(), ContractError> {
        if self.offset < 0 {
            return Err(ContractError::invalid("offset must be >= 0"));
        }
        if !(1..=MAX_LIST_LIMIT).contains(&self.limit) {
            return Err(ContractError::invalid(format!(
                "limit must be between 1 and {MAX_LIST_LIMIT}"
            )));
        }
        Ok(())
    }
}

/// Checks an echo / upload-in-one-piece body against the configured limit.
pub fn check_size(size: usize, limit: usize) -> Result<(), ContractError> {
    if size > limit {
        return Err(ContractError::TooLarge {
            size: size as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}

/// reference/002's score: JSON in, a double out. Deterministic so a client can verify
/// it: the mean of every number anywhere in the document (0.0 when there is none).
pub fn score(json: &str) -> Result<f64, ContractError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| ContractError::invalid(format!("score input is not JSON: {e}")))?;
    let (mut sum, mut n) = (0.0f64, 0u64);
    let mut stack = vec![&value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Number(x) => {
                sum += x.as_f64().unwrap_or(0.0);
                n += 1;
            }
            serde_json::Value::Array(a) => stack.extend(a.iter()),
            serde_json::Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    Ok(if n == 0 { 0.0 } else { sum / n as f64 })
}

/// Sleeps the configured DELAY_MS (reference/002's artificial service time).
pub async fn service_delay(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// `stream` arguments: N events, `interval_ms` apart, each with `size` payload bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StreamParams {
    #[serde(default = "default_count")]
    pub count: u64,
    #[serde(default)]
    pub interval_ms: u64,
    #[serde(default)]
    pub size: usize,
}

fn default_count() -> u64 {
    10
}

impl StreamParams {
    pub fn validate(&self) -> Result<(), ContractError> {
        if self.count == 0 || self.count > MAX_STREAM_COUNT {
            return Err(ContractError::invalid(format!(
                "count must be 1..={MAX_STREAM_COUNT}"
            )));
        }
        if self.interval_ms > MAX_STREAM_INTERVAL_MS {
            return Err(ContractError::invalid(format!(
                "interval_ms must be <= {MAX_STREAM_INTERVAL_MS}"
            )));
        }
        if self.size > MAX_STREAM_EVENT {
            return Err(ContractError::invalid(format!(
                "size must be <= {MAX_STREAM_EVENT}"
            )));
        }
        Ok(())
    }

    /// The events, paced by `interval_ms` (the first at once), stamped when sent.
    pub fn events(self) -> impl futures::Stream<Item = StreamEvent> {
        self.events_from(0)
    }

    /// The same stream resumed after `last_seq` (SSE Last-Event-ID).
    pub fn events_from(self, first_seq: u64) -> impl futures::Stream<Item = StreamEvent> {
        let payload = "x".repeat(self.size);
        let interval = Duration::from_millis(self.interval_ms);
        futures::stream::unfold(first_seq, move |seq| {
            let payload = payload.clone();
            async move {
                if seq >= self.count {
                    return None;
                }
                if seq > first_seq && !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
                Some((
                    StreamEvent {
                        seq,
                        sent_at_us: now_micros(),
                        payload,
                    },
                    seq + 1,
                ))
            }
        })
    }
}

/// One pushed event; `sent_at_us` is the server's wall clock when it was produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamEvent {
    pub seq: u64,
    pub sent_at_us: u64,
    pub payload: String,
}

/// Microseconds since the Unix epoch (wall clock: comparable across processes on one host).
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// `download` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DownloadParams {
    pub size: u64,
    #[serde(default = "default_chunk")]
    pub chunk: u32,
}

fn default_chunk() -> u32 {
    DEFAULT_CHUNK
}

impl DownloadParams {
    pub fn validate(&self) -> Result<(), ContractError> {
        if self.size > MAX_DOWNLOAD {
            return Err(ContractError::TooLarge {
                size: self.size,
                limit: MAX_DOWNLOAD,
            });
        }
        if self.chunk == 0 || self.chunk > MAX_CHUNK {
            return Err(ContractError::invalid(format!(
                "chunk must be 1..={MAX_CHUNK}"
            )));
        }
        Ok(())
    }

    /// The body as chunks of deterministic bytes, generated lazily: never buffered whole.
    pub fn chunks(self) -> impl Iterator<Item = Bytes> {
        let chunk = u64::from(self.chunk);
        (0..self.size.div_ceil(chunk)).map(move |i| {
            let start = i * chunk;
            let len = chunk.min(self.size - start) as usize;
            let mut buf = vec![0u8; len];
            fill_pattern(start, &mut buf);
            Bytes::from(buf)
        })
    }
}

/// Period of the download pattern: a prime, so chunk boundaries never line up with it.
const PATTERN_PERIOD: u64 = 251;

/// Fills `buf` with the download pattern starting at byte `offset` of the body.
pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = ((offset + i as u64) % PATTERN_PERIOD) as u8;
    }
}

/// CRC32 of a `size`-byte download, computed without holding it in memory.
pub fn pattern_crc32(size: u64) -> u32 {
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < size {
        let n = (size - done).min(buf.len() as u64) as usize;
        fill_pattern(done, &mut buf[..n]);
        h.update(&buf[..n]);
        done += n as u64;
    }
    h.finalize()
}

/// The result of `upload`: what arrived, and its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UploadSummary {
    pub bytes: u64,
    pub crc32: u32,
}

/// Accumulates an upload chunk by chunk.
#[derive(Default)]
pub struct UploadHasher {
    bytes: u64,
    crc: crc32fast::Hasher,
}

impl UploadHasher {
    pub fn update(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        self.crc.update(chunk);
    }
    pub fn finish(self) -> UploadSummary {
        UploadSummary {
            bytes: self.bytes,
            crc32: self.crc.finalize(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_mean_of_numbers() {
        assert_eq!(score(r#"{"v":[1,2,3],"w":{"x":6}}"#), Ok(3.0));
        assert_eq!(score(r#"{"none":"here"}"#), Ok(0.0));
        assert!(matches!(
            score("{oops"),
            Err(ContractError::InvalidArgument(_))
        ));
    }

    #[test]
    fn download_chunks_match_pattern_crc() {
        let p = DownloadParams {
            size: 200_003,
            chunk: 7_000,
        };
        let mut h = UploadHasher::default();
        let mut n = 0;
        for c in p.chunks() {
            assert!(c.len() <= 7_000);
            h.update(&c);
            n += 1;
        }
        assert_eq!(n, 29);
        assert_eq!(
            h.finish(),
            UploadSummary {
                bytes: 200_003,
                crc32: pattern_crc32(200_003)
            }
        );
    }

    #[test]
    fn list_query_limits() {
        assert!(ListQuery {
            offset: 0,
            limit: 1000,
            category: None
        }
        .validate()
        .is_ok());
        assert!(ListQuery {
            offset: 0,
            limit: 1001,
            category: None
        }
        .validate()
        .is_err());
        assert!(ListQuery {
            offset: -1,
            limit: 10,
            category: None
        }
        .validate()
        .is_err());
        assert!(ListQuery {
            offset: 0,
            limit: 0,
            category: None
        }
        .validate()
        .is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn stream_resumes_and_counts() {
        use futures::StreamExt;
        let p = StreamParams {
            count: 5,
            interval_ms: 10,
            size: 3,
        };
        let all: Vec<_> = p.events().collect().await;
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(all[0].payload, "xxx");
        let rest: Vec<_> = p.events_from(3).collect().await;
        assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    }
}
