//! Runs a suite on a lab: every case template on every selected endpoint it applies
//! to, in order, each through the endpoint's driver, with the server's resource use
//! sampled meanwhile. The one loop `loadgen bench` and the dashboard share; the run
//! is returned, not written (`report::save` writes it).

use std::path::Path;

use protolab_bench::{run_case, CaseResult, CaseSpec, Driver, Hooks, Kind, OpSpec, Tick};
use protolab_drivers::{admin_summary, with_driver, DriverConfig, Endpoint, TlsOptions, UseDriver};
use tokio_util::sync::CancellationToken;

use crate::lab::Lab;
use crate::progress::CaseProgress;
use crate::results::jsonl::JsonlWriter;
use crate::results::Run;
use crate::suite::CaseTemplate;

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

/// A suite bound to the endpoints it runs on.
pub struct SuitePlan<'a> {
    pub templates: &'a [CaseTemplate],
    pub selected: &'a [Endpoint],
    /// Every case's repetitions, when given.
    pub repeat: Option<usize>,
    /// Keep every case's slowest calls (`--slow`).
    pub slow: Option<protolab_bench::slow::SlowPlan>,
    /// Rows in the lab's dataset: get_item ids stay within them.
    pub items: u32,
    /// No progress bars.
    pub quiet: bool,
    /// Where run.json goes as each case finishes (`results/`), when anywhere.
    pub out: Option<&'a Path>,
    /// Run every case on these workers instead of in this process (`--workers`).
    pub fleet: Option<&'a crate::fleet::Coordinator>,
}

/// Runs every template of `plan` on `lab`, telling `events` as it goes; every
/// measured sample goes to `raw` when given. A case whose target cannot be reached
/// is FAILED with the reason and the suite goes on; with `plan.out`, run.json is
/// replaced after every case (marked incomplete until the end), so nothing measured
/// is lost. When `stop` is cancelled the run ends after (without) the case in
/// progress and comes back marked incomplete.
pub async fn run_suite(
    lab: &Lab,
    plan: &SuitePlan<'_>,
    started: f64,
    mut raw: Option<&mut JsonlWriter>,
    events: &dyn BenchEvents,
    stop: &CancellationToken,
) -> anyhow::Result<Run> {
    let pairs: Vec<_> = plan
        .templates
        .iter()
        .flat_map(|t| {
            let applies = |e: &&Endpoint| {
                t.endpoints
                    .as_ref()
                    .is_none_or(|n| n.iter().any(|x| x == e.name))
            };
            plan.selected.iter().filter(applies).map(move |e| (t, e))
        })
        .collect();
    let total = pairs.len();
    let mut run = Run::new(Vec::new(), started);
    run.environment.lab = Some(lab.describe().await);
    for (index, (t, e)) in pairs.into_iter().enumerate() {
        let mut t = t.clone();
        if let Some(r) = plan.repeat {
            t.repeat = r.max(1);
        }
        if plan.slow.is_some() {
            t.plan.slow = plan.slow;
        }
        // Ids beyond the lab's dataset would be 404s, not measurements.
        if let OpSpec::GetItem { ids } = &mut t.op {
            *ids = (*ids).min(plan.items.max(1));
        }
        let name = case_name(e, &t);
        events.case_started(&name, index, total);
        let progress = CaseProgress::new(plan.quiet, &name, Some((&name, events)));
        let raw = raw
            .as_deref_mut()
            .map(|w| w as &mut dyn protolab_bench::RawSink);
        let outcome = tokio::select! {
            r = run_endpoint(lab, e, &t, &progress, raw, plan.fleet) => r,
            _ = stop.cancelled() => None,
        };
        progress.finish();
        let Some(r) = outcome else {
            run.incomplete = Some(format!(
                "interrupted after {} of {total} cases",
                run.cases.len()
            ));
            break;
        };
        events.case_finished(&r, &crate::results::brief(&r));
        run.cases.push(r);
        if let Some(root) = plan.out {
            run.incomplete = Some(format!("running: {} of {total} cases", run.cases.len()));
            if let Err(e) = crate::results::write_progress(root, &run) {
                tracing::warn!(error = %e, "run.json not updated");
            }
        }
        run.incomplete = None;
    }
    Ok(run)
}

/// The name of `template`'s case on `e`.
fn case_name(e: &Endpoint, template: &CaseTemplate) -> String {
    format!("{}/{}", e.name, template.name)
}

