//! Files of a run, all written atomically (a temp file in the same folder, then a
//! rename), so a reader never sees half a file: HdrHistogram interval logs, the
//! summary CSV, reference/002's JSONL, and that JSONL's summarizer. Formats only:
//! nothing here measures or decides validity.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use serde::Serialize;

use crate::scenario::CaseResult;
use crate::stats::{Interval, Summary};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Format(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` through a temp file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// The HdrHistogram interval log of one case: one histogram per interval, values in
/// microseconds (HistogramLogProcessor: `-outputValueUnitRatio 1000` prints ms).
pub fn write_hlog(
    path: &Path,
    intervals: &[Interval],
    start_unix_s: f64,
    tag: Option<&str>,
) -> Result<(), OutputError> {
    let start = UNIX_EPOCH + Duration::from_secs_f64(start_unix_s.max(0.0));
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment("protolab loadgen latency log; values in microseconds")
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut buf, &mut serializer)
            .map_err(io_err(path))?;
        // Tags may not hold spaces or commas.
        let clean: Option<String> = tag.map(|t| t.replace([' ', ','], "_"));
        for i in intervals {
            let Some(h) = i.histogram() else { continue };
            log.write_histogram(&h, i.offset, i.length, clean.as_deref().and_then(Tag::new))
                .map_err(|e| OutputError::Format(format!("hlog: {e}")))?;
        }
    }
    write_atomic(path, &buf)
}

/// One line of summary.csv.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CsvRow {
    pub case: String,
    pub protocol: String,
    pub target: String,
    pub op: String,
    pub kind: String,
    pub repetition: usize,
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
    pub fn from_summary(case: &CaseResult, repetition: usize, s: &Summary) -> CsvRow {
        CsvRow {
            case: case.spec.name.clone(),
            protocol: case.spec.protocol.clone(),
            target: case.spec.target.clone(),
            op: case.spec.op.name().to_string(),
            kind: case.spec.kind.name().to_string(),
            repetition,
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

pub fn write_summary_csv(path: &Path, rows: &[CsvRow]) -> Result<(), OutputError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)
            .map_err(|e| OutputError::Format(format!("csv: {e}")))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| OutputError::Format(format!("csv: {e}")))?;
    write_atomic(path, &bytes)
}

/// reference/002's JSONL: `#TEST=<name>` then one JSON object per sample.
pub struct JsonlWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl JsonlWriter {
    pub fn create(path: &Path) -> Result<JsonlWriter, OutputError> {
        let tmp = temp_path(path);
        let file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        Ok(JsonlWriter {
            path: path.to_owned(),
            tmp,
            out: std::io::BufWriter::new(file),
        })
    }

    fn line(&mut self, s: &str) -> Result<(), OutputError> {
        writeln!(self.out, "{s}").map_err(io_err(&self.tmp))
    }

    pub fn header(&mut self, name: &str) -> Result<(), OutputError> {
        self.line(&format!("#TEST={name}"))
    }

    pub fn ok(&mut self, latency: Duration) -> Result<(), OutputError> {
        self.line(&format!(
            "{{\"ok\":true,\"latency_ms\":{:.3}}}",
            latency.as_secs_f64() * 1e3
        ))
    }

    pub fn err(&mut self, code: &str) -> Result<(), OutputError> {
        self.line(&serde_json::json!({ "ok": false, "code": code }).to_string())
    }

    pub fn connect(
        &mut self,
        connect: Duration,
        first: Duration,
        total: Duration,
    ) -> Result<(), OutputError> {
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        self.line(&format!(
            "{{\"ok\":true,\"t_connect_ms\":{},\"t_first_rpc_ms\":{},\"t_total_ms\":{}}}",
            ms(connect),
            ms(first),
            ms(total)
        ))
    }

    /// Flushes and moves the file into place.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.out.flush().map_err(io_err(&self.tmp))?;
        std::fs::rename(&self.tmp, &self.path).map_err(io_err(&self.path))
    }
}

/// Summary of one `#TEST=` section, as reference/002's summarize prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonlSummary {
    pub test: String,
    pub total: u64,
    pub successful: u64,
    /// latency_ms (steady) or t_total_ms (coldconn) of successful samples.
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// coldconn only: mean connect and first-RPC times.
    pub mean_connect_ms: Option<f64>,
    pub mean_first_rpc_ms: Option<f64>,
    pub errors: std::collections::BTreeMap<String, u64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank, as numpy's "lower"-free default is not needed for a summary.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[derive(Default)]
struct Section {
    test: String,
    total: u64,
    lat: Vec<f64>,
    connect: Vec<f64>,
    first: Vec<f64>,
    errors: std::collections::BTreeMap<String, u64>,
}

impl Section {
    fn summary(mut self) -> JsonlSummary {
        self.lat.sort_by(f64::total_cmp);
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        JsonlSummary {
            test: self.test,
            total: self.total,
            successful: self.lat.len() as u64,
            mean_ms: mean(&self.lat).unwrap_or(0.0),
            p50_ms: percentile(&self.lat, 50.0),
            p90_ms: percentile(&self.lat, 90.0),
            p95_ms: percentile(&self.lat, 95.0),
            p99_ms: percentile(&self.lat, 99.0),
            mean_connect_ms: mean(&self.connect),
            mean_first_rpc_ms: mean(&self.first),
            errors: self.errors,
        }
    }
}

