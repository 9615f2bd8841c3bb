//! The dashboard's state: the servers and how they are controlled (child processes
//! with `--local`, the Docker controller otherwise), the run slot (one run at a
//! time), the results folder. No HTTP here: handlers call these methods and map
//! the errors to status codes.
//!
//! While a run goes, it owns the local lab (`commands::Lab` takes it by value), so
//! no server can be started, stopped or re-seeded under a measurement: those calls
//! answer [`StateError::Busy`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::lab::local::{LocalError, LocalLab};
use protolab_drivers::{self as endpoints, ServerAddr};

use super::docker::DockerServers;
use super::live::Live;
use super::security::Guard;

/// Why a state change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("unknown server {0:?}")]
    UnknownServer(String),
    #[error("unknown action {0:?} (start, stop, restart)")]
    UnknownAction(String),
    #[error("a run is in progress: wait for it to finish or stop it first")]
    Busy,
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Docker(#[from] crate::lab::controller::ControlError),
}

/// What a control button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
}

impl Action {
    pub fn parse(s: &str) -> Result<Action, StateError> {
        match s {
            "start" => Ok(Action::Start),
            "stop" => Ok(Action::Stop),
            "restart" => Ok(Action::Restart),
            other => Err(StateError::UnknownAction(other.into())),
        }
    }

    /// The transient state shown while the action runs.
    pub(super) fn pending(self) -> &'static str {
        match self {
            Action::Start => "starting",
            Action::Stop => "stopping",
            Action::Restart => "restarting",
        }
    }
}

/// One server as the pages and the sampler see it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    pub name: String,
    /// `host:port` of its admin endpoint (healthz, readyz, metrics), when it runs.
    pub admin: Option<String>,
    pub pid: Option<u32>,
    pub ports: String,
    /// The environment it was started with (local mode).
    pub config: Vec<(String, String)>,
    /// An action under way (starting, stopping, restarting).
    pub pending: Option<&'static str>,
    /// Why the last action failed.
    pub note: Option<String>,
}

/// Where the servers run.
// One per process: the size of the biggest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Servers {
    /// Child processes on loopback (`--local`).
    Local(LocalServers),
    /// The compose lab, through the Docker controller.
    Docker(DockerServers),
}

/// The `--local` lab and what is known of it while a run holds it.
pub struct LocalServers {
    lab: tokio::sync::Mutex<Option<LocalLab>>,
    view: Mutex<LabView>,
}

/// The last known shape of the local lab.
#[derive(Debug, Clone, Default)]
struct LabView {
    servers: BTreeMap<String, ServerInfo>,
    items: u32,
    db: PathBuf,
    certs: PathBuf,
}

/// Every server the lab has, in table order.
pub fn server_names() -> Vec<String> {
    endpoints::servers_of(endpoints::ENDPOINTS)
}

impl Servers {
    /// The local lab: dataset and certificates, then every server whose binary is in
    /// `bin_dir` (one that fails to start is listed with the reason).
    pub async fn start_local(
        bin_dir: &std::path::Path,
        items: u32,
        cpus: Option<&[usize]>,
    ) -> Result<Servers, LocalError> {
        let mut lab = LocalLab::prepare(bin_dir, items, cpus).await?;
        let mut notes = BTreeMap::new();
        for name in server_names() {
            if let Err(e) = lab.start_server(&name).await {
                tracing::warn!(server = %name, error = %e, "not started");
                notes.insert(name, e.to_string());
            }
        }
        let local = LocalServers {
            lab: tokio::sync::Mutex::new(None),
            view: Mutex::new(LabView::default()),
        };
        local.refresh(&lab, notes);
        *local.lab.lock().await = Some(lab);
        Ok(Servers::Local(local))
    }

    /// Every server's current info.
    pub fn infos(&self) -> Vec<ServerInfo> {
        match self {
            Servers::Local(l) => l.with_view(|v| {
                let order = server_names();
                let mut all: Vec<ServerInfo> = v.servers.values().cloned().collect();
                all.sort_by_key(|i| order.iter().position(|n| *n == i.name));
                all
            }),
            Servers::Docker(d) => d.infos(),
        }
    }

    /// Rows in the local lab's dataset (None: the compose lab's, unknown here).
    pub fn items(&self) -> Option<u32> {
        match self {
            Servers::Local(l) => Some(l.with_view(|v| v.items)),
            Servers::Docker(d) => d.items(),
        }
    }

    /// The local lab's dataset file and certificate folder.
    pub fn files(&self) -> Option<(PathBuf, PathBuf)> {
        match self {
            Servers::Local(l) => Some(l.with_view(|v| (v.db.clone(), v.certs.clone()))),
            Servers::Docker(_) => None,
        }
    }

