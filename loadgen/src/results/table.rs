//! The headline table: one row per case, grouped by workload so the same work on
//! every protocol sits side by side. Numbers are formatted here, once; the terminal
//! printer (`render_text`), report.md and report.html only lay these strings out.

use super::Run;
use protolab_bench::CaseResult;

/// Column titles of the headline table; the first is the case, the last the notes.
pub const HEADER: [&str; 11] = [
    "case", "req/s", "mean ms", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms",
    "errors", "notes",
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
/// order), mean req/s over repetitions and the last repetition's latencies.
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
    let Some(last) = case.repetitions.last() else {
        return Row::Unmeasured {
            case: case.spec.name.clone(),
            status: "FAILED",
            why: case.problems.join("; "),
        };
    };
    let s = &last.summary;
    let l = &s.latency;
    let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
    let rps = case
        .stats
        .get(&protolab_bench::Metric::Rps)
        .map(|r| r.mean)
        .unwrap_or(s.rps);
    let mut notes = super::notes(case, s);
    if let Some(e) = case.efficiency() {
        notes.push(efficiency_note(&e));
    }
    Row::Measured {
        cells: vec![
            case.spec.name.clone(),
            format!("{rps:.0}"),
            format!("{:.3}", l.mean_us / 1000.0),
            ms(l.p50_us),
            ms(l.p90_us),
            ms(l.p95_us),
            ms(l.p99_us),
            ms(l.p999_us),
            ms(l.max_us),
            s.errors.to_string(),
            notes.join(", "),
        ],
        detail: last.connect.as_ref().map(super::connect_line),
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
        let json = include_str!("../../tests/fixtures/case.json");
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
}
