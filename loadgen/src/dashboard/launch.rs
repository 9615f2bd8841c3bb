//! Launching a run from the page: the form's parameters, validated into the same
//! suite templates the CLI builds (a custom case is written as a one-case suite and
//! parsed by `suite::parse`, so it means exactly what the same TOML would), then run
//! by `runner::run_suite` and written by `report::save`, as `loadgen bench` does.

use std::sync::Arc;

use serde::Deserialize;

use crate::lab::{lab_tls, Lab};
use crate::runner::{run_suite, SuitePlan};
use crate::suite::CaseTemplate;
use protolab_drivers::{self as endpoints, Endpoint};

use super::live::LiveBench;
use super::state::{server_names, AppState};

/// What the run form sends.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// `suite` (a built-in suite) or `custom` (one case).
    pub mode: String,
    #[serde(default)]
    pub suite: Option<String>,
    /// Servers; empty: all.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Endpoints (e.g. rest-h1); empty: every endpoint of the targets.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// custom: ping, get_item, list_items, echo, score.
    #[serde(default)]
    pub op: Option<String>,
    /// custom: closed, open, sweep.
    #[serde(default)]
    pub model: Option<String>,
    /// custom: open loop's rate, a sweep's first rate.
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub connections: Option<usize>,
    /// custom: measured duration (`5s`).
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub repeat: Option<usize>,
}

/// A run ready to go.
#[derive(Debug)]
pub struct Launch {
    pub label: String,
    pub templates: Vec<CaseTemplate>,
    pub selected: Vec<Endpoint>,
    pub repeat: usize,
    /// Rows in the lab's dataset.
    pub items: u32,
    /// The lab's TLS files from the environment (none for a `--local` lab).
    pub ca: Option<std::path::PathBuf>,
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
}

const OPS: [&str; 5] = ["ping", "get_item", "list_items", "echo", "score"];
const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(3600);

/// Checks `p` and turns it into a launch, or says what is wrong.
pub fn validate(p: &RunParams, state: &AppState) -> Result<Launch, String> {
    let names = server_names();
    if let Some(bad) = p.targets.iter().find(|t| !names.contains(t)) {
        return Err(format!(
            "unknown target {bad:?} (known: {})",
            names.join(", ")
        ));
    }
    let known: Vec<&str> = endpoints::ENDPOINTS.iter().map(|e| e.name).collect();
    if let Some(bad) = p.endpoints.iter().find(|e| !known.contains(&e.as_str())) {
        return Err(format!(
            "unknown endpoint {bad:?} (known: {})",
            known.join(", ")
        ));
    }
    let only = (!p.endpoints.is_empty()).then_some(p.endpoints.as_slice());
    let selected = endpoints::select(&p.targets, only);
    if selected.is_empty() {
        return Err("no endpoint matches the chosen targets and endpoints".into());
    }
    let repeat = p.repeat.unwrap_or(1);
    if !(1..=20).contains(&repeat) {
        return Err("repetitions must be between 1 and 20".into());
    }
    let (label, templates) = match p.mode.as_str() {
        "suite" => {
            let name = p.suite.as_deref().unwrap_or("quick");
            if !crate::suite::BUILT_IN.iter().any(|(n, _)| *n == name) {
                return Err(format!("unknown suite {name:?} (quick, full)"));
            }
            let t = crate::suite::load(name).map_err(|e| e.to_string())?;
            (format!("suite {name}"), t)
        }
        "custom" => {
            let (label, toml) = custom_suite(p)?;
            let t = crate::suite::parse(&toml).map_err(|e| e.to_string())?;
            (label, t)
        }
        other => return Err(format!("unknown mode {other:?} (suite, custom)")),
    };
    stopped_servers(&selected, state)?;
    let items = state
        .servers
        .items()
        .unwrap_or(protolab_core::dataset::DEFAULT_ITEMS);
    let local = matches!(state.servers, super::state::Servers::Local(_));
    let targets = protolab_drivers::servers_of(&selected).join(", ");
    Ok(Launch {
        label: format!("{label} on {targets}, {repeat} repetition(s)"),
        templates,
        selected,
        repeat,
        items,
        // The compose lab's files, as the loadgen service's environment names them
        // (`--local` labs bring their own).
        ca: lab_file(local, "TLS_CA"),
        cert: lab_file(local, "TLS_CLIENT_CERT"),
        key: lab_file(local, "TLS_CLIENT_KEY"),
    })
}

