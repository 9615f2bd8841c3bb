//! Each subcommand, from parsed options to printed and written results. The only
//! place that maps a protocol name to a driver.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{BenchOpts, Command, KindName, OpName, Opts, Protocol, RunOpts};
use crate::controller::Controller;
use crate::driver::framed::FramedDriver;
use crate::driver::graphql::GraphqlDriver;
use crate::driver::grpc::GrpcDriver;
use crate::driver::http::{HttpTarget, HttpVersion, TlsOptions};
use crate::driver::net001::Net001Driver;
use crate::driver::rest::RestDriver;
use crate::driver::sse::SseDriver;
use crate::driver::websocket::WebSocketDriver;
use crate::driver::{Driver, OpSpec};
use crate::endpoints::{self, Endpoint, ServerAddr, Transport};
use crate::engine::{LoadPlan, Model};
use crate::engine::{Sinks, Tick, TickFn};
use crate::local::LocalLab;
use crate::output::unix_now;
use crate::output::JsonlWriter;
use crate::results::{self, Run};
use crate::scenario::{run_case_with, CaseResult, CaseSpec, Kind};
use crate::usage::Sampler;

/// Runs the parsed command line.
pub async fn execute(opts: Opts) -> anyhow::Result<()> {
    match opts.command {
        Command::Run(ref run) => run_adhoc(run, opts.quiet, opts.json).await,
        Command::Bench(ref bench) => run_bench(bench, opts.quiet, opts.json).await,
        Command::Summarize { ref files } => {
            for f in files {
                for s in crate::output::summarize(f)
                    .with_context(|| format!("reading {}", f.display()))?
                {
                    println!("{s}");
                }
            }
            Ok(())
        }
        Command::Seed {
            ref db,
            items,
            seed,
            force,
        } => {
            if db.exists() && !force {
                println!(
                    "{} exists; keeping it (use --force to rewrite)",
                    db.display()
                );
                return Ok(());
            }
            let start = std::time::Instant::now();
            protolab_core::dataset::seed_file(db, items, seed)
                .await
                .with_context(|| format!("seeding {}", db.display()))?;
            println!(
                "seeded {} with {items} items (seed {seed}) in {:.2?}",
                db.display(),
                start.elapsed()
            );
            Ok(())
        }
        Command::Report { ref run } => {
            let w = crate::report::rerender(run)
                .with_context(|| format!("rendering the report of {}", run.display()))?;
            report_written(&w);
            Ok(())
        }
        Command::Compare(ref c) => compare_runs(c, opts.json),
        Command::Ctl { ref command } => ctl(command, opts.json).await,
        Command::Check(ref c) => check_run(c),
        Command::Dashboard(ref d) => crate::dashboard::run(d).await.context("dashboard"),
        Command::Certs { ref out } => {
            protolab_core::certs::write_to(out)
                .with_context(|| format!("writing certificates to {}", out.display()))?;
            println!(
                "wrote ca.crt, server.crt, server.key, client.crt, client.key to {}",
                out.display()
            );
            Ok(())
        }
    }
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

/// The case an ad-hoc `run` describes.
/// The operations a `run` covers: one, or for `--kind bandwidth` echo at each size.
fn op_specs(o: &RunOpts) -> Vec<OpSpec> {
    // Push kinds carry their parameters in the kind; the op is the one checked first.
    if matches!(o.kind, Some(KindName::Stream | KindName::Broadcast)) {
        return vec![OpSpec::Ping];
    }
    if o.kind == Some(KindName::Bandwidth) {
        return o
            .sizes
            .iter()
            .map(|s| OpSpec::Echo { size: *s as usize })
            .collect();
    }
    vec![op_spec(o)]
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
fn open_raw(
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

/// The cases a `run` covers: the operations of `op_specs`, or for `--kind transfer`
/// one kind per size and direction.
fn variants(o: &RunOpts) -> Vec<(OpSpec, Option<Kind>)> {
    match o.kind.and_then(|k| crate::bulk::adhoc_kinds(o, k)) {
        Some(kinds) => kinds.into_iter().map(|k| (op_spec(o), Some(k))).collect(),
        None => op_specs(o).into_iter().map(|op| (op, None)).collect(),
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
    };
    kind.shape_plan(&mut plan, o.requests, o.requests_each);
    let label = crate::push::case_label(&kind).unwrap_or_else(|| op.name().to_string());
    let mut name = format!("{protocol_name}/{}/{label}", kind.name());
    if let (Kind::Bandwidth, OpSpec::Echo { size }) = (&kind, op) {
        name.push_str(&format!("/{size}B"));
    }
    if let Some(n) = crate::bulk::case_name(&kind, op, plan.connections) {
        name = format!("{protocol_name}/{n}");
    }
    CaseSpec {
        name,
        protocol: protocol_name.to_string(),
        target: o.target.clone(),
        op: op.clone(),
        kind,
        plan,
        repeat: o.repeat.max(1),
        z_threshold: 2.0,
    }
}

fn progress(quiet: bool, spec: &CaseSpec) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {prefix:.bold} [{elapsed_precise}] {pos} req {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(spec.name.clone());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

async fn drive<D: Driver>(
    driver: D,
    o: &RunOpts,
    (op, kind): &(OpSpec, Option<Kind>),
    quiet: bool,
    raw: Option<&mut JsonlWriter>,
) -> CaseResult {
    let spec = case_from(o, &driver.name(), op, kind.clone());
    let bar = progress(quiet, &spec);
    let sinks = &mut Sinks {
        bar: &bar,
        raw,
        ticks: None,
    };
    let result = run_case_with(Arc::new(driver), spec, sinks).await;
    bar.finish_and_clear();
    result
}

async fn run_adhoc(o: &RunOpts, quiet: bool, json: bool) -> anyhow::Result<()> {
    let started = unix_now();
    let tls = TlsOptions {
        ca: o.ca.clone(),
        cert: o.cert.clone(),
        key: o.key.clone(),
    };
    let target = with_scheme(&o.target, o.tls);
    let mut raw = open_raw(o.out.as_deref(), o.raw, started)?;
    let mut cases = Vec::new();
    for variant in variants(o) {
        let op = &variant.0;
        let result = match o.protocol {
            Protocol::Rest => {
                let version = o.http.unwrap_or(if o.http2 {
                    HttpVersion::H2
                } else {
                    HttpVersion::H1
                });
                let t = HttpTarget::new(&target, version, &tls)
                    .await
                    .context("target")?;
                let d = RestDriver::new(t, o.seed, op);
                drive(d, o, &variant, quiet, raw.as_mut()).await
            }
            Protocol::Grpc => {
                let d = GrpcDriver::new(&target, Some(&tls), o.seed, op)
                    .await
                    .context("target")?;
                drive(d, o, &variant, quiet, raw.as_mut()).await
            }
            Protocol::Net001 => {
                let d = Net001Driver::new(&target, &tls, o.auth.as_deref(), o.seed, op)
                    .await
                    .context("target")?;
                drive(d, o, &variant, quiet, raw.as_mut()).await
            }
            Protocol::Framed => {
                let d = FramedDriver::new(&o.target, o.seed, op)
                    .await
                    .context("target")?;
                drive(d, o, &variant, quiet, raw.as_mut()).await
            }
            Protocol::Graphql => {
                let d = GraphqlDriver::new(&target, http_version(o), &tls, o.seed, op)
                    .await
                    .context("target")?;
                drive(d, o, &variant, quiet, raw.as_mut()).await
            }
            Protocol::Sse => {
                let t = HttpTarget::new(&target, http_version(o), &tls)
                    .await
                    .context("target")?;
                drive(SseDriver::new(t, o.seed), o, &variant, quiet, raw.as_mut()).await
            }
            Protocol::Websocket => {
                let d = WebSocketDriver::new(&target, &tls, o.seed, op)
                    .await
                    .context("target")?;
                drive(d, o, &variant, quiet, raw.as_mut()).await
            }
        };
        cases.push(result);
    }
    if let Some(w) = raw {
        w.finish()?;
    }
    finish(&Run::new(cases, started), o.out.as_deref(), json, true)
}

/// The HTTP version `--http` / `--http2` ask for (HTTP/1.1 by default).
fn http_version(o: &RunOpts) -> HttpVersion {
    o.http.unwrap_or(if o.http2 {
        HttpVersion::H2
    } else {
        HttpVersion::H1
    })
}

/// Prints the run (table or JSON), writes it under `out`, and fails when any case is invalid.
/// Prints the run (table or JSON), writes it under `out`, and fails when a case is
/// broken (no numbers, wrong answers) or, with `strict`, merely INVALID.
fn finish(
    run: &Run,
    out: Option<&std::path::Path>,
    json: bool,
    strict: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(run)?);
    } else {
        results::print_table(run);
        for w in &run.environment.warnings {
            eprintln!("warning: {w}");
        }
    }
    if let Some(root) = out {
        save(root, run)?;
    }
    let names = |pick: &dyn Fn(&CaseResult) -> bool| -> Vec<&str> {
        let picked = run.cases.iter().filter(|c| pick(c));
        picked.map(|c| c.spec.name.as_str()).collect()
    };
    let broken = names(&|c| c.broken());
    let invalid = names(&|c| !c.valid && !c.broken());
    anyhow::ensure!(
        broken.is_empty(),
        "{} case(s) failed: {}",
        broken.len(),
        broken.join(", ")
    );
    if !invalid.is_empty() {
        let msg = format!(
            "{} case(s) INVALID (the generator cannot vouch for them): {}",
            invalid.len(),
            invalid.join(", ")
        );
        anyhow::ensure!(!strict, msg);
        eprintln!("warning: {msg}");
    }
    Ok(())
}

/// Writes `run` under `root/<run-id>/` with its report; returns the directory.
pub(crate) fn save(root: &std::path::Path, run: &Run) -> anyhow::Result<std::path::PathBuf> {
    let dir = results::write(root, run).context("writing results")?;
    eprintln!("results in {}", dir.display());
    // The numbers are safe on disk; a report that fails is a warning, not a lost run.
    match crate::report::write(&dir, run) {
        Ok(w) => report_written(&w),
        Err(e) => eprintln!("warning: report not written: {e}"),
    }
    Ok(dir)
}

fn report_written(w: &crate::report::Written) {
    for f in &w.failed {
        eprintln!("warning: {f}");
    }
    eprintln!(
        "report in {} and {} ({} charts)",
        w.markdown.display(),
        w.html.display(),
        w.charts.len()
    );
}

/// `loadgen compare`: prints the diff table (or JSON) and fails on a regression.
fn compare_runs(o: &crate::cli::CompareOpts, json: bool) -> anyhow::Result<()> {
    let read = |p: &std::path::Path| {
        results::read(p).with_context(|| format!("reading the run in {}", p.display()))
    };
    let (base, cand) = (read(&o.baseline)?, read(&o.candidate)?);
    let cmp = crate::report::compare::compare(&base, &cand, o.max_regression, &o.metric)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&cmp)?);
    } else {
        print!("{}", crate::report::compare::render_text(&cmp));
    }
    anyhow::ensure!(!cmp.failed(), "performance regression: the gate fails");
    Ok(())
}

