//! Server resource charts: CPU % and memory over each workload's cases (protocols
//! overlaid, time from each case's start), and efficiency bars per section
//! (requests per CPU-second, memory per connection) from `CaseResult::efficiency`.

use super::throughput::workload_bars;
use super::{slug, Workload};
use crate::report::axis::{Axis, Scale};
use crate::report::chart::{Bar, BarPlot, Chart, LinePlot, Plot, Series};
use crate::report::palette::Palette;
use crate::results::{cpu_percent_series, memory_series};

/// CPU % and memory over time, one chart of two panels per workload observed.
pub fn usage(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut out = Vec::new();
    for w in ws {
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
                panel("memory", Axis::new("memory (MiB)", Scale::Linear), mem),
            ]),
        });
    }
    out
}

/// Requests per server CPU-second and memory per connection, per section.
pub fn efficiency(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut sections: Vec<&str> = Vec::new();
    ws.iter().for_each(|w| {
        if !sections.contains(&w.section) {
            sections.push(w.section)
        }
    });
    let mut out = Vec::new();
    for section in sections {
        let mine: Vec<&Workload<'_>> = ws.iter().filter(|w| w.section == section).collect();
        let per_cpu = |c: &crate::scenario::CaseResult| {
            c.efficiency()?.requests_per_cpu_second.map(|v| Bar {
                value: v,
                whisker: None,
            })
        };
        let per_conn = |c: &crate::scenario::CaseResult| {
            c.efficiency()?.memory_per_connection_bytes.map(|v| Bar {
                value: v / 1024.0,
                whisker: None,
            })
        };
        let charts: [(
            &str,
            &str,
            &str,
            &str,
            &dyn Fn(&crate::scenario::CaseResult) -> Option<Bar>,
        ); 2] = [
            (
                "cpu-efficiency",
                "Requests per server CPU-second",
                "requests / server CPU-seconds over the case (warm-up CPU included: a lower bound)",
                "requests per CPU-second",
                &per_cpu,
            ),
            (
                "memory-per-connection",
                "Server memory per connection",
                "peak minus starting memory over the most connections open",
                "KiB per connection",
                &per_conn,
            ),
        ];
        for (prefix, title, sub, axis, f) in charts {
            let (groups, series) = workload_bars(&mine, palette, f);
            if series.is_empty() {
                continue;
            }
            out.push(Chart {
                id: slug(&[prefix, section]),
                title: format!("{title} ({section})"),
                subtitle: Some(sub.into()),
                section: section.to_string(),
                plot: Plot::Bars(BarPlot {
                    value: Axis::new(axis, Scale::Linear),
                    groups,
                    series,
                }),
            });
        }
    }
    out
}