/// A TLS file of the compose lab from the environment (TLS_CA, ...); none for `--local`.
fn lab_file(local: bool, var: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(var)
        .filter(|_| !local)
        .map(std::path::PathBuf::from)
}

/// A local server the run needs that is not running.
fn stopped_servers(selected: &[Endpoint], state: &AppState) -> Result<(), String> {
    if !matches!(state.servers, super::state::Servers::Local(_)) {
        return Ok(());
    }
    let infos = state.servers.infos();
    let needed = endpoints::servers_of(selected);
    let stopped: Vec<&str> = needed
        .iter()
        .filter(|n| !infos.iter().any(|i| &i.name == *n && i.pid.is_some()))
        .map(String::as_str)
        .collect();
    if stopped.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "not running: {} (start it on the Servers table, or pick other targets)",
            stopped.join(", ")
        ))
    }
}

/// The one-case suite a custom run describes, and its label.
fn custom_suite(p: &RunParams) -> Result<(String, String), String> {
    let op = p.op.as_deref().unwrap_or("get_item");
    if !OPS.contains(&op) {
        return Err(format!("unknown op {op:?} (known: {})", OPS.join(", ")));
    }
    let (kind, needs_rate) = match p.model.as_deref().unwrap_or("closed") {
        "closed" => ("throughput", false),
        "open" => ("rate", true),
        "sweep" => ("sweep", true),
        other => {
            return Err(format!(
                "unknown load model {other:?} (closed, open, sweep)"
            ))
        }
    };
    let connections = p.connections.unwrap_or(16);
    if !(1..=10_000).contains(&connections) {
        return Err("connections must be between 1 and 10000".into());
    }
    let duration = p.duration.as_deref().unwrap_or("5s").trim().to_string();
    let d = humantime::parse_duration(&duration)
        .map_err(|e| format!("duration {duration:?}: {e} (e.g. 5s, 1m)"))?;
    if d.is_zero() || d > MAX_DURATION {
        return Err("duration must be more than 0 and at most 1h".into());
    }
    let mut case = toml::Table::new();
    case.insert("kind".into(), kind.into());
    case.insert("op".into(), op.into());
    case.insert("connections".into(), (connections as i64).into());
    case.insert("duration".into(), duration.clone().into());
    case.insert("warmup".into(), "1s".into());
    let mut label = format!("{kind} {op}, {connections} connections, {duration}");
    if needs_rate {
        let rate = p
            .rate
            .ok_or("this load model needs a rate (requests per second)")?;
        if !(rate.is_finite() && rate > 0.0 && rate <= 1e7) {
            return Err(
                "rate must be a positive number of requests per second, at most 10M".into(),
            );
        }
        case.insert("rate".into(), rate.into());
        label.push_str(&format!(" at {rate} req/s"));
    }
    let mut suite = toml::Table::new();
    suite.insert("case".into(), toml::Value::Array(vec![case.into()]));
    let text = toml::to_string(&suite).map_err(|e| e.to_string())?;
    Ok((label, text))
}