/// Where the servers are: the local lab's ports, or default ports on a host; and
/// what can see them (the local lab's processes, or the compose lab's containers).
pub(crate) struct Lab {
    local: Option<LocalLab>,
    docker: Option<Controller>,
    /// Restart each server (compose lab) before its cases.
    restart: bool,
    host: String,
    tls: TlsOptions,
}

impl Lab {
    fn addr(&self, server: &str) -> Option<ServerAddr> {
        match &self.local {
            Some(lab) => lab.server(server).map(|s| ServerAddr {
                host: "127.0.0.1".into(),
                plain: s.plain,
                tls: s.tls,
                admin: s.admin,
                framed: s.framed,
            }),
            None => ServerAddr::in_lab(server, &self.host),
        }
    }

    /// A lab of `local`'s servers, or of the servers at their default ports on `host`.
    pub(crate) fn new(local: Option<LocalLab>, host: String, tls: TlsOptions) -> Lab {
        Lab {
            local,
            docker: None,
            restart: false,
            host,
            tls,
        }
    }

    /// What the servers run as, for run.json's environment.
    fn describe(&self) -> String {
        match (&self.local, &self.docker) {
            (Some(_), _) => "local processes".to_string(),
            (None, Some(c)) => format!("compose project {}", c.project()),
            (None, None) => format!("servers on {}", self.host),
        }
    }