    /// Starts, stops or restarts server `name`.
    pub async fn control(&self, name: &str, action: Action) -> Result<(), StateError> {
        if !server_names().iter().any(|n| n == name) {
            return Err(StateError::UnknownServer(name.into()));
        }
        let l = match self {
            Servers::Local(l) => l,
            Servers::Docker(d) => return Ok(d.control(name, action).await?),
        };
        let mut guard = l.lab.lock().await;
        let lab = guard.as_mut().ok_or(StateError::Busy)?;
        l.set_pending(name, Some(action.pending()));
        let outcome = match action {
            Action::Start => lab.start_server(name).await,
            Action::Stop => {
                lab.stop_server(name).await;
                Ok(())
            }
            Action::Restart => lab.restart_server(name).await,
        };
        let mut notes = BTreeMap::new();
        if let Err(e) = &outcome {
            notes.insert(name.to_string(), e.to_string());
        }
        l.refresh(lab, notes);
        Ok(outcome?)
    }

    /// Writes a dataset of `items` rows and restarts the running servers on it.
    pub async fn reseed(&self, items: u32) -> Result<(), StateError> {
        let l = match self {
            Servers::Local(l) => l,
            Servers::Docker(d) => return Ok(d.reseed(items).await?),
        };
        let mut guard = l.lab.lock().await;
        let lab = guard.as_mut().ok_or(StateError::Busy)?;
        for name in server_names() {
            if lab.server(&name).is_some() {
                l.set_pending(&name, Some("restarting"));
            }
        }
        let outcome = lab.reseed(items).await;
        l.refresh(lab, BTreeMap::new());
        Ok(outcome?)
    }

    /// The local lab for a run (None without `--local`); `Busy` when a run has it.
    pub async fn take_lab(&self) -> Result<Option<LocalLab>, StateError> {
        match self {
            Servers::Local(l) => l.lab.lock().await.take().map(Some).ok_or(StateError::Busy),
            Servers::Docker(_) => Ok(None),
        }
    }

    /// Hands the lab back after a run.
    pub async fn give_back(&self, lab: Option<LocalLab>) {
        if let (Servers::Local(l), Some(lab)) = (self, lab) {
            *l.lab.lock().await = Some(lab);
        }
    }

    /// Stops every local server (on shutdown).
    pub async fn shutdown(&self) {
        if let Servers::Local(l) = self {
            if let Some(lab) = l.lab.lock().await.take() {
                lab.stop().await;
            }
        }
    }
}

pub(super) fn ports(a: &ServerAddr) -> String {
    let mut s = format!("{} plain, {} TLS, {} admin", a.plain, a.tls, a.admin);
    if let Some(f) = a.framed {
        s.push_str(&format!(", {f} framed"));
    }
    s
}

impl LocalServers {
    fn with_view<T>(&self, f: impl FnOnce(&mut LabView) -> T) -> T {
        // A poisoned lock only means a panic elsewhere mid-update: the view is still usable.
        let mut v = self.view.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut v)
    }

    fn set_pending(&self, name: &str, pending: Option<&'static str>) {
        self.with_view(|v| {
            if let Some(s) = v.servers.get_mut(name) {
                s.pending = pending;
            }
        });
    }

    /// Rebuilds the view from the lab; `notes` are the latest failures by server.
    fn refresh(&self, lab: &LocalLab, notes: BTreeMap<String, String>) {
        self.with_view(|v| {
            v.items = lab.items();
            v.db = lab.db().to_path_buf();
            v.certs = lab.certs.clone();
            for name in server_names() {
                let running = lab.server(&name);
                let info = ServerInfo {
                    admin: running.map(|s| format!("127.0.0.1:{}", s.admin)),
                    pid: running.and_then(|s| s.pid()),
                    ports: running
                        .map(|s| {
                            ports(&ServerAddr {
                                host: "127.0.0.1".into(),
                                plain: s.plain,
                                tls: s.tls,
                                admin: s.admin,
                                framed: s.framed,
                            })
                        })
                        .unwrap_or_default(),
                    config: running
                        .map(|s| s.config.iter().map(|(k, v)| (k.to_string(), v.clone())))
                        .into_iter()
                        .flatten()
                        .collect(),
                    pending: None,
                    note: notes.get(&name).cloned(),
                    name: name.clone(),
                };
                v.servers.insert(name, info);
            }
        });
    }
}

/// Everything the handlers share.
pub struct AppState {
    pub servers: Servers,
    /// Results folder: runs are written to and read from here.
    pub results: PathBuf,
    pub live: Live,
    pub guard: Guard,
    /// Host of the servers without `--local` (for the run's `Lab`).
    pub host: String,
    running: AtomicBool,
    /// Tells the running run to stop.
    pub cancel: tokio::sync::Notify,
    /// Becomes true when the dashboard shuts down (ends the live streams).
    pub closing: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    pub fn new(servers: Servers, results: PathBuf, guard: Guard, host: String) -> AppState {
        AppState {
            servers,
            results,
            live: Live::new(),
            guard,
            host,
            running: AtomicBool::new(false),
            cancel: tokio::sync::Notify::new(),
            closing: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Claims the run slot; false when a run already has it.
    pub fn claim_run(&self) -> bool {
        self.running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Frees the run slot.
    pub fn release_run(&self) {
        self.running.store(false, Ordering::Release);
    }

    pub fn run_active(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }
}
