//! report.md: the answer first (per workload, which protocol led and by how much,
//! with its verdict (`answer`), and the charts that tell the story (`plan::story`)),
//! then the details: the headline table (`results::table`, the same rows the
//! terminal prints), the validity warnings (invalid cases, verification failures,
//! high CV, environment), the environment, and one section per kind with its detail
//! tables and charts. Lays out strings; the numbers come from `results`, `answer`
//! and `tables`.

use std::fmt::Write;

mod answer;

use super::chart::Chart;
use super::{plan, tables, CHART_DIR};
use crate::results::table::{self, Row, HEADER};
use crate::results::Run;
use protolab_bench::CaseResult;

/// A coefficient of variation above this across repetitions is flagged: at 10%
/// a difference between two protocols of that size is within the noise.
pub const HIGH_CV: f64 = 0.10;

/// Calls failing above this share are flagged: the case's numbers describe a
/// server that is partly broken.
pub const HIGH_ERRORS: f64 = 0.01;

/// The whole document.
/// `story`: the answer's charts (`plan::story`), drawn.
pub fn document(run: &Run, charts: &[&Chart], story: &[&Chart], failed: &[String]) -> String {
    let mut md = String::new();
    header(&mut md, run);
    answer::section(&mut md, run, story);
    md.push_str("## All cases\n\n");
    md.push_str(&headline(run));
    validity(&mut md, run, failed);
    environment(&mut md, run);
    for section in plan::sections(run) {
        let _ = writeln!(md, "## {section}\n");
        if let Some(d) = describe(section) {
            let _ = writeln!(md, "{d}\n");
        }
        md.push_str(&tables::section(run, section));
        for c in charts.iter().filter(|c| c.section == section) {
            image(&mut md, c);
            md.push('\n');
        }
    }
    replicas(&mut md, run);
    workers(&mut md, run);
    slowest(&mut md, run);
    md
}