    /// The compose lab's controller, for Docker-mode labs made with `new`.
    pub(crate) fn with_docker(mut self, docker: Controller) -> Lab {
        self.docker = Some(docker);
        self
    }

    /// The local lab back, once a bench is done with it.
    pub(crate) fn into_local(self) -> Option<LocalLab> {
        self.local
    }

    /// A 1 Hz sampler of the server's CPU, memory (and, in Docker, network bytes).
    async fn sampler(&self, server: &str) -> Option<Sampler> {
        if let Some(lab) = &self.local {
            let pid = lab.server(server)?.pid()?;
            return Sampler::start("proc", crate::local::process_sampler(pid)).await;
        }
        let probe = match self.docker.as_ref()?.probe(server).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("{server}: no container stats: {e}");
                return None;
            }
        };
        Sampler::start_streamed("docker", probe).await
    }

    /// The compose lab: restarts `server` and waits until it is healthy again.
    async fn fresh(&self, server: &str) -> anyhow::Result<()> {
        let Some(c) = self.docker.as_ref().filter(|_| self.restart) else {
            return Ok(());
        };
        c.restart(server).await?;
        c.wait_healthy(&[server.to_string()], RESTART_TIMEOUT)
            .await?;
        Ok(())
    }
}

/// Longest wait for a restarted server to be healthy again.
const RESTART_TIMEOUT: Duration = Duration::from_secs(120);

