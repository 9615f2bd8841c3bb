//! Bulk-data charts: echo bandwidth by payload size (one line per protocol), and
//! large-transfer MB/s by size and chunk size per direction (mean of every
//! transfer, whiskers slowest..fastest).

use super::throughput::protocols;
use super::{family, slug, Family, Workload};
use crate::report::axis::{self, Axis, Scale};
use crate::report::chart::{Bar, BarPlot, BarSeries, Chart, LinePlot, Plot, Series};
use crate::report::palette::Palette;
use crate::results::Run;
use protolab_bench::CaseResult;
use protolab_bench::Direction;
use protolab_bench::OpSpec;

/// A bandwidth workload without its `/<size>B` suffix: the sizes of one family.
fn stem(c: &CaseResult) -> &str {
    let w = c.workload();
    match w.rsplit_once('/') {
        Some((head, tail)) if tail.strip_suffix('B').is_some_and(is_number) => head,
        _ => w,
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|d| d.is_ascii_digit())
}

/// Echo MB/s by payload size, one chart per bandwidth family.
pub fn bandwidth(run: &Run, palette: &Palette) -> Vec<Chart> {
    let cases: Vec<&CaseResult> = run
        .cases
        .iter()
        .filter(|c| family(&c.spec.kind) == Family::Bandwidth)
        .collect();
    let mut stems: Vec<&str> = Vec::new();
    for c in &cases {
        if !stems.contains(&stem(c)) {
            stems.push(stem(c));
        }
    }
    stems
        .into_iter()
        .filter_map(|s| {
            let mine: Vec<&CaseResult> = cases.iter().copied().filter(|c| stem(c) == s).collect();
            bandwidth_chart(s, &mine, palette)
        })
        .collect()
}

/// (payload bytes, MB/s returned) of `protocol`'s echo cases, by size.
fn echo_points(cases: &[&CaseResult], protocol: &str) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = cases
        .iter()
        .filter(|c| c.spec.protocol == protocol)
        .filter_map(|c| match c.spec.op {
            OpSpec::Echo { size } => {
                Some((size as f64, c.repetitions.last()?.summary.mbps_received))
            }
            _ => None,
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

fn bandwidth_chart(stem: &str, cases: &[&CaseResult], palette: &Palette) -> Option<Chart> {
    let series: Vec<Series> = protocols(cases.iter().copied())
        .into_iter()
        .map(|p| Series {
            label: p.to_string(),
            colour: palette.colour(p),
            dashed: false,
            points: echo_points(cases, p),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    let first = cases.first().filter(|_| !series.is_empty())?;
    let y = Axis::auto(
        "MB/s",
        series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
        20.0,
    );
    Some(Chart {
        id: slug(&["bandwidth", stem]),
        title: format!("Echo bandwidth by payload size: {stem}"),
        subtitle: Some(
            "payload MB/s (10^6 B) returned by the server, last repetition; as much flows up"
                .into(),
        ),
        section: first.spec.kind.name().to_string(),
        plot: Plot::Lines(LinePlot {
            title: String::new(),
            x: Axis::new("payload size", Scale::Bytes),
            y,
            series,
            marks: Vec::new(),
            limits: Vec::new(),
        }),
    })
}

/// One case's transfers in one direction.
struct TransferRow<'a> {
    key: (u64, Option<u64>),
    protocol: &'a str,
    section: &'static str,
    /// MB/s of every transfer, all repetitions.
    mbps: Vec<f64>,
}

fn transfer_rows<'a>(cases: &[&'a CaseResult], dir: Direction) -> Vec<TransferRow<'a>> {
    cases
        .iter()
        .filter_map(|c| {
            let ts: Vec<_> = c
                .repetitions
                .iter()
                .filter_map(|r| r.transfer.as_ref())
                .filter(|t| t.direction == dir)
                .collect();
            let first = ts.first()?;
            Some(TransferRow {
                key: (first.size_bytes, first.chunk_bytes),
                protocol: &c.spec.protocol,
                section: c.spec.kind.name(),
                mbps: ts.iter().flat_map(|t| t.mbps.iter().copied()).collect(),
            })
        })
        .collect()
}

/// Mean MB/s with slowest..fastest as the whisker (none for a single transfer).
fn transfer_bar(mbps: &[f64]) -> Option<Bar> {
    let n = mbps.len();
    let (lo, hi) = mbps
        .iter()
        .fold((f64::MAX, 0f64), |(l, h), v| (l.min(*v), h.max(*v)));
    (n > 0).then(|| Bar {
        value: mbps.iter().sum::<f64>() / n as f64,
        whisker: (n > 1).then_some((lo, hi)),
    })
}

fn transfer_label((size, chunk): (u64, Option<u64>)) -> String {
    match chunk {
        Some(c) => format!("{} in {} chunks", axis::size(size), axis::size(c)),
        None => format!("{} whole body", axis::size(size)),
    }
}

/// Transfer MB/s by size and chunk size, one chart per direction.
pub fn transfers(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let cases: Vec<&CaseResult> = ws.iter().flat_map(|w| w.cases.iter().copied()).collect();
    let mut out = Vec::new();
    for (dir, name) in [
        (Direction::Upload, "upload"),
        (Direction::Download, "download"),
    ] {
        let rows = transfer_rows(&cases, dir);
        let Some(section) = rows.first().map(|r| r.section) else {
            continue;
        };
        let mut keys: Vec<(u64, Option<u64>)> = rows.iter().map(|r| r.key).collect();
        keys.sort();
        keys.dedup();
        let mut protos: Vec<&str> = Vec::new();
        for r in &rows {
            if !protos.contains(&r.protocol) {
                protos.push(r.protocol);
            }
        }
        let series = protos
            .iter()
            .map(|p| BarSeries {
                label: p.to_string(),
                colour: palette.colour(p),
                bars: keys
                    .iter()
                    .map(|k| {
                        rows.iter()
                            .find(|r| r.key == *k && r.protocol == *p)
                            .and_then(|r| transfer_bar(&r.mbps))
                    })
                    .collect(),
            })
            .collect();
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
                groups: keys.into_iter().map(transfer_label).collect(),
                series,
            }),
        });
    }
    out
}
