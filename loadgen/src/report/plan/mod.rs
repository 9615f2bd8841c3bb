//! Which charts a run gets, and their data, taken from `results::Run` alone: cases
//! grouped into workloads (the same suite case on every protocol), then one
//! builder per chart family. Kinds this code does not know are treated
//! generically (latency spectrum, throughput, resources) rather than skipped.

mod latency;
pub mod matrix;
mod resources;
mod throughput;
mod transfers;

use crate::results::Run;
use protolab_bench::{CaseResult, Kind};

use super::chart::Chart;
use super::palette::Palette;

/// Cases of one workload, in run order (one per protocol, usually).
pub struct Workload<'a> {
    pub name: &'a str,
    /// The section (kind name) of its first case.
    pub section: &'static str,
    pub cases: Vec<&'a CaseResult>,
}

/// The run's workloads in order of first appearance (a matrix's cells are not
/// workloads: `matrix` charts them as grids).
pub fn workloads(run: &Run) -> Vec<Workload<'_>> {
    let mut out: Vec<Workload<'_>> = Vec::new();
    for c in run.cases.iter().filter(|c| c.cell.is_none()) {
        match out.iter_mut().find(|w| w.name == c.workload()) {
            Some(w) => w.cases.push(c),
            None => out.push(Workload {
                name: c.workload(),
                section: c.spec.kind.name(),
                cases: vec![c],
            }),
        }
    }
    out
}

/// Sections (kind names, and `matrix` for a matrix's cells) in order of first
/// appearance.
pub fn sections(run: &Run) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for c in &run.cases {
        let s = section_of(c);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The report section a case belongs to.
pub fn section_of(c: &CaseResult) -> &'static str {
    match c.cell {
        Some(_) => matrix::SECTION,
        None => c.spec.kind.name(),
    }
}

/// How a kind is charted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Connect,
    Sweep,
    Bandwidth,
    /// Everything else, new kinds included: latency spectrum and friends.
    Requests,
}

fn family(kind: &Kind) -> Family {
    match kind {
        Kind::Connect { .. } => Family::Connect,
        Kind::Sweep { .. } => Family::Sweep,
        Kind::Bandwidth => Family::Bandwidth,
        _ => Family::Requests,
    }
}

/// Every chart of `run`, grouped by section in section order; ids are unique.
pub fn charts(run: &Run) -> Vec<Chart> {
    let palette = Palette::for_run(run);
    let ws = workloads(run);
    let mut all = Vec::new();
    all.extend(latency::spectra(&ws, &palette));
    all.extend(latency::boxes(&ws, &palette));
    all.extend(throughput::bars(&ws, &palette));
    all.extend(latency::sweeps(&ws, &palette));
    all.extend(latency::connects(&ws));
    all.extend(transfers::bandwidth(run, &palette));
    all.extend(transfers::transfers(&ws, &palette));
    all.extend(latency::pushes(&ws, &palette));
    all.extend(resources::usage(&ws, &palette));
    all.extend(resources::efficiency(&ws, &palette));
    all.extend(matrix::charts(run));
    let order = sections(run);
    all.sort_by_key(|c| order.iter().position(|s| *s == c.section));
    let mut seen = std::collections::HashSet::new();
    for c in &mut all {
        let base = c.id.clone();
        let mut n = 2;
        while !seen.insert(c.id.clone()) {
            c.id = format!("{base}-{n}");
            n += 1;
        }
    }
    all
}

/// The charts that tell a run's story, for the top of the report, ids prefixed
/// `answer-`: how many requests each protocol served (req/s bars of the first
/// workload measuring throughput), how fast it answered (latency by percentile,
/// one request at a time first), and what a new connection or a pushed event
/// costs (set-up stages, delivery), else what was moved (transfer, bandwidth) or
/// where it broke (sweep). At most one of each; the last two are `charts`' own.
pub fn story(run: &Run) -> Vec<Chart> {
    const SLOTS: [&[&str]; 2] = [
        &["spectrum-latency", "spectrum-rate", "spectrum-"],
        &["connect-", "delivery-", "transfer-", "bandwidth-", "sweep-"],
    ];
    let all = charts(run);
    let mut out: Vec<Chart> = Vec::new();
    out.extend(throughput::first_workload(
        &workloads(run),
        &Palette::for_run(run),
    ));
    for slot in SLOTS {
        let pick = slot
            .iter()
            .find_map(|prefix| all.iter().find(|c| c.id.starts_with(prefix)));
        out.extend(pick.cloned());
    }
    for c in &mut out {
        c.id = format!("answer-{}", c.id);
    }
    out
}

/// Whether a case's results have their own chart (push delivery, transfers, held
/// connections), so the generic latency and req/s charts leave it out.
fn has_own_chart(c: &CaseResult) -> bool {
    c.repetitions
        .iter()
        .any(|r| r.push.is_some() || r.transfer.is_some() || r.hold.is_some())
}

/// A file-name-safe id from `parts`: ASCII letters, digits, `-` and `_`.
fn slug(parts: &[&str]) -> String {
    let joined = parts.join("-");
    let s: String = joined
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' => c,
            _ => '_',
        })
        .collect();
    s.trim_matches('_').to_string()
}

/// Milliseconds from microseconds.
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}