async fn run_endpoint(
    lab: &Lab,
    e: &Endpoint,
    template: &crate::suite::CaseTemplate,
    quiet: bool,
    raw: Option<&mut JsonlWriter>,
    ticks: Option<&TickFn<'_>>,
) -> anyhow::Result<CaseResult> {
    let addr = lab
        .addr(e.server)
        .with_context(|| format!("no address for {}", e.server))?;
    let mut kind = template.kind.clone();
    if let Kind::Hold {
        admin: a @ None, ..
    } = &mut kind
    {
        *a = Some(format!("{}:{}", addr.host, addr.admin));
    }
    let spec = CaseSpec {
        name: case_name(e, template),
        protocol: e.name.to_string(),
        target: String::new(),
        op: template.op.clone(),
        kind,
        plan: template.plan.clone(),
        repeat: template.repeat,
        z_threshold: template.z_threshold,
    };
    lab.fresh(e.server)
        .await
        .with_context(|| format!("restarting {}", e.server))?;
    let bar = progress(quiet, &spec);
    let mut sinks = Sinks {
        bar: &bar,
        raw,
        ticks,
    };
    let sampler = lab.sampler(e.server).await;
    let mut result = match e.transport {
        Transport::Http { version, tls } => {
            // The lab certificate names every service, localhost and 127.0.0.1.
            let (scheme, port) = if tls {
                ("https", addr.tls)
            } else {
                ("http", addr.plain)
            };
            let target = format!("{scheme}://{}:{port}", addr.host);
            let mut spec = spec;
            spec.target = target.clone();
            let t = HttpTarget::new(&target, version, &lab.tls)
                .await
                .with_context(|| format!("target {target}"))?;
            let d = RestDriver::new(t, protolab_core::dataset::DEFAULT_SEED, &spec.op);
            run_case_with(Arc::new(d), spec, &mut sinks).await
        }
        Transport::Grpc { tls } => {
            let target = if tls {
                format!("https://{}:{}", addr.host, addr.tls)
            } else {
                format!("{}:{}", addr.host, addr.plain)
            };
            let mut spec = spec;
            spec.target = target.clone();
            let seed = protolab_core::dataset::DEFAULT_SEED;
            let d = GrpcDriver::new(&target, Some(&lab.tls), seed, &spec.op)
                .await
                .with_context(|| format!("target {target}"))?;
            run_case_with(Arc::new(d), spec, &mut sinks).await
        }
        Transport::Net001 { tls } => {
            let target = if tls {
                format!("https://{}:{}", addr.host, addr.tls)
            } else {
                format!("{}:{}", addr.host, addr.plain)
            };
            let seed = protolab_core::dataset::DEFAULT_SEED;
            let d = Net001Driver::new(&target, &lab.tls, None, seed, &spec.op)
                .await
                .with_context(|| format!("target {target}"))?;
            let spec = CaseSpec { target, ..spec };
            run_case_with(Arc::new(d), spec, &mut sinks).await
        }
        Transport::Framed => {
            let port = addr.framed.unwrap_or(endpoints::DEFAULT_FRAMED_PORT);
            let target = format!("{}:{port}", addr.host);
            let seed = protolab_core::dataset::DEFAULT_SEED;
            let d = FramedDriver::new(&target, seed, &spec.op)
                .await
                .with_context(|| format!("target {target}"))?;
            let spec = CaseSpec { target, ..spec };
            run_case_with(Arc::new(d), spec, &mut sinks).await
        }
        Transport::Graphql { .. } | Transport::Sse { .. } | Transport::WebSocket { .. } => {
            crate::web::run_endpoint(&addr, e.transport, &lab.tls, spec, &mut sinks).await?
        }
    };
    if let Some(s) = sampler {
        result.server_usage = Some(s.finish().await);
    }
    bar.finish_and_clear();
    Ok(result)
}

