//! Throughput charts: req/s bars per protocol with confidence-interval whiskers,
//! and the grouped-bar data every per-workload bar chart shares.

use super::{family, has_own_chart, slug, Family, Workload};
use crate::report::axis::{Axis, Scale};
use crate::report::chart::{Bar, BarPlot, BarSeries, Chart, Plot};
use crate::report::palette::Palette;
use protolab_bench::{CaseResult, Kind, Status};

/// Protocols of `cases` in order of first appearance.
pub(super) fn protocols<'a>(cases: impl Iterator<Item = &'a CaseResult>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for c in cases {
        if !out.contains(&c.spec.protocol.as_str()) {
            out.push(&c.spec.protocol);
        }
    }
    out
}

/// Grouped bars: one group per workload, one bar per protocol, `bar` per case.
pub(super) fn workload_bars(
    ws: &[&Workload<'_>],
    palette: &Palette,
    bar: impl Fn(&CaseResult) -> Option<Bar>,
) -> (Vec<String>, Vec<BarSeries>) {
    let ws: Vec<&&Workload<'_>> = ws
        .iter()
        .filter(|w| w.cases.iter().any(|c| bar(c).is_some()))
        .collect();
    let protos = protocols(ws.iter().flat_map(|w| w.cases.iter().copied()));
    let series = protos
        .iter()
        .map(|p| BarSeries {
            label: p.to_string(),
            colour: palette.colour(p),
            bars: ws
                .iter()
                .map(|w| {
                    w.cases
                        .iter()
                        .find(|c| c.spec.protocol == *p)
                        .and_then(|c| bar(c))
                })
                .collect(),
        })
        .filter(|s| s.bars.iter().any(Option::is_some))
        .collect();
    (ws.iter().map(|w| w.name.to_string()).collect(), series)
}

/// Whether a kind's req/s is the result (not set by the load model or by latency).
fn shows_throughput(kind: &Kind) -> bool {
    family(kind) == Family::Requests && !matches!(kind, Kind::Rate | Kind::Latency)
}

/// Mean req/s over repetitions with its 95% CI as the whisker (none for n = 1).
fn rps_bar(c: &CaseResult) -> Option<Bar> {
    if has_own_chart(c) {
        return None;
    }
    let s = c.stats.get(&protolab_bench::Metric::Rps)?;
    (s.kept > 0).then(|| Bar {
        value: s.mean,
        whisker: (!s.ci95_degenerate).then_some((s.ci95_low.max(0.0), s.ci95_high)),
    })
}

/// One req/s bar chart per section whose kind measures throughput.
pub fn bars(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut sections: Vec<&str> = Vec::new();
    for w in ws
        .iter()
        .filter(|w| shows_throughput(&w.cases[0].spec.kind))
    {
        if !sections.contains(&w.section) {
            sections.push(w.section);
        }
    }
    sections
        .into_iter()
        .filter_map(|section| {
            let mine: Vec<&Workload<'_>> = ws.iter().filter(|w| w.section == section).collect();
            let title = format!("Requests per second, {section} kind");
            chart(
                slug(&["throughput", section]),
                title,
                section,
                &mine,
                palette,
            )
        })
        .collect()
}

/// The req/s bars of the first workload whose kind measures throughput (one
/// workload: a chart short enough to sit beside another at the top of a report);
/// a protocol whose case was not valid says so in the legend, as it may not lead.
pub fn first_workload(ws: &[Workload<'_>], palette: &Palette) -> Option<Chart> {
    let w = ws
        .iter()
        .find(|w| shows_throughput(&w.cases[0].spec.kind))?;
    let title = format!("Requests per second: {}", w.name);
    let mut chart = chart(slug(&["rps", w.name]), title, w.section, &[w], palette)?;
    if let Plot::Bars(bars) = &mut chart.plot {
        for s in &mut bars.series {
            let case = w.cases.iter().find(|c| c.spec.protocol == s.label);
            if let Some(c) = case.filter(|c| c.status != Status::Valid) {
                s.label = format!("{} ({})", s.label, c.status.as_str());
            }
        }
    }
    Some(chart)
}

/// A req/s bar chart of `mine`; `None` when no case of it has a figure.
fn chart(
    id: String,
    title: String,
    section: &str,
    mine: &[&Workload<'_>],
    palette: &Palette,
) -> Option<Chart> {
    let (groups, series) = workload_bars(mine, palette, rps_bar);
    if series.is_empty() {
        return None;
    }
    let repeated = mine
        .iter()
        .flat_map(|w| &w.cases)
        .any(|c| c.repetitions.len() > 1);
    let sub = if repeated {
        "mean over repetitions; whiskers: 95% confidence interval of the mean"
    } else {
        "single repetition: no confidence interval (use --repeat for one)"
    };
    Some(Chart {
        id,
        title,
        subtitle: Some(sub.into()),
        section: section.to_string(),
        plot: Plot::Bars(BarPlot {
            value: Axis::new("successful requests per second", Scale::Linear),
            groups,
            series,
        }),
    })
}
