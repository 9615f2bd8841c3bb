//! The answer's rules on hand-made cases: who may lead, which way is better per
//! kind, the margin and when it is within noise.

use protolab_bench::stats::rep_stats;
use protolab_bench::{HoldStats, PushStats};

use super::*;

fn base() -> CaseResult {
    let json = include_str!("../../../tests/fixtures/case.json");
    serde_json::from_str(json).expect("fixture case parses")
}

/// A valid case of `workload` on `protocol` answering `rps` req/s at a P50 of `p50_us`.
fn case(protocol: &str, workload: &str, kind: Kind, rps: f64, p50_us: u64) -> CaseResult {
    let mut c = base();
    c.spec.protocol = protocol.into();
    c.spec.name = format!("{protocol}/{workload}");
    c.spec.kind = kind;
    let s = &mut c.repetitions[0].summary;
    s.rps = rps;
    s.latency.p50_us = p50_us;
    s.latency.p99_us = p50_us * 5;
    c.bottleneck = Some(Bottleneck::ServerBound);
    c
}

fn throughput(protocol: &str, rps: f64) -> CaseResult {
    case(protocol, "throughput/ping", Kind::Throughput, rps, 400)
}

fn workload<'a>(cases: &'a [CaseResult]) -> Workload<'a> {
    Workload {
        name: cases[0].workload(),
        section: cases[0].spec.kind.name(),
        cases: cases.iter().collect(),
    }
}

fn answer(cases: &[CaseResult]) -> Answer<'_> {
    Answer::of(&workload(cases)).expect("an answer")
}

fn leader<'a>(a: &Answer<'a>) -> &'a str {
    a.leader().map_or("none", |r| r.case.spec.protocol.as_str())
}

#[test]
fn a_failed_or_client_bound_case_never_leads() {
    let mut failed = throughput("net001", 90_000.0);
    failed.status = Status::Failed;
    failed.valid = false;
    let mut invalid = throughput("framed", 80_000.0);
    invalid.status = Status::Invalid;
    invalid.valid = false;
    invalid.bottleneck = Some(Bottleneck::ClientBound);
    // Client-bound yet marked valid (a run.json from before the verdict said so).
    let mut client = throughput("websocket", 70_000.0);
    client.bottleneck = Some(Bottleneck::ClientBound);
    let mut unmeasured = throughput("sse", 0.0);
    unmeasured.repetitions.clear();
    let cases = [
        throughput("grpc", 14_000.0),
        failed,
        invalid,
        client,
        unmeasured,
        throughput("rest-h1", 21_000.0),
    ];
    let a = answer(&cases);
    assert_eq!(a.measure, Measure::Rps);
    assert_eq!(leader(&a), "rest-h1");
    let why: Vec<(&str, Exclusion)> = a
        .unranked
        .iter()
        .map(|(c, e)| (c.spec.protocol.as_str(), *e))
        .collect();
    assert_eq!(
        why,
        [
            ("net001", Exclusion::Failed),
            ("framed", Exclusion::Invalid),
            ("websocket", Exclusion::ClientBound),
            ("sse", Exclusion::Failed),
        ]
    );
    let m = a.margin().expect("two ranked");
    assert_eq!(m.over.case.spec.protocol, "grpc");
    assert!((m.factor - 1.5).abs() < 1e-9, "{}", m.factor);
    assert_eq!(ahead(m.factor), "50% ahead of");
    assert_eq!(m.clear, None, "single repetitions: no interval");
}

#[test]
fn nothing_leads_when_nothing_is_valid() {
    let mut a = throughput("grpc", 1.0);
    a.status = Status::Invalid;
    let mut skipped = throughput("sse", 0.0);
    skipped.skipped = Some("ping is not offered by sse".into());
    skipped.status = Status::Skipped;
    let cases = [a, skipped];
    let answer = answer(&cases);
    assert!(answer.leader().is_none() && answer.margin().is_none());
    assert_eq!(answer.unranked.len(), 1, "the skipped case is not listed");
    let only_skipped = [cases[1].clone()];
    assert!(Answer::of(&workload(&only_skipped)).is_none());
}

#[test]
fn a_co_saturated_case_may_lead() {
    let mut both = throughput("grpc", 30_000.0);
    both.bottleneck = Some(Bottleneck::CoSaturated);
    both.warnings = vec!["co-saturated: the figure is a lower bound".into()];
    let cases = [throughput("rest-h1", 20_000.0), both];
    assert_eq!(leader(&answer(&cases)), "grpc");
}

#[test]
fn lower_latency_wins_and_the_merged_figures_count() {
    let mut slow_last = case("grpc", "latency/get_item", Kind::Latency, 900.0, 2_000);
    // Every repetition together: the headline table's figure, not the last one's.
    let mut merged = slow_last.repetitions[0].summary.clone();
    merged.latency.p50_us = 500;
    slow_last.merged = Some(merged);
    let cases = [
        case("rest-h1", "latency/get_item", Kind::Latency, 1000.0, 800),
        slow_last,
        case(
            "websocket",
            "latency/get_item",
            Kind::Latency,
            1000.0,
            1_700,
        ),
    ];
    let a = answer(&cases);
    assert_eq!(a.measure, Measure::P50);
    assert_eq!(leader(&a), "grpc");
    let m = a.margin().expect("margin");
    assert_eq!(m.over.case.spec.protocol, "rest-h1");
    assert!((m.factor - 1.6).abs() < 1e-9);
    assert_eq!(a.measure.format(m.over.value), "0.800 ms");
    assert_eq!(ahead(3.44), "3.4× ahead of");
    assert_eq!(ahead(1.001), "tied with");
    assert_eq!(Measure::Rps.format(21_630.0), "21.6k req/s");
    // The rate kind is judged on its P99 (the rate is the load model's).
    let rate = [
        case("rest-h1", "rate/get_item", Kind::Rate, 2000.0, 300),
        case("grpc", "rate/get_item", Kind::Rate, 2000.0, 200),
    ];
    let a = answer(&rate);
    assert_eq!((a.measure, leader(&a)), (Measure::P99, "grpc"));
}

