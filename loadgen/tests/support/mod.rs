//! A synthetic run built from the real result structs, covering every chart the
//! report draws (spectra, boxes, throughput, sweep, connect, bandwidth, transfer,
//! push, hold, server usage) plus a failed case, a client-bound one, a
//! co-saturated one, a push case that lost events and a noisy one. Shared by the report, compare and dashboard
//! tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use loadgen::results::Run;
use protolab_bench::selfcheck::Bottleneck;
use protolab_bench::stats::{rep_stats, Percentiles, Summary};
use protolab_bench::usage::ServerUsage;
use protolab_bench::OpSpec;
use protolab_bench::{
    CaseResult, CaseSpec, ConnectBreakdown, Direction, HoldStats, Kind, Metric, PushStats,
    Repetition, Status, TransferStats,
};
use protolab_bench::{LoadPlan, Model};

/// A plausible distribution with its median at `p50_us` and a tail `tail` times longer.
pub fn pct(p50_us: u64, tail: f64, count: u64) -> Percentiles {
    let at = |f: f64| (p50_us as f64 * f) as u64;
    Percentiles {
        count,
        min_us: at(0.4),
        mean_us: p50_us as f64 * 1.1,
        stddev_us: p50_us as f64 * 0.3,
        p50_us,
        p90_us: at(1.0 + 0.3 * tail),
        p95_us: at(1.0 + 0.5 * tail),
        p99_us: at(1.0 + tail),
        p999_us: at(1.0 + 2.0 * tail),
        p9999_us: at(1.0 + 3.0 * tail),
        max_us: at(1.0 + 4.0 * tail),
    }
}

pub fn summary(rps: f64, p50_us: u64, tail: f64) -> Summary {
    let secs = 4.0;
    let latency = pct(p50_us, tail, (rps * secs) as u64);
    Summary {
        requests: (rps * secs) as u64,
        errors: 0,
        errors_by_kind: BTreeMap::new(),
        elapsed_s: secs,
        rps,
        mbps_sent: 0.0,
        mbps_received: 0.0,
        service: latency.clone(),
        latency,
        ttfb: None,
        all_calls: None,
        latency_histogram: None,
    }
}

pub fn rep(summary: Summary) -> Repetition {
    let mut r = Repetition::of(summary);
    r.cpu_fraction = Some(0.4);
    r.workers = 1;
    r.connections = 16;
    r
}

pub fn plan(model: Model) -> LoadPlan {
    LoadPlan {
        model,
        connections: 16,
        inflight: 1,
        duration: Duration::from_secs(4),
        warmup: Duration::from_secs(1),
        requests: None,
        requests_per_worker: None,
        timeout: Duration::from_secs(10),
        max_lag: Duration::from_millis(5),
        slow: None,
        schedule: None,
    }
}

/// A case of `workload` on `protocol` with `reps`, statistics computed as the
/// scenario runner computes them.
pub fn case(
    protocol: &str,
    workload: &str,
    kind: Kind,
    op: OpSpec,
    reps: Vec<Repetition>,
) -> CaseResult {
    let model = match kind {
        Kind::Rate => Model::Open { rate: 2000.0 },
        _ => Model::Closed,
    };
    let mut c = CaseResult::new(CaseSpec {
        name: format!("{protocol}/{workload}"),
        protocol: protocol.into(),
        target: "127.0.0.1:1".into(),
        op,
        kind,
        plan: plan(model),
        repeat: reps.len().max(1),
        z_threshold: 2.0,
        max_errors: protolab_bench::case::DEFAULT_MAX_ERRORS,
    });
    c.repetitions = reps;
    restat(&mut c);
    c
}

/// Recomputes `stats` from the repetitions (rps, p50_us, p99_us, z = 2).
pub fn restat(c: &mut CaseResult) {
    let m = |f: &dyn Fn(&Repetition) -> f64| -> Vec<f64> { c.repetitions.iter().map(f).collect() };
    let rps = rep_stats(&m(&|r| r.summary.rps), 2.0);
    let p50 = rep_stats(&m(&|r| r.summary.latency.p50_us as f64), 2.0);
    let p99 = rep_stats(&m(&|r| r.summary.latency.p99_us as f64), 2.0);
    c.stats = BTreeMap::from([
        (Metric::Rps, rps),
        (Metric::P50Us, p50),
        (Metric::P99Us, p99),
    ]);
}

pub fn usage(cpu_per_s: f64, base_mb: u64) -> ServerUsage {
    let samples: Vec<(f64, f64, u64)> = (1..=6)
        .map(|i| {
            let t = i as f64;
            (
                t,
                cpu_per_s * t * (0.9 + 0.02 * i as f64),
                (base_mb + i) * 1_048_576,
            )
        })
        .collect();
    ServerUsage {
        source: "proc".into(),
        cpu_seconds: samples.last().map_or(0.0, |s| s.1),
        peak_rss_bytes: (base_mb + 6) * 1_048_576,
        rss_start_bytes: base_mb * 1_048_576,
        rss_end_bytes: (base_mb + 6) * 1_048_576,
        samples,
        net_rx_bytes: None,
        net_tx_bytes: None,
    }
}

