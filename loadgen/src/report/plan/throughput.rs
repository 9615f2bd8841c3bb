//! Throughput charts: req/s bars per protocol with confidence-interval whiskers,
//! echo bandwidth by payload size, and large-transfer MB/s by size and chunk.

use super::{family, has_own_chart, slug, Family, Workload};
use crate::report::axis::{self, Axis, Scale};
use crate::report::chart::{Bar, BarPlot, BarSeries, Chart, LinePlot, Plot, Series};
use crate::report::palette::Palette;
use crate::results::Run;
use crate::scenario::{CaseResult, Kind};
use crate::stats::Direction;

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
    let s = c.stats.get("rps")?;
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
    let mut out = Vec::new();
    for section in sections {
        let mine: Vec<&Workload<'_>> = ws.iter().filter(|w| w.section == section).collect();
        let (groups, series) = workload_bars(&mine, palette, rps_bar);
        if series.is_empty() {
            continue;
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
        out.push(Chart {
            id: slug(&["throughput", section]),
            title: format!("Throughput ({section})"),
            subtitle: Some(sub.into()),
            section: section.to_string(),
            plot: Plot::Bars(BarPlot {
                value: Axis::new("successful requests per second", Scale::Linear),
                groups,
                series,
            }),
        });
    }
    out
}

/// Echo MB/s by payload size, one line per protocol, per bandwidth workload family
/// (the workload name without its `/<size>B` suffix).
pub fn bandwidth(run: &Run, palette: &Palette) -> Vec<Chart> {
    let cases: Vec<&CaseResult> = run
        .cases
        .iter()
        .filter(|c| family(&c.spec.kind) == Family::Bandwidth)
        .collect();
    let stem = |c: &CaseResult| -> String {
        let w = c.workload();
        match w.rsplit_once('/') {
            Some((head, tail))
                if tail.ends_with('B')
                    && tail[..tail.len() - 1].chars().all(|d| d.is_ascii_digit()) =>
            {
                head.to_string()
            }
            _ => w.to_string(),
        }
    };
    let mut stems: Vec<String> = cases.iter().map(|c| stem(c)).collect();
    stems.dedup();
    stems.sort();
    stems.dedup();
    let mut out = Vec::new();
    for s in stems {
        let mine: Vec<&CaseResult> = cases.iter().copied().filter(|c| stem(c) == s).collect();
        let series: Vec<Series> = protocols(mine.iter().copied())
            .iter()
            .map(|p| {
                let mut points: Vec<(f64, f64)> = mine
                    .iter()
                    .filter(|c| c.spec.protocol == *p)
                    .filter_map(|c| {
                        let size = match c.spec.op {
                            crate::driver::OpSpec::Echo { size } => size as f64,
                            _ => return None,
                        };
                        Some((size, c.repetitions.last()?.summary.mbps_received))
                    })
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series {
                    label: p.to_string(),
                    colour: palette.colour(p),
                    dashed: false,
                    points,
                }
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        if series.is_empty() {
            continue;
        }
        out.push(Chart {
            id: slug(&["bandwidth", &s]),
            title: format!("Echo bandwidth by payload size: {s}"),
            subtitle: Some(
                "payload MB/s (10^6 B) returned by the server, last repetition; the same flows up"
                    .into(),
            ),
            section: mine[0].spec.kind.name().to_string(),
            plot: Plot::Lines(LinePlot {
                title: String::new(),
                x: Axis::new("payload size", Scale::Bytes),
                y: Axis::auto(
                    "MB/s",
                    series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
                    20.0,
                ),
                series,
                marks: Vec::new(),
                limits: Vec::new(),
            }),
        });
    }
    out
}

/// Transfer MB/s by size and chunk size, per direction: mean of every transfer,
/// whiskers slowest..fastest.
pub fn transfers(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let cases: Vec<&CaseResult> = ws.iter().flat_map(|w| w.cases.iter().copied()).collect();
    let mut out = Vec::new();
    for (dir, name) in [
        (Direction::Upload, "upload"),
        (Direction::Download, "download"),
    ] {
        // (size, chunk, protocol, MB/s of every transfer of the case)
        let mut rows: Vec<(u64, Option<u64>, &str, Vec<f64>)> = Vec::new();
        for c in &cases {
            let ts: Vec<_> = c
                .repetitions
                .iter()
                .filter_map(|r| r.transfer.as_ref())
                .filter(|t| t.direction == dir)
                .collect();
            let Some(first) = ts.first() else { continue };
            let mbps = ts.iter().flat_map(|t| t.mbps.iter().copied()).collect();
            rows.push((
                first.size_bytes,
                first.chunk_bytes,
                c.spec.protocol.as_str(),
                mbps,
            ));
        }
        if rows.is_empty() {
            continue;
        }
        let mut keys: Vec<(u64, Option<u64>)> = rows.iter().map(|r| (r.0, r.1)).collect();
        keys.sort();
        keys.dedup();
        let label = |(size, chunk): (u64, Option<u64>)| match chunk {
            Some(c) => format!("{} in {} chunks", axis::size(size), axis::size(c)),
            None => format!("{} whole body", axis::size(size)),
        };
        let protos: Vec<&str> = {
            let mut p: Vec<&str> = Vec::new();
            rows.iter().for_each(|r| {
                if !p.contains(&r.2) {
                    p.push(r.2)
                }
            });
            p
        };
        let series = protos
            .iter()
            .map(|p| BarSeries {
                label: p.to_string(),
                colour: palette.colour(p),
                bars: keys
                    .iter()
                    .map(|k| {
                        let r = rows.iter().find(|r| (r.0, r.1) == *k && r.2 == *p)?;
                        let n = r.3.len();
                        let (lo, hi) =
                            r.3.iter()
                                .fold((f64::MAX, 0f64), |(l, h), v| (l.min(*v), h.max(*v)));
                        (n > 0).then(|| Bar {
                            value: r.3.iter().sum::<f64>() / n as f64,
                            whisker: (n > 1).then_some((lo, hi)),
                        })
                    })
                    .collect(),
            })
            .collect();
        let section = cases
            .iter()
            .find(|c| c.repetitions.iter().any(|r| r.transfer.is_some()))
            .map_or("transfer", |c| c.spec.kind.name());
        out.push(Chart {
            id: slug(&["transfer", name]),
            title: format!("Transfer throughput ({name})"),
            subtitle: Some(
                "mean MB/s (10^6 B) per transfer, CRC-checked; whiskers: slowest..fastest transfer"
                    .into(),
            ),
            section: section.to_string(),
            plot: Plot::Bars(BarPlot {
                value: Axis::new("MB/s", Scale::Linear),
                groups: keys.into_iter().map(label).collect(),
                series,
            }),
        });
    }
    out
}
