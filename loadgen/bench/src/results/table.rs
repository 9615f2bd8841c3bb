//! The headline table: one row per case, grouped by workload so the same work on
//! every protocol sits side by side. Numbers are formatted here, once; the terminal
//! printer (`render_text`), report.md and report.html only lay these strings out.
//!
//! A row says what the case proves: its verdict and which side was the limit, then
//! the merged figures of every repetition (req/s over the repetitions' measured
//! windows; percentiles of every call, failed ones included when any failed), the
//! error rate, and both sides' CPU per call over the measured windows.

use super::Run;
use crate::selfcheck::Bottleneck;
use crate::stats::Summary;
use crate::{CaseResult, Kind};

/// Column titles of the headline table; the first is the case, the last the notes.
pub const HEADER: [&str; 12] = [
    "case",
    "verdict",
    "limit",
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "errors",
    "CPU µs/call gen/srv",
    "notes",
];

/// One line of the headline table.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A case with numbers: one cell per [`HEADER`] column, and an optional
    /// second line (the connect kind's stage breakdown).
    Measured {
        cells: Vec<String>,
        detail: Option<String>,
    },
    /// No numbers: `status` is `FAILED` (a case that could not be measured) or
    /// `skipped` (a workload's cases whose protocols do not offer it), and why.
    Unmeasured {
        case: String,
        status: &'static str,
        why: String,
    },
}

/// The headline table of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Workloads in order of first appearance, each with its cases' rows.
    pub groups: Vec<(String, Vec<Row>)>,
}

