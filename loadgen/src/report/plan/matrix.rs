//! A suite's matrix (reference/003's replicas × clients × messages, or × rate):
//! per endpoint and workload, a heatmap of calls/s and one of P99 (replicas ×
//! clients, a panel per message count, one colour scale), calls/s and P99 against
//! replicas (a line per client count), and a 3D surface of calls/s over replicas ×
//! clients. Every chart says how many cores the host has: replicas on one host
//! share them, and past that count scaling is bounded by the host, not the
//! protocol.

use super::slug;
use crate::report::axis::{Axis, Scale};
use crate::report::chart::{Chart, HeatPanel, HeatmapPlot, LinePlot, Plot, Series, SurfacePlot};
use crate::report::draw::scale_colour;
use crate::results::Run;
use protolab_bench::{CaseResult, MatrixCell, Metric};

/// The report section of matrix cases.
pub const SECTION: &str = "matrix";

/// One endpoint's cells of one workload (same kind and op).
pub struct Grid<'a> {
    pub protocol: &'a str,
    pub workload: String,
    pub cells: Vec<(MatrixCell, &'a CaseResult)>,
}

impl Grid<'_> {
    /// Sorted distinct values of one coordinate.
    fn axis<T: PartialOrd + Copy>(&self, f: impl Fn(&MatrixCell) -> T) -> Vec<T> {
        let mut v: Vec<T> = Vec::new();
        for (c, _) in &self.cells {
            if !v.contains(&f(c)) {
                v.push(f(c));
            }
        }
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v
    }

    fn replicas(&self) -> Vec<u32> {
        self.axis(|c| c.replicas)
    }

    fn clients(&self) -> Vec<usize> {
        self.axis(|c| c.clients)
    }

    /// The third coordinate (messages each, or the rate), as a number.
    fn thirds(&self) -> Vec<f64> {
        self.axis(third)
    }

    /// What the third coordinate is, for a panel title.
    fn third_name(&self, v: f64) -> String {
        match self.cells.first().map(|(c, _)| c.messages.is_some()) {
            Some(true) => format!("{v:.0} message(s) per client"),
            _ => format!("{v:.0} calls/s offered"),
        }
    }

    fn value(
        &self,
        r: u32,
        c: usize,
        t: f64,
        metric: fn(&CaseResult) -> Option<f64>,
    ) -> Option<f64> {
        self.cells
            .iter()
            .find(|(cell, _)| cell.replicas == r && cell.clients == c && third(cell) == t)
            .and_then(|(_, case)| metric(case))
    }
}

fn third(c: &MatrixCell) -> f64 {
    c.messages.map(|m| m as f64).or(c.rate).unwrap_or(0.0)
}

/// Mean calls/s over the repetitions the outlier rule kept.
pub fn rps(c: &CaseResult) -> Option<f64> {
    measured(c)?;
    c.stats
        .get(&Metric::Rps)
        .map(|s| s.mean)
        .or_else(|| c.headline().map(|h| h.rps))
}

/// P99 of every call of the cell (all repetitions merged), ms.
pub fn p99_ms(c: &CaseResult) -> Option<f64> {
    measured(c)?;
    c.headline().map(|h| h.tail().p99_us as f64 / 1000.0)
}

fn measured(c: &CaseResult) -> Option<()> {
    (c.skipped.is_none() && !c.repetitions.is_empty()).then_some(())
}

/// The run's matrix grids, in order of first appearance.
pub fn grids(run: &Run) -> Vec<Grid<'_>> {
    let mut out: Vec<Grid<'_>> = Vec::new();
    for case in &run.cases {
        let Some(cell) = case.cell else { continue };
        let workload = format!("{} {}", case.spec.kind.name(), case.spec.op.name());
        match out
            .iter_mut()
            .find(|g| g.protocol == case.spec.protocol && g.workload == workload)
        {
            Some(g) => g.cells.push((cell, case)),
            None => out.push(Grid {
                protocol: &case.spec.protocol,
                workload,
                cells: vec![(cell, case)],
            }),
        }
    }
    out
}

