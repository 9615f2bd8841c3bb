//! The lab's controller: the compose project's containers through the Docker Engine
//! API (bollard), found by compose's labels so `docker compose` and `docker-compose`
//! 1.29 work alike, or, when the project has none, by the labels Docker Swarm puts on
//! a stack's task containers (`make swarm-up`: stack `protolab`, one container per
//! replica). Inside the loadgen container it talks over the mounted socket; outside,
//! over the local one (DOCKER_HOST is honoured).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, ListContainersOptions, RemoveContainerOptions,
    RestartContainerOptions, StartContainerOptions, StatsOptions, StopContainerOptions,
    WaitContainerOptions,
};
use bollard::secret::{ContainerCreateBody, ContainerStatsResponse, ContainerSummary, ExecConfig};
use bollard::Docker;
use futures::StreamExt;
use serde::Serialize;

/// Which labels name the lab's containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// A compose project (`make up`).
    Compose,
    /// A swarm stack (`make swarm-up`): services `<stack>_<service>`, a task
    /// container per replica.
    Stack,
}

impl Flavour {
    fn project_label(self) -> &'static str {
        match self {
            Flavour::Compose => "com.docker.compose.project",
            Flavour::Stack => "com.docker.stack.namespace",
        }
    }

    fn service_label(self) -> &'static str {
        match self {
            Flavour::Compose => "com.docker.compose.service",
            Flavour::Stack => "com.docker.swarm.service.name",
        }
    }

    /// The service label's value for `service` of `project`.
    fn label_value(self, project: &str, service: &str) -> String {
        match self {
            Flavour::Compose => service.to_string(),
            Flavour::Stack => format!("{project}_{service}"),
        }
    }

    /// The service a container's labels name, as compose.yaml names it.
    fn service_of(self, project: &str, c: &ContainerSummary) -> Option<String> {
        let value = c.labels.as_ref()?.get(self.service_label())?;
        match self {
            Flavour::Compose => Some(value.clone()),
            Flavour::Stack => value
                .strip_prefix(project)
                .and_then(|v| v.strip_prefix('_'))
                .map(str::to_string),
        }
    }
}

/// How long the engine gets to answer the first ping before Docker counts as absent.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// Seconds a server gets to drain on stop/restart (compose.yaml's stop_grace_period).
const STOP_GRACE_SECS: i32 = 15;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no Docker engine reachable ({0}); is the daemon running and its socket mounted?")]
    Unreachable(String),
    #[error("compose project {project:?} has no container for service {service:?} (is the lab up? `make up`)")]
    NoContainer { project: String, service: String },
    #[error("{service}: not healthy after {waited:?} (state: {state})")]
    NotHealthy {
        service: String,
        waited: Duration,
        state: String,
    },
    #[error("re-seeding failed: the seed container exited with {0} ({1})")]
    SeedFailed(i64, String),
    #[error("{0}: replicas can be set on a swarm stack only (make swarm-up)")]
    NotAStack(String),
    #[error(
        "{service}: {replicas} replica(s) not running and ready after {waited:?} ({running} are)"
    )]
    NotScaled {
        service: String,
        replicas: u32,
        running: usize,
        waited: Duration,
    },
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
}

/// A `docker compose run` container, not the service's own.
fn is_oneoff(c: &ContainerSummary) -> bool {
    let oneoff = c
        .labels
        .as_ref()
        .and_then(|l| l.get("com.docker.compose.oneoff"));
    oneoff.map(String::as_str) == Some("True")
}

/// A compose service's container as the dashboard and `ctl ps` show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceState {
    pub service: String,
    pub container_id: String,
    /// running, exited, restarting, ...
    pub state: String,
    /// healthy, starting, unhealthy; `None` without a healthcheck or when not running.
    pub health: Option<String>,
    /// The container's environment (its configuration: ports, limits, dataset).
    #[serde(skip)]
    pub env: Vec<(String, String)>,
    /// Docker still says `starting`, and the container's healthcheck, run when this
    /// state was read, passed. Docker runs it once an interval (compose.yaml: 30 s,
    /// so that it seldom lands on a measurement), the first time one interval after
    /// the start; a restarted server need not wait for Docker's turn.
    #[serde(skip)]
    pub checked_healthy: bool,
}