fn get() -> OpSpec {
    OpSpec::GetItem { ids: 1000 }
}

/// Five repetitions around `rps` (spread `spread` of it) and `p50_us`.
fn repeated(rps: f64, spread: f64, p50_us: u64) -> Vec<Repetition> {
    [-1.0, -0.5, 0.0, 0.5, 1.0]
        .iter()
        .map(|k| {
            rep(summary(
                rps * (1.0 + k * spread),
                (p50_us as f64 * (1.0 - k * spread)) as u64,
                4.0,
            ))
        })
        .collect()
}

fn request_cases() -> Vec<CaseResult> {
    let mut out = Vec::new();
    for (proto, rps, p50, cpu) in [
        ("rest-h1", 21_000.0, 700, 0.95),
        ("rest-h2c", 17_500.0, 850, 0.97),
        ("grpc", 14_200.0, 1_050, 0.99),
    ] {
        let mut c = case(
            proto,
            "throughput/get_item",
            Kind::Throughput,
            get(),
            repeated(rps, 0.03, p50),
        );
        c.server_usage = Some(usage(cpu, 14));
        c.bottleneck = Some(Bottleneck::ServerBound);
        out.push(c);
    }
    // The fastest figure, but the generator was the limit: it must never lead.
    let mut c = case(
        "framed",
        "throughput/get_item",
        Kind::Throughput,
        get(),
        repeated(30_000.0, 0.03, 500),
    );
    c.status = Status::Invalid;
    c.valid = false;
    c.bottleneck = Some(Bottleneck::ClientBound);
    c.problems = vec!["client-bound: the generator used 97% of its 1 CPU(s)".into()];
    out.push(c);
    // Noisy: CV well above 10%.
    out.push(case(
        "rest-h1",
        "throughput/ping",
        Kind::Throughput,
        OpSpec::Ping,
        repeated(40_000.0, 0.2, 350),
    ));
    out.push(case(
        "grpc",
        "throughput/ping",
        Kind::Throughput,
        OpSpec::Ping,
        repeated(34_000.0, 0.02, 480),
    ));
    for (proto, p50) in [("rest-h1", 420), ("grpc", 610)] {
        out.push(case(
            proto,
            "rate/get_item@2000",
            Kind::Rate,
            get(),
            vec![rep(summary(1999.0, p50, 8.0))],
        ));
        out.push(case(
            proto,
            "latency/get_item",
            Kind::Latency,
            get(),
            vec![rep(summary(2100.0, p50 + 40, 1.5))],
        ));
    }
    out
}

fn connect_cases() -> Vec<CaseResult> {
    let mut out = Vec::new();
    let kind = || Kind::Connect {
        rate: 20.0,
        attempts: 40,
    };
    for (proto, tls, hs) in [
        ("rest-h1", None, None),
        ("rest-tls-h2", Some(1_900), Some(300)),
        ("grpc-mtls", Some(2_600), Some(450)),
    ] {
        let mut r = rep(summary(20.0, 2_000, 0.8));
        r.summary.requests = 40;
        r.offered_rate = Some(20.0);
        r.connect = Some(ConnectBreakdown {
            tcp: pct(90, 1.0, 40),
            tls: tls.map(|t| pct(t, 0.5, 40)),
            handshake: hs.map(|h| pct(h, 0.5, 40)),
            first_call: pct(380, 0.7, 40),
            total: pct(90 + tls.unwrap_or(0) + hs.unwrap_or(0) + 400, 0.6, 40),
        });
        out.push(case(proto, "connect/ping", kind(), OpSpec::Ping, vec![r]));
    }
    out
}

fn sweep_cases() -> Vec<CaseResult> {
    let kind = || Kind::Sweep {
        start: 2000.0,
        factor: 1.5,
        max: 1e6,
        p99_limit_ms: 50.0,
        error_limit: 0.01,
    };
    let mut out = Vec::new();
    for (proto, knee_step) in [("rest-h1", 4), ("grpc", 3)] {
        let reps: Vec<Repetition> = (0..=knee_step)
            .map(|i| {
                let rate = 2000.0 * 1.5f64.powi(i);
                let p50 = 400 + 150 * i as u64;
                let tail = if i == knee_step {
                    200.0
                } else {
                    2.0 + i as f64 * 3.0
                };
                let mut r = rep(summary(
                    rate * if i == knee_step { 0.9 } else { 1.0 },
                    p50,
                    tail,
                ));
                r.offered_rate = Some(rate);
                r
            })
            .collect();
        let knee = 2000.0 * 1.5f64.powi(knee_step - 1);
        let mut c = case(proto, "sweep/get_item", kind(), get(), reps);
        c.stats.clear();
        c.knee_rate = Some(knee);
        out.push(c);
    }
    out
}

