//! A run's results on disk, every format in one place: `results/<run-id>/` with
//! run.json (the one source every report reads), one .hlog per case, summary.csv,
//! clients.csv and results.jsonl (`files`, `jsonl`); the environment they were
//! measured in (`environment`); and the terminal table printed from the same data
//! (`table`). Every file is written atomically.

use std::path::{Path, PathBuf};

use crate::{CaseResult, Kind, Metric, PushStats};
use serde::{Deserialize, Serialize};

pub mod environment;
pub mod files;
pub mod jsonl;
pub mod table;

use environment::Environment;
use files::{CsvRow, OutputError};

pub use crate::derived::{cpu_percent_series, memory_series, Efficiency, MANY_CONNECTIONS};

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
    /// Why the run holds fewer cases than it was to (interrupted, still running
    /// when the file was written); `None` for a finished run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
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
            incomplete: None,
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
pub fn write(root: &Path, run: &Run) -> Result<PathBuf, OutputError> {
    let dir = run_dir(root, run)?;
    write_run_json(&dir, run)?;
    let mut rows = Vec::new();
    for case in &run.cases {
        write_case_hlog(&dir, case)?;
        for (i, rep) in case.repetitions.iter().enumerate() {
            rows.push(CsvRow::from_summary(case, i, &rep.summary));
        }
    }
    files::write_summary_csv(&dir.join("summary.csv"), &rows)?;
    files::write_clients_csv(&dir, &run.cases)?;
    write_slow_calls(&dir, &run.cases)?;
    Ok(dir)
}

/// Writes what a suite has measured so far, as each case finishes: the case's .hlog
/// and run.json (replaced atomically, marked incomplete), so an error, Ctrl-C or a
/// killed generator keeps everything measured up to then.
pub fn write_progress(root: &Path, run: &Run) -> Result<PathBuf, OutputError> {
    let dir = run_dir(root, run)?;
    if let Some(case) = run.cases.last() {
        write_case_hlog(&dir, case)?;
    }
    write_run_json(&dir, run)?;
    write_slow_calls(&dir, &run.cases)?;
    Ok(dir)
}

/// `root/<run-id>/`, created.
fn run_dir(root: &Path, run: &Run) -> Result<PathBuf, OutputError> {
    let dir = root.join(&run.run_id);
    std::fs::create_dir_all(&dir).map_err(|e| OutputError::Io {
        path: dir.clone(),
        source: e,
    })?;
    Ok(dir)
}

fn write_run_json(dir: &Path, run: &Run) -> Result<(), OutputError> {
    let json = serde_json::to_vec_pretty(run).map_err(|e| OutputError::Json(e.to_string()))?;
    files::write_atomic(&dir.join("run.json"), &json)
}

/// One line of slow_calls.jsonl: a kept slow call with its case.
#[derive(Serialize)]
struct SlowLine<'a> {
    case: &'a str,
    protocol: &'a str,
    op: &'a str,
    repetition: usize,
    threshold_us: u64,
    #[serde(flatten)]
    call: &'a crate::slow::SlowCall,
}

/// slow_calls.jsonl (`--slow`): every kept slow call of every case, slowest first
/// within each repetition; not written when no case kept any.
fn write_slow_calls(dir: &Path, cases: &[CaseResult]) -> Result<(), OutputError> {
    let mut out = Vec::new();
    for case in cases {
        for (i, rep) in case.repetitions.iter().enumerate() {
            let Some(slow) = &rep.slow else { continue };
            for call in &slow.calls {
                let line = SlowLine {
                    case: &case.spec.name,
                    protocol: &case.spec.protocol,
                    op: case.spec.op.name(),
                    repetition: i + 1,
                    threshold_us: slow.threshold_us,
                    call,
                };
                serde_json::to_writer(&mut out, &line)
                    .map_err(|e| OutputError::Json(e.to_string()))?;
                out.push(b'\n');
            }
        }
    }
    if cases
        .iter()
        .all(|c| c.repetitions.iter().all(|r| r.slow.is_none()))
    {
        return Ok(());
    }
    files::write_atomic(&dir.join("slow_calls.jsonl"), &out)
}

/// The case's HdrHistogram interval log: every repetition's seconds, each tagged
/// with its repetition (a sweep's steps with their offered rate).
fn write_case_hlog(dir: &Path, case: &CaseResult) -> Result<(), OutputError> {
    let reps: Vec<files::TaggedIntervals<'_>> = case
        .repetitions
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.intervals.is_empty())
        .map(|(i, r)| files::TaggedIntervals {
            tag: match r.offered_rate {
                Some(rate) => format!("{}@{rate:.0}", case.spec.name),
                None => format!("{}#{}", case.spec.name, i + 1),
            },
            start_unix_s: r.intervals_start_unix_s,
            intervals: &r.intervals,
        })
        .collect();
    if reps.is_empty() {
        return Ok(());
    }
    let path = dir.join(format!("{}.hlog", file_name(&case.spec.name)));
    files::write_hlog(&path, &reps)
}