/// Reads a JSONL results file (several `#TEST=` sections allowed) and summarizes each.
pub fn summarize(path: &Path) -> Result<Vec<JsonlSummary>, OutputError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let mut out = Vec::new();
    let mut cur = Section {
        test: "unnamed".into(),
        ..Default::default()
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("#TEST=") {
            let prev = std::mem::replace(
                &mut cur,
                Section {
                    test: name.trim().into(),
                    ..Default::default()
                },
            );
            if prev.total > 0 {
                out.push(prev.summary());
            }
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| OutputError::Json(format!("{}:{}: {e}", path.display(), n + 1)))?;
        cur.total += 1;
        if v["ok"].as_bool() == Some(true) {
            let lat = v["latency_ms"]
                .as_f64()
                .or_else(|| v["t_total_ms"].as_f64())
                .unwrap_or(0.0);
            cur.lat.push(lat);
            cur.connect.extend(v["t_connect_ms"].as_f64());
            cur.first.extend(v["t_first_rpc_ms"].as_f64());
        } else {
            let code = v["code"].as_str().unwrap_or("unknown").to_string();
            *cur.errors.entry(code).or_default() += 1;
        }
    }
    if cur.total > 0 {
        out.push(cur.summary());
    }
    Ok(out)
}

impl fmt::Display for JsonlSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = if self.total > 0 {
            self.successful as f64 / self.total as f64 * 100.0
        } else {
            0.0
        };
        writeln!(f, "== {}", self.test)?;
        writeln!(f, "Total Requests: {}", self.total)?;
        writeln!(f, "Successful: {} ({pct:.1}%)", self.successful)?;
        if let (Some(c), Some(r)) = (self.mean_connect_ms, self.mean_first_rpc_ms) {
            writeln!(f, "Mean Connect Time: {c:.2}ms")?;
            writeln!(f, "Mean First RPC Time: {r:.2}ms")?;
            writeln!(f, "Mean Total Time: {:.2}ms", self.mean_ms)?;
        } else {
            writeln!(f, "Mean Latency: {:.2}ms", self.mean_ms)?;
        }
        write!(
            f,
            "P50: {:.2}ms | P90: {:.2}ms | P95: {:.2}ms | P99: {:.2}ms",
            self.p50_ms, self.p90_ms, self.p95_ms, self.p99_ms
        )?;
        for (code, n) in &self.errors {
            write!(f, "\n{code}: {n}")?;
        }
        Ok(())
    }
}

/// Seconds since the epoch, for run ids and log start times.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::Histogram;

    #[test]
    fn hlog_round_trips_through_the_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("case.hlog");
        let mut a = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("histogram");
        let mut b = a.clone();
        for v in 1..=1000 {
            a.record(v).expect("record");
            b.record(v * 10).expect("record");
        }
        let intervals = [
            Interval::new(Duration::ZERO, Duration::from_secs(1), &a),
            Interval::new(Duration::from_secs(1), Duration::from_secs(1), &b),
        ];
        write_hlog(&path, &intervals, 1_700_000_000.0, Some("rest h1/get item")).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        let mut read = Vec::new();
        for entry in IntervalLogIterator::new(&bytes) {
            if let Ok(LogEntry::Interval(h)) = entry {
                assert_eq!(h.tag().map(|t| t.as_str()), Some("rest_h1/get_item"));
                let decoded = base64_decode(h.encoded_histogram());
                let hist: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut decoded.as_slice())
                    .expect("decode");
                read.push(hist);
            }
        }
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].value_at_quantile(0.5), a.value_at_quantile(0.5));
        assert_eq!(read[1].len(), 1000);
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64")
    }

    #[test]
    fn jsonl_written_then_summarized_like_reference_002() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("results.jsonl");
        let mut w = JsonlWriter::create(&path).expect("create");
        w.header("01_steady").expect("write");
        for ms in [5.0, 6.0, 7.0, 8.0] {
            w.ok(Duration::from_secs_f64(ms / 1e3)).expect("write");
        }
        w.err("DEADLINE_EXCEEDED").expect("write");
        w.header("02_coldconn").expect("write");
        w.connect(
            Duration::from_millis(2),
            Duration::from_millis(12),
            Duration::from_millis(14),
        )
        .expect("write");
        w.finish().expect("finish");
        let s = summarize(&path).expect("summarize");
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].total, s[0].successful), (5, 4));
        assert_eq!(s[0].mean_ms, 6.5);
        assert_eq!(s[0].p50_ms, 6.0);
        assert_eq!(s[0].errors.get("DEADLINE_EXCEEDED"), Some(&1));
        assert_eq!(s[1].mean_connect_ms, Some(2.0));
        let text = s[0].to_string();
        assert!(
            text.contains("Successful: 4 (80.0%)") && text.contains("P99: 8.00ms"),
            "{text}"
        );
    }

    #[test]
    fn atomic_writes_leave_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.json");
        write_atomic(&path, b"{}").expect("write");
        write_atomic(&path, b"{\"a\":1}").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"{\"a\":1}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }
}
