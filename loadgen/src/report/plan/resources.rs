//! Server resource charts: CPU % and memory over each workload's cases (protocols
//! overlaid, time from each case's start), and efficiency bars per section
//! (requests per CPU-second, memory per connection) from `CaseResult::efficiency`.

use super::throughput::workload_bars;
use super::{slug, Workload};
use crate::report::axis::{Axis, Scale};
use crate::report::chart::{Bar, BarPlot, Chart, LinePlot, Plot, Series};
use crate::report::palette::Palette;
use crate::results::{cpu_percent_series, memory_series};
use protolab_bench::{CaseResult, Kind};

/// CPU % and memory over time, one chart of two panels per workload observed.
pub fn usage(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut out = Vec::new();
    for w in ws
        .iter()
        .filter(|w| !matches!(w.cases[0].spec.kind, Kind::Connect { .. }))
    {
        let (mut cpu, mut mem) = (Vec::new(), Vec::new());
        let mut source = None;
        for c in &w.cases {
            let Some(u) = c.server_usage.as_ref().filter(|u| u.samples.len() >= 2) else {
                continue;
            };
            source = Some(u.source.clone());
            let colour = palette.colour(&c.spec.protocol);
            let label = c.spec.protocol.clone();
            cpu.push(Series {
                label: label.clone(),
                colour,
                dashed: false,
                points: cpu_percent_series(u),
            });
            let points = memory_series(u)
                .into_iter()
                .map(|(t, b)| (t, b as f64 / 1_048_576.0))
                .collect();
            mem.push(Series {
                label,
                colour,
                dashed: false,
                points,
            });
        }
        let Some(source) = source else { continue };
        let panel = |title: &str, y: Axis, series: Vec<Series>| LinePlot {
            title: title.into(),
            x: Axis::new("seconds since the case began", Scale::Linear),
            y,
            series,
            marks: Vec::new(),
            limits: Vec::new(),
        };
        out.push(Chart {
            id: slug(&["usage", w.name]),
            title: format!("Server CPU and memory: {}", w.name),
            subtitle: Some(format!(
                "sampled at ~1 Hz from {source}, warm-up included; 100% = one core"
            )),
            section: w.section.to_string(),
            plot: Plot::Panels(vec![
                panel("CPU", Axis::new("CPU (% of one core)", Scale::Linear), cpu),
                panel("memory", Axis::new("memory (MiB)", Scale::Fitted), mem),
            ]),
        });
    }
    out
}

/// Whether requests per CPU-second says something about a kind: not for serial
/// latency runs, cold connects or sweeps (whose steps the CPU total mixes).
fn shows_efficiency(kind: &Kind) -> bool {
    !matches!(
        kind,
        Kind::Latency | Kind::Connect { .. } | Kind::Sweep { .. }
    )
}

/// One efficiency chart: id prefix, title, subtitle, axis title, value of a case.
struct Figure {
    prefix: &'static str,
    title: &'static str,
    subtitle: &'static str,
    axis: &'static str,
    value: fn(&CaseResult) -> Option<Bar>,
}

const FIGURES: [Figure; 2] = [
    Figure {
        prefix: "cpu-efficiency",
        title: "Requests per server CPU-second",
        subtitle:
            "requests / server CPU-seconds over the case (warm-up CPU included: a lower bound)",
        axis: "requests per CPU-second",
        value: per_cpu,
    },
    Figure {
        prefix: "memory-per-connection",
        title: "Server memory per connection",
        subtitle: "(peak - starting memory) / the most connections open; cases of 64+ connections",
        axis: "KiB per connection",
        value: per_conn,
    },
];

fn per_cpu(c: &CaseResult) -> Option<Bar> {
    let v = c.efficiency()?.requests_per_cpu_second?;
    Some(Bar {
        value: v,
        whisker: None,
    })
}

fn per_conn(c: &CaseResult) -> Option<Bar> {
    let v = c.efficiency()?.memory_per_connection_bytes?;
    Some(Bar {
        value: v / 1024.0,
        whisker: None,
    })
}

/// Requests per server CPU-second and memory per connection, per section.
pub fn efficiency(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut sections: Vec<&str> = Vec::new();
    for w in ws
        .iter()
        .filter(|w| shows_efficiency(&w.cases[0].spec.kind))
    {
        if !sections.contains(&w.section) {
            sections.push(w.section);
        }
    }
    let mut out = Vec::new();
    for section in sections {
        let mine: Vec<&Workload<'_>> = ws.iter().filter(|w| w.section == section).collect();
        for f in &FIGURES {
            let (groups, series) = workload_bars(&mine, palette, f.value);
            if series.is_empty() {
                continue;
            }
            out.push(Chart {
                id: slug(&[f.prefix, section]),
                title: format!("{}, {section} kind", f.title),
                subtitle: Some(f.subtitle.into()),
                section: section.to_string(),
                plot: Plot::Bars(BarPlot {
                    value: Axis::new(f.axis, Scale::Linear),
                    groups,
                    series,
                }),
            });
        }
    }
    out
}