/// One line per grid for the report's answer: the valid cell with the most calls/s,
/// and what replicas past the host's core count added.
pub fn answers(run: &Run) -> Vec<String> {
    let cores = run.environment.cores_online.max(1) as u32;
    grids(run)
        .iter()
        .filter_map(|g| {
            let valid = |within: bool| {
                g.cells
                    .iter()
                    .filter(|(cell, c)| c.valid && (cell.replicas <= cores) == within)
                    .filter_map(|(cell, c)| Some((*cell, rps(c)?)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
            };
            let best = [valid(true), valid(false)]
                .into_iter()
                .flatten()
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            let (cell, v) = best;
            let what = match (cell.messages, cell.rate) {
                (Some(m), _) => format!(", {m} message(s) each"),
                (None, Some(r)) => format!(", {r:.0} calls/s offered"),
                (None, None) => String::new(),
            };
            let mut line = format!(
                "**{} {}** (matrix): most calls/s {v:.0}, at {} replica(s) × {} clients{what}.",
                g.protocol, g.workload, cell.replicas, cell.clients
            );
            if let (Some((_, within)), Some((_, past))) = (valid(true), valid(false)) {
                line.push_str(&format!(
                    " Past the host's {cores} core(s), the best cell made {:.2}× the best within them: \
                     replicas there share the same cores.",
                    past / within.max(f64::MIN_POSITIVE)
                ));
            }
            Some(line)
        })
        .collect()
}

/// Every matrix chart of `run`.
pub fn charts(run: &Run) -> Vec<Chart> {
    let cores = run.environment.cores_online;
    let host = format!(
        "host: {cores} core(s), shared by every replica: past {cores}, scaling is bounded by the host"
    );
    let mut out = Vec::new();
    for g in grids(run) {
        let name = format!("{} {}", g.protocol, g.workload);
        let (replicas, clients, thirds) = (g.replicas(), g.clients(), g.thirds());
        let heat = |metric: fn(&CaseResult) -> Option<f64>, higher_is_better| HeatmapPlot {
            rows: replicas.iter().map(ToString::to_string).collect(),
            row_title: "server replicas".into(),
            columns: clients.iter().map(ToString::to_string).collect(),
            column_title: "clients".into(),
            panels: thirds
                .iter()
                .map(|&t| HeatPanel {
                    title: g.third_name(t),
                    values: replicas
                        .iter()
                        .map(|&r| clients.iter().map(|&c| g.value(r, c, t, metric)).collect())
                        .collect(),
                })
                .collect(),
            higher_is_better,
        };
        out.push(Chart {
            id: slug(&["matrix-rps", g.protocol, &g.workload]),
            title: format!("Calls/s by replicas and clients: {name}"),
            subtitle: Some(format!(
                "mean of each cell's repetitions (z-score outliers removed); brighter is more; {host}"
            )),
            section: SECTION.into(),
            plot: Plot::Heatmap(heat(rps, true)),
        });
        out.push(Chart {
            id: slug(&["matrix-p99", g.protocol, &g.workload]),
            title: format!("P99 latency (ms) by replicas and clients: {name}"),
            subtitle: Some(format!(
                "every call of each cell, failed ones included; brighter is faster; {host}"
            )),
            section: SECTION.into(),
            plot: Plot::Heatmap(heat(p99_ms, false)),
        });
        let Some(&last) = thirds.last() else { continue };
        if replicas.len() >= 2 {
            let lines = |metric: fn(&CaseResult) -> Option<f64>| -> Vec<Series> {
                clients
                    .iter()
                    .enumerate()
                    .map(|(k, &c)| Series {
                        label: format!("{c} clients"),
                        colour: scale_colour(k as f64 / (clients.len().max(2) - 1) as f64 * 0.85),
                        dashed: false,
                        points: replicas
                            .iter()
                            .filter_map(|&r| Some((f64::from(r), g.value(r, c, last, metric)?)))
                            .collect(),
                    })
                    .collect()
            };
            let panel = |title: &str, y: Axis, series| LinePlot {
                title: title.into(),
                x: Axis::new("server replicas", Scale::Linear),
                y,
                series,
                marks: Vec::new(),
                limits: Vec::new(),
            };
            out.push(Chart {
                id: slug(&["matrix-scaling", g.protocol, &g.workload]),
                title: format!("Scaling with replicas: {name}, {}", g.third_name(last)),
                subtitle: Some(host.clone()),
                section: SECTION.into(),
                plot: Plot::Panels(vec![
                    panel("calls/s", Axis::new("calls/s", Scale::Linear), lines(rps)),
                    panel("P99", Axis::new("P99 (ms)", Scale::Linear), lines(p99_ms)),
                ]),
            });
        }
        if replicas.len() >= 2 && clients.len() >= 2 {
            let z: Vec<Vec<f64>> = replicas
                .iter()
                .map(|&r| {
                    clients
                        .iter()
                        .map(|&c| g.value(r, c, last, rps).unwrap_or(f64::NAN))
                        .collect()
                })
                .collect();
            out.push(Chart {
                id: slug(&["matrix-surface", g.protocol, &g.workload]),
                title: format!(
                    "Calls/s over replicas × clients: {name}, {}",
                    g.third_name(last)
                ),
                subtitle: Some(format!(
                    "x: server replicas, depth: clients, height: calls/s; {host}"
                )),
                section: SECTION.into(),
                plot: Plot::Surface(SurfacePlot {
                    x_title: "server replicas".into(),
                    x: replicas.iter().map(|&r| f64::from(r)).collect(),
                    y_title: "clients".into(),
                    y: clients.iter().map(|&c| c as f64).collect(),
                    z_title: "calls/s".into(),
                    z,
                }),
            });
        }
    }
    out
}
