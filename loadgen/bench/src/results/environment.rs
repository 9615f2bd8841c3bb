//! The environment a run happened in, recorded in run.json: what machine, what
//! code, and the kernel settings that skew network numbers (loopback's 64 KiB MTU
//! flatters bulk transfer, a small somaxconn or `ulimit -n` caps connections, a
//! power-saving CPU governor adds latency). Off-values are listed as warnings.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Environment {
    pub loadgen_version: String,
    pub commit: Option<String>,
    pub hostname: Option<String>,
    pub cpu_model: Option<String>,
    pub cores_online: usize,
    pub cores_available: usize,
    pub kernel: Option<String>,
    pub somaxconn: Option<u64>,
    pub nofile_limit: Option<u64>,
    pub ephemeral_ports: Option<String>,
    pub cpu_governor: Option<String>,
    pub loopback_mtu: Option<u64>,
    pub in_container: bool,
    /// CPUs the generator's main thread may run on (after pinning), from /proc.
    pub cpus_allowed: Option<String>,
    /// `bench --local`: CPUs the servers were pinned to.
    pub server_cpus: Option<String>,
    /// What the servers ran as: local processes, a compose project, or a host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<String>,
    pub warnings: Vec<String>,
}

/// True inside a Docker container (compose service names resolve there).
pub fn in_container() -> bool {
    std::path::Path::new("/.dockerenv").exists()
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn soft_nofile() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn git_commit() -> Option<String> {
    if let Ok(c) = std::env::var("PROTOLAB_COMMIT") {
        return Some(c).filter(|c| !c.is_empty());
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Environment {
    /// Reads the environment of this process.
    pub fn capture() -> Environment {
        let cpu_model = read("/proc/cpuinfo").and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        let mut env = Environment {
            loadgen_version: env!("CARGO_PKG_VERSION").to_string(),
            commit: git_commit(),
            hostname: read("/proc/sys/kernel/hostname"),
            cpu_model,
            cores_online: std::fs::read_to_string("/proc/cpuinfo")
                .map(|c| c.lines().filter(|l| l.starts_with("processor")).count())
                .unwrap_or(0),
            cores_available: crate::selfcheck::available_cores(),
            kernel: read("/proc/sys/kernel/osrelease"),
            somaxconn: read("/proc/sys/net/core/somaxconn").and_then(|s| s.parse().ok()),
            nofile_limit: soft_nofile(),
            ephemeral_ports: read("/proc/sys/net/ipv4/ip_local_port_range")
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join("-")),
            cpu_governor: read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            loopback_mtu: read("/sys/class/net/lo/mtu").and_then(|s| s.parse().ok()),
            in_container: in_container(),
            cpus_allowed: read("/proc/self/status").and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                    .map(|v| v.trim().to_string())
            }),
            server_cpus: None,
            lab: None,
            warnings: Vec::new(),
        };
        env.warnings = env.check();
        env
    }

    fn check(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(g) = self.cpu_governor.as_deref().filter(|g| *g != "performance") {
            w.push(format!(
                "CPU governor is '{g}', not 'performance': latency will be noisier"
            ));
        }
        if let Some(n) = self.somaxconn.filter(|n| *n < 4096) {
            w.push(format!(
                "net.core.somaxconn is {n}: connection bursts may be dropped"
            ));
        }
        if let Some(n) = self.nofile_limit.filter(|n| *n < 65_536) {
            w.push(format!("ulimit -n is {n}: caps held connections"));
        }
        if self.cores_available < 2 {
            w.push("load generator has a single core: high rates will saturate it".into());
        }
        w
    }
}