impl ServiceState {
    /// Running and, when it has a healthcheck, healthy (by Docker's last check, or
    /// by one run just now while Docker's first is still to come).
    pub fn is_ready(&self) -> bool {
        self.state == "running"
            && (self.checked_healthy || self.health.as_deref().is_none_or(|h| h == "healthy"))
    }

    fn describe(&self) -> String {
        match &self.health {
            Some(h) => format!("{}, {h}", self.state),
            None => self.state.clone(),
        }
    }
}

/// One stats reading of a container.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct StatsSample {
    /// CPU seconds used since the container started.
    pub cpu_seconds: f64,
    /// CPU % over the engine's last interval (100 = one core), when it has two readings.
    pub cpu_percent: Option<f64>,
    /// Memory in use minus the page cache, as `docker stats` shows it.
    pub memory_bytes: u64,
    pub memory_limit_bytes: Option<u64>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

impl StatsSample {
    fn from_response(s: &ContainerStatsResponse) -> StatsSample {
        let cpu = s.cpu_stats.as_ref();
        let total = |c: Option<&bollard::secret::ContainerCpuStats>| {
            c.and_then(|c| c.cpu_usage.as_ref())
                .and_then(|u| u.total_usage)
        };
        let now = total(cpu).unwrap_or(0);
        let cpu_percent = (|| {
            let pre = s.precpu_stats.as_ref();
            let used = now.checked_sub(total(pre)?)? as f64;
            let system = cpu?.system_cpu_usage?.checked_sub(pre?.system_cpu_usage?)? as f64;
            let cpus = f64::from(cpu?.online_cpus.unwrap_or(1).max(1));
            (system > 0.0).then(|| used / system * cpus * 100.0)
        })();
        let mem = s.memory_stats.as_ref();
        let cache = mem
            .and_then(|m| m.stats.as_ref())
            .and_then(|st| {
                st.get("inactive_file")
                    .or_else(|| st.get("total_inactive_file"))
            })
            .copied()
            .unwrap_or(0);
        let (rx_bytes, tx_bytes) = s
            .networks
            .iter()
            .flat_map(HashMap::values)
            .fold((0, 0), |(rx, tx), n| {
                (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
            });
        StatsSample {
            cpu_seconds: now as f64 / 1e9,
            cpu_percent,
            memory_bytes: mem.and_then(|m| m.usage).unwrap_or(0).saturating_sub(cache),
            memory_limit_bytes: mem.and_then(|m| m.limit),
            rx_bytes,
            tx_bytes,
        }
    }
}

/// The compose project's containers.
#[derive(Clone)]
pub struct Controller {
    docker: Docker,
    project: String,
}

impl Controller {
    /// Connects to the engine (DOCKER_HOST or the local socket) for the project in
    /// COMPOSE_PROJECT_NAME (default `protolab`), and checks that it answers.
    pub async fn connect() -> Result<Controller, ControlError> {
        let project = std::env::var("COMPOSE_PROJECT_NAME")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "protolab".into());
        Controller::connect_to(project).await
    }

