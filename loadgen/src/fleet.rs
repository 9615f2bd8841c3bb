//! The distributed generator's two ends in the binary (the protocol-free logic is
//! `protolab_bench::fleet`): `loadgen worker`, which runs each job with the driver
//! of its endpoint, and the coordinator a bench forms with `--workers N`, which
//! finds the workers by name (in dnsrr mode, and in compose, a service's name lists
//! every replica's address) and refills itself from the same name after losing one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use protolab_bench::fleet::{self, CaseRunner, Fleet, Identity};
use protolab_bench::usage::ServerProbe;
use protolab_bench::{CaseResult, CaseSpec, Hooks, Progress};
use protolab_drivers::{Peers, TlsOptions, ENDPOINTS};
use tokio::sync::Mutex;

use crate::cli::{FleetOpts, WorkerOpts};

/// `loadgen worker`: serves coordinators until killed.
pub async fn worker(o: &WorkerOpts) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(o.listen)
        .await
        .with_context(|| format!("listening on {}", o.listen))?;
    let name = o
        .name
        .clone()
        .or_else(|| protolab_core::process::replica().map(str::to_string))
        .unwrap_or_else(|| format!("worker-{}", std::process::id()));
    let index = fleet::index_from_env(|k| std::env::var(k).ok());
    eprintln!(
        "worker {name} (index {}) waiting for a coordinator on {}",
        index.map_or_else(|| "none".to_string(), |i| i.to_string()),
        o.listen
    );
    let tls = o.tls.options(std::path::Path::new("certs"));
    serve_worker(listener, Identity { name, index }, tls).await;
    Ok(())
}

/// Serves coordinators on `listener` as worker `me`, reaching TLS targets with
/// `tls`, until the task is dropped.
pub async fn serve_worker(listener: tokio::net::TcpListener, me: Identity, tls: TlsOptions) {
    fleet::serve(listener, me, Arc::new(Runner { tls })).await;
}

/// A worker's way to run a job: the endpoint's driver, no server observed (the
/// coordinator meters the server over the fleet's window).
struct Runner {
    tls: TlsOptions,
}

impl CaseRunner for Runner {
    async fn run(&self, endpoint: &str, spec: CaseSpec, progress: &dyn Progress) -> CaseResult {
        let Some(e) = ENDPOINTS.iter().find(|e| e.name == endpoint) else {
            let why = format!("this worker has no endpoint {endpoint}");
            return CaseResult::failed(spec, why);
        };
        let mut hooks = Hooks {
            progress,
            raw: None,
            admin: None,
            server: None,
            same_clock: false,
        };
        crate::runner::run_on(e, spec, self.tls.clone(), &mut hooks).await
    }
}

/// A bench's coordinator and where its workers are found.
pub struct Coordinator {
    fleet: Mutex<Fleet>,
    opts: FleetOpts,
}

impl Coordinator {
    /// The coordinator `o` asks for, with every worker joined; `None` without
    /// `--workers` (or with 0).
    pub async fn form(o: &FleetOpts) -> anyhow::Result<Option<Coordinator>> {
        let Some(n) = o.workers.filter(|n| *n > 0) else {
            return Ok(None);
        };
        let addrs = workers_at(&o.worker_addr, n, o.join_timeout).await?;
        eprintln!("joining {n} worker(s) at {}", list(&addrs));
        let fleet = Fleet::connect(&addrs, o.join_timeout)
            .await
            .context("forming the fleet")?;
        for (name, offset, rtt) in fleet.members() {
            eprintln!(
                "  worker {name}: clock {:+.3} ms (round trip {:.3} ms)",
                offset * 1e3,
                rtt * 1e3
            );
        }
        Ok(Some(Coordinator {
            fleet: Mutex::new(fleet),
            opts: o.clone(),
        }))
    }

    /// Runs `spec` on the fleet, first refilling it (from the workers' name) when
    /// it lost a member, say one its orchestrator has since restarted.
    pub async fn run_case(
        &self,
        endpoint: &str,
        spec: CaseSpec,
        server: Option<&ServerProbe>,
        progress: &dyn Progress,
    ) -> CaseResult {
        let mut fleet = self.fleet.lock().await;
        let (have, want) = fleet.size();
        if have < want {
            let within = self.opts.join_timeout.min(Duration::from_secs(30));
            match workers_at(&self.opts.worker_addr, want, within).await {
                Ok(addrs) => {
                    if let Err(e) = fleet.rejoin(&addrs, within).await {
                        tracing::warn!(error = %e, "the fleet could not be refilled");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the fleet could not be refilled"),
            }
        }
        fleet.run_case(endpoint, spec, server, progress).await
    }
}

fn list(addrs: &[SocketAddr]) -> String {
    let all: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    all.join(", ")
}

/// `n` worker addresses from `names` (each resolved to all its addresses), asked
/// again until there are `n` or `within` has passed: a swarm lists a task's
/// address only once it runs.
async fn workers_at(
    names: &[String],
    n: usize,
    within: Duration,
) -> anyhow::Result<Vec<SocketAddr>> {
    let until = tokio::time::Instant::now() + within;
    loop {
        let mut addrs = Vec::new();
        let mut why = None;
        for name in names {
            // One address family: a dual-stack name is one worker, not two.
            match Peers::resolve(name).await {
                Ok(found) => addrs.extend_from_slice(found.addrs()),
                Err(e) => why = Some(e.to_string()),
            }
        }
        addrs.sort();
        addrs.dedup();
        if addrs.len() >= n {
            addrs.truncate(n);
            return Ok(addrs);
        }
        if tokio::time::Instant::now() >= until {
            anyhow::bail!(
                "{} of {n} worker address(es) found at {} after {:?}{}",
                addrs.len(),
                names.join(","),
                within,
                why.map(|w| format!(" ({w})")).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