/// One case of a suite on one endpoint of `lab`: its result, FAILED with the
/// reason when the target could not even be reached.
async fn run_endpoint<'a>(
    lab: &Lab,
    e: &Endpoint,
    template: &CaseTemplate,
    progress: &'a CaseProgress<'a>,
    raw: Option<&'a mut dyn protolab_bench::RawSink>,
    fleet: Option<&crate::fleet::Coordinator>,
) -> Option<CaseResult> {
    let mut spec = CaseSpec {
        name: case_name(e, template),
        protocol: e.name.to_string(),
        target: String::new(),
        op: template.op.clone(),
        kind: template.kind.clone(),
        plan: template.plan.clone(),
        repeat: template.repeat,
        z_threshold: template.z_threshold,
        max_errors: template.max_errors,
    };
    let Some(addr) = lab.addr(e.server()) else {
        let why = format!("no address for {}", e.server());
        return Some(CaseResult::failed(spec, why));
    };
    spec.target = e.target(&addr);
    if let Kind::Hold {
        admin: a @ None, ..
    } = &mut spec.kind
    {
        *a = Some(addr.admin());
    }
    // Ids beyond the dataset the server serves would be 404s, not measurements.
    if let OpSpec::GetItem { ids } = &mut spec.op {
        if let Some(rows) = admin_summary(&addr.admin()).await.and_then(|s| s.items) {
            *ids = (*ids).min(u32::try_from(rows).unwrap_or(u32::MAX).max(1));
        }
    }
    if let Err(err) = lab.restart_if_asked(e.server()).await {
        let why = format!("restarting {}: {err:#}", e.server());
        return Some(CaseResult::failed(spec, why));
    }
    if let Some(r) = template.replicas {
        if let Err(why) = lab.scale(e.server(), r).await {
            let mut skipped = CaseResult::skipped(spec, why);
            skipped.cell = template.cell;
            return Some(skipped);
        }
    }
    let sampler = lab.sampler(e.server()).await;
    let server = lab.server_probe(e.server()).await;
    let mut result = match fleet {
        Some(f) => f.run_case(e.name, spec, server.as_ref(), progress).await,
        None => run_here(lab, e, spec, server, progress, raw).await,
    };
    if let Some(s) = sampler {
        result.server_usage = Some(s.finish().await);
    }
    result.cell = template.cell;
    Some(result)
}

/// `spec` on `e` by this process's own engine.
async fn run_here<'a>(
    lab: &Lab,
    e: &Endpoint,
    spec: CaseSpec,
    server: Option<protolab_bench::usage::ServerProbe>,
    progress: &'a CaseProgress<'a>,
    raw: Option<&'a mut dyn protolab_bench::RawSink>,
) -> CaseResult {
    let mut hooks = Hooks {
        progress,
        raw,
        admin: protolab_drivers::admin_view(&spec.kind),
        server,
        same_clock: lab.same_clock(),
    };
    run_on(e, spec, lab.tls.clone(), &mut hooks).await
}

/// `spec` with `e`'s driver (TLS targets reached with `tls`): its result, FAILED
/// with the reason when the driver could not be made (the target unreachable).
pub async fn run_on(
    e: &Endpoint,
    spec: CaseSpec,
    tls: TlsOptions,
    hooks: &mut Hooks<'_>,
) -> CaseResult {
    let config = DriverConfig {
        target: spec.target.clone(),
        http: e.http,
        tls,
        auth: None,
        seed: protolab_core::dataset::DEFAULT_SEED,
    };
    let op = spec.op.clone();
    let failed = spec.clone();
    let user = RunCase {
        spec: |_: &str| spec,
        hooks,
    };
    match with_driver(e.protocol, &config, &op, user).await {
        Ok(r) => r,
        Err(err) => CaseResult::failed(failed, format!("target {}: {err}", config.target)),
    }
}

/// Runs one case with whatever driver its endpoint has; `spec` makes the case from
/// the driver's name (an ad-hoc run is named after it).
pub struct RunCase<'h, 'a, F> {
    pub spec: F,
    pub hooks: &'h mut Hooks<'a>,
}

impl<F: FnOnce(&str) -> CaseSpec + Send> UseDriver for RunCase<'_, '_, F> {
    type Output = CaseResult;

    async fn run<D: Driver>(self, driver: D) -> CaseResult {
        let spec = (self.spec)(&driver.name());
        run_case(std::sync::Arc::new(driver), spec, self.hooks).await
    }
}