    pub async fn connect_to(project: String) -> Result<Controller, ControlError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| ControlError::Unreachable(e.to_string()))?;
        match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
            Ok(Ok(_)) => Ok(Controller { docker, project }),
            Ok(Err(e)) => Err(ControlError::Unreachable(e.to_string())),
            Err(_) => Err(ControlError::Unreachable(format!(
                "no answer within {PING_TIMEOUT:?}"
            ))),
        }
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// The project's containers (of `service` only, when given): a compose project's,
    /// else a swarm stack's of the same name, whose stopped tasks are history and left
    /// out.
    async fn list(
        &self,
        service: Option<&str>,
    ) -> Result<(Flavour, Vec<ContainerSummary>), ControlError> {
        for flavour in [Flavour::Compose, Flavour::Stack] {
            let mut labels = vec![format!("{}={}", flavour.project_label(), self.project)];
            labels.extend(service.map(|s| {
                format!(
                    "{}={}",
                    flavour.service_label(),
                    flavour.label_value(&self.project, s)
                )
            }));
            let options = ListContainersOptions {
                all: flavour == Flavour::Compose,
                filters: Some(HashMap::from([("label".to_string(), labels)])),
                ..Default::default()
            };
            let found = self.docker.list_containers(Some(options)).await?;
            if !found.is_empty() {
                return Ok((flavour, found));
            }
        }
        Ok((Flavour::Compose, Vec::new()))
    }

    /// Whether the project is a compose project or a swarm stack (`None`: neither
    /// has a container).
    pub async fn flavour(&self) -> Result<Option<Flavour>, ControlError> {
        let (flavour, found) = self.list(None).await?;
        Ok((!found.is_empty()).then_some(flavour))
    }

    /// Every service container of the project (one-shot `run` containers excluded),
    /// sorted by service name; a swarm stack's service has one per replica.
    pub async fn services(&self) -> Result<Vec<ServiceState>, ControlError> {
        let mut out = Vec::new();
        let (flavour, found) = self.list(None).await?;
        for c in found.into_iter().filter(|c| !is_oneoff(c)) {
            let (Some(service), Some(id)) = (flavour.service_of(&self.project, &c), c.id.clone())
            else {
                continue;
            };
            out.push(self.state_of(&service, &id).await?);
        }
        out.sort_by(|a, b| a.service.cmp(&b.service));
        Ok(out)
    }

    async fn state_of(&self, service: &str, id: &str) -> Result<ServiceState, ControlError> {
        let inspect = self
            .docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await?;
        let state = inspect.state.unwrap_or_default();
        let config = inspect.config.unwrap_or_default();
        let test = config.healthcheck.and_then(|h| h.test).unwrap_or_default();
        let env = config
            .env
            .unwrap_or_default()
            .into_iter()
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        let mut out = ServiceState {
            env,
            service: service.to_string(),
            container_id: id.to_string(),
            state: state
                .status
                .map_or_else(|| "unknown".into(), |s| s.to_string()),
            health: state
                .health
                .and_then(|h| h.status)
                .map(|h| h.to_string())
                .filter(|h| h != "none" && !h.is_empty()),
            checked_healthy: false,
        };
        if out.state == "running" && out.health.as_deref() == Some("starting") {
            out.checked_healthy = self.check_now(id, &test).await;
        }
        Ok(out)
    }

    /// The container id of a service (its first container, not a one-off).
    pub async fn container(&self, service: &str) -> Result<String, ControlError> {
        self.containers(service)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ControlError::NoContainer {
                project: self.project.clone(),
                service: service.to_string(),
            })
    }

    /// The container ids of a service: one under compose, one per running replica in
    /// a swarm stack.
    pub async fn containers(&self, service: &str) -> Result<Vec<String>, ControlError> {
        let (_, found) = self.list(Some(service)).await?;
        Ok(found
            .into_iter()
            .filter(|c| !is_oneoff(c))
            .filter_map(|c| c.id)
            .collect())
    }

    pub async fn state(&self, service: &str) -> Result<ServiceState, ControlError> {
        let id = self.container(service).await?;
        self.state_of(service, &id).await
    }

    pub async fn start(&self, service: &str) -> Result<(), ControlError> {
        let id = self.container(service).await?;
        Ok(self
            .docker
            .start_container(&id, None::<StartContainerOptions>)
            .await?)
    }

    pub async fn stop(&self, service: &str) -> Result<(), ControlError> {
        let id = self.container(service).await?;
        let options = StopContainerOptions {
            t: Some(STOP_GRACE_SECS),
            ..Default::default()
        };
        Ok(self.docker.stop_container(&id, Some(options)).await?)
    }

    pub async fn restart(&self, service: &str) -> Result<(), ControlError> {
        let id = self.container(service).await?;
        let options = RestartContainerOptions {
            t: Some(STOP_GRACE_SECS),
            ..Default::default()
        };
        Ok(self.docker.restart_container(&id, Some(options)).await?)
    }

    /// Waits until every service is ready ([`ServiceState::is_ready`]), polling twice
    /// a second.
    pub async fn wait_healthy(
        &self,
        services: &[String],
        timeout: Duration,
    ) -> Result<(), ControlError> {
        let began = Instant::now();
        for service in services {
            loop {
                let state = self.state(service).await?;
                if state.is_ready() {
                    break;
                }
                // An exited container will not become healthy by waiting.
                if began.elapsed() >= timeout || state.state == "exited" || state.state == "dead" {
                    return Err(ControlError::NotHealthy {
                        service: service.clone(),
                        waited: began.elapsed(),
                        state: state.describe(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Ok(())
    }

    /// Sets a stack service's replicas (bollard's service API, as `docker service
    /// scale`) and waits until that many containers run and are ready (their
    /// healthcheck run now rather than at Docker's next interval). Nothing changes
    /// when the service already has that many.
    pub async fn scale(
        &self,
        service: &str,
        replicas: u32,
        timeout: Duration,
    ) -> Result<(), ControlError> {
        if self.flavour().await? != Some(Flavour::Stack) {
            return Err(ControlError::NotAStack(service.to_string()));
        }
        let name = Flavour::Stack.label_value(&self.project, service);
        let current = self
            .docker
            .inspect_service(
                &name,
                None::<bollard::query_parameters::InspectServiceOptions>,
            )
            .await?;
        let version = current.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = current.spec.unwrap_or_default();
        let mode = spec.mode.get_or_insert_with(Default::default);
        let wanted = Some(i64::from(replicas));
        if mode.replicated.as_ref().and_then(|r| r.replicas) != wanted {
            mode.replicated = Some(bollard::secret::ServiceSpecModeReplicated { replicas: wanted });
            let options = bollard::query_parameters::UpdateServiceOptions {
                version: i32::try_from(version).unwrap_or(i32::MAX),
                ..Default::default()
            };
            self.docker
                .update_service(&name, spec, options, None)
                .await?;
        }
        let began = Instant::now();
        loop {
            let ids = self.containers(service).await?;
            let mut ready = 0;
            for id in &ids {
                if self.state_of(service, id).await?.is_ready() {
                    ready += 1;
                }
            }
            if ids.len() == replicas as usize && ready == ids.len() {
                return Ok(());
            }
            if began.elapsed() >= timeout {
                return Err(ControlError::NotScaled {
                    service: service.to_string(),
                    replicas,
                    running: ready,
                    waited: began.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Runs a container's healthcheck `test` now (exec form only: the images have no
    /// shell); true when it exits 0.
    async fn check_now(&self, id: &str, test: &[String]) -> bool {
        let Some(("CMD", cmd)) = test.split_first().map(|(k, rest)| (k.as_str(), rest)) else {
            return false;
        };
        let config = ExecConfig {
            cmd: Some(cmd.to_vec()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let Ok(exec) = self.docker.create_exec(id, config).await else {
            return false;
        };
        match self
            .docker
            .start_exec(&exec.id, None::<StartExecOptions>)
            .await
        {
            Ok(StartExecResults::Attached { mut output, .. }) => {
                while output.next().await.is_some() {}
            }
            _ => return false,
        }
        let done = self.docker.inspect_exec(&exec.id).await;
        done.ok().and_then(|e| e.exit_code) == Some(0)
    }

    /// Re-seeds the dataset volume with `items` rows: a one-off container made from
    /// the `seed` service's (image, user, mounts, security options), `seed --force`,
    /// then every running server restarted on the new file and waited for. The
    /// servers read the dataset read-only; seeding writes a temp file and renames it,
    /// so they keep serving the old rows until their restart.
    pub async fn reseed(&self, items: u32, servers: &[String]) -> Result<(), ControlError> {
        let seed = self.container("seed").await?;
        let inspect = self
            .docker
            .inspect_container(&seed, None::<InspectContainerOptions>)
            .await?;
        let config = inspect.config.unwrap_or_default();
        let mut host_config = inspect.host_config.unwrap_or_default();
        host_config.auto_remove = Some(false);
        let body = ContainerCreateBody {
            image: config.image,
            user: config.user,
            env: config.env,
            cmd: Some(
                ["seed", "--db", "/data/items.db", "--force", "--items"]
                    .map(String::from)
                    .into_iter()
                    .chain([items.to_string()])
                    .collect(),
            ),
            host_config: Some(host_config),
            ..Default::default()
        };
        let id = self
            .docker
            .create_container(None::<CreateContainerOptions>, body)
            .await?
            .id;
        let outcome = async {
            self.docker
                .start_container(&id, None::<StartContainerOptions>)
                .await?;
            let mut wait = self
                .docker
                .wait_container(&id, None::<WaitContainerOptions>);
            while let Some(w) = wait.next().await {
                w?;
            }
            let state = self
                .docker
                .inspect_container(&id, None::<InspectContainerOptions>)
                .await?
                .state
                .unwrap_or_default();
            match state.exit_code {
                Some(0) => {}
                code => {
                    let why = state.error.filter(|e| !e.is_empty());
                    return Err(ControlError::SeedFailed(
                        code.unwrap_or(-1),
                        why.unwrap_or_else(|| "`docker compose run --rm seed` shows why".into()),
                    ));
                }
            }
            Ok(())
        }
        .await;
        let removal = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        let _ = self.docker.remove_container(&id, Some(removal)).await;
        outcome?;
        let running: Vec<String> = self
            .services()
            .await?
            .into_iter()
            .filter(|s| servers.contains(&s.service) && s.state == "running")
            .map(|s| s.service)
            .collect();
        for s in &running {
            self.restart(s).await?;
        }
        self.wait_healthy(&running, Duration::from_secs(120)).await
    }

    /// One stats reading (the engine's one-shot stats: no second sample is awaited,
    /// so `cpu_percent` is usually `None`; the 1 Hz sampler derives CPU from seconds).
    pub async fn stats(&self, service: &str) -> Result<StatsSample, ControlError> {
        let id = self.container(service).await?;
        self.stats_of(&id).await
    }

    async fn stats_of(&self, id: &str) -> Result<StatsSample, ControlError> {
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stream = self.docker.stats(id, Some(options));
        match stream.next().await {
            Some(r) => Ok(StatsSample::from_response(&r?)),
            None => Err(ControlError::NoContainer {
                project: self.project.clone(),
                service: id.to_string(),
            }),
        }
    }

    /// The engine's stats stream for a service: one sample a second, with CPU %.
    pub async fn stats_stream(
        &self,
        service: &str,
    ) -> Result<impl futures::Stream<Item = Result<StatsSample, ControlError>>, ControlError> {
        let id = self.container(service).await?;
        let options = StatsOptions {
            stream: true,
            one_shot: false,
        };
        Ok(self.docker.stats(&id, Some(options)).map(|r| {
            r.map(|s| StatsSample::from_response(&s))
                .map_err(Into::into)
        }))
    }

    /// The CPU quota of `service` in cores: each container's `cpus` limit, or the
    /// CPUs of its cpuset, whichever is smaller (the host's CPUs when neither is set),
    /// added over its replicas and capped at the host's CPUs (replicas on one host
    /// share its cores).
    pub async fn cpus(&self, service: &str) -> Result<f64, ControlError> {
        let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let mut total = 0.0;
        for id in self.containers(service).await? {
            let host = self
                .docker
                .inspect_container(&id, None::<InspectContainerOptions>)
                .await?
                .host_config
                .unwrap_or_default();
            let quota = host.nano_cpus.filter(|n| *n > 0).map(|n| n as f64 / 1e9);
            let cpuset = host
                .cpuset_cpus
                .filter(|c| !c.is_empty())
                .and_then(|c| cpu_list_len(&c))
                .map(|n| n as f64);
            total += [quota, cpuset]
                .into_iter()
                .flatten()
                .fold(host_cpus, f64::min);
        }
        if total == 0.0 {
            return Err(ControlError::NoContainer {
                project: self.project.clone(),
                service: service.to_string(),
            });
        }
        Ok(total.min(host_cpus))
    }
}

/// How many CPUs a cpuset list (`0`, `0-3`, `0,2`) names; `None` when it does not parse.
fn cpu_list_len(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.split(',').map(str::trim) {
        n += match part.split_once('-') {
            Some((a, b)) => {
                b.parse::<usize>()
                    .ok()?
                    .checked_sub(a.parse::<usize>().ok()?)?
                    + 1
            }
            None => part.parse::<usize>().map(|_| 1).ok()?,
        };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::secret::{
        ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats, ContainerNetworkStats,
    };

    fn cpu(total: u64, system: u64) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn stats_read_like_docker_stats() {
        let net = |rx, tx| ContainerNetworkStats {
            rx_bytes: Some(rx),
            tx_bytes: Some(tx),
            ..Default::default()
        };
        let s = ContainerStatsResponse {
            // 0.5 s of CPU over 1 s of two-CPU system time: 50% of one core.
            cpu_stats: Some(cpu(3_000_000_000, 12_000_000_000)),
            precpu_stats: Some(cpu(2_500_000_000, 10_000_000_000)),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(50 << 20),
                limit: Some(512 << 20),
                stats: Some(HashMap::from([("inactive_file".to_string(), 10 << 20)])),
                ..Default::default()
            }),
            networks: Some(HashMap::from([
                ("eth0".to_string(), net(1_000, 2_000)),
                ("eth1".to_string(), net(10, 20)),
            ])),
            ..Default::default()
        };
        let r = StatsSample::from_response(&s);
        assert_eq!(r.cpu_seconds, 3.0);
        assert_eq!(r.cpu_percent, Some(50.0));
        assert_eq!(r.memory_bytes, 40 << 20);
        assert_eq!(r.memory_limit_bytes, Some(512 << 20));
        assert_eq!((r.rx_bytes, r.tx_bytes), (1_010, 2_020));
    }

    #[test]
    fn a_one_shot_reading_has_no_cpu_percent() {
        let s = ContainerStatsResponse {
            cpu_stats: Some(cpu(1_000_000_000, 5)),
            ..Default::default()
        };
        let r = StatsSample::from_response(&s);
        assert_eq!(r.cpu_percent, None);
        assert_eq!(r.cpu_seconds, 1.0);
        assert_eq!(r.memory_bytes, 0);
    }

    #[test]
    fn readiness_needs_health_when_there_is_a_healthcheck() {
        let st = |state: &str, health: Option<&str>| ServiceState {
            service: "rest".into(),
            container_id: "x".into(),
            state: state.into(),
            health: health.map(Into::into),
            env: Vec::new(),
            checked_healthy: false,
        };
        assert!(st("running", Some("healthy")).is_ready());
        let checked = ServiceState {
            checked_healthy: true,
            ..st("running", Some("starting"))
        };
        assert!(checked.is_ready());
        assert!(st("running", None).is_ready());
        assert!(!st("running", Some("starting")).is_ready());
        assert!(!st("exited", None).is_ready());
    }

    /// Against the real engine when one is reachable: an unknown project has no
    /// containers, and asking for one says so by name.
    #[tokio::test]
    async fn an_unknown_project_has_no_containers() {
        let Ok(c) = Controller::connect_to("protolab-test-no-such-project".into()).await else {
            eprintln!("skipped: no Docker engine reachable");
            return;
        };
        assert!(c.services().await.expect("list").is_empty());
        let err = c.restart("rest").await.expect_err("no container");
        assert!(matches!(err, ControlError::NoContainer { .. }), "{err}");
        assert!(err.to_string().contains("make up"), "{err}");
    }

    #[test]
    fn cpuset_lists_count_their_cpus() {
        assert_eq!(cpu_list_len("0"), Some(1));
        assert_eq!(cpu_list_len("0-3"), Some(4));
        assert_eq!(cpu_list_len("0,2-3"), Some(3));
        assert_eq!(cpu_list_len("x"), None);
        assert_eq!(cpu_list_len("3-1"), None);
    }
}
