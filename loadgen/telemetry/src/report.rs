//! The report: plain data, saved as JSON and printed from that one source. Nothing
//! here measures or recomputes a statistic; `Display` and the file functions only
//! read the fields.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a report could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// Reading or writing `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The report could not be encoded, or the file is not a report.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A profile of the calls recorded since the layer was built or last reset.
/// Durations are whole microseconds (`_us`); means are rounded to 0.001.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryReport {
    /// Closed spans.
    pub total_calls: u64,
    /// Closed spans with an ERROR event recorded inside them.
    pub failed_calls: u64,
    /// Closed spans that were network round trips.
    pub round_trips: u64,
    /// Spans open when the report was taken (this, not a depth, is the "current
    /// stack" figure: with async tasks many stacks are live at once).
    pub open_spans: u64,
    /// Deepest nesting seen (0 = only root spans).
    pub max_depth: u32,
    pub deep_stack_threshold: u32,
    /// Calls at `deep_stack_threshold` depth or deeper.
    pub deep_calls: u64,
    /// Mean wall time over all calls, nested ones included.
    pub avg_call_us: f64,
    pub slow_threshold_us: u64,
    /// Every slow call, including those not kept in `slow_calls`.
    pub slow_call_count: u64,
    /// One row per (target, name), by total wall time, largest first.
    pub spans: Vec<SpanStats>,
    /// The slowest calls kept, slowest first.
    pub slow_calls: Vec<SlowCall>,
}

/// One span name's calls (spans with the same name in two targets are two rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanStats {
    /// The span's target, by default its module path.
    pub target: String,
    pub name: String,
    pub calls: u64,
    pub errors: u64,
    /// Sum of wall times.
    pub total_us: u64,
    /// Wall time (creation to close), mean and percentiles.
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Mean time entered: running, not awaiting (children run inside it count).
    pub busy_mean_us: f64,
    pub mean_depth: f64,
    pub max_depth: u32,
    /// Calls of this span that were round trips themselves.
    pub round_trips: u64,
    /// Calls made as a root span, and the round-trip spans closed inside each
    /// (the root itself included): "checkout made 7 round trips per call".
    pub root_calls: u64,
    pub round_trips_per_root_mean: f64,
    pub round_trips_per_root_max: u64,
}

/// A call whose wall time reached the slow threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowCall {
    pub target: String,
    pub name: String,
    pub duration_us: u64,
    pub busy_us: u64,
    pub depth: u32,
    /// The parent span's name; `None` for a root span.
    pub parent: Option<String>,
    /// When the span was created, Unix seconds (microsecond precision).
    pub start_unix_s: f64,
    /// An ERROR event was recorded inside it.
    pub failed: bool,
}

impl TelemetryReport {
    /// The first row named `name` (rows are by total time), whatever its target.
    pub fn span(&self, name: &str) -> Option<&SpanStats> {
        self.spans.iter().find(|s| s.name == name)
    }

    /// Writes the report as pretty JSON, atomically: a temp file beside `path`,
    /// synced, then renamed over it, so a reader never sees half a report.
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<(), TelemetryError> {
        let path = path.as_ref();
        let json = serde_json::to_vec_pretty(self)?;
        // tempfile's NamedTempFile: a temp file in the same folder, renamed over
        // `path` (atomic on one file system), removed if anything fails first.
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
        file.write_all(&json).map_err(io_err(file.path()))?;
        file.as_file().sync_all().map_err(io_err(path))?;
        file.persist(path).map_err(|e| io_err(path)(e.error))?;
        Ok(())
    }

    /// Reads a report written by [`save_json`](Self::save_json).
    pub fn load_json(path: impl AsRef<Path>) -> Result<Self, TelemetryError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TelemetryError + '_ {
    move |source| TelemetryError::Io {
        path: path.to_owned(),
        source,
    }
}

const WIDE: usize = 80;

impl fmt::Display for TelemetryReport {
    /// reference/001's "RPYC TELEMETRY SUMMARY" layout, plus a per-span table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let double = "=".repeat(WIDE);
        let single = "-".repeat(WIDE);
        writeln!(f, "{double}\nCALL TELEMETRY SUMMARY\n{double}")?;
        let deep = format!("Deep Calls (depth>={}):", self.deep_stack_threshold);
        let slow = format!("Slow Calls (>={}):", threshold(self.slow_threshold_us));
        let lines: [(&str, String); 8] = [
            ("Total Calls:", self.total_calls.to_string()),
            ("Failed Calls:", self.failed_calls.to_string()),
            ("Network Round Trips:", self.round_trips.to_string()),
            ("Open Spans (now):", self.open_spans.to_string()),
            ("Max Stack Depth:", self.max_depth.to_string()),
            (deep.as_str(), self.deep_calls.to_string()),
            (slow.as_str(), self.slow_call_count.to_string()),
            ("Avg Call Duration:", duration(self.avg_call_us)),
        ];
        for (label, value) in lines {
            writeln!(f, "{label:<26}{value}")?;
        }
        if !self.spans.is_empty() {
            writeln!(f, "\n{single}\nSPANS (by total time):\n{single}")?;
            writeln!(
                f,
                "  {:<30} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>8}",
                "span", "calls", "errors", "p50", "p99", "max", "busy", "rt/call"
            )?;
            for s in &self.spans {
                let per_call = if s.root_calls == 0 {
                    "-".to_owned()
                } else {
                    format!("{:.2}", s.round_trips_per_root_mean)
                };
                writeln!(
                    f,
                    "  {:<30} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>8}",
                    format!("{}::{}", s.target, s.name),
                    s.calls,
                    s.errors,
                    duration(s.p50_us as f64),
                    duration(s.p99_us as f64),
                    duration(s.max_us as f64),
                    duration(s.busy_mean_us),
                    per_call,
                )?;
            }
        }
        if !self.slow_calls.is_empty() {
            writeln!(f, "\n{single}\nSLOW CALLS:\n{single}")?;
            for c in &self.slow_calls {
                let failed = if c.failed { "  FAILED" } else { "" };
                writeln!(
                    f,
                    "  {:<30} {:>10}  depth={}  parent={}{failed}",
                    c.name,
                    duration(c.duration_us as f64),
                    c.depth,
                    c.parent.as_deref().unwrap_or("-"),
                )?;
            }
            let unkept = self
                .slow_call_count
                .saturating_sub(self.slow_calls.len() as u64);
            if unkept > 0 {
                writeln!(f, "  ... and {unkept} more")?;
            }
        }
        Ok(())
    }
}

/// `850µs`, `12.34ms`, `1.50s`.
fn duration(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1_000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

/// A configured threshold in its roundest unit: `100ms`, `1s`, `250µs`.
fn threshold(us: u64) -> String {
    if us >= 1_000_000 && us % 1_000_000 == 0 {
        format!("{}s", us / 1_000_000)
    } else if us >= 1_000 && us % 1_000 == 0 {
        format!("{}ms", us / 1_000)
    } else {
        format!("{us}µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(850.0), "850µs");
        assert_eq!(duration(12_346.0), "12.35ms");
        assert_eq!(duration(1_500_000.0), "1.50s");
        assert_eq!(threshold(100_000), "100ms");
        assert_eq!(threshold(2_000_000), "2s");
        assert_eq!(threshold(250), "250µs");
        assert_eq!(threshold(0), "0µs");
    }
}
