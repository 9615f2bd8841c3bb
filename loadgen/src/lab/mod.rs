//! The lab: where the servers are and what can see them. Local child processes on
//! loopback (`local`), the compose lab's containers through the Docker Engine API
//! (`controller`), or servers on some host at their default ports. It tells a bench
//! each server's address, samples its CPU and memory, and restarts it on request.

pub mod controller;
pub mod local;
pub mod stack;

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use protolab_bench::usage::{Probe, Reading, Sampler, ServerProbe};
use protolab_drivers::{admin_summaries, Peers, ServerAddr, TlsOptions};

use controller::Controller;
use local::LocalLab;

/// Where the servers are: the local lab's ports, or default ports on a host; and
/// what can see them (the local lab's processes, or the compose lab's containers).
pub struct Lab {
    local: Option<LocalLab>,
    docker: Option<Controller>,
    /// Restart each server (compose lab) before its cases.
    restart: bool,
    host: String,
    /// TLS material for every TLS endpoint.
    pub tls: TlsOptions,
}

/// Longest wait for a restarted server to be healthy again.
const RESTART_TIMEOUT: Duration = Duration::from_secs(120);

impl Lab {
    /// A lab of `local`'s servers, or of the servers at their default ports on `host`.
    pub fn new(local: Option<LocalLab>, host: String, tls: TlsOptions) -> Lab {
        Lab {
            local,
            docker: None,
            restart: false,
            host,
            tls,
        }
    }

    /// The compose lab's controller, for Docker-mode labs made with `new`.
    pub fn with_docker(mut self, docker: Controller, restart: bool) -> Lab {
        self.docker = Some(docker);
        self.restart = restart;
        self
    }

    /// The local lab back, once a bench is done with it.
    pub fn into_local(self) -> Option<LocalLab> {
        self.local
    }

    /// Where `server` listens.
    pub fn addr(&self, server: &str) -> Option<ServerAddr> {
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

    /// What the servers run as, for run.json's environment.
    pub async fn describe(&self) -> String {
        match (&self.local, &self.docker) {
            (Some(_), _) => "local processes".to_string(),
            (None, Some(c)) => match c.flavour().await {
                Ok(Some(controller::Flavour::Stack)) => format!("swarm stack {}", c.project()),
                _ => format!("compose project {}", c.project()),
            },
            (None, None) => format!("servers on {}", self.host),
        }
    }

    /// A 1 Hz sampler of the server's CPU, memory (and, in the compose lab, network
    /// bytes), for the servers this lab runs (none for servers on some host).
    pub async fn sampler(&self, server: &str) -> Option<Sampler> {
        if self.local.is_none() && self.docker.is_none() {
            return None;
        }
        Sampler::start("admin", self.admin_probe(server)?).await
    }

    /// The server's CPU counters and quota, read at each measured window's start
    /// and end (which side was the bottleneck).
    pub async fn server_probe(&self, server: &str) -> Option<ServerProbe> {
        let cpus = match (&self.local, &self.docker) {
            (Some(lab), _) => lab.server_cpus(),
            (None, Some(docker)) => docker.cpus(server).await.ok()?,
            (None, None) => return None,
        };
        Some(ServerProbe {
            probe: self.admin_probe(server)?,
            cpus,
        })
    }

    /// A reading of a server the lab runs, all of it of the moment it is asked: CPU
    /// seconds and RSS from the server's own admin summary (its process CPU clock, to
    /// the nanosecond, where /proc counts 10 ms ticks and Docker's stats come on a
    /// one-second tick and include the healthcheck's execs), and network bytes from
    /// the generator's own interfaces when it runs inside the compose lab's network
    /// (`--host compose`), where they carry nothing but the traffic with the server
    /// under test. A server whose name has several addresses (a swarm stack's service
    /// with replicas) is read at every one: CPU and RSS added up, and each replica's
    /// message count kept, for its share of each case.
    fn admin_probe(&self, server: &str) -> Option<Probe> {
        let admin = self.addr(server)?.admin();
        let in_lab = self.local.is_none() && self.host == "compose";
        Some(Arc::new(move || {
            let admin = admin.clone();
            Box::pin(async move {
                let summaries = admin_summaries(&admin).await?;
                let mut reading = Reading {
                    net: if in_lab { own_net_bytes() } else { None },
                    ..Reading::default()
                };
                for (_, s) in &summaries {
                    reading.cpu_seconds += s.cpu_seconds?;
                    reading.memory_bytes += s.rss_bytes?;
                }
                if summaries.len() > 1 {
                    reading.replicas = summaries
                        .iter()
                        .map(|(addr, s)| {
                            let name = s.replica.clone().unwrap_or_else(|| addr.to_string());
                            (name, s.messages_total)
                        })
                        .collect();
                }
                Some(reading)
            })
        }))
    }

    /// Whether the servers share the generator's clock (this host: child processes,
    /// or containers on its engine).
    pub fn same_clock(&self) -> bool {
        self.local.is_some()
            || self.docker.is_some()
            || matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "::1")
    }