fn bandwidth_cases() -> Vec<CaseResult> {
    let mut out = Vec::new();
    for (proto, scale) in [("rest-h1", 1.0), ("grpc", 0.8)] {
        for (size, mbps) in [(1024usize, 9.0), (65_536, 180.0), (1_048_576, 620.0)] {
            let mut s = summary(mbps * 1e6 / size as f64, 300 + size as u64 / 1000, 2.0);
            s.mbps_sent = mbps * scale;
            s.mbps_received = mbps * scale;
            let w = format!("bandwidth/echo/{size}B");
            out.push(case(
                proto,
                &w,
                Kind::Bandwidth,
                OpSpec::Echo { size },
                vec![rep(s)],
            ));
        }
    }
    out
}

fn push_transfer_hold_cases() -> Vec<CaseResult> {
    let mut out = Vec::new();
    // sse lost events: its delivery figures cover only what arrived.
    for (proto, p50, lost) in [("sse", 120, 10), ("websocket", 140, 0), ("grpc", 220, 0)] {
        let mut r = rep(summary(1000.0, p50, 3.0));
        r.push = Some(PushStats {
            subscribers: 100,
            expected_per_subscriber: 100,
            received: 10_000 - lost,
            lost,
            lagged: lost,
            gaps: 1,
            reorders: 0,
            events_per_sec: (10_000 - lost) as f64,
            delivery: pct(p50, 5.0, 10_000 - lost),
            subscriber_p50: Some(pct(p50, 0.5, 100)),
            subscriber_p99: Some(pct(p50 * 4, 0.5, 100)),
            published: 100,
            publish_rate: 100.0,
            publish_lag: None,
            one_way: None,
            resumed: 0,
        });
        let kind = Kind::Broadcast {
            subscribers: 100,
            rate: 100.0,
            size: 64,
        };
        out.push(case(
            proto,
            "broadcast/100x100",
            kind,
            OpSpec::Ping,
            vec![r],
        ));
    }
    for (proto, speed) in [("rest-h1", 1.0), ("grpc", 0.7)] {
        for (size, chunk) in [
            (1_500_000u64, None),
            (128_000_000, Some(65_536u64)),
            (128_000_000, Some(1_048_576)),
        ] {
            let mut r = rep(summary(2.0, 400_000, 0.3));
            r.transfer = Some(TransferStats {
                direction: Direction::Download,
                size_bytes: size,
                chunk_bytes: chunk,
                transfers: 3,
                integrity_failures: 0,
                mbps: vec![900.0 * speed, 950.0 * speed, 1010.0 * speed],
                mbps_total: 950.0 * speed,
                largest_piece_bytes: chunk.unwrap_or(65_536),
            });
            let w = format!("transfer/download/{size}/{}", chunk.unwrap_or(0));
            let kind = Kind::Transfer {
                direction: Direction::Download,
                size,
                chunk,
                transfers: 3,
            };
            let mut c = case(proto, &w, kind, OpSpec::Ping, vec![r]);
            // As the transfer kind records it: each repetition's MB/s.
            c.stats
                .insert(Metric::Mbps, rep_stats(&[950.0 * speed], 2.0));
            out.push(c);
        }
    }
    let mut r = rep(summary(50.0, 900, 2.0));
    r.connections = 10_000;
    r.hold = Some(HoldStats {
        wanted: 10_000,
        held: 10_000,
        failed: 0,
        setup_per_sec: 4_000.0,
        probe: pct(900, 2.0, 500),
        server_bytes_per_conn: Some(9_800.0),
        server_open_connections: Some(10_001),
        nofile_limit: Some(65_536),
        capped_by_nofile: false,
    });
    let hold = Kind::Hold {
        connections: 10_000,
        probe_rate: 100.0,
        admin: None,
    };
    let mut c = case("websocket", "hold/10k", hold, OpSpec::Ping, vec![r]);
    c.server_usage = Some(usage(0.2, 40));
    // Valid with a warning: both sides saturated, the figure is a lower bound.
    c.bottleneck = Some(Bottleneck::CoSaturated);
    c.warnings = vec!["co-saturated: the figure is a lower bound of the server".into()];
    out.push(c);
    out
}

/// A failed case: the target answered wrongly, so no numbers.
fn wrong_answer() -> CaseResult {
    let mut c = case(
        "graphql",
        "throughput/get_item",
        Kind::Throughput,
        get(),
        Vec::new(),
    );
    c.status = Status::Failed;
    c.valid = false;
    c.problems = vec!["verification of get_item failed: wrong answer: item 42 differs".into()];
    c.stats.clear();
    c
}

/// The whole fixture run.
pub fn fixture_run() -> Run {
    let mut cases = request_cases();
    cases.push(wrong_answer());
    cases.extend(connect_cases());
    cases.extend(sweep_cases());
    cases.extend(bandwidth_cases());
    cases.extend(push_transfer_hold_cases());
    let mut run = Run::new(cases, 1_700_000_000.0);
    run.command = vec![
        "loadgen".into(),
        "bench".into(),
        "--suite".into(),
        "fixture".into(),
    ];
    run
}