/// A distributed run (`bench --workers N`): each worker's share of every case.
fn workers(md: &mut String, run: &Run) {
    let rows: Vec<Vec<String>> = run
        .cases
        .iter()
        .flat_map(|case| case.workers.iter().map(move |w| (case, w)))
        .map(|(case, w)| {
            let opt = |v: Option<String>| v.unwrap_or_else(|| "–".to_string());
            vec![
                cell(&case.spec.name),
                (w.repetition + 1).to_string(),
                cell(&w.name),
                w.segment.to_string(),
                w.connections.to_string(),
                w.requests.to_string(),
                format!("{:.0}", w.rps),
                format!("{:.3}", w.p99_us as f64 / 1000.0),
                opt(w.client_cpu_fraction.map(|f| format!("{:.0}%", f * 100.0))),
                opt(w
                    .send_lag_p99_us
                    .map(|l| format!("{:.3}", l as f64 / 1000.0))),
                format!("{:+.1}", w.start_late_ms),
                format!("{:+.2}", w.clock_offset_ms),
                w.status.as_str().to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    md.push_str(
        "## Generator workers

",
    );
    md.push_str(
        "Each case ran on every worker at once, each its segment of the load (k6's \
         execution segments: connections split, or rate/n with the schedule offset), from \
         one start time in each worker's clock. The case's figures above are the sum of \
         the workers' histograms, never an average of their percentiles. A worker's own \
         verdict (its CPU, its send lag) counts in the case's; a worker lost, silent for \
         5 s or starting over 250 ms late makes the case FAILED.\n\n",
    );
    let header = [
        "case",
        "rep",
        "worker",
        "segment",
        "conns",
        "calls",
        "calls/s",
        "p99 ms",
        "CPU",
        "send lag p99 ms",
        "start ms",
        "clock ms",
        "verdict",
    ];
    md.push_str(&md_table(&header, &rows));
    md.push('\n');
}

/// Servers with several replicas (a swarm stack): how each case's calls spread.
fn replicas(md: &mut String, run: &Run) {
    let mut rows = Vec::new();
    for case in &run.cases {
        for (i, rep) in case.repetitions.iter().enumerate() {
            let Some(w) = rep.window.as_ref().filter(|w| !w.replicas.is_empty()) else {
                continue;
            };
            let spread: Vec<String> = w.replicas.iter().map(ToString::to_string).collect();
            let imbalance = match protolab_bench::selfcheck::imbalance(&w.replicas) {
                _ if rep.connections < w.replicas.len() => {
                    format!("– ({} connection(s))", rep.connections)
                }
                Some(x) => format!("{x:.2}"),
                None => "–".to_string(),
            };
            rows.push(vec![
                cell(&case.spec.name),
                (i + 1).to_string(),
                w.replicas.len().to_string(),
                cell(&spread.join(", ")),
                imbalance,
            ]);
        }
    }
    if rows.is_empty() {
        return;
    }
    md.push_str("## Replicas\n\n");
    let _ = writeln!(
        md,
        "Calls each replica answered over the measured window (its admin counter), \
         with connections spread over the replicas by the generator (one address per \
         replica: swarm's `dnsrr` mode). Imbalance is the busiest replica's calls over \
         the idlest's: 1.00 is even; a case with fewer connections than replicas \
         cannot reach them all. Replicas on one host share its {} CPU(s), so more \
         replicas than cores cannot scale.\n",
        run.environment.cores_online
    );
    let header = ["case", "rep", "replicas", "calls per replica", "imbalance"];
    md.push_str(&md_table(&header, &rows));
    md.push('\n');
}

/// The slowest calls shown per case (slow_calls.jsonl has every one kept).
const SLOWEST_SHOWN: usize = 5;

/// `--slow`: each case's slowest calls, which calls made its tail.
fn slowest(md: &mut String, run: &Run) {
    let mut rows = Vec::new();
    for case in &run.cases {
        for (i, slow) in case.repetitions.iter().enumerate() {
            let Some(slow) = &slow.slow else { continue };
            for call in slow.calls.iter().take(SLOWEST_SHOWN) {
                rows.push(vec![
                    cell(&case.spec.name),
                    (i + 1).to_string(),
                    format!(
                        "{} at or over {:.3} ms",
                        slow.count,
                        slow.threshold_us as f64 / 1000.0
                    ),
                    format!("{:.3}", call.latency_us as f64 / 1000.0),
                    format!("{:.3}", call.at_ms as f64 / 1000.0),
                    call.connection.to_string(),
                    call.seq.to_string(),
                    call.error.clone().unwrap_or_default(),
                ]);
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    md.push_str("## Slowest calls\n\n");
    let _ = writeln!(
        md,
        "The {SLOWEST_SHOWN} slowest measured calls of each repetition (`--slow`; \
         slow_calls.jsonl has every one kept): when each was due (seconds into the \
         measured window), on which connection, its call number, and its error if it \
         failed. Calls of one second or one connection point at a stall; spread ones \
         at the load.\n"
    );
    let header = [
        "case",
        "rep",
        "slow calls",
        "latency ms",
        "at s",
        "connection",
        "call",
        "error",
    ];
    md.push_str(&md_table(&header, &rows));
    md.push('\n');
}

/// A chart's image line.
fn image(md: &mut String, c: &Chart) {
    let _ = writeln!(md, "![{}]({CHART_DIR}/{}.png)", cell(&c.title), c.id);
}

fn header(md: &mut String, run: &Run) {
    let started = time::OffsetDateTime::from_unix_timestamp(run.started_unix_s as i64)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_default();
    let e = &run.environment;
    let _ = writeln!(md, "# protolab run {}\n", cell(&run.run_id));
    if let Some(why) = &run.incomplete {
        let _ = writeln!(
            md,
            "> **This run is incomplete** ({}): it holds the {} case(s) measured before it stopped.\n",
            cell(why),
            run.cases.len()
        );
    }
    let _ = writeln!(
        md,
        "{started} · loadgen {} · commit `{}` · {} case(s)\n",
        e.loadgen_version,
        e.commit.as_deref().unwrap_or("unknown"),
        run.cases.len()
    );
}

/// Warnings a reader must see before trusting a number.
fn validity(md: &mut String, run: &Run, failed: &[String]) {
    let mut items: Vec<String> = run.cases.iter().flat_map(case_warnings).collect();
    let single = run
        .cases
        .iter()
        .filter(|c| c.repetitions.len() == 1)
        .count();
    if single > 0 {
        items.push(format!(
            "{single} case(s) ran a single repetition: no confidence interval (`--repeat 5` gives one)"
        ));
    }
    let env = run.environment.warnings.iter();
    items.extend(env.map(|w| format!("environment: {}", cell(w))));
    items.extend(
        failed
            .iter()
            .map(|f| format!("chart not drawn: {}", cell(f))),
    );
    md.push_str("## Validity\n\n");
    if items.is_empty() {
        let _ = writeln!(md, "All {} cases valid; no warnings.\n", run.cases.len());
        return;
    }
    for i in items {
        let _ = writeln!(md, "- {i}");
    }
    md.push('\n');
}

/// What makes one case's numbers doubtful: invalid, a wrong answer, errors, noise.
fn case_warnings(c: &CaseResult) -> Vec<String> {
    let mut items = Vec::new();
    if !c.valid {
        let verify = c.problems.iter().any(|p| p.starts_with("verification"));
        let what = if verify {
            "WRONG ANSWER"
        } else {
            c.status.as_str()
        };
        let why = cell(&c.problems.join("; "));
        items.push(format!("**{what}** `{}`: {why}", c.spec.name));
    }
    for w in &c.warnings {
        items.push(format!("**note** `{}`: {}", c.spec.name, cell(w)));
    }
    let (ok, failed) = c.repetitions.iter().fold((0u64, 0u64), |(o, f), r| {
        (o + r.summary.requests, f + r.summary.errors)
    });
    let share = failed as f64 / (ok + failed).max(1) as f64;
    if share > HIGH_ERRORS {
        items.push(format!(
            "**errors** `{}`: {failed} of {} calls failed ({:.1}%); the headline percentiles include them",
            c.spec.name,
            ok + failed,
            share * 100.0
        ));
    }
    for (metric, s) in c.stats.iter().filter(|(_, s)| s.kept > 1 && s.cv > HIGH_CV) {
        items.push(format!(
            "**high variation** `{}`: {} CV {:.1}% over {} repetitions (above {:.0}%: differences this size are noise)",
            c.spec.name,
            metric.as_str().trim_end_matches("_us"),
            s.cv * 100.0,
            s.kept,
            HIGH_CV * 100.0
        ));
    }
    items
}

/// The headline table as a Markdown table (the connect breakdown joins the notes).
pub fn headline(run: &Run) -> String {
    let t = table::headline(run);
    let mut rows = Vec::new();
    for (_, group) in &t.groups {
        for r in group {
            rows.push(match r {
                Row::Measured { cells, detail } => {
                    let mut cells = cells.clone();
                    if let (Some(d), Some(notes)) = (detail, cells.last_mut()) {
                        if !notes.is_empty() {
                            notes.push_str("; ");
                        }
                        notes.push_str(d);
                    }
                    cells
                }
                Row::Unmeasured { case, status, why } => {
                    let mut cells = vec![String::new(); HEADER.len()];
                    cells[0] = case.clone();
                    cells[HEADER.len() - 1] = format!("{status}: {why}");
                    cells
                }
            });
        }
    }
    md_table(&HEADER, &rows)
}

fn environment(md: &mut String, run: &Run) {
    let e = &run.environment;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
    let num = |v: Option<u64>| v.map_or_else(|| "unknown".into(), |n| n.to_string());
    let command = match run.command.is_empty() {
        true => "unknown".into(),
        false => format!("`{}`", run.command.join(" ").replace('`', "'")),
    };
    let rows: Vec<Vec<String>> = [
        ("command", command),
        ("host", opt(&e.hostname)),
        ("CPU", opt(&e.cpu_model)),
        (
            "cores online / available",
            format!("{} / {}", e.cores_online, e.cores_available),
        ),
        ("generator CPUs", opt(&e.cpus_allowed)),
        ("server CPUs", opt(&e.server_cpus)),
        ("kernel", opt(&e.kernel)),
        ("CPU governor", opt(&e.cpu_governor)),
        ("loopback MTU", num(e.loopback_mtu)),
        ("somaxconn", num(e.somaxconn)),
        ("ulimit -n", num(e.nofile_limit)),
        ("ephemeral ports", opt(&e.ephemeral_ports)),
        ("in a container", e.in_container.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_string(), v])
    .collect();
    md.push_str("## Environment\n\n");
    md.push_str(&md_table(&["setting", "value"], &rows));
}

/// One line on what a kind measures, for the kinds this report knows.
fn describe(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "throughput" => "Closed loop: connections × in-flight requests, each sending its next request when the last is answered.",
        "rate" => "Open loop at a fixed rate; latency counts from the intended send time (coordinated omission corrected).",
        "latency" => "Serial requests on one connection: one request in flight, time to first byte and total.",
        "concurrency" => "Many clients at once, each on its own connection with a fixed number of requests.",
        "connect" => "A new connection per attempt at a fixed rate: TCP, TLS, protocol handshake and the first call, timed apart.",
        "bandwidth" => "Echo at each payload size: MB/s both ways.",
        "sweep" => "Open-loop steps of rising rate until P99, the error rate or the achieved rate gives out; the last good step is the knee.",
        "matrix" => "reference/003's grid: the server's replicas × clients × messages per client (or × offered rate), each cell repeated; the statistics across repetitions drop z-score outliers and say how many. Replicas on one host share its cores, so past the core count a curve shows the host's limit, not the protocol's.",
        _ => return None,
    })
}

/// `s` safe inside a Markdown table cell.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('\n', " ")
}

/// A Markdown table of numbers: the first and last columns (names, notes) left
/// aligned, the others right aligned.
pub fn md_table<S: AsRef<str>>(header: &[S], rows: &[Vec<String>]) -> String {
    let last = header.len().saturating_sub(1);
    aligned(header, rows, |i| match i != 0 && i != last {
        true => Align::Right,
        false => Align::Default,
    })
}

/// A Markdown table of words: every column left aligned, explicitly (":---"), so
/// the page's default of numbers to the right does not apply.
fn text_table<S: AsRef<str>>(header: &[S], rows: &[Vec<String>]) -> String {
    aligned(header, rows, |_| Align::Left)
}

/// A column's alignment: the page's default (left, but numbers right), or either side.
enum Align {
    Default,
    Left,
    Right,
}

fn aligned<S: AsRef<str>>(
    header: &[S],
    rows: &[Vec<String>],
    align: impl Fn(usize) -> Align,
) -> String {
    let mut out = String::new();
    let head: Vec<String> = header.iter().map(|h| cell(h.as_ref())).collect();
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let rule: Vec<&str> = (0..header.len())
        .map(|i| match align(i) {
            Align::Default => "---",
            Align::Left => ":---",
            Align::Right => "---:",
        })
        .collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    out
}
