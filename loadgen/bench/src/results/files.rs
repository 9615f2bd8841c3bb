//! Files of a run, all written atomically (a temp file in the same folder, synced,
//! then renamed over the target), so a reader never sees half a file and a crash
//! leaves the old file or the new one: HdrHistogram interval logs, summary.csv and
//! clients.csv (reference/002's JSONL is `super::jsonl`). Formats only: nothing here
//! measures, recomputes a statistic or decides validity.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use serde::Serialize;

use crate::stats::{Interval, Summary};
use crate::CaseResult;

/// Why a results file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Reading or writing `path` failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// JSON that could not be produced or parsed (with file and line when read).
    #[error("JSON: {0}")]
    Json(String),
    /// Any other encoding failure (CSV, histogram log).
    #[error("{0}")]
    Format(String),
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` atomically: a temp file beside it (same file system, so
/// the rename is atomic), synced, then renamed over `path`. On failure the temp file
/// is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A hidden temp name beside `path`, unique per process and call, so concurrent
/// writers (threads or processes) never share one.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// One repetition's seconds for an interval log, under its tag.
pub struct TaggedIntervals<'a> {
    /// Spaces, commas and line breaks become `_`.
    pub tag: String,
    /// When the repetition's measured window began, Unix seconds.
    pub start_unix_s: f64,
    pub intervals: &'a [Interval],
}

/// Writes the HdrHistogram interval log of one case (V2 deflate encoding, readable by
/// HistogramLogProcessor, HdrHistogram's log readers and hdr-plot): every
/// repetition's per-second histograms, each interval tagged with its repetition.
///
/// Values are written in nanoseconds, the unit HdrHistogram's log tools assume (the
/// max column divided by 10^6 reads as milliseconds, and HistogramLogProcessor's
/// default `-outputValueUnitRatio` of 10^6 prints milliseconds); the engine records
/// microseconds at 3 significant digits, which the scaling keeps. StartTime and
/// BaseTime are the first repetition's start; each interval's timestamp is relative
/// to it.
pub fn write_hlog(path: &Path, reps: &[TaggedIntervals<'_>]) -> Result<(), OutputError> {
    let base_s = reps
        .iter()
        .map(|r| r.start_unix_s)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .fold(f64::INFINITY, f64::min);
    let base_s = if base_s.is_finite() { base_s } else { 0.0 };
    let start = UNIX_EPOCH + Duration::try_from_secs_f64(base_s).unwrap_or(Duration::ZERO);
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment("protolab loadgen latency log")
            .add_comment("[Units: nanoseconds]")
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1e6)
            .begin_log_with(&mut buf, &mut serializer)
            .map_err(io_err(path))?;
        for rep in reps {
            let clean = rep.tag.replace([' ', ',', '\r', '\n'], "_");
            let tag = Some(clean.as_str())
                .filter(|t| !t.is_empty())
                .and_then(Tag::new);
            let shift = Duration::try_from_secs_f64(rep.start_unix_s - base_s).unwrap_or_default();
            for i in rep.intervals {
                let Some(h) = i.histogram().and_then(|h| in_nanoseconds(&h)) else {
                    continue;
                };
                log.write_histogram(&h, shift + i.offset, i.length, tag)
                    .map_err(|e| OutputError::Format(format!("{}: hlog: {e}", path.display())))?;
            }
        }
    }
    write_atomic(path, &buf)
}

/// A histogram of microseconds as one of nanoseconds (each recorded value x 1000).
fn in_nanoseconds(us: &hdrhistogram::Histogram<u64>) -> Option<hdrhistogram::Histogram<u64>> {
    let mut ns = hdrhistogram::Histogram::<u64>::new_with_bounds(
        1000,
        crate::stats::MAX_US.saturating_mul(1000),
        3,
    )
    .ok()?;
    for v in us.iter_recorded() {
        ns.saturating_record_n(
            v.value_iterated_to().saturating_mul(1000),
            v.count_at_value(),
        );
    }
    Some(ns)
}

/// Column names of summary.csv, in [`CsvRow`]'s field order (written even when there
/// are no rows, so an empty run still gives a well-formed file).
pub const CSV_HEADER: [&str; 19] = [
    "case",
    "protocol",
    "target",
    "op",
    "kind",
    "repetition",
    "valid",
    "requests",
    "errors",
    "rps",
    "mean_us",
    "p50_us",
    "p90_us",
    "p95_us",
    "p99_us",
    "p999_us",
    "max_us",
    "mbps_sent",
    "mbps_received",
];

/// One line of summary.csv: one repetition of one case (`repetition` empty for a
/// line that is not one repetition). Latencies are the reported latency, µs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CsvRow {
    pub case: String,
    pub protocol: String,
    pub target: String,
    pub op: String,
    pub kind: String,
    pub repetition: Option<usize>,
    pub valid: bool,
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mbps_sent: f64,
    pub mbps_received: f64,
}

impl CsvRow {
    /// The row of repetition `repetition` (0-based) of `case`, from its summary.
    pub fn from_summary(case: &CaseResult, repetition: usize, s: &Summary) -> CsvRow {
        CsvRow {
            case: case.spec.name.clone(),
            protocol: case.spec.protocol.clone(),
            target: case.spec.target.clone(),
            op: case.spec.op.name().to_string(),
            kind: case.spec.kind.name().to_string(),
            repetition: Some(repetition),
            valid: case.valid,
            requests: s.requests,
            errors: s.errors,
            rps: s.rps,
            mean_us: s.latency.mean_us,
            p50_us: s.latency.p50_us,
            p90_us: s.latency.p90_us,
            p95_us: s.latency.p95_us,
            p99_us: s.latency.p99_us,
            p999_us: s.latency.p999_us,
            max_us: s.latency.max_us,
            mbps_sent: s.mbps_sent,
            mbps_received: s.mbps_received,
        }
    }
}

/// Writes summary.csv: [`CSV_HEADER`], then one line per row.
pub fn write_summary_csv(path: &Path, rows: &[CsvRow]) -> Result<(), OutputError> {
    let csv_err = |e: &dyn std::fmt::Display| OutputError::Format(format!("csv: {e}"));
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(CSV_HEADER).map_err(|e| csv_err(&e))?;
    for r in rows {
        w.serialize(r).map_err(|e| csv_err(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| csv_err(&e))?;
    write_atomic(path, &bytes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::Histogram;

    fn base64_decode(s: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64")
    }

    #[test]
    fn hlog_round_trips_through_the_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("case.hlog");
        let (mut a, mut b) = (crate::stats::new_histogram(), crate::stats::new_histogram());
        for v in 1..=1000 {
            a.record(v).expect("record");
            b.record(v * 10).expect("record");
        }
        let second = Duration::from_secs(1);
        let first = [Interval::new(Duration::ZERO, second, &a)];
        let later = [Interval::new(second, second, &b)];
        let reps = [
            TaggedIntervals {
                tag: "rest h1/get,item#1".into(),
                start_unix_s: 1_700_000_000.5,
                intervals: &first,
            },
            TaggedIntervals {
                tag: "rest h1/get,item#2".into(),
                start_unix_s: 1_700_000_010.5,
                intervals: &later,
            },
        ];
        write_hlog(&path, &reps).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("#[Units: nanoseconds]\n"), "{text}");
        assert!(text.contains("#[StartTime: 1700000000.500 "), "{text}");
        assert!(text.contains("#[BaseTime: 1700000000.500 "), "{text}");
        let (mut read, mut times, mut tags) = (Vec::new(), Vec::new(), Vec::new());
        for entry in IntervalLogIterator::new(&bytes) {
            match entry.expect("parses") {
                LogEntry::StartTime(t) | LogEntry::BaseTime(t) => times.push(t),
                LogEntry::Interval(h) => {
                    tags.push(h.tag().map(|t| t.as_str().to_string()));
                    let decoded = base64_decode(h.encoded_histogram());
                    let hist: Histogram<u64> = Deserializer::new()
                        .deserialize(&mut decoded.as_slice())
                        .expect("decode");
                    // Nanoseconds; the max column in ms (ns / 10^6), as the tools assume.
                    assert!((h.max() - hist.max() as f64 / 1e6).abs() < 1e-3);
                    read.push((h.start_timestamp(), h.duration(), hist));
                }
            }
        }
        assert_eq!(times, [Duration::from_secs_f64(1_700_000_000.5); 2]);
        assert_eq!(
            tags,
            [
                Some("rest_h1/get_item#1".to_string()),
                Some("rest_h1/get_item#2".to_string())
            ]
        );
        assert_eq!(read.len(), 2);
        // The second repetition's interval sits at its own time: 10 s later, + 1 s.
        assert_eq!((read[1].0, read[1].1), (Duration::from_secs(11), second));
        for ((_, _, got), want) in read.iter().zip([&a, &b]) {
            assert_eq!(got.len(), want.len());
            for q in [0.5, 0.9, 0.99, 0.999] {
                let (ns, us) = (got.value_at_quantile(q), want.value_at_quantile(q) * 1000);
                assert!(ns.abs_diff(us) * 1000 <= us, "q{q}: {ns} ns vs {us} ns");
            }
            assert_eq!(got.len(), want.len());
        }
    }

    #[test]
    fn hlog_without_a_usable_tag_or_start_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.hlog");
        let mut h = crate::stats::new_histogram();
        h.record(42).expect("record");
        let one = [Interval::new(Duration::ZERO, Duration::from_secs(1), &h)];
        let reps = [TaggedIntervals {
            tag: String::new(),
            start_unix_s: f64::NAN,
            intervals: &one,
        }];
        write_hlog(&path, &reps).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        let intervals: Vec<_> = IntervalLogIterator::new(&bytes)
            .filter_map(|e| match e {
                Ok(LogEntry::Interval(h)) => Some(h.tag().is_none()),
                _ => None,
            })
            .collect();
        assert_eq!(intervals, [true]);
        assert!(String::from_utf8_lossy(&bytes).contains("#[StartTime: 0.000 "));
    }

    fn row(case: &str, repetition: Option<usize>) -> CsvRow {
        CsvRow {
            case: case.into(),
            protocol: "rest".into(),
            target: "h1".into(),
            op: "get_item".into(),
            kind: "latency".into(),
            repetition,
            valid: true,
            requests: 10,
            errors: 1,
            rps: 5.5,
            mean_us: 120.25,
            p50_us: 100,
            p90_us: 150,
            p95_us: 170,
            p99_us: 200,
            p999_us: 300,
            max_us: 400,
            mbps_sent: 0.5,
            mbps_received: 1.0,
        }
    }

    #[test]
    fn csv_has_its_header_even_without_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("summary.csv");
        write_summary_csv(&path, &[]).expect("write");
        let header = CSV_HEADER.join(",") + "\n";
        assert_eq!(std::fs::read_to_string(&path).expect("read"), header);
        // The header names are the struct's field names, in order.
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(row("a", None)).expect("serialize");
        let serde_header = String::from_utf8(w.into_inner().expect("csv")).expect("utf8");
        assert!(serde_header.starts_with(&header), "{serde_header}");

        write_summary_csv(&path, &[row("a, \"b\"", Some(0)), row("c", None)]).expect("write");
        let mut r = csv::Reader::from_path(&path).expect("read");
        let recs: Vec<csv::StringRecord> = r.records().collect::<Result<_, _>>().expect("rows");
        assert_eq!(recs.len(), 2);
        assert_eq!(
            (&recs[0][0], &recs[0][5], &recs[0][9]),
            ("a, \"b\"", "0", "5.5")
        );
        assert_eq!(&recs[1][5], "", "no repetition: empty field");
    }

    #[test]
    fn atomic_writes_leave_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.json");
        write_atomic(&path, b"{}").expect("write");
        write_atomic(&path, b"{\"a\":1}").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"{\"a\":1}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
        // Renaming over a directory fails: the error names it and no temp file stays.
        let e = write_atomic(dir.path(), b"x").expect_err("a directory");
        assert!(matches!(e, OutputError::Io { .. }), "{e}");
        let parent = dir.path().parent().expect("parent");
        let name = dir.path().file_name().expect("name").to_string_lossy();
        let leftovers = std::fs::read_dir(parent)
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!(".{name}."))
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn clients_csv_has_a_line_per_client_per_repetition() {
        use crate::{CaseResult, CaseSpec, ClientLine, Kind, LoadPlan, Model, OpSpec};
        let dir = tempfile::tempdir().expect("tempdir");
        let plan = LoadPlan {
            model: Model::Closed,
            connections: 2,
            inflight: 1,
            duration: Duration::from_secs(1),
            warmup: Duration::ZERO,
            requests: None,
            requests_per_worker: None,
            timeout: Duration::from_secs(1),
            max_lag: Duration::from_millis(5),
            slow: None,
            schedule: None,
        };
        let mut case = CaseResult::new(CaseSpec {
            name: "framed".into(),
            protocol: "framed".into(),
            target: String::new(),
            op: OpSpec::Ping,
            kind: Kind::Pipeline {
                depth: 4,
                messages: 200,
            },
            plan,
            repeat: 1,
            z_threshold: 2.0,
            max_errors: crate::case::DEFAULT_MAX_ERRORS,
        });
        write_clients_csv(dir.path(), std::slice::from_ref(&case)).expect("write");
        assert!(
            !dir.path().join("clients.csv").exists(),
            "no client lines, no file"
        );
        case.clients = (0..2)
            .map(|client| ClientLine {
                repetition: 0,
                client,
                messages: 200,
                answered: 200,
                errors: 0,
                total_s: 0.5,
                mean_latency_us: 250.0,
            })
            .collect();
        write_clients_csv(dir.path(), &[case]).expect("write");
        let csv = std::fs::read_to_string(dir.path().join("clients.csv")).expect("read");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[0].starts_with("case,repetition,client,messages"));
        assert!(lines[1].starts_with("framed,0,0,200,200,0,"), "{csv}");
    }
}
