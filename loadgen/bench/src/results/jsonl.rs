//! reference/002's JSONL results: a writer (`#TEST=<name>` then one JSON object per
//! sample, moved into place on `finish`) and the summarizer that reads such files
//! back and prints them the way reference/002's `tools/summarize.py` does. Formats
//! only: it never measures, and a sample it cannot parse is an error, not a guess.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::files::{io_err, temp_path, OutputError};

/// Writes reference/002's JSONL: `#TEST=<name>` headers, then one line per sample.
/// Lines go to a temp file beside `path`; [`JsonlWriter::finish`] moves it into place,
/// and dropping the writer unfinished deletes it.
pub struct JsonlWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<std::fs::File>,
    finished: bool,
}

fn ms(d: Duration) -> f64 {
    // Microsecond resolution, printed without float noise (5.83, not 5.8300000001).
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl JsonlWriter {
    /// Starts a results file that will appear at `path` on `finish`.
    pub fn create(path: &Path) -> Result<JsonlWriter, OutputError> {
        let tmp = temp_path(path);
        let file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        Ok(JsonlWriter {
            path: path.to_owned(),
            tmp,
            out: BufWriter::new(file),
            finished: false,
        })
    }

    fn line(&mut self, s: &str) -> Result<(), OutputError> {
        writeln!(self.out, "{s}").map_err(io_err(&self.tmp))
    }

    /// Starts a test section: `#TEST=<name>` (line breaks in `name` become spaces).
    pub fn header(&mut self, name: &str) -> Result<(), OutputError> {
        let name = name.replace(['\n', '\r'], " ");
        self.line(&format!("#TEST={name}"))
    }

    /// A successful call: `{"ok":true,"latency_ms":5.83}`.
    pub fn ok(&mut self, latency: Duration) -> Result<(), OutputError> {
        self.line(&format!("{{\"ok\":true,\"latency_ms\":{}}}", ms(latency)))
    }

    /// A failed call: `{"ok":false,"code":"DEADLINE_EXCEEDED"}`.
    pub fn err(&mut self, code: &str) -> Result<(), OutputError> {
        // `ok` first, as reference/002 writes it; the code escaped as a JSON string.
        let code = serde_json::Value::from(code);
        self.line(&format!("{{\"ok\":false,\"code\":{code}}}"))
    }

    /// A cold connection: `{"ok":true,"t_connect_ms":..,"t_first_rpc_ms":..,"t_total_ms":..}`.
    pub fn connect(
        &mut self,
        connect: Duration,
        first: Duration,
        total: Duration,
    ) -> Result<(), OutputError> {
        self.line(&format!(
            "{{\"ok\":true,\"t_connect_ms\":{},\"t_first_rpc_ms\":{},\"t_total_ms\":{}}}",
            ms(connect),
            ms(first),
            ms(total)
        ))
    }

    /// Flushes, syncs and moves the file into place.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.out.flush().map_err(io_err(&self.tmp))?;
        self.out.get_ref().sync_all().map_err(io_err(&self.tmp))?;
        std::fs::rename(&self.tmp, &self.path).map_err(io_err(&self.path))?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for JsonlWriter {
    fn drop(&mut self) {
        if !self.finished {
            // Unfinished: never leave a half file behind (best effort).
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Summary of one `#TEST=` section, as reference/002's summarize prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonlSummary {
    pub test: String,
    /// Samples (calls or connection attempts), failed ones included.
    pub total: u64,
    pub successful: u64,
    /// Of latency_ms (steady) or t_total_ms (coldconn), successful samples only.
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Coldconn only: mean connect and first-RPC times.
    pub mean_connect_ms: Option<f64>,
    pub mean_first_rpc_ms: Option<f64>,
    /// Failed samples by code.
    pub errors: BTreeMap<String, u64>,
}

impl JsonlSummary {
    /// Successful samples as a percentage of all (0 for an empty section).
    pub fn success_pct(&self) -> f64 {
        if self.total > 0 {
            self.successful as f64 / self.total as f64 * 100.0
        } else {
            0.0
        }
    }

    /// Whether the section holds cold-connection samples.
    pub fn is_coldconn(&self) -> bool {
        self.mean_connect_ms.is_some()
    }
}

/// How `summarize` takes a percentile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PercentileMethod {
    /// As run.json does: HdrHistogram in microseconds, 3 significant digits, the
    /// highest value equivalent to the sample at the quantile.
    #[default]
    Hdr,
    /// Linear interpolation between the closest ranks (numpy's default, what
    /// reference/002's Python summarize prints).
    Numpy,
}

impl PercentileMethod {
    /// The `p`th percentile (0..=100) of sorted milliseconds.
    fn of(self, sorted: &[f64], p: f64) -> f64 {
        match self {
            PercentileMethod::Numpy => percentile(sorted, p),
            PercentileMethod::Hdr => {
                let mut h = crate::stats::new_histogram();
                for ms in sorted {
                    h.saturating_record(((ms * 1000.0).round() as u64).max(1));
                }
                if h.is_empty() {
                    0.0
                } else {
                    h.value_at_quantile(p / 100.0) as f64 / 1000.0
                }
            }
        }
    }
}

/// The `p`th percentile of sorted values, linearly interpolated between the closest
/// ranks (numpy's default, what a Python summarize script prints).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let rank = p.clamp(0.0, 100.0) / 100.0 * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

struct Section {
    test: String,
    total: u64,
    lat: Vec<f64>,
    connect: Vec<f64>,
    first: Vec<f64>,
    errors: BTreeMap<String, u64>,
}

impl Section {
    fn new(test: &str) -> Section {
        Section {
            test: test.to_owned(),
            total: 0,
            lat: Vec::new(),
            connect: Vec::new(),
            first: Vec::new(),
            errors: BTreeMap::new(),
        }
    }

    /// One sample line; `Err` says what is wrong with it.
    fn add(&mut self, line: &str) -> Result<(), String> {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let ok = v
            .get("ok")
            .and_then(|o| o.as_bool())
            .ok_or("expected an object with a boolean \"ok\"")?;
        self.total += 1;
        if !ok {
            let code = v.get("code").and_then(|c| c.as_str()).unwrap_or("unknown");
            *self.errors.entry(code.to_owned()).or_default() += 1;
            return Ok(());
        }
        let field = |k: &str| v.get(k).and_then(|x| x.as_f64());
        let lat = field("latency_ms")
            .or_else(|| field("t_total_ms"))
            .ok_or("a successful sample needs latency_ms or t_total_ms")?;
        self.lat.push(lat);
        self.connect.extend(field("t_connect_ms"));
        self.first.extend(field("t_first_rpc_ms"));
        Ok(())
    }

    fn summary(mut self, method: PercentileMethod) -> JsonlSummary {
        self.lat.sort_by(f64::total_cmp);
        let pct = |p: f64| method.of(&self.lat, p);
        JsonlSummary {
            test: self.test.clone(),
            total: self.total,
            successful: self.lat.len() as u64,
            mean_ms: mean(&self.lat).unwrap_or(0.0),
            p50_ms: pct(50.0),
            p90_ms: pct(90.0),
            p95_ms: pct(95.0),
            p99_ms: pct(99.0),
            mean_connect_ms: mean(&self.connect),
            mean_first_rpc_ms: mean(&self.first),
            errors: self.errors,
        }
    }
}

/// Reads a JSONL results file and summarizes each `#TEST=` section (samples before
/// the first header form a section named "unnamed"; a header without samples gives a
/// section with total 0). Other `#` lines and blank lines are skipped. Percentiles
/// are taken by `method`.
pub fn summarize(path: &Path, method: PercentileMethod) -> Result<Vec<JsonlSummary>, OutputError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut out = Vec::new();
    let mut cur: Option<Section> = None;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io_err(path))?;
        let line = line.trim();
        if let Some(name) = line.strip_prefix("#TEST=") {
            out.extend(
                cur.replace(Section::new(name.trim()))
                    .map(|c| c.summary(method)),
            );
        } else if !line.is_empty() && !line.starts_with('#') {
            cur.get_or_insert_with(|| Section::new("unnamed"))
                .add(line)
                .map_err(|e| OutputError::Json(format!("{}:{}: {e}", path.display(), n + 1)))?;
        }
    }
    out.extend(cur.map(|c| c.summary(method)));
    Ok(out)
}

