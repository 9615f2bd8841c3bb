//! A run's results on disk: `results/<run-id>/` with run.json (the one source every
//! report reads), one .hlog per case, summary.csv and results.jsonl; and the
//! terminal table printed from the same data. Every file is written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env::Environment;
use crate::output::{self, CsvRow};
use crate::scenario::CaseResult;

mod derived;
pub mod table;

pub use derived::{cpu_percent_series, memory_series, Efficiency, MANY_CONNECTIONS};

/// Version of run.json's layout; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole run, as run.json holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub schema_version: u32,
    pub run_id: String,
    pub started_unix_s: f64,
    pub command: Vec<String>,
    pub environment: Environment,
    pub cases: Vec<CaseResult>,
}

impl Run {
    pub fn new(cases: Vec<CaseResult>, started_unix_s: f64) -> Run {
        Run {
            schema_version: SCHEMA_VERSION,
            run_id: run_id(started_unix_s),
            started_unix_s,
            command: std::env::args().collect(),
            environment: Environment::capture(),
            cases,
        }
    }
}

/// `YYYYmmdd-HHMMSS` in UTC: sorts by time, safe in paths.
pub fn run_id(unix_s: f64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_s as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn file_name(case: &str) -> String {
    case.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes run.json, the .hlog files and summary.csv into `root/<run-id>/`.
pub fn write(root: &Path, run: &Run) -> Result<PathBuf, output::OutputError> {
    let dir = root.join(&run.run_id);
    std::fs::create_dir_all(&dir).map_err(|e| output::OutputError::Io {
        path: dir.clone(),
        source: e,
    })?;
    let json =
        serde_json::to_vec_pretty(run).map_err(|e| output::OutputError::Json(e.to_string()))?;
    output::write_atomic(&dir.join("run.json"), &json)?;
    let mut rows = Vec::new();
    for case in &run.cases {
        if !case.intervals.is_empty() {
            let path = dir.join(format!("{}.hlog", file_name(&case.spec.name)));
            output::write_hlog(
                &path,
                &case.intervals,
                case.intervals_start_unix_s,
                Some(&case.spec.name),
            )?;
        }
        for (i, rep) in case.repetitions.iter().enumerate() {
            rows.push(CsvRow::from_summary(case, i, &rep.summary));
        }
    }
    output::write_summary_csv(&dir.join("summary.csv"), &rows)?;
    crate::pipeline::write_clients_csv(&dir, &run.cases)?;
    Ok(dir)
}

/// The headline table (see [`table::headline`]) printed on stdout.
pub fn print_table(run: &Run) {
    print!("{}", table::render_text(&table::headline(run)));
}

/// Reads a run back: `path` is a run directory or its run.json.
pub fn read(path: &Path) -> Result<Run, output::OutputError> {
    let file = if path.is_dir() {
        path.join("run.json")
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&file).map_err(|e| output::OutputError::Io {
        path: file.clone(),
        source: e,
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| output::OutputError::Json(format!("{}: {e}", file.display())))
}

/// What the table's notes column says about a case.
fn notes(case: &CaseResult, s: &crate::stats::Summary) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(r) = case.stats.get("rps").filter(|r| r.n > 1) {
        notes.push(format!(
            "±{:.1}% (95% CI, n={}), CV {:.1}%",
            (r.ci95_high - r.mean) / r.mean.max(1e-9) * 100.0,
            r.kept,
            r.cv * 100.0
        ));
    }
    if matches!(case.spec.kind, crate::scenario::Kind::Bandwidth) {
        notes.push(format!(
            "{:.1} MB/s up, {:.1} MB/s down",
            s.mbps_sent, s.mbps_received
        ));
    }
    notes.extend(crate::bulk::notes(case));
    if let Some(p) = case.repetitions.last().and_then(|r| r.push.as_ref()) {
        notes.push(crate::push::note(p));
    }
    if let Some(k) = case.knee_rate {
        notes.push(format!("knee {k:.0} req/s"));
    }
    if !s.errors_by_kind.is_empty() {
        let kinds: Vec<String> = s
            .errors_by_kind
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        notes.push(kinds.join(" "));
    }
    if !case.valid {
        notes.push(format!("INVALID: {}", case.problems.join("; ")));
    }
    notes
}

fn connect_line(c: &crate::scenario::ConnectBreakdown) -> String {
    let ms = |p: &crate::stats::Percentiles| p.p50_us as f64 / 1000.0;
    let mut parts = vec![format!("p50: tcp {:.3} ms", ms(&c.tcp))];
    if let Some(t) = &c.tls {
        parts.push(format!("tls {:.3} ms", ms(t)));
    }
    if let Some(h) = &c.handshake {
        parts.push(format!("handshake {:.3} ms", ms(h)));
    }
    parts.push(format!("first call {:.3} ms", ms(&c.first_call)));
    parts.push(format!("total {:.3} ms", ms(&c.total)));
    parts.join(", ")
}
