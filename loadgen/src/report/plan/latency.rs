//! Latency charts: percentile spectra per workload (protocols overlaid), box plots
//! across repetitions, rate-vs-latency for sweeps with the knee, the connection
//! set-up breakdown, and push delivery / held-connection probe spectra.

use super::{family, has_own_chart, ms, slug, Family, Workload};
use crate::report::axis::{Axis, Scale};
use crate::report::chart::{
    BoxPlot, BoxSeries, Chart, FiveNumbers, LinePlot, Mark, Plot, Series, StackedPlot, StackedRow,
};
use crate::report::palette::{Palette, STAGES};
use crate::scenario::{CaseResult, Kind, Repetition};
use crate::stats::Percentiles;

/// (quantile, µs) points of a distribution, min to 99.99%.
fn spectrum_points(p: &Percentiles) -> Vec<(f64, f64)> {
    [
        (0.0, p.min_us),
        (0.5, p.p50_us),
        (0.9, p.p90_us),
        (0.95, p.p95_us),
        (0.99, p.p99_us),
        (0.999, p.p999_us),
        (0.9999, p.p9999_us),
    ]
    .iter()
    .map(|&(q, us)| (q, ms(us)))
    .collect()
}

/// A spectrum chart of one distribution per protocol.
fn spectrum(
    id: String,
    title: String,
    subtitle: String,
    section: &str,
    dists: Vec<(&str, &Percentiles)>,
    palette: &Palette,
) -> Option<Chart> {
    let dists: Vec<_> = dists.into_iter().filter(|(_, p)| p.count > 0).collect();
    if dists.is_empty() {
        return None;
    }
    let series: Vec<Series> = dists
        .iter()
        .map(|(proto, p)| Series {
            label: format!("{proto} (n={})", p.count),
            colour: palette.colour(proto),
            dashed: false,
            points: spectrum_points(p),
        })
        .collect();
    let y = Axis::latency_ms(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    Some(Chart {
        id,
        title,
        subtitle: Some(subtitle),
        section: section.to_string(),
        plot: Plot::Lines(LinePlot {
            title: String::new(),
            x: Axis::new("percentile", Scale::Nines),
            y,
            series,
            marks: Vec::new(),
            limits: Vec::new(),
        }),
    })
}

/// Latency spectra of request/response workloads (the last repetition of each case).
pub fn spectra(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut out = Vec::new();
    for w in ws
        .iter()
        .filter(|w| family(&w.cases[0].spec.kind) == Family::Requests)
    {
        let dists: Vec<(&str, &Percentiles)> = w
            .cases
            .iter()
            .filter(|c| !has_own_chart(c))
            .filter_map(|c| {
                Some((
                    c.spec.protocol.as_str(),
                    &c.repetitions.last()?.summary.latency,
                ))
            })
            .collect();
        let open = w
            .cases
            .iter()
            .any(|c| matches!(c.spec.plan.model, crate::engine::Model::Open { .. }));
        let sub = if open {
            "HdrHistogram percentiles, last repetition; open loop: from the intended send time (CO-corrected)"
        } else {
            "HdrHistogram percentiles of the last repetition of each case"
        };
        out.extend(spectrum(
            slug(&["spectrum", w.name]),
            format!("Latency by percentile: {}", w.name),
            sub.to_string(),
            w.section,
            dists,
            palette,
        ));
    }
    out
}

/// A percentile's name and where a repetition keeps it.
type Pick = (&'static str, fn(&Repetition) -> u64);

/// Box plots of P50/P95/P99 across repetitions, for workloads repeated 2+ times.
pub fn boxes(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut out = Vec::new();
    let picks: [Pick; 3] = [
        ("P50", |r| r.summary.latency.p50_us),
        ("P95", |r| r.summary.latency.p95_us),
        ("P99", |r| r.summary.latency.p99_us),
    ];
    for w in ws
        .iter()
        .filter(|w| family(&w.cases[0].spec.kind) == Family::Requests)
    {
        let reps = w
            .cases
            .iter()
            .map(|c| c.repetitions.len())
            .max()
            .unwrap_or(0);
        if reps < 2 {
            continue;
        }
        let series: Vec<BoxSeries> = w
            .cases
            .iter()
            .filter(|c| !c.repetitions.is_empty() && !has_own_chart(c))
            .map(|c| BoxSeries {
                label: format!("{} (n={})", c.spec.protocol, c.repetitions.len()),
                colour: palette.colour(&c.spec.protocol),
                boxes: picks
                    .iter()
                    .map(|(_, f)| {
                        let v: Vec<f64> = c.repetitions.iter().map(|r| ms(f(r))).collect();
                        FiveNumbers::of(&v)
                    })
                    .collect(),
            })
            .collect();
        let all = series.iter().flat_map(|s| s.boxes.iter().flatten());
        let y = Axis::latency_ms(all.flat_map(|b| [b.min, b.max]));
        out.push(Chart {
            id: slug(&["boxes", w.name]),
            title: format!("Latency across repetitions: {}", w.name),
            subtitle: Some(
                "box: quartiles of the repetitions, bar: median, whiskers: min..max".into(),
            ),
            section: w.section.to_string(),
            plot: Plot::Boxes(BoxPlot {
                y,
                groups: picks.iter().map(|p| p.0.to_string()).collect(),
                series,
            }),
        });
    }
    out
}

/// Offered rate against P50 (dashed) and P99 (solid) for sweeps, knees marked.
pub fn sweeps(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut out = Vec::new();
    for w in ws
        .iter()
        .filter(|w| family(&w.cases[0].spec.kind) == Family::Sweep)
    {
        let (mut series, mut marks) = (Vec::new(), Vec::new());
        for c in &w.cases {
            let steps: Vec<(f64, &Percentiles)> = c
                .repetitions
                .iter()
                .filter_map(|r| Some((r.offered_rate?, &r.summary.latency)))
                .collect();
            let colour = palette.colour(&c.spec.protocol);
            for (name, dashed, pick) in [
                ("P99", false, p99 as fn(&Percentiles) -> u64),
                ("P50", true, p50),
            ] {
                series.push(Series {
                    label: format!("{} {name}", c.spec.protocol),
                    colour,
                    dashed,
                    points: steps.iter().map(|(r, p)| (*r, ms(pick(p)))).collect(),
                });
            }
            if let Some(knee) = c.knee_rate {
                let at = steps.iter().find(|(r, _)| (*r - knee).abs() < 1e-6);
                marks.extend(at.map(|(r, p)| Mark {
                    x: *r,
                    y: ms(p.p99_us),
                    label: format!("knee {}/s", crate::report::axis::short(*r)),
                    colour,
                }));
            }
        }
        let limits = match &w.cases[0].spec.kind {
            Kind::Sweep { p99_limit_ms, .. } => vec![Mark {
                x: 0.0,
                y: *p99_limit_ms,
                label: format!("P99 limit {p99_limit_ms} ms"),
                colour: plotters::style::RGBColor(200, 0, 0),
            }],
            _ => Vec::new(),
        };
        let rates: Vec<f64> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        let (lo, hi) = rates
            .iter()
            .fold((f64::MAX, 0f64), |(l, h), r| (l.min(*r), h.max(*r)));
        let x_scale = if hi > 8.0 * lo {
            Scale::Log
        } else {
            Scale::Linear
        };
        let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
        let y = Axis::latency_ms(ys.chain(limits.iter().map(|l| l.y)));
        out.push(Chart {
            id: slug(&["sweep", w.name]),
            title: format!("Latency against offered rate: {}", w.name),
            subtitle: Some(
                "open-loop steps; knee: the highest rate that met the P99, error and rate limits"
                    .into(),
            ),
            section: w.section.to_string(),
            plot: Plot::Lines(LinePlot {
                title: String::new(),
                x: Axis::new("offered rate (req/s)", x_scale),
                y,
                series,
                marks,
                limits,
            }),
        });
    }
    out
}

fn p50(p: &Percentiles) -> u64 {
    p.p50_us
}

fn p99(p: &Percentiles) -> u64 {
    p.p99_us
}

/// Stacked connection set-up (median per stage) per protocol, for connect workloads.
pub fn connects(ws: &[Workload<'_>]) -> Vec<Chart> {
    let mut out = Vec::new();
    for w in ws
        .iter()
        .filter(|w| family(&w.cases[0].spec.kind) == Family::Connect)
    {
        let rows: Vec<StackedRow> = w
            .cases
            .iter()
            .filter_map(|c| {
                let b = c.repetitions.last()?.connect.as_ref()?;
                let opt = |p: &Option<Percentiles>| p.as_ref().map_or(0.0, |p| ms(p.p50_us));
                Some(StackedRow {
                    label: c.spec.protocol.clone(),
                    segments: vec![
                        ms(b.tcp.p50_us),
                        opt(&b.tls),
                        opt(&b.handshake),
                        ms(b.first_call.p50_us),
                    ],
                    total: Some(ms(b.total.p50_us)),
                })
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let attempts: Vec<String> = w.cases.iter().filter_map(connect_attempts).collect();
        out.push(Chart {
            id: slug(&["connect", w.name]),
            title: format!("Connection set-up: {}", w.name),
            subtitle: Some(format!(
                "median of each stage over {} attempts; black tick: median total (medians need not add up)",
                attempts.first().cloned().unwrap_or_else(|| "the".into())
            )),
            section: w.section.to_string(),
            plot: Plot::Stacked(StackedPlot {
                value: Axis::new("time (ms)", Scale::Linear),
                stages: STAGES.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
                rows,
                total_label: "total (median)".into(),
            }),
        });
    }
    out
}

fn connect_attempts(c: &&CaseResult) -> Option<String> {
    c.repetitions.last().map(|r| r.summary.requests.to_string())
}

/// Delivery latency of pushed events and the probe latency of held connections.
pub fn pushes(ws: &[Workload<'_>], palette: &Palette) -> Vec<Chart> {
    let mut out = Vec::new();
    for w in ws {
        let last = |c: &&CaseResult| c.repetitions.last().cloned();
        let push: Vec<(String, Percentiles)> = w
            .cases
            .iter()
            .filter_map(|c| Some((c.spec.protocol.clone(), last(c)?.push?.delivery)))
            .collect();
        let probe: Vec<(String, Percentiles)> = w
            .cases
            .iter()
            .filter_map(|c| Some((c.spec.protocol.clone(), last(c)?.hold?.probe)))
            .collect();
        let refs = |v: &[(String, Percentiles)]| -> Vec<(String, Percentiles)> { v.to_vec() };
        for (prefix, title, sub, dists) in [
            (
                "delivery",
                "Event delivery latency",
                "send stamp to arrival, every event of every subscriber (same host clock)",
                refs(&push),
            ),
            (
                "probe",
                "Probe latency while connections are held",
                "one client's calls while every connection was open",
                refs(&probe),
            ),
        ] {
            let d: Vec<(&str, &Percentiles)> = dists.iter().map(|(n, p)| (n.as_str(), p)).collect();
            out.extend(spectrum(
                slug(&[prefix, w.name]),
                format!("{title}: {}", w.name),
                sub.to_string(),
                w.section,
                d,
                palette,
            ));
        }
    }
    out
}
