//! Live updates: the servers' status (sampled once a second: readiness, CPU %,
//! memory, open connections) and the current run's progress, each kept as one
//! snapshot and broadcast whole on every change. A page that connects gets both
//! snapshots first, then every change, over one SSE stream: the browser only
//! renders what it is sent and never polls.
//!
//! The numbers come from where the CLI gets them: the engine's per-second `Tick`
//! (through `commands::BenchEvents`), `/proc` (`local::proc_usage`) and each
//! server's admin `/metrics`. Nothing here measures load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::runner::BenchEvents;
use protolab_bench::CaseResult;
use protolab_bench::Tick;
use protolab_drivers::get_once;

use super::state::{AppState, ServerInfo};

/// The Prometheus gauge of open connections every server exports (services/core).
pub const OPEN_CONNECTIONS_GAUGE: &str = "protolab_open_connections";

/// One server's live status.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerStatus {
    pub name: String,
    /// running, stopped, exited, starting, stopping, restarting, unreachable.
    pub state: String,
    /// Its admin /readyz answered 200.
    pub ready: bool,
    pub pid: Option<u32>,
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub open_connections: Option<i64>,
    pub ports: String,
    pub note: Option<String>,
}

/// A case of the current run.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct CaseView {
    pub name: String,
    /// running, ok, invalid, failed, skipped.
    pub status: String,
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The CLI's one-line summary, once finished.
    pub brief: Option<String>,
}

/// The current (or last) run.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RunView {
    /// idle, running, finished, failed, cancelled.
    pub state: String,
    pub label: String,
    pub total: usize,
    pub cases: Vec<CaseView>,
    /// results/<run_id> once written.
    pub run_id: Option<String>,
    pub error: Option<String>,
    /// Validity warnings: INVALID cases, environment warnings.
    pub warnings: Vec<String>,
}

/// A change, as sent to browsers: the SSE event name and its JSON.
pub type Message = Arc<(&'static str, String)>;

/// The snapshots and the channel that carries their changes.
pub struct Live {
    tx: broadcast::Sender<Message>,
    servers: Mutex<Vec<ServerStatus>>,
    run: Mutex<RunView>,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    pub fn new() -> Live {
        let (tx, _) = broadcast::channel(256);
        Live {
            tx,
            servers: Mutex::new(Vec::new()),
            run: Mutex::new(RunView {
                state: "idle".into(),
                ..RunView::default()
            }),
        }
    }

    /// Listens for changes; `snapshot` gives the state to start from.
    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.tx.subscribe()
    }

    /// Both snapshots as messages (what a new page is sent first).
    pub fn snapshot(&self) -> Vec<Message> {
        vec![
            message("servers", &*lock(&self.servers)),
            message("run", &*lock(&self.run)),
        ]
    }

    pub fn servers(&self) -> Vec<ServerStatus> {
        lock(&self.servers).clone()
    }

    pub fn run(&self) -> RunView {
        lock(&self.run).clone()
    }

    pub fn set_servers(&self, servers: Vec<ServerStatus>) {
        let mut s = lock(&self.servers);
        if *s != servers {
            *s = servers;
            let _ = self.tx.send(message("servers", &*s));
        }
    }

    /// Changes the run snapshot and broadcasts it.
    pub fn update_run(&self, f: impl FnOnce(&mut RunView)) {
        let mut r = lock(&self.run);
        f(&mut r);
        let _ = self.tx.send(message("run", &*r));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic mid-update leaves a snapshot that is still worth showing.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn message<T: Serialize>(event: &'static str, value: &T) -> Message {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    Arc::new((event, json))
}

/// A run's events into the run snapshot.
pub struct LiveBench<'a>(pub &'a Live);

impl BenchEvents for LiveBench<'_> {
    fn case_started(&self, name: &str, _index: usize, total: usize) {
        self.0.update_run(|r| {
            r.total = total;
            r.cases.push(CaseView {
                name: name.into(),
                status: "running".into(),
                ..CaseView::default()
            });
        });
    }

    fn tick(&self, case: &str, t: Tick) {
        self.0.update_run(|r| {
            if let Some(c) = r.cases.iter_mut().rev().find(|c| c.name == case) {
                c.requests = t.requests;
                c.errors = t.errors;
                c.rps = t.rps;
                c.p50_ms = t.p50_us as f64 / 1000.0;
                c.p99_ms = t.p99_us as f64 / 1000.0;
            }
        });
    }

    fn case_finished(&self, result: &CaseResult, brief: &str) {
        self.0.update_run(|r| {
            let Some(c) = r
                .cases
                .iter_mut()
                .rev()
                .find(|c| c.name == result.spec.name)
            else {
                return;
            };
            c.status = if result.skipped.is_some() {
                "skipped"
            } else if result.broken() {
                "failed"
            } else if !result.valid {
                "invalid"
            } else {
                "ok"
            }
            .into();
            if let Some(rep) = result.repetitions.last() {
                let s = &rep.summary;
                c.requests = s.requests;
                c.errors = s.errors;
                c.rps = result
                    .stats
                    .get(&protolab_bench::Metric::Rps)
                    .map(|x| x.mean)
                    .unwrap_or(s.rps);
                c.p50_ms = s.latency.p50_us as f64 / 1000.0;
                c.p99_ms = s.latency.p99_us as f64 / 1000.0;
            }
            c.brief = Some(brief.to_string());
            if !result.valid && result.skipped.is_none() {
                r.warnings.push(format!(
                    "{}: {}",
                    result.spec.name,
                    result.problems.join("; ")
                ));
            }
        });
    }
}