async fn run_bench(o: &BenchOpts, quiet: bool, json: bool) -> anyhow::Result<()> {
    let started = unix_now();
    let templates = crate::suite::load(&o.suite).with_context(|| format!("suite {}", o.suite))?;
    let selected = endpoints::select(&o.targets, o.endpoints.as_deref());
    anyhow::ensure!(
        !selected.is_empty(),
        "no endpoint matches --targets/--endpoints"
    );
    let servers = endpoints::servers_of(&selected);
    let (local_mode, docker) = lab_mode(o, &servers).await?;
    let server_cpus = o.server_cpus.clone().filter(|_| local_mode);
    let local = if local_mode {
        let pinned = server_cpus
            .as_ref()
            .map(|c| format!(", pinned to CPU {c:?}"))
            .unwrap_or_default();
        eprintln!(
            "--local: starting {} as child processes on loopback{pinned}",
            servers.join(", ")
        );
        let bin_dir = crate::local::bin_dir();
        let lab = LocalLab::start(&servers, &bin_dir, o.items, server_cpus.as_deref());
        Some(lab.await.context("starting the local lab")?)
    } else {
        None
    };
    let certs = local
        .as_ref()
        .map(|l| l.certs.clone())
        .unwrap_or_else(|| "certs".into());
    let lab = Lab {
        local,
        docker,
        restart: o.restart,
        host: o.host.clone(),
        tls: lab_tls(o, &certs),
    };
    let printer = Printer { quiet };
    let work = bench(&lab, o, &templates, &selected, started, quiet, &printer);
    let outcome = tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Some(l) = lab.local {
        l.stop().await;
    }
    let mut run = outcome?;
    run.environment.server_cpus = server_cpus.map(|c| format!("{c:?}"));
    finish(&run, Some(&o.out), json, o.strict)
}

/// The TLS files of a bench: `--ca/--cert/--key`, else the lab's in `certs`.
pub(crate) fn lab_tls(o: &BenchOpts, certs: &std::path::Path) -> TlsOptions {
    TlsOptions {
        ca: Some(o.ca.clone().unwrap_or_else(|| certs.join("ca.crt"))),
        cert: Some(o.cert.clone().unwrap_or_else(|| certs.join("client.crt"))),
        key: Some(o.key.clone().unwrap_or_else(|| certs.join("client.key"))),
    }
}

/// What a bench reports as it goes: the CLI prints a line per case, the dashboard
/// streams every event to the browser. Each method has a do-nothing default.
pub trait BenchEvents: Send + Sync {
    /// Case `index` (0-based) of `total` is about to run.
    fn case_started(&self, _name: &str, _index: usize, _total: usize) {}
    /// Once a second while the engine's load runs (the progress bar's numbers).
    fn tick(&self, _case: &str, _tick: Tick) {}
    /// A case is done; `brief` is its one-line summary.
    fn case_finished(&self, _result: &CaseResult, _brief: &str) {}
}

/// The CLI's events: one line per finished case on stderr.
struct Printer {
    quiet: bool,
}