/// The headline table: every case of `run`, grouped by workload (first-appearance
/// order), with the merged figures of its repetitions.
/// Cases skipped because their protocol does not offer the workload are listed on
/// one line per workload, after its measured rows.
pub fn headline(run: &Run) -> Table {
    let mut groups: Vec<(String, Vec<Row>, Vec<&str>)> = Vec::new();
    for case in &run.cases {
        let at = match groups.iter().position(|(w, ..)| w == case.workload()) {
            Some(i) => i,
            None => {
                groups.push((case.workload().to_string(), Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        let (_, rows, skipped) = &mut groups[at];
        match case.skipped {
            Some(_) => skipped.push(case.spec.protocol.as_str()),
            None => rows.push(row(case)),
        }
    }
    let groups = groups
        .into_iter()
        .map(|(workload, mut rows, skipped)| {
            if !skipped.is_empty() {
                rows.push(Row::Unmeasured {
                    case: workload.clone(),
                    status: "skipped",
                    why: format!("not offered by {}", skipped.join(", ")),
                });
            }
            (workload, rows)
        })
        .collect();
    Table { groups }
}

fn row(case: &CaseResult) -> Row {
    let Some(shown) = shown(case) else {
        return Row::Unmeasured {
            case: case.spec.name.clone(),
            status: "FAILED",
            why: case.problems.join("; "),
        };
    };
    let s = shown.summary;
    let tail = s.tail();
    let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
    let mut notes = super::notes(case, s);
    if let Some(n) = shown.note {
        notes.insert(0, n);
    }
    if let Some(e) = case.efficiency() {
        notes.push(efficiency_note(&e));
    }
    if let Some(b) = case.per_call().and_then(|p| p.wire_bytes) {
        notes.push(format!("{b:.0} B/call on the wire"));
    }
    Row::Measured {
        cells: vec![
            case.spec.name.clone(),
            case.verdict_label().to_string(),
            case.bottleneck.map_or("-", limit).to_string(),
            format!("{:.0}", s.rps),
            ms(tail.p50_us),
            ms(tail.p90_us),
            ms(tail.p99_us),
            ms(tail.p999_us),
            ms(tail.max_us),
            errors(s),
            cpu_per_call(case),
            notes.join(", "),
        ],
        detail: shown.detail,
    }
}

/// The figures a row shows, and why those.
struct Shown<'a> {
    summary: &'a Summary,
    note: Option<String>,
    detail: Option<String>,
}

/// The merged figures of every repetition; a sweep's last step that held (its
/// steps run at different rates); the last repetition when nothing was merged.
fn shown(case: &CaseResult) -> Option<Shown<'_>> {
    let last = case.repetitions.last()?;
    let detail = last.connect.as_ref().map(super::connect_line);
    if let Kind::Sweep { .. } = case.spec.kind {
        let held = case
            .repetitions
            .iter()
            .rev()
            .find(|r| r.offered_rate.is_some() && r.offered_rate == case.knee_rate);
        let mut note = match held {
            Some(r) => format!(
                "last step that held: {:.0} req/s offered",
                r.offered_rate.unwrap_or_default()
            ),
            None => "no step held: the first one's figures".into(),
        };
        if let Some(limit) = connection_limit(case) {
            note.push_str(&format!(
                "; the knee is the generator's connection limit ({limit}): more connections would go further"
            ));
        }
        return Some(match held {
            Some(r) => Shown {
                summary: &r.summary,
                note: Some(note),
                detail,
            },
            None => Shown {
                summary: &last.summary,
                note: Some(note),
                detail,
            },
        });
    }
    Some(Shown {
        summary: case.headline()?,
        note: None,
        detail,
    })
}

/// When a sweep's failing step asked for more than its workers could carry at the
/// service time it saw (workers / service P50), the knee is the generator's number
/// of connections, not the server's capacity: what that limit was.
fn connection_limit(case: &CaseResult) -> Option<String> {
    let failed = case
        .repetitions
        .last()
        .filter(|r| r.offered_rate != case.knee_rate)?;
    let rate = failed.offered_rate?;
    let service_s = failed.summary.service.p50_us as f64 / 1e6;
    let capacity = failed.workers as f64 / service_s.max(1e-9);
    (rate > 0.9 * capacity).then(|| {
        format!(
            "{} workers at a P50 service time of {:.3} ms carry at most {capacity:.0} req/s",
            failed.workers,
            service_s * 1000.0
        )
    })
}

/// The bottleneck, short: which side was the limit.
pub fn limit(b: Bottleneck) -> &'static str {
    match b {
        Bottleneck::ServerBound => "server",
        Bottleneck::ClientBound => "CLIENT",
        Bottleneck::CoSaturated => "both",
        Bottleneck::Neither => "neither",
        Bottleneck::Unknown => "?",
    }
}

/// Failed calls and their share of all.
fn errors(s: &Summary) -> String {
    match s.errors {
        0 => "0".into(),
        n => format!("{n} ({:.2}%)", s.error_rate() * 100.0),
    }
}

/// Both sides' CPU-µs per call over the measured windows.
fn cpu_per_call(case: &CaseResult) -> String {
    match case.per_call() {
        Some(c) => match c.server_us {
            Some(srv) => format!("{:.1} / {srv:.1}", c.client_us),
            None => format!("{:.1} / -", c.client_us),
        },
        None => "-".into(),
    }
}

/// The server-efficiency note: CPU, requests per CPU-second, memory per connection.
pub fn efficiency_note(e: &super::Efficiency) -> String {
    let mut parts = vec![format!("server {:.2} CPU-s", e.cpu_seconds)];
    if let Some(r) = e.requests_per_cpu_second {
        parts.push(format!("{r:.0} req/CPU-s"));
    }
    if let Some(m) = e.memory_per_connection_bytes {
        parts.push(format!("{:.1} KiB/conn", m / 1024.0));
    }
    parts.join(" ")
}

/// The table as fixed-width text for a terminal: columns padded to their widest
/// cell, numbers right-aligned, a blank line between workloads of several cases.
pub fn render_text(t: &Table) -> String {
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
    for (_, rows) in &t.groups {
        for r in rows {
            match r {
                Row::Measured { cells, .. } => {
                    // The notes column is last and never padded.
                    for (w, c) in widths.iter_mut().zip(cells).take(HEADER.len() - 1) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                Row::Unmeasured { case, .. } => widths[0] = widths[0].max(case.chars().count()),
            }
        }
    }
    let line = |cells: &[&str]| -> String {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let cell = match i {
                0 => format!("{c:<w$}"),
                _ if i == HEADER.len() - 1 => format!(" {c}"),
                _ => format!(" {c:>w$}"),
            };
            out.push_str(&cell);
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&HEADER);
    // Blank lines only help when some workload has several protocols to compare.
    let spaced = t.groups.iter().any(|(_, rows)| rows.len() > 1);
    for (i, (_, rows)) in t.groups.iter().enumerate() {
        if i > 0 && spaced {
            out.push('\n');
        }
        for r in rows {
            match r {
                Row::Measured { cells, detail } => {
                    let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                    out.push_str(&line(&refs));
                    if let Some(d) = detail {
                        out.push_str(&format!("{:w$} {d}\n", "", w = widths[0]));
                    }
                }
                Row::Unmeasured { case, status, why } => {
                    out.push_str(&format!("{case:<w$} {status}: {why}\n", w = widths[0]));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        let json = include_str!("../../../tests/fixtures/case.json");
        let a: CaseResult = serde_json::from_str(json).expect("fixture case parses");
        let mut b = a.clone();
        b.spec.protocol = "grpc".into();
        b.spec.name = "grpc/throughput/ping".into();
        let mut failed = a.clone();
        failed.spec.name = "rest-h1/latency/get_item".into();
        failed.repetitions.clear();
        failed.valid = false;
        failed.problems = vec!["verification of get_item failed".into()];
        let mut run = Run::new(vec![a, failed, b], 0.0);
        run.command.clear();
        run
    }

    #[test]
    fn rows_group_by_workload_and_align() {
        let t = headline(&run());
        let names: Vec<&str> = t.groups.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(names, ["throughput/ping", "latency/get_item"]);
        assert_eq!(t.groups[0].1.len(), 2, "both protocols side by side");
        let text = render_text(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("case ") && lines[0].ends_with("notes"));
        // Numbers right-aligned: the req/s column ends at the same place on every row.
        let end = lines[0].find("req/s").map(|i| i + 5);
        assert_eq!(lines[1].find(" 32000").map(|i| i + 6), end, "{text}");
        assert!(text.contains("rest-h1/latency/get_item") && text.contains("FAILED: verification"));
        assert_eq!(lines.len(), 5, "header, 2 rows, blank, failed row:\n{text}");
    }

    #[test]
    fn skipped_cases_of_a_workload_share_one_line() {
        let mut run = run();
        for proto in ["sse", "net001"] {
            let mut c = run.cases[0].clone();
            c.spec.protocol = proto.into();
            c.spec.name = format!("{proto}/throughput/ping");
            c.repetitions.clear();
            c.skipped = Some(format!("ping is not offered by {proto}"));
            run.cases.push(c);
        }
        let t = headline(&run);
        let rows = &t.groups[0].1;
        assert_eq!(rows.len(), 3, "two measured rows and one skipped line");
        assert_eq!(
            rows[2],
            Row::Unmeasured {
                case: "throughput/ping".into(),
                status: "skipped",
                why: "not offered by sse, net001".into(),
            }
        );
    }

    #[test]
    fn a_sweep_shows_its_last_step_that_held_and_a_connection_limit() {
        let mut c = run().cases[0].clone();
        c.spec.kind = Kind::Sweep {
            start: 1000.0,
            factor: 1.5,
            max: 1e6,
            p99_limit_ms: 50.0,
            error_limit: 0.01,
        };
        let mut held = c.repetitions[0].clone();
        held.offered_rate = Some(1000.0);
        held.summary.rps = 999.0;
        let mut failed = held.clone();
        failed.offered_rate = Some(1500.0);
        failed.summary.rps = 1000.0;
        failed.workers = 2;
        failed.summary.service.p50_us = 2000;
        c.repetitions = vec![held, failed];
        c.knee_rate = Some(1000.0);
        let Row::Measured { cells, .. } = row(&c) else {
            panic!("measured")
        };
        assert_eq!(cells[3], "999", "the step that held: {cells:?}");
        let notes = cells.last().expect("notes");
        assert!(
            notes.contains("last step that held: 1000 req/s offered"),
            "{notes}"
        );
        assert!(notes.contains("connection limit (2 workers"), "{notes}");
        // Enough workers for the failing step: the knee is the server's.
        if let Some(r) = c.repetitions.last_mut() {
            r.workers = 64;
        }
        let Row::Measured { cells, .. } = row(&c) else {
            panic!("measured")
        };
        assert!(!cells.last().expect("notes").contains("connection limit"));
    }
}
