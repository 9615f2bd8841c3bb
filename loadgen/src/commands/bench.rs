//! `loadgen bench`: a suite on every selected endpoint of a lab (the compose lab's
//! containers, or `--local` child processes), printed and written with its report.

use anyhow::Context;
use protolab_bench::CaseResult;
use protolab_drivers::{select, servers_of};

use tokio_util::sync::CancellationToken;

use crate::cli::BenchOpts;
use crate::lab::controller::Controller;
use crate::lab::local::LocalLab;
use crate::lab::Lab;
use crate::runner::{run_suite, BenchEvents, SuitePlan};

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

/// Runs the suite, then prints and writes the run.
pub async fn bench(o: &BenchOpts, quiet: bool, json: bool) -> anyhow::Result<()> {
    let started = protolab_bench::unix_now();
    let templates = crate::suite::load(&o.suite).with_context(|| format!("suite {}", o.suite))?;
    let selected = select(&o.targets, o.endpoints.as_deref());
    anyhow::ensure!(
        !selected.is_empty(),
        "no endpoint matches --targets/--endpoints"
    );
    let servers = servers_of(&selected);
    let (local_mode, docker) = lab_mode(o, &servers).await?;
    let server_cpus = o.server_cpus.clone().map(|c| c.0).filter(|_| local_mode);
    let local = if local_mode {
        let pinned = server_cpus
            .as_ref()
            .map(|c| format!(", pinned to CPU {c:?}"))
            .unwrap_or_default();
        eprintln!(
            "--local: starting {} as child processes on loopback{pinned}",
            servers.join(", ")
        );
        let bin_dir = crate::lab::local::bin_dir();
        let lab = LocalLab::start(&servers, &bin_dir, o.items, server_cpus.as_deref());
        Some(lab.await.context("starting the local lab")?)
    } else {
        None
    };
    let certs = local
        .as_ref()
        .map(|l| l.certs.clone())
        .unwrap_or_else(|| "certs".into());
    let tls = o.tls.options(&certs);
    let mut lab = Lab::new(local, o.host.clone(), tls);
    if let Some(c) = docker {
        lab = lab.with_docker(c, o.restart);
    }
    let fleet = crate::fleet::Coordinator::form(&o.fleet).await?;
    let plan = SuitePlan {
        templates: &templates,
        selected: &selected,
        repeat: o.repeat,
        slow: o.slow.plan(),
        items: o.items,
        quiet,
        out: Some(&o.out),
        fleet: fleet.as_ref(),
    };
    let mut raw = super::run::open_raw(Some(&o.out), o.raw, started)?;
    let printer = Printer { quiet };
    // Ctrl-C ends the suite after the case in progress; what was measured is kept.
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    let signal = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: stopping after the case in progress is dropped");
            on_signal.cancel();
        }
    });
    let outcome = run_suite(&lab, &plan, started, raw.as_mut(), &printer, &stop).await;
    signal.abort();
    if let Some(l) = lab.into_local() {
        l.stop().await;
    }
    if let Some(w) = raw {
        w.finish()?;
    }
    let mut run = outcome?;
    run.environment.server_cpus = server_cpus.map(|c| format!("{c:?}"));
    super::finish(&run, Some(&o.out), json, o.strict)
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