    /// Sets `server`'s replicas (a swarm stack's service) and waits until each is
    /// ready and its name resolves to every replica (a service update leaves the
    /// name unresolved for a moment). One replica is what every other lab has
    /// already; more need the stack.
    pub async fn scale(&self, server: &str, replicas: u32) -> Result<(), String> {
        let Some(c) = &self.docker else {
            return match replicas {
                1 => Ok(()),
                _ => Err(format!(
                    "{server}: {replicas} replicas need the swarm stack (make swarm-up)"
                )),
            };
        };
        match c.scale(server, replicas, RESTART_TIMEOUT).await {
            Ok(()) => {}
            Err(controller::ControlError::NotAStack(_)) if replicas == 1 => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
        let Some(admin) = self.addr(server).map(|a| a.admin()) else {
            return Ok(());
        };
        let began = std::time::Instant::now();
        loop {
            // Counted as the drivers and the admin probe will see them.
            let found = Peers::resolve(&admin).await.map_or(0, |p| p.addrs().len());
            if found == replicas as usize {
                return Ok(());
            }
            if began.elapsed() >= RESTART_TIMEOUT {
                return Err(format!(
                    "{server}: {admin} resolves to {found} address(es), not {replicas}, after {:?}",
                    began.elapsed()
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The compose lab with `--restart`: restarts `server` and waits until it is
    /// healthy again.
    pub async fn restart_if_asked(&self, server: &str) -> anyhow::Result<()> {
        let Some(c) = self.docker.as_ref().filter(|_| self.restart) else {
            return Ok(());
        };
        c.restart(server).await?;
        c.wait_healthy(&[server.to_string()], RESTART_TIMEOUT)
            .await?;
        Ok(())
    }
}

/// Bytes received and sent on this process's network interfaces, loopback left out
/// (`/proc/net/dev` of its network namespace).
fn own_net_bytes() -> Option<(u64, u64)> {
    net_dev_bytes(&std::fs::read_to_string("/proc/net/dev").ok()?)
}

/// The received and sent bytes of every interface but `lo` in a `/proc/net/dev` text.
fn net_dev_bytes(text: &str) -> Option<(u64, u64)> {
    let mut total = None;
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let fields: Vec<u64> = counters
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        let (rx, tx) = (*fields.first()?, *fields.get(8)?);
        let (r, t) = total.unwrap_or((0, 0));
        total = Some((r + rx, t + tx));
    }
    total
}

/// The TLS files of a bench: the ones given, else the lab's in `certs`.
pub fn lab_tls(
    ca: Option<&Path>,
    cert: Option<&Path>,
    key: Option<&Path>,
    certs: &Path,
) -> TlsOptions {
    let pick = |given: Option<&Path>, name: &str| -> Option<PathBuf> {
        Some(given.map_or_else(|| certs.join(name), Path::to_path_buf))
    };
    TlsOptions {
        ca: pick(ca, "ca.crt"),
        cert: pick(cert, "client.crt"),
        key: pick(key, "client.key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_counts_every_interface_but_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
 lo: 5000      10    0    0    0     0          0         0     5000      10    0    0    0     0       0          0\n  \
 eth0: 1200      12    0    0    0     0          0         0      340       4    0    0    0     0       0          0\n  \
 eth1:   10       1    0    0    0     0          0         0        5       1    0    0    0     0       0          0\n";
        assert_eq!(net_dev_bytes(text), Some((1210, 345)));
        let only_lo = text.lines().take(3).collect::<Vec<_>>().join("\n");
        assert_eq!(net_dev_bytes(&only_lo), None);
    }
}
