//! Latency charts: percentile spectra per workload (protocols overlaid), box plots
//! across repetitions, rate-vs-latency for sweeps with the knee, the connection
//! set-up breakdown, and push delivery / held-connection probe spectra.

use super::{family, has_own_chart, ms, slug, Family, Workload};
use crate::report::axis::{Axis, Scale};
use crate::report::chart::{
    BoxPlot, BoxSeries, Chart, FiveNumbers, LinePlot, Mark, Plot, Series, StackedPlot, StackedRow,
};
use crate::report::palette::{Palette, STAGES};
use protolab_bench::stats::Percentiles;
use protolab_bench::{CaseResult, Kind, Repetition};

/// A case's legend name: its protocol, flagged when the case cannot be trusted.
fn who(c: &CaseResult) -> String {
    if c.valid {
        c.spec.protocol.clone()
    } else {
        format!("{} INVALID", c.spec.protocol)
    }
}

/// A distribution to draw: its case, its percentiles, and the whole histogram when
/// run.json has it.
type Dist<'a> = (&'a CaseResult, &'a Percentiles, Option<&'a str>);

/// The encoded histogram of `r`'s latency when `p` is that same distribution.
fn histogram_of<'a>(r: &'a Repetition, p: &Percentiles) -> Option<&'a str> {
    let l = &r.summary.latency;
    (l.count == p.count && l.p99_us == p.p99_us && l.max_us == p.max_us)
        .then_some(r.summary.latency_histogram.as_deref())
        .flatten()
}

/// Quantiles a full histogram is drawn at: 20 per decade of nines, 0 to 99.99%.
const SPECTRUM_STEPS: u32 = 80;

/// (quantile, ms) points of a distribution, min to 99.99%: from the whole histogram
/// when there is one, else from the stored percentiles.
fn spectrum_points(p: &Percentiles, histogram: Option<&str>) -> Vec<(f64, f64)> {
    if let Some(h) = histogram.and_then(protolab_bench::stats::decode_histogram) {
        return (0..=SPECTRUM_STEPS)
            .map(|k| {
                let q = 1.0 - 10f64.powf(-f64::from(k) / 20.0);
                (q, ms(h.value_at_quantile(q)))
            })
            .collect();
    }
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
    dists: Vec<Dist<'_>>,
    palette: &Palette,
) -> Option<Chart> {
    let dists: Vec<_> = dists.into_iter().filter(|(_, p, _)| p.count > 0).collect();
    if dists.is_empty() {
        return None;
    }
    let series: Vec<Series> = dists
        .iter()
        .map(|(c, p, h)| Series {
            label: format!("{} (n={})", who(c), p.count),
            colour: palette.colour(&c.spec.protocol),
            dashed: false,
            points: spectrum_points(p, *h),
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
        let dists: Vec<Dist<'_>> = w
            .cases
            .iter()
            .filter(|c| !has_own_chart(c))
            .filter_map(|c| {
                let r = c.repetitions.last()?;
                Some((
                    *c,
                    &r.summary.latency,
                    r.summary.latency_histogram.as_deref(),
                ))
            })
            .collect();
        let open = w
            .cases
            .iter()
            .any(|c| matches!(c.spec.plan.model, protolab_bench::Model::Open { .. }));
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
                label: format!("{} (n={})", who(c), c.repetitions.len()),
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

/// One sweep case's P99 (solid) and P50 (dashed) lines and its knee mark.
fn sweep_lines(c: &CaseResult, palette: &Palette) -> (Vec<Series>, Option<Mark>) {
    let steps: Vec<(f64, &Percentiles)> = c
        .repetitions
        .iter()
        .filter_map(|r| Some((r.offered_rate?, &r.summary.latency)))
        .collect();
    let colour = palette.colour(&c.spec.protocol);
    let line = |name: &str, dashed: bool, pick: fn(&Percentiles) -> u64| Series {
        label: format!("{} {name}", who(c)),
        colour,
        dashed,
        points: steps.iter().map(|(r, p)| (*r, ms(pick(p)))).collect(),
    };
    let lines = vec![
        line("P99", false, |p| p.p99_us),
        line("P50", true, |p| p.p50_us),
    ];
    let knee = c.knee_rate.and_then(|knee| {
        let (r, p) = steps.iter().find(|(r, _)| (*r - knee).abs() < 1e-6)?;
        Some(Mark {
            x: *r,
            y: ms(p.p99_us),
            label: format!("knee {}/s", crate::report::axis::short(*r)),
            colour,
        })
    });
    (lines, knee)
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
            let (lines, knee) = sweep_lines(c, palette);
            series.extend(lines);
            marks.extend(knee);
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
        let rates = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        let x = Axis::auto("offered rate (req/s)", rates, 8.0);
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
                x,
                y,
                series,
                marks,
                limits,
            }),
        });
    }
    out
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
        let push = w.cases.iter().filter_map(|c| {
            let r = c.repetitions.last()?;
            let p = &r.push.as_ref()?.delivery;
            Some((*c, p, histogram_of(r, p)))
        });
        let probe = w.cases.iter().filter_map(|c| {
            let r = c.repetitions.last()?;
            let p = &r.hold.as_ref()?.probe;
            Some((*c, p, histogram_of(r, p)))
        });
        let (push, probe): (Vec<_>, Vec<_>) = (push.collect(), probe.collect());
        for (prefix, title, sub, dists) in [
            (
                "delivery",
                "Event delivery latency",
                "send stamp to arrival, every event of every subscriber (same host clock)",
                push,
            ),
            (
                "probe",
                "Probe latency while connections are held",
                "one client's calls while every connection was open",
                probe,
            ),
        ] {
            out.extend(spectrum(
                slug(&[prefix, w.name]),
                format!("{title}: {}", w.name),
                sub.to_string(),
                w.section,
                dists,
                palette,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_histogram_draws_a_fine_spectrum() {
        let mut h = protolab_bench::stats::new_histogram();
        for v in 1..=100_000u64 {
            h.saturating_record(v);
        }
        let p = Percentiles::from_histogram(&h);
        let text = protolab_bench::stats::encode_histogram(&h);
        let fine = spectrum_points(&p, text.as_deref());
        assert_eq!(fine.len(), SPECTRUM_STEPS as usize + 1);
        assert!(fine.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        let last = fine.last().map(|l| l.0).unwrap_or_default();
        assert!((last - 0.9999).abs() < 1e-9, "{last}");
        assert_eq!(
            spectrum_points(&p, None).len(),
            7,
            "stored percentiles only"
        );
    }
}
