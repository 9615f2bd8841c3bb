//! Detail tables of a report section (one kind): statistics across repetitions,
//! connection stages, sweep steps, push delivery, transfers, held connections and
//! server efficiency. Each appears only when some case of the section has its data.

use super::axis::bytes;
use super::markdown::md_table;
use crate::results::Run;
use protolab_bench::stats::Percentiles;
use protolab_bench::CaseResult;

/// A detail table's builder: its Markdown, when some case has its data.
type Builder = fn(&[&CaseResult]) -> Option<String>;

/// Every detail table of `section` (a kind name), as Markdown.
pub fn section(run: &Run, section: &str) -> String {
    let cases: Vec<&CaseResult> = run
        .cases
        .iter()
        .filter(|c| super::plan::section_of(c) == section)
        .collect();
    if section == super::plan::matrix::SECTION {
        return matrix(&cases).unwrap_or_default();
    }
    let builders: [Builder; 7] = [repetitions, connect, sweep, push, transfer, hold, server];
    builders.iter().filter_map(|b| b(&cases)).collect()
}

/// A matrix's cells: the coordinates, calls/s across repetitions (mean, 95% CI,
/// CV, outliers the z-score rule removed), P99 and the verdict.
fn matrix(cases: &[&CaseResult]) -> Option<String> {
    use super::plan::matrix::{p99_ms, rps};
    let rows = cases
        .iter()
        .filter_map(|c| Some((c.cell?, c)))
        .map(|(cell, c)| {
            let s = c.stats.get(&protolab_bench::Metric::Rps);
            let opt = |v: Option<String>| v.unwrap_or_else(|| "–".to_string());
            vec![
                c.spec.protocol.clone(),
                cell.replicas.to_string(),
                cell.clients.to_string(),
                opt(cell.messages.map(|m| m.to_string())),
                opt(cell.rate.map(|r| format!("{r:.0}"))),
                opt(rps(c).map(|v| format!("{v:.0}"))),
                opt(s
                    .filter(|s| !s.ci95_degenerate)
                    .map(|s| format!("{:.0} .. {:.0}", s.ci95_low, s.ci95_high))),
                opt(s.map(|s| format!("{:.1}%", s.cv * 100.0))),
                opt(s.map(|s| format!("{} of {}", s.removed.len(), s.n))),
                opt(p99_ms(c).map(|v| format!("{v:.3}"))),
                c.verdict_label().to_string(),
            ]
        })
        .collect();
    titled(
        "Cells",
        &[
            "endpoint", "replicas", "clients", "messages", "rate", "calls/s", "95% CI", "CV",
            "outliers", "p99 ms", "verdict",
        ],
        rows,
    )
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// "p50 / p99" in ms.
fn pair(p: &Percentiles) -> String {
    format!("{} / {}", ms(p.p50_us), ms(p.p99_us))
}

fn titled(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> Option<String> {
    (!rows.is_empty()).then(|| format!("**{title}**\n\n{}", md_table(header, &rows)))
}

fn repetitions(cases: &[&CaseResult]) -> Option<String> {
    let mut rows = Vec::new();
    for c in cases.iter().filter(|c| c.repetitions.len() > 1) {
        for (metric, s) in &c.stats {
            let scale = if metric.as_str().ends_with("_us") {
                1e-3
            } else {
                1.0
            };
            let f = |v: f64| format!("{:.3}", v * scale);
            rows.push(vec![
                c.spec.name.clone(),
                metric.as_str().replace("_us", " ms"),
                f(s.mean),
                f(s.median),
                f(s.stddev),
                format!("{:.1}%", s.cv * 100.0),
                format!("{} .. {}", f(s.ci95_low), f(s.ci95_high)),
                format!("{}/{}", s.kept, s.n),
            ]);
        }
    }
    titled(
        "Across repetitions (outliers removed by z-score)",
        &[
            "case", "metric", "mean", "median", "stddev", "CV", "95% CI", "kept/n",
        ],
        rows,
    )
}

fn connect(cases: &[&CaseResult]) -> Option<String> {
    let opt = |p: &Option<Percentiles>| p.as_ref().map_or_else(|| "-".into(), pair);
    let rows = cases
        .iter()
        .filter_map(|c| {
            let b = c.repetitions.last()?.connect.as_ref()?;
            Some(vec![
                c.spec.name.clone(),
                b.total.count.to_string(),
                pair(&b.tcp),
                opt(&b.tls),
                opt(&b.handshake),
                pair(&b.first_call),
                pair(&b.total),
            ])
        })
        .collect();
    titled(
        "Connection set-up, p50 / p99 ms",
        &[
            "case",
            "attempts",
            "TCP",
            "TLS",
            "handshake",
            "first call",
            "total",
        ],
        rows,
    )
}

fn sweep(cases: &[&CaseResult]) -> Option<String> {
    let mut rows = Vec::new();
    for c in cases {
        for r in &c.repetitions {
            let Some(rate) = r.offered_rate.filter(|_| r.connect.is_none()) else {
                continue;
            };
            let s = &r.summary;
            let knee = c.knee_rate.is_some_and(|k| (k - rate).abs() < 1e-6);
            rows.push(vec![
                c.spec.name.clone(),
                format!("{rate:.0}"),
                format!("{:.0}", s.rps),
                ms(s.latency.p50_us),
                ms(s.latency.p99_us),
                s.errors.to_string(),
                if knee { "knee".into() } else { String::new() },
            ]);
        }
    }
    titled(
        "Steps",
        &[
            "case",
            "offered req/s",
            "achieved req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "",
        ],
        rows,
    )
}

fn push(cases: &[&CaseResult]) -> Option<String> {
    let rows = cases
        .iter()
        .filter_map(|c| {
            let p = c.repetitions.last()?.push.as_ref()?;
            Some(vec![
                c.spec.name.clone(),
                p.subscribers.to_string(),
                format!(
                    "{} / {}",
                    p.received,
                    p.expected_per_subscriber * p.subscribers as u64
                ),
                p.lost.to_string(),
                p.lagged.to_string(),
                format!("{} / {}", p.gaps, p.reorders),
                format!("{:.0}", p.events_per_sec),
                pair(&p.delivery),
                p.subscriber_p99.as_ref().map_or_else(
                    || "-".into(),
                    |s| format!("{} .. {}", ms(s.min_us), ms(s.max_us)),
                ),
            ])
        })
        .collect();
    titled(
        "Pushed events (last repetition)",
        &[
            "case",
            "subscribers",
            "received / expected",
            "lost",
            "lagged",
            "gaps / reorders",
            "events/s",
            "delivery p50 / p99 ms",
            "subscribers' p99 ms",
        ],
        rows,
    )
}

fn transfer(cases: &[&CaseResult]) -> Option<String> {
    let rows = cases
        .iter()
        .filter_map(|c| {
            let ts: Vec<_> = c
                .repetitions
                .iter()
                .filter_map(|r| r.transfer.as_ref())
                .collect();
            let t = ts.first()?;
            let mbps: Vec<f64> = ts.iter().flat_map(|t| t.mbps.iter().copied()).collect();
            let mean = mbps.iter().sum::<f64>() / mbps.len().max(1) as f64;
            Some(vec![
                c.spec.name.clone(),
                format!("{:?}", t.direction).to_lowercase(),
                bytes(t.size_bytes as f64),
                t.chunk_bytes
                    .map_or_else(|| "whole".into(), |b| bytes(b as f64)),
                ts.iter().map(|t| t.transfers).sum::<u64>().to_string(),
                ts.iter()
                    .map(|t| t.integrity_failures)
                    .sum::<u64>()
                    .to_string(),
                format!("{mean:.1}"),
            ])
        })
        .collect();
    titled(
        "Transfers (all repetitions)",
        &[
            "case",
            "direction",
            "size",
            "chunk",
            "transfers",
            "integrity failures",
            "mean MB/s",
        ],
        rows,
    )
}

fn hold(cases: &[&CaseResult]) -> Option<String> {
    let rows = cases
        .iter()
        .filter_map(|c| {
            let h = c.repetitions.last()?.hold.as_ref()?;
            Some(vec![
                c.spec.name.clone(),
                format!("{} / {}", h.held, h.wanted),
                h.failed.to_string(),
                format!("{:.0}", h.setup_per_sec),
                pair(&h.probe),
                h.server_bytes_per_conn.map_or_else(|| "-".into(), bytes),
            ])
        })
        .collect();
    titled(
        "Held connections (last repetition)",
        &[
            "case",
            "held / wanted",
            "failed",
            "opened/s",
            "probe p50 / p99 ms",
            "server memory/conn",
        ],
        rows,
    )
}

fn server(cases: &[&CaseResult]) -> Option<String> {
    let rows = cases
        .iter()
        .filter_map(|c| {
            let e = c.efficiency()?;
            let source = c.server_usage.as_ref().map_or("", |u| u.source.as_str());
            Some(vec![
                c.spec.name.clone(),
                format!("{:.2}", e.cpu_seconds),
                e.mean_cpu_percent
                    .map_or_else(|| "-".into(), |p| format!("{p:.0}%")),
                e.requests_per_cpu_second
                    .map_or_else(|| "-".into(), |r| format!("{r:.0}")),
                bytes(e.peak_memory_bytes as f64),
                e.memory_per_connection_bytes
                    .map_or_else(|| "-".into(), bytes),
                source.to_string(),
            ])
        })
        .collect();
    titled(
        "Server resources (whole case, warm-up included)",
        &[
            "case",
            "CPU-s",
            "mean CPU",
            "req/CPU-s",
            "peak memory",
            "memory/conn",
            "source",
        ],
        rows,
    )
}