impl BenchEvents for Printer {
    fn case_finished(&self, r: &CaseResult, brief: &str) {
        if !self.quiet {
            eprintln!("  {:<44} {}", r.spec.name, brief);
        }
    }
}

/// The name of `template`'s case on `e`.
fn case_name(e: &Endpoint, template: &crate::suite::CaseTemplate) -> String {
    format!("{}/{}", e.name, template.name)
}

/// Runs every template on every selected endpoint it applies to, in order, on
/// `lab`, telling `events` as it goes; the run is not written (see [`save`]).
/// `bench` and the dashboard both run suites through this.
pub(crate) async fn bench(
    lab: &Lab,
    o: &BenchOpts,
    templates: &[crate::suite::CaseTemplate],
    selected: &[Endpoint],
    started: f64,
    quiet: bool,
    events: &dyn BenchEvents,
) -> anyhow::Result<Run> {
    let mut raw = open_raw(Some(&o.out), o.raw, started)?;
    let pairs: Vec<_> = templates
        .iter()
        .flat_map(|t| {
            let applies = |e: &&Endpoint| {
                t.endpoints
                    .as_ref()
                    .is_none_or(|n| n.iter().any(|x| x == e.name))
            };
            selected.iter().filter(applies).map(move |e| (t, e))
        })
        .collect();
    let total = pairs.len();
    let mut cases = Vec::new();
    for (index, (t, e)) in pairs.into_iter().enumerate() {
        let mut t = t.clone();
        if let Some(r) = o.repeat {
            t.repeat = r.max(1);
        }
        // Ids beyond the lab's dataset would be 404s, not measurements.
        if let OpSpec::GetItem { ids } = &mut t.op {
            *ids = (*ids).min(o.items.max(1));
        }
        let name = case_name(e, &t);
        events.case_started(&name, index, total);
        let ticks = |tick: Tick| events.tick(&name, tick);
        let r = run_endpoint(lab, e, &t, quiet, raw.as_mut(), Some(&ticks)).await?;
        events.case_finished(&r, &brief(&r));
        cases.push(r);
    }
    if let Some(w) = raw {
        w.finish()?;
    }
    let mut run = Run::new(cases, started);
    run.environment.lab = Some(lab.describe());
    Ok(run)
}

