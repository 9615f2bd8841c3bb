//! `loadgen run PROTOCOL TARGET ...`: an ad-hoc run against one server, like wrk2,
//! h2load or ghz: the options become one case (or one per payload size, transfer
//! size and direction), each run through the protocol's driver.

use anyhow::Context;
use protolab_bench::{CaseResult, CaseSpec, Hooks, Kind, KindName, LoadPlan, Model, OpSpec};
use protolab_drivers::{with_driver, DriverConfig, HttpVersion, TlsOptions};

use crate::cli::{OpName, RunOpts};
use crate::progress::CaseProgress;
use crate::results::jsonl::JsonlWriter;
use crate::results::{self, Run};
use crate::runner::RunCase;

/// Runs every case the options describe and finishes the run (printed, written
/// with `--out`, non-zero exit on a broken or INVALID case).
pub async fn run(o: &RunOpts, quiet: bool, json: bool) -> anyhow::Result<()> {
    let started = protolab_bench::unix_now();
    let config = DriverConfig {
        target: with_scheme(&o.target, o.tls),
        http: http_version(o),
        tls: TlsOptions {
            ca: o.ca.clone(),
            cert: o.cert.clone(),
            key: o.key.clone(),
        },
        auth: o.auth.clone(),
        seed: o.seed,
    };
    let mut raw = open_raw(o.out.as_deref(), o.raw, started)?;
    // A server on this host, judged against the CPUs it may run on.
    let server = o.server_pid.map(|pid| {
        let cpus = crate::lab::local::allowed_cpus(pid).map_or(1.0, |n| n.max(1) as f64);
        crate::lab::local::process_probe(pid, cpus)
    });
    let mut cases = Vec::new();
    for (op, kind) in variants(o) {
        let shown = format!("{} {}", o.protocol.name(), o.target);
        let progress = CaseProgress::new(quiet, &shown, None);
        let admin = kind.as_ref().and_then(protolab_drivers::admin_view);
        let mut hooks = Hooks {
            progress: &progress,
            raw: raw.as_mut().map(|w| w as &mut dyn protolab_bench::RawSink),
            admin,
            server: server.clone(),
            same_clock: on_this_host(&config.target),
        };
        let user = RunCase {
            spec: |driver: &str| case_from(o, driver, &op, kind),
            hooks: &mut hooks,
        };
        let result: CaseResult = with_driver(o.protocol, &config, &op, user)
            .await
            .context("target")?;
        progress.finish();
        cases.push(result);
    }
    if let Some(w) = raw {
        w.finish()?;
    }
    super::finish(&Run::new(cases, started), o.out.as_deref(), json, true)
}

/// The HTTP version `--http` / `--http2` ask for (HTTP/1.1 by default).
fn http_version(o: &RunOpts) -> HttpVersion {
    o.http.unwrap_or(if o.http2 {
        HttpVersion::H2
    } else {
        HttpVersion::H1
    })
}

/// `host:port` or `http://` made `https://` when `--tls` is given.
fn with_scheme(target: &str, tls: bool) -> String {
    match (tls, target.split_once("://")) {
        (false, _) => target.to_string(),
        (true, Some((_, rest))) => format!("https://{rest}"),
        (true, None) => format!("https://{target}"),
    }
}

/// Opens `<out>/<run-id>/results.jsonl` when raw samples are wanted.
pub(crate) fn open_raw(
    out: Option<&std::path::Path>,
    raw: bool,
    started: f64,
) -> anyhow::Result<Option<JsonlWriter>> {
    let Some(root) = out.filter(|_| raw) else {
        return Ok(None);
    };
    let dir = root.join(results::run_id(started));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(Some(JsonlWriter::create(&dir.join("results.jsonl"))?))
}

fn op_spec(o: &RunOpts) -> OpSpec {
    match o.op {
        OpName::Ping => OpSpec::Ping,
        OpName::GetItem => OpSpec::GetItem { ids: o.ids },
        OpName::ListItems => OpSpec::ListItems {
            limit: o.limit,
            category: None,
        },
        OpName::Echo => OpSpec::Echo {
            size: o.size as usize,
        },
        OpName::Score => OpSpec::Score { dims: o.dims },
    }
}