#[test]
fn overlapping_confidence_intervals_are_within_noise() {
    let with_reps = |proto: &str, values: &[f64]| {
        let mut c = throughput(proto, values.iter().sum::<f64>() / values.len() as f64);
        c.stats.insert(Metric::Rps, rep_stats(values, 3.0));
        c
    };
    let apart = [
        with_reps("rest-h1", &[100.0, 101.0, 99.0]),
        with_reps("grpc", &[80.0, 81.0, 79.0]),
    ];
    assert_eq!(answer(&apart).margin().and_then(|m| m.clear), Some(true));
    let close = [
        with_reps("rest-h1", &[100.0, 120.0, 80.0]),
        with_reps("grpc", &[95.0, 115.0, 75.0]),
    ];
    assert_eq!(answer(&close).margin().and_then(|m| m.clear), Some(false));
}

fn push(protocol: &str, kind: Kind, events_per_sec: f64, p99_us: u64, lost: u64) -> CaseResult {
    let mut c = case(protocol, "push/x", kind, events_per_sec, 100);
    let mut p = PushStats {
        events_per_sec,
        lost,
        ..PushStats::default()
    };
    p.delivery.p99_us = p99_us;
    c.repetitions[0].push = Some(p);
    c
}

#[test]
fn push_kinds_rank_complete_deliveries_on_their_figure() {
    let fast = || Kind::Stream {
        count: 2000,
        interval_ms: 0,
        size: 64,
    };
    let cases = [
        push("sse", fast(), 300_000.0, 900, 0),
        push("grpc", fast(), 3_900_000.0, 500, 0),
        push("websocket", fast(), 9_000_000.0, 100, 12),
    ];
    let a = answer(&cases);
    assert_eq!((a.measure, leader(&a)), (Measure::EventsPerSec, "grpc"));
    assert_eq!(a.unranked[0].1, Exclusion::Lost(12));
    let fanout = || Kind::Broadcast {
        subscribers: 50,
        rate: 100.0,
        size: 64,
    };
    let cases = [
        push("sse", fanout(), 5000.0, 5_000, 0),
        push("websocket", fanout(), 5000.0, 4_000, 0),
    ];
    let a = answer(&cases);
    assert_eq!((a.measure, leader(&a)), (Measure::DeliveryP99, "websocket"));
    assert_eq!(ahead(a.margin().expect("margin").factor), "25% ahead of");
}

fn hold(protocol: &str, setup_per_sec: f64, bytes_per_conn: Option<f64>) -> CaseResult {
    let kind = Kind::Hold {
        connections: 1000,
        probe_rate: 100.0,
        admin: None,
    };
    let mut c = case(protocol, "hold/1000", kind, 100.0, 900);
    c.repetitions[0].hold = Some(HoldStats {
        setup_per_sec,
        server_bytes_per_conn: bytes_per_conn,
        ..HoldStats::default()
    });
    c
}

#[test]
fn hold_ranks_memory_when_observed_else_set_up_rate() {
    let cases = [
        hold("rest-h1", 900.0, Some(20_000.0)),
        hold("websocket", 3_000.0, Some(8_000.0)),
        hold("grpc", 5_000.0, None),
    ];
    let a = answer(&cases);
    assert_eq!(
        (a.measure, leader(&a)),
        (Measure::MemoryPerConn, "websocket")
    );
    assert_eq!(
        a.unranked[0].1,
        Exclusion::NoFigure,
        "grpc has no memory figure"
    );
    assert_eq!(a.measure.format(8_192.0), "8 KiB/conn");
    let unobserved = [hold("rest-h1", 900.0, None), hold("grpc", 5_000.0, None)];
    let a = answer(&unobserved);
    assert_eq!((a.measure, leader(&a)), (Measure::SetupRate, "grpc"));
}

#[test]
fn a_sweep_ranks_its_knee_and_one_without_is_unranked() {
    let kind = || Kind::Sweep {
        start: 1000.0,
        factor: 1.5,
        max: 1e6,
        p99_limit_ms: 50.0,
        error_limit: 0.01,
    };
    let mut a = case("rest-h1", "sweep/get_item", kind(), 1.0, 1);
    a.knee_rate = Some(4500.0);
    let mut b = case("grpc", "sweep/get_item", kind(), 1.0, 1);
    b.knee_rate = Some(3000.0);
    let none = case("sse", "sweep/get_item", kind(), 1.0, 1);
    let cases = [none, b, a];
    let answer = answer(&cases);
    assert_eq!(
        (answer.measure, leader(&answer)),
        (Measure::Knee, "rest-h1")
    );
    assert_eq!(answer.unranked[0].1, Exclusion::NoFigure);
}

#[test]
fn answers_follow_the_sections_then_the_run() {
    let cases = [
        throughput("grpc", 1.0),
        case("grpc", "latency/get_item", Kind::Latency, 1.0, 1),
        case("grpc", "throughput/get_item", Kind::Throughput, 1.0, 1),
    ];
    let ws: Vec<Workload<'_>> = cases
        .iter()
        .map(|c| Workload {
            name: c.workload(),
            section: c.spec.kind.name(),
            cases: vec![c],
        })
        .collect();
    let names: Vec<&str> = answers(&ws).iter().map(|a| a.workload).collect();
    assert_eq!(
        names,
        ["throughput/ping", "throughput/get_item", "latency/get_item"]
    );
}