/// Samples every server once a second into `state.live`, until the state is dropped.
pub async fn sample_servers(state: std::sync::Weak<AppState>) {
    let mut cpu_before: HashMap<u32, (f64, Instant)> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else { return };
        let docker = match &state.servers {
            super::state::Servers::Docker(d) => {
                d.refresh().await;
                Some(d)
            }
            super::state::Servers::Local(_) => None,
        };
        let infos = state.servers.infos();
        let probes = infos.iter().map(|i| probe(i.admin.clone()));
        let answers = futures::future::join_all(probes).await;
        let statuses = infos
            .into_iter()
            .zip(answers)
            .map(|(info, (ready, conns))| match docker {
                Some(d) => {
                    let container = d.container(&info.name);
                    container_status(info, ready, conns, container)
                }
                None => status(info, ready, conns, &mut cpu_before),
            })
            .collect();
        state.live.set_servers(statuses);
    }
}

/// A compose server: its container's state and stats, its admin endpoint's answers.
fn container_status(
    info: ServerInfo,
    ready: bool,
    open_connections: Option<i64>,
    container: Option<(String, Option<super::docker::Usage>)>,
) -> ServerStatus {
    let (state, usage) = match (info.pending, container) {
        (Some(p), c) => (p.to_string(), c.and_then(|c| c.1)),
        (None, Some((state, usage))) => (state, usage),
        // No container seen: the servers may still run elsewhere on `host`.
        (None, None) if ready => ("running".into(), None),
        (None, None) => ("unreachable".into(), None),
    };
    ServerStatus {
        name: info.name,
        state,
        ready,
        pid: None,
        cpu_percent: usage.and_then(|u| u.0),
        memory_bytes: usage.map(|u| u.1),
        open_connections,
        ports: info.ports,
        note: info.note,
    }
}

/// A `--local` server: its process, from /proc.
fn status(
    info: ServerInfo,
    ready: bool,
    open_connections: Option<i64>,
    cpu_before: &mut HashMap<u32, (f64, Instant)>,
) -> ServerStatus {
    let alive = info.pid.filter(|p| process_alive(*p));
    let usage = alive.and_then(crate::lab::local::proc_usage);
    let cpu_percent = match (alive, usage) {
        (Some(pid), Some((cpu, _))) => {
            let now = Instant::now();
            let before = cpu_before.insert(pid, (cpu, now));
            before.map(|(c, t)| (cpu - c) / now.duration_since(t).as_secs_f64().max(1e-3) * 100.0)
        }
        _ => None,
    };
    let state = match (info.pending, info.pid, alive) {
        (Some(p), ..) => p.to_string(),
        (None, None, _) => "stopped".into(),
        (None, Some(_), None) => "exited".into(),
        (None, Some(_), Some(_)) => "running".into(),
    };
    ServerStatus {
        name: info.name,
        state,
        ready,
        pid: alive,
        cpu_percent,
        memory_bytes: usage.map(|u| u.1),
        open_connections,
        ports: info.ports,
        note: info.note,
    }
}

/// A process that exists and is not a zombie (a child that died and is not reaped yet).
fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// How long a server's admin endpoint gets to answer each sampling tick.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(1);

/// (ready, open connections) from a server's admin endpoint.
async fn probe(admin: Option<String>) -> (bool, Option<i64>) {
    let Some(admin) = admin else {
        return (false, None);
    };
    let ready = get_once(&admin, "/readyz", ADMIN_TIMEOUT)
        .await
        .is_some_and(|(s, _)| s == 200);
    let conns = get_once(&admin, "/metrics", ADMIN_TIMEOUT)
        .await
        .and_then(|(_, body)| gauge(&String::from_utf8_lossy(&body), OPEN_CONNECTIONS_GAUGE))
        .map(|v| v as i64);
    (ready, conns)
}

/// The value of an unlabelled (or first labelled) sample of `name` in Prometheus /
/// OpenMetrics text.
pub fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let rest = match rest.chars().next()? {
            '{' => &rest[rest.find('}')? + 1..],
            ' ' | '\t' => rest,
            _ => return None,
        };
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_connections_gauge_is_read_from_openmetrics_text() {
        let text = "# HELP protolab_open_connections Connections open now.\n\
                    # TYPE protolab_open_connections gauge\n\
                    protolab_open_connections_total 9\n\
                    protolab_open_connections 3\n\
                    # EOF\n";
        assert_eq!(gauge(text, OPEN_CONNECTIONS_GAUGE), Some(3.0));
        assert_eq!(gauge("x{a=\"b\"} 7 123\n", "x"), Some(7.0));
        assert_eq!(gauge("protolab_requests 1\n", OPEN_CONNECTIONS_GAUGE), None);
    }

    #[test]
    fn a_changed_run_is_broadcast_whole() {
        let live = Live::new();
        let mut rx = live.subscribe();
        let events = LiveBench(&live);
        events.case_started("rest-h1/throughput_ping", 0, 2);
        events.tick(
            "rest-h1/throughput_ping",
            Tick {
                requests: 10,
                errors: 1,
                rps: 5.0,
                p50_us: 1500,
                p99_us: 3000,
            },
        );
        let _started = rx.try_recv();
        let ticked = rx.try_recv().map_err(|e| e.to_string());
        let ticked = ticked.as_deref().map(|m| (m.0, m.1.clone()));
        let (event, json) = ticked.unwrap_or(("none", String::new()));
        assert_eq!(event, "run");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(v["total"], 2);
        assert_eq!(v["cases"][0]["p99_ms"], 3.0);
        assert_eq!(v["cases"][0]["status"], "running");
    }
}