/// Local child processes, or the compose lab (with its controller when Docker is
/// reachable). Without `--local` and without a Docker engine or a running lab, a
/// bench aimed at this host falls back to `--local` and says so; one aimed elsewhere
/// runs without the servers' resource use.
async fn lab_mode(o: &BenchOpts, servers: &[String]) -> anyhow::Result<(bool, Option<Controller>)> {
    anyhow::ensure!(
        !(o.local && o.restart),
        "--restart restarts the compose lab's containers; with --local every case already \
         shares one set of child processes (leave out one of the two)"
    );
    if o.local {
        return Ok((true, None));
    }
    let on_this_host = matches!(o.host.as_str(), "127.0.0.1" | "localhost" | "compose");
    let missing = match Controller::connect().await {
        Ok(c) => match c.services().await {
            Ok(states) => {
                let down: Vec<&str> = servers
                    .iter()
                    .filter(|s| !states.iter().any(|st| &st.service == *s && st.is_ready()))
                    .map(String::as_str)
                    .collect();
                if down.is_empty() || !on_this_host {
                    if !down.is_empty() {
                        eprintln!("warning: no healthy container for {}", down.join(", "));
                    }
                    return Ok((false, Some(c)));
                }
                anyhow::ensure!(
                    o.host != "compose",
                    "compose project {}: {} not running and healthy (`make up`, then \
                     `loadgen ctl ps`)",
                    c.project(),
                    down.join(", ")
                );
                format!(
                    "compose project {} has no healthy container for {}",
                    c.project(),
                    down.join(", ")
                )
            }
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    };
    anyhow::ensure!(
        o.host != "compose",
        "the compose lab cannot be seen: {missing}"
    );
    if on_this_host {
        eprintln!(
            "{missing}: falling back to --local (the servers as child processes on loopback)"
        );
        return Ok((true, None));
    }
    eprintln!("warning: {missing}: the servers' CPU and memory will not be recorded");
    Ok((false, None))
}

/// `loadgen ctl ...`: the compose lab's containers.
async fn ctl(command: &crate::cli::CtlCommand, json: bool) -> anyhow::Result<()> {
    use crate::cli::CtlCommand;
    let c = Controller::connect().await?;
    let all_servers = || endpoints::servers_of(endpoints::ALL);
    let named = |s: &[String]| {
        if s.is_empty() {
            all_servers()
        } else {
            s.to_vec()
        }
    };
    match command {
        CtlCommand::Ps => {
            let states = c.services().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&states)?);
            } else {
                println!(
                    "{:<12} {:<10} {:<10} container",
                    "service", "state", "health"
                );
                for s in &states {
                    let id = s.container_id.get(..12).unwrap_or(&s.container_id);
                    let health = s.health.as_deref().unwrap_or("-");
                    println!("{:<12} {:<10} {:<10} {id}", s.service, s.state, health);
                }
            }
        }
        CtlCommand::Restart {
            services,
            no_wait,
            timeout,
        } => {
            let services = named(services);
            for s in &services {
                c.restart(s).await?;
                eprintln!("restarted {s}");
            }
            if !no_wait {
                c.wait_healthy(&services, *timeout).await?;
                eprintln!("healthy: {}", services.join(", "));
            }
        }
        CtlCommand::WaitHealthy { services, timeout } => {
            let services = named(services);
            c.wait_healthy(&services, *timeout).await?;
            eprintln!("healthy: {}", services.join(", "));
        }
        CtlCommand::Stats { service, count } => {
            let stream = c.stats_stream(service).await?;
            let limit = count.map_or(usize::MAX, |n| n as usize);
            let mut stream = std::pin::pin!(futures::StreamExt::take(stream, limit));
            if !json {
                println!(
                    "{:>8} {:>10} {:>12} {:>12} {:>12}",
                    "CPU %", "CPU s", "memory", "net rx", "net tx"
                );
            }
            loop {
                let next = tokio::select! {
                    n = futures::StreamExt::next(&mut stream) => n,
                    _ = tokio::signal::ctrl_c() => None,
                };
                let Some(sample) = next else { break };
                let s = sample?;
                if json {
                    println!("{}", serde_json::to_string(&s)?);
                } else {
                    let pct = s
                        .cpu_percent
                        .map_or_else(|| "-".into(), |p| format!("{p:.1}"));
                    let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1048576.0);
                    println!(
                        "{pct:>8} {:>10.2} {:>12} {:>12} {:>12}",
                        s.cpu_seconds,
                        mib(s.memory_bytes),
                        mib(s.rx_bytes),
                        mib(s.tx_bytes)
                    );
                }
            }
        }
    }
    Ok(())
}

/// `loadgen check`: fails with every problem listed when the run is not complete.
fn check_run(o: &crate::cli::CheckOpts) -> anyhow::Result<()> {
    let path = crate::check::resolve(&o.run, &o.out)
        .with_context(|| format!("finding {}", o.run.display()))?;
    let run = results::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let problems = crate::check::problems(&run, &o.servers, o.require_usage.as_deref());
    anyhow::ensure!(
        problems.is_empty(),
        "run {} is incomplete:\n  {}",
        run.run_id,
        problems.join("\n  ")
    );
    let measured = run.cases.iter().filter(|c| c.skipped.is_none()).count();
    println!(
        "run {} ({}): {measured} measured cases, every server covered{}",
        run.run_id,
        path.display(),
        o.require_usage
            .as_ref()
            .map(|s| format!(", {s} resource use on each"))
            .unwrap_or_default()
    );
    Ok(())
}

fn brief(r: &CaseResult) -> String {
    if let Some(why) = &r.skipped {
        return format!("skipped: {why}");
    }
    match r.repetitions.last() {
        Some(rep) if r.valid && rep.push.is_some() => {
            rep.push.as_ref().map(crate::push::note).unwrap_or_default()
        }
        Some(rep) if r.valid => format!(
            "{:.0} req/s, p99 {:.3} ms",
            rep.summary.rps,
            rep.summary.latency.p99_us as f64 / 1000.0
        ),
        _ => format!("INVALID: {}", r.problems.join("; ")),
    }
}