/// The headline table (see [`table::headline`]) printed on stdout.
pub fn print_table(run: &Run) {
    print!("{}", table::render_text(&table::headline(run)));
}

/// Reads a run back: `path` is a run directory or its run.json.
pub fn read(path: &Path) -> Result<Run, OutputError> {
    let file = if path.is_dir() {
        path.join("run.json")
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&file).map_err(|e| OutputError::Io {
        path: file.clone(),
        source: e,
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| OutputError::Json(format!("{}: {e}", file.display())))
}

/// What the table's notes column says about a case.
fn notes(case: &CaseResult, s: &crate::stats::Summary) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(r) = case.stats.get(&Metric::Rps).filter(|r| r.n > 1) {
        notes.push(format!(
            "±{:.1}% (95% CI, n={}), CV {:.1}%",
            (r.ci95_high - r.mean) / r.mean.max(1e-9) * 100.0,
            r.kept,
            r.cv * 100.0
        ));
    }
    if matches!(case.spec.kind, Kind::Bandwidth) {
        notes.push(format!(
            "{:.1} MB/s up, {:.1} MB/s down",
            s.mbps_sent, s.mbps_received
        ));
    }
    notes.extend(parameter_notes(case));
    if let Some(p) = case.repetitions.last().and_then(|r| r.push.as_ref()) {
        notes.push(push_note(p));
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
        notes.push(format!(
            "{}: {}",
            case.verdict_label(),
            case.problems.join("; ")
        ));
    }
    notes
}

fn connect_line(c: &crate::ConnectBreakdown) -> String {
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

/// What the table's notes column says about a pipeline, transfer or hold case (from its last
/// repetition and its statistics).
fn parameter_notes(case: &CaseResult) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(last) = case.repetitions.last() else {
        return notes;
    };
    if let Some(t) = &last.transfer {
        let mbps = case.stats.get(&Metric::Mbps).map_or(0.0, |m| m.mean);
        notes.push(format!(
            "{mbps:.1} MB/s, {} ok, {} integrity failures, largest piece {} B",
            t.transfers, t.integrity_failures, t.largest_piece_bytes
        ));
    }
    if let Some(h) = &last.hold {
        let mut n = format!(
            "held {}/{} ({:.0}/s set-up), probe p99 {:.3} ms",
            h.held,
            h.wanted,
            h.setup_per_sec,
            h.probe.p99_us as f64 / 1000.0
        );
        if let Some(b) = h.server_bytes_per_conn {
            n.push_str(&format!(", server {:.1} KiB/conn", b / 1024.0));
        }
        if h.capped_by_nofile {
            n.push_str(&format!(
                ", CAPPED by the open-file limit {}",
                h.nofile_limit.unwrap_or(0)
            ));
        }
        notes.push(n);
    }
    if let Some(t) = case.stats.get(&Metric::ClientTotalS) {
        notes.push(format!("client total {:.3} s (mean)", t.mean));
    }
    notes
}

/// The results table's note for a push case.
fn push_note(p: &PushStats) -> String {
    let mut parts = vec![
        format!("{:.0} events/s", p.events_per_sec),
        format!("delivery p99 {:.3} ms", p.delivery.p99_us as f64 / 1000.0),
        format!("lost {}", p.lost),
        format!("lagged {}", p.lagged),
    ];
    if p.gaps + p.reorders > 0 {
        parts.push(format!("gaps {} reorders {}", p.gaps, p.reorders));
    }
    if let Some(s) = &p.subscriber_p99 {
        parts.push(format!(
            "{} subscribers, their p99 {:.3}..{:.3} ms",
            p.subscribers,
            s.min_us as f64 / 1000.0,
            s.max_us as f64 / 1000.0
        ));
    }
    if p.resumed > 0 {
        parts.push(format!("resumed {}", p.resumed));
    }
    parts.join(", ")
}

/// A case in one line: its headline numbers, or why it has none.
pub fn brief(r: &CaseResult) -> String {
    if let Some(why) = &r.skipped {
        return format!("skipped: {why}");
    }
    match r.repetitions.last() {
        Some(rep) if r.valid && rep.push.is_some() => {
            rep.push.as_ref().map(push_note).unwrap_or_default()
        }
        Some(rep) if r.valid => format!(
            "{:.0} req/s, p99 {:.3} ms",
            rep.summary.rps,
            rep.summary.latency.p99_us as f64 / 1000.0
        ),
        _ => format!("{}: {}", r.verdict_label(), r.problems.join("; ")),
    }
}