/// The cases a `run` covers: one, echo at each size for `--kind bandwidth`, one per
/// size and direction for `--kind transfer`.
fn variants(o: &RunOpts) -> Vec<(OpSpec, Option<Kind>)> {
    if let Some(kinds) = o.kind.and_then(|k| crate::cases::adhoc_kinds(o, k)) {
        return kinds.into_iter().map(|k| (op_spec(o), Some(k))).collect();
    }
    match o.kind {
        // Push kinds carry their parameters in the kind; the op is the one checked first.
        Some(KindName::Stream | KindName::Broadcast) => vec![(OpSpec::Ping, None)],
        Some(KindName::Bandwidth) => o
            .sizes
            .iter()
            .map(|s| (OpSpec::Echo { size: *s as usize }, None))
            .collect(),
        _ => vec![(op_spec(o), None)],
    }
}

/// The case an ad-hoc `run` describes, for `op` (and `kind` when given, instead of
/// the options' kind).
pub fn case_from(o: &RunOpts, protocol_name: &str, op: &OpSpec, given: Option<Kind>) -> CaseSpec {
    let kind_name = o.kind.unwrap_or(if o.rate.is_some() {
        KindName::Rate
    } else {
        KindName::Throughput
    });
    let rate = o.rate.map(|r| r as f64);
    let kind = match kind_name {
        KindName::Throughput => Kind::Throughput,
        KindName::Bandwidth => Kind::Bandwidth,
        KindName::Rate => Kind::Rate,
        KindName::Latency => Kind::Latency,
        KindName::Concurrency => Kind::Concurrency,
        KindName::Connect => Kind::Connect {
            rate: rate.unwrap_or(10.0),
            attempts: o.attempts,
        },
        KindName::Sweep => Kind::Sweep {
            start: rate.unwrap_or(1000.0),
            factor: o.sweep_factor,
            max: o.sweep_max as f64,
            p99_limit_ms: o.sweep_p99_ms,
            error_limit: 0.01,
        },
        KindName::Stream => Kind::Stream {
            count: o.count,
            interval_ms: o.interval_ms,
            size: o.size as usize,
        },
        KindName::Broadcast => Kind::Broadcast {
            subscribers: o.subscribers as usize,
            rate: rate.unwrap_or(100.0),
            size: o.size as usize,
        },
        KindName::Pipeline | KindName::Transfer | KindName::Hold => Kind::Throughput,
    };
    let kind = given.unwrap_or(kind);
    let mut plan = LoadPlan {
        model: match (&kind, rate) {
            (Kind::Rate, Some(r)) => Model::Open { rate: r },
            (Kind::Rate, None) => Model::Open { rate: 1000.0 },
            _ => Model::Closed,
        },
        connections: o.connections,
        inflight: o.inflight,
        duration: o.duration,
        warmup: o.warmup,
        requests: o.requests,
        requests_per_worker: None,
        timeout: o.timeout,
        max_lag: o.max_lag,
        slow: o.slow.plan(),
        schedule: None,
    };
    kind.shape_plan(&mut plan, o.requests, o.requests_each);
    CaseSpec {
        name: format!(
            "{protocol_name}/{}",
            crate::cases::case_name(&kind, op, plan.connections)
        ),
        protocol: protocol_name.to_string(),
        target: o.target.clone(),
        op: op.clone(),
        kind,
        plan,
        repeat: o.repeat.max(1),
        z_threshold: 2.0,
        max_errors: o.max_errors,
    }
}

/// Whether `target`'s host is this machine's loopback (the server's clock is ours).
fn on_this_host(target: &str) -> bool {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
    matches!(
        host.trim_matches(['[', ']']),
        "127.0.0.1" | "localhost" | "::1"
    ) || host.starts_with("127.")
}