impl fmt::Display for JsonlSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = self.success_pct();
        writeln!(f, "== {}", self.test)?;
        if let (Some(c), Some(r)) = (self.mean_connect_ms, self.mean_first_rpc_ms) {
            writeln!(f, "Total Attempts: {}", self.total)?;
            writeln!(f, "Successful: {} ({pct:.1}%)", self.successful)?;
            writeln!(f, "Mean Connect Time: {c:.2}ms")?;
            writeln!(f, "Mean First RPC Time: {r:.2}ms")?;
            writeln!(f, "Mean Total Time: {:.2}ms", self.mean_ms)?;
        } else {
            writeln!(f, "Total Requests: {}", self.total)?;
            writeln!(f, "Successful: {} ({pct:.1}%)", self.successful)?;
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

/// The engine's raw samples go here (`--raw`).
impl crate::RawSink for JsonlWriter {
    fn header(&mut self, case: &str) -> std::io::Result<()> {
        JsonlWriter::header(self, case).map_err(std::io::Error::other)
    }

    fn ok(&mut self, latency: Duration) -> std::io::Result<()> {
        JsonlWriter::ok(self, latency).map_err(std::io::Error::other)
    }

    fn err(&mut self, kind: &str) -> std::io::Result<()> {
        JsonlWriter::err(self, kind).map_err(std::io::Error::other)
    }

    fn connect(&mut self, setup: Duration, call: Duration, total: Duration) -> std::io::Result<()> {
        JsonlWriter::connect(self, setup, call, total).map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_summarized_like_reference_002() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("results.jsonl");
        let mut w = JsonlWriter::create(&path).expect("create");
        w.header("01_steady").expect("write");
        for ms in [5.0, 6.0, 7.0, 8.0] {
            w.ok(Duration::from_secs_f64(ms / 1e3)).expect("write");
        }
        w.err("DEADLINE_EXCEEDED").expect("write");
        w.header("02_coldconn").expect("write");
        let d = Duration::from_millis;
        w.connect(d(2), d(12), d(14)).expect("write");
        w.connect(d(4), d(10), d(14)).expect("write");
        assert!(!path.exists(), "appears only on finish");
        w.finish().expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("#TEST=01_steady\n{\"ok\":true,\"latency_ms\":5}\n"));
        assert!(text.contains("{\"ok\":false,\"code\":\"DEADLINE_EXCEEDED\"}\n"));
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);

        let s = summarize(&path, PercentileMethod::Numpy).expect("summarize");
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].total, s[0].successful), (5, 4));
        assert_eq!((s[0].mean_ms, s[0].p50_ms), (6.5, 6.5));
        assert!((s[0].p99_ms - 7.97).abs() < 1e-9, "{}", s[0].p99_ms);
        assert_eq!(s[0].errors.get("DEADLINE_EXCEEDED"), Some(&1));
        assert_eq!(s[1].mean_connect_ms, Some(3.0));
        assert_eq!(s[1].mean_first_rpc_ms, Some(11.0));
        assert_eq!(s[1].mean_ms, 14.0);
        let steady = s[0].to_string();
        assert!(steady.contains("Total Requests: 5\nSuccessful: 4 (80.0%)\nMean Latency: 6.50ms\n"));
        assert!(steady.contains("P50: 6.50ms | P90: 7.70ms | P95: 7.85ms | P99: 7.97ms"));
        assert!(steady.ends_with("DEADLINE_EXCEEDED: 1"), "{steady}");
        let cold = s[1].to_string();
        assert!(
            cold.contains("Total Attempts: 2\nSuccessful: 2 (100.0%)"),
            "{cold}"
        );
        assert!(cold.contains(
            "Mean Connect Time: 3.00ms\nMean First RPC Time: 11.00ms\nMean Total Time: 14.00ms"
        ));
    }

    #[test]
    fn by_default_percentiles_are_taken_as_run_json_takes_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        let mut w = JsonlWriter::create(&path).expect("create");
        w.header("steady").expect("write");
        let mut rec = crate::stats::Recorder::new();
        for i in 1..=997u64 {
            let d = Duration::from_micros(i * i % 9973 + 100);
            w.ok(d).expect("write");
            rec.record_ok(d, d, None, 0, 0);
        }
        w.finish().expect("finish");
        let s = &summarize(&path, PercentileMethod::Hdr).expect("summarize")[0];
        let want = rec.summary(Duration::from_secs(1)).latency;
        for (got, want) in [
            (s.p50_ms, want.p50_us),
            (s.p90_ms, want.p90_us),
            (s.p95_ms, want.p95_us),
            (s.p99_ms, want.p99_us),
        ] {
            assert_eq!((got * 1000.0).round() as u64, want);
        }
    }

    #[test]
    fn reads_reference_002_sample_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.txt");
        let fixture = "{\"ok\":true,\"latency_ms\":1.0}\n\
            #TEST=01_steady\n\
            {\"ok\":true,\"latency_ms\":5.83}\n\
            \n\
            {\"ok\":true,\"latency_ms\":6.12}\n\
            {\"ok\":false,\"code\":\"DEADLINE_EXCEEDED\"}\n\
            #TEST=02_coldconn  \n\
            {\"ok\":true,\"t_connect_ms\":19.4,\"t_first_rpc_ms\":6.1,\"t_total_ms\":25.5}\n\
            {\"ok\":true,\"t_connect_ms\":18.2,\"t_first_rpc_ms\":5.8,\"t_total_ms\":24.1}\n\
            #TEST=empty\n";
        std::fs::write(&path, fixture).expect("write");
        let s = summarize(&path, PercentileMethod::Numpy).expect("summarize");
        let names: Vec<&str> = s.iter().map(|s| s.test.as_str()).collect();
        assert_eq!(names, ["unnamed", "01_steady", "02_coldconn", "empty"]);
        assert_eq!((s[1].total, s[1].successful), (3, 2));
        assert!((s[1].mean_ms - 5.975).abs() < 1e-9);
        assert!((s[2].mean_connect_ms.unwrap_or(0.0) - 18.8).abs() < 1e-9);
        assert!((s[2].mean_ms - 24.8).abs() < 1e-9);
        assert_eq!((s[3].total, s[3].success_pct()), (0, 0.0));
    }

    #[test]
    fn a_malformed_sample_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.jsonl");
        for (body, what) in [
            ("#TEST=a\n{\"ok\":true}\n", "latency_ms"),
            ("#TEST=a\n{\"ok\":true,\"latency_ms\":1}\nnot json\n", ":3:"),
            ("#TEST=a\n[1,2]\n", "boolean"),
        ] {
            std::fs::write(&path, body).expect("write");
            let e = summarize(&path, PercentileMethod::Hdr)
                .expect_err(body)
                .to_string();
            assert!(e.contains(what), "{e}");
        }
        let missing = dir.path().join("missing.jsonl");
        assert!(matches!(
            summarize(&missing, PercentileMethod::Hdr),
            Err(OutputError::Io { .. })
        ));
    }

    #[test]
    fn an_unfinished_writer_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = JsonlWriter::create(&dir.path().join("x.jsonl")).expect("create");
        w.header("t").expect("write");
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert_eq!(percentile(&v, 0.0), 10.0);
        assert_eq!(percentile(&v, 50.0), 30.0);
        assert_eq!(percentile(&v, 90.0), 46.0);
        assert_eq!(percentile(&v, 100.0), 50.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
