//! NOT YET IN THE BUILD (no `mod docker;` in dashboard/mod.rs): the Docker variant of
//! the dashboard's server control, written against the controller API the
//! integrator is adding (`crate::controller::Controller`). To wire it:
//! 1. `mod docker;` in dashboard/mod.rs;
//! 2. `Servers::Docker { host }` becomes `Servers::Docker(docker::DockerServers)`,
//!    built in `dashboard::run` with `DockerServers::connect(host)` when not `--local`;
//! 3. in state.rs, `Servers::control` calls `DockerServers::control` for that
//!    variant instead of answering `NoControl`, and `Servers::infos` uses
//!    `DockerServers::infos`;
//! 4. in live.rs, `status` takes CPU % and memory from `DockerServers::usage`
//!    (container stats) when there is no pid.
//! Re-seeding in Docker mode (the `seed` service, then a restart of every server)
//! is left to the controller's owner: `Servers::reseed` answers `NoControl` there.

use std::time::Duration;

use crate::controller::{ControlError, Controller};
use crate::endpoints::ServerAddr;

use super::state::{server_names, Action, ServerInfo};

/// The compose lab through the Docker controller.
pub struct DockerServers {
    controller: Controller,
    host: String,
}

impl DockerServers {
    pub async fn connect(host: String) -> Result<DockerServers, ControlError> {
        Ok(DockerServers {
            controller: Controller::connect().await?,
            host,
        })
    }

    /// Every server at its default ports, with its container's state as the note.
    pub async fn infos(&self) -> Vec<ServerInfo> {
        let states = self.controller.services().await.unwrap_or_default();
        server_names()
            .into_iter()
            .map(|name| {
                let at = if self.host == "compose" {
                    name.as_str()
                } else {
                    &self.host
                };
                let addr = ServerAddr::default_on(&name, at);
                let container = states.iter().find(|s| s.service == name);
                ServerInfo {
                    admin: addr.as_ref().map(|a| format!("{}:{}", a.host, a.admin)),
                    ports: addr
                        .as_ref()
                        .map(|a| format!("{} plain, {} TLS, {} admin", a.plain, a.tls, a.admin))
                        .unwrap_or_default(),
                    pid: None,
                    config: Vec::new(),
                    pending: None,
                    note: container.map(|c| match &c.health {
                        Some(h) => format!("container {} ({h})", c.state),
                        None => format!("container {}", c.state),
                    }),
                    name,
                }
            })
            .collect()
    }

    /// Starts, stops or restarts a service, then waits for it to be healthy.
    pub async fn control(&self, name: &str, action: Action) -> Result<(), ControlError> {
        match action {
            Action::Start => self.controller.start(name).await?,
            Action::Stop => return self.controller.stop(name).await,
            Action::Restart => self.controller.restart(name).await?,
        }
        let wait = [name.to_string()];
        self.controller
            .wait_healthy(&wait, Duration::from_secs(60))
            .await
    }

    /// (CPU %, memory bytes) of a service's container.
    pub async fn usage(&self, name: &str) -> Option<(f64, u64)> {
        let s = self.controller.stats(name).await.ok()?;
        Some((s.cpu_percent, s.memory_bytes))
    }
}
