//! The dashboard's servers in the compose lab: state, health and container stats
//! through the Docker controller (`crate::controller`), start/stop/restart and
//! re-seed through it too. Without a reachable engine the servers are still shown
//! (their admin endpoints answer or not) and control says why it cannot act.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::lab::controller::{ControlError, Controller, ServiceState};
use protolab_drivers::ServerAddr;

use super::state::{ports, server_names, Action, ServerInfo};

/// (CPU %, memory bytes) of a container, when its stats could be read.
pub type Usage = (Option<f64>, u64);

/// The compose lab, reached at `host`, controlled through `controller`.
pub struct DockerServers {
    pub controller: Result<Controller, String>,
    host: String,
    /// Container states and usage of the last refresh, by service.
    containers: Mutex<HashMap<String, (ServiceState, Option<Usage>)>>,
    cpu_before: Mutex<HashMap<String, (f64, Instant)>>,
    pending: Mutex<HashMap<String, &'static str>>,
    /// Rows of the dataset once re-seeded from here (runs keep get_item ids within it).
    items: Mutex<Option<u32>>,
}

impl DockerServers {
    /// Connects to the engine; a failure is kept and shown, not fatal.
    pub async fn connect(host: String) -> DockerServers {
        DockerServers::new(Controller::connect().await, host).await
    }

    pub async fn new(controller: Result<Controller, ControlError>, host: String) -> DockerServers {
        let controller = controller.map_err(|e| e.to_string());
        if let Err(e) = &controller {
            tracing::warn!("dashboard without server control: {e}");
        }
        let d = DockerServers {
            controller,
            host,
            containers: Mutex::new(HashMap::new()),
            cpu_before: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            items: Mutex::new(None),
        };
        d.refresh().await;
        d
    }

    fn controller(&self) -> Result<&Controller, ControlError> {
        self.controller
            .as_ref()
            .map_err(|e| ControlError::Unreachable(e.clone()))
    }

    /// Re-reads every container's state and stats.
    pub async fn refresh(&self) {
        let mut found = HashMap::new();
        if let Ok(c) = &self.controller {
            for s in c.services().await.unwrap_or_default() {
                let usage = match s.state.as_str() {
                    "running" => c.stats(&s.service).await.ok().map(|st| {
                        let pct = self.cpu_percent(&s.service, st.cpu_seconds);
                        (pct, st.memory_bytes)
                    }),
                    _ => None,
                };
                found.insert(s.service.clone(), (s, usage));
            }
        }
        *lock(&self.containers) = found;
    }

    /// CPU % since the previous reading of this service (100 = one core).
    fn cpu_percent(&self, service: &str, cpu_seconds: f64) -> Option<f64> {
        let now = Instant::now();
        let before = lock(&self.cpu_before).insert(service.to_string(), (cpu_seconds, now))?;
        let dt = now.duration_since(before.1).as_secs_f64().max(1e-3);
        Some(((cpu_seconds - before.0) / dt * 100.0).max(0.0))
    }

    /// Every server, with its container as of the last refresh.
    pub fn infos(&self) -> Vec<ServerInfo> {
        let found = lock(&self.containers);
        let pending = lock(&self.pending);
        server_names()
            .into_iter()
            .map(|name| {
                let addr = ServerAddr::in_lab(&name, &self.host);
                let note = match (found.get(&name), &self.controller) {
                    (Some((c, _)), _) => Some(match &c.health {
                        Some(h) => format!("container {} ({h})", c.state),
                        None => format!("container {}", c.state),
                    }),
                    (None, Ok(c)) => {
                        Some(format!("no container in compose project {}", c.project()))
                    }
                    (None, Err(e)) => Some(e.clone()),
                };
                ServerInfo {
                    admin: addr.as_ref().map(|a| format!("{}:{}", a.host, a.admin)),
                    ports: addr.as_ref().map(ports).unwrap_or_default(),
                    pid: None,
                    config: found
                        .get(&name)
                        .map(|(c, _)| c.env.clone())
                        .unwrap_or_default(),
                    pending: pending.get(&name).copied(),
                    note,
                    name,
                }
            })
            .collect()
    }

    /// Rows of the dataset, when this dashboard re-seeded it.
    pub fn items(&self) -> Option<u32> {
        *lock(&self.items)
    }

    /// The container's state (running, exited, ...) and usage, from the last refresh.
    pub fn container(&self, name: &str) -> Option<(String, Option<Usage>)> {
        lock(&self.containers)
            .get(name)
            .map(|(s, u)| (s.state.clone(), *u))
    }

    /// Starts, stops or restarts a service, then (start, restart) waits until it is healthy.
    pub async fn control(&self, name: &str, action: Action) -> Result<(), ControlError> {
        let c = self.controller()?;
        lock(&self.pending).insert(name.to_string(), action.pending());
        let outcome = async {
            match action {
                Action::Start => c.start(name).await?,
                Action::Stop => return c.stop(name).await,
                Action::Restart => c.restart(name).await?,
            }
            c.wait_healthy(&[name.to_string()], RESTART_TIMEOUT).await
        }
        .await;
        lock(&self.pending).remove(name);
        self.refresh().await;
        outcome
    }

    /// Re-seeds the dataset volume and restarts the running servers on it.
    pub async fn reseed(&self, items: u32) -> Result<(), ControlError> {
        let c = self.controller()?;
        for name in server_names() {
            lock(&self.pending).insert(name, "restarting");
        }
        let outcome = c.reseed(items, &server_names()).await;
        if outcome.is_ok() {
            *lock(&self.items) = Some(items);
        }
        lock(&self.pending).clear();
        self.refresh().await;
        outcome
    }
}

/// Longest wait for a started or restarted server to be healthy.
const RESTART_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without an engine (or with one but no such project), every server is still
    /// listed with a note that says why it cannot be controlled.
    #[tokio::test]
    async fn servers_are_listed_with_why_they_cannot_be_controlled() {
        let project = "protolab-dashboard-test-none".to_string();
        let d = DockerServers::new(Controller::connect_to(project).await, "127.0.0.1".into()).await;
        let infos = d.infos();
        assert_eq!(infos.len(), server_names().len());
        assert!(
            infos.iter().all(|i| i.note.is_some() && i.admin.is_some()),
            "{infos:?}"
        );
        let err = d
            .control("rest", Action::Restart)
            .await
            .expect_err("nothing to control");
        assert!(
            matches!(
                err,
                ControlError::Unreachable(_) | ControlError::NoContainer { .. }
            ),
            "{err}"
        );
        assert!(d.pending.lock().expect("lock").is_empty());
    }
}