/// Runs `launch` in the background; the caller has claimed the run slot.
pub fn spawn(state: Arc<AppState>, launch: Launch) {
    tokio::spawn(async move {
        state.live.update_run(|r| {
            *r = super::live::RunView {
                state: "running".into(),
                label: launch.label.clone(),
                ..Default::default()
            }
        });
        let outcome = run(&state, &launch).await;
        state.live.update_run(|r| match outcome {
            Ok(done) => {
                r.state = if done.cancelled {
                    "cancelled"
                } else {
                    "finished"
                }
                .into();
                r.run_id = Some(done.run_id);
                r.warnings.extend(done.warnings);
            }
            Err(e) => {
                r.state = "failed".into();
                r.error = Some(e);
            }
        });
        state.release_run();
    });
}

/// A run written to results/.
struct Done {
    run_id: String,
    /// Environment warnings.
    warnings: Vec<String>,
    /// Stopped from the page: what it measured until then.
    cancelled: bool,
}

/// Runs and writes the run (what it measured, when stopped), or says why it failed.
async fn run(state: &Arc<AppState>, launch: &Launch) -> Result<Done, String> {
    let local = state.servers.take_lab().await.map_err(|e| e.to_string())?;
    let certs = local
        .as_ref()
        .map(|l| l.certs.clone())
        .unwrap_or_else(|| "certs".into());
    let (ca, cert, key) = (&launch.ca, &launch.cert, &launch.key);
    let tls = lab_tls(ca.as_deref(), cert.as_deref(), key.as_deref(), &certs);
    let mut lab = Lab::new(local, state.host.clone(), tls);
    if let super::state::Servers::Docker(d) = &state.servers {
        if let Ok(c) = &d.controller {
            lab = lab.with_docker(c.clone(), false);
        }
    }
    let started = protolab_bench::unix_now();
    let events = LiveBench(&state.live);
    let plan = SuitePlan {
        templates: &launch.templates,
        selected: &launch.selected,
        repeat: Some(launch.repeat),
        slow: None,
        items: launch.items,
        quiet: true,
        out: Some(&state.results),
        fleet: None,
    };
    // Stop ends the run after the case in progress; what was measured is kept.
    let stop = tokio_util::sync::CancellationToken::new();
    let on_stop = (state.clone(), stop.clone());
    let watcher = tokio::spawn(async move {
        on_stop.0.cancel.notified().await;
        on_stop.1.cancel();
    });
    let outcome = run_suite(&lab, &plan, started, None, &events, &stop)
        .await
        .map_err(|e| format!("{e:#}"));
    watcher.abort();
    state.servers.give_back(lab.into_local()).await;
    let mut run = outcome?;
    run.command = vec!["loadgen".into(), "dashboard".into(), launch.label.clone()];
    let warnings = run.environment.warnings.clone();
    let cancelled = run.incomplete.is_some();
    let out = state.results.clone();
    // Charts are CPU work: off the async threads.
    let dir = tokio::task::spawn_blocking(move || crate::report::save(&out, &run))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{e:#}"))?;
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Done {
        run_id,
        warnings,
        cancelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_case_becomes_a_one_case_suite() -> Result<(), String> {
        let p = RunParams {
            mode: "custom".into(),
            op: Some("ping".into()),
            model: Some("open".into()),
            rate: Some(500.0),
            connections: Some(4),
            duration: Some("2s".into()),
            ..RunParams::default()
        };
        let (label, toml) = custom_suite(&p)?;
        assert!(
            label.contains("rate ping") && label.contains("500"),
            "{label}"
        );
        let t = crate::suite::parse(&toml).map_err(|e| e.to_string())?;
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].plan.connections, 4);
        assert_eq!(t[0].plan.duration, std::time::Duration::from_secs(2));
        assert!(matches!(t[0].plan.model, protolab_bench::Model::Open { rate } if rate == 500.0));
        let no_rate = RunParams {
            rate: None,
            ..p.clone()
        };
        assert!(custom_suite(&no_rate).is_err_and(|e| e.contains("needs a rate")));
        let bad = RunParams {
            duration: Some("soon".into()),
            ..p
        };
        assert!(custom_suite(&bad).is_err_and(|e| e.contains("duration")));
        Ok(())
    }
}
