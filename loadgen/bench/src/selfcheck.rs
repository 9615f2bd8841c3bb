//! Who was the bottleneck: the CPU the generator used over a measured window (the
//! whole process against the CPUs it may use, and its busiest thread against one
//! core) and the CPU the server used over the same window (against its quota), so a
//! case can say whether the server, the generator, both or neither was the limit.
//! A window spans only measuring: never verification, warm-up, connection set-up or
//! the gaps between repetitions.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::usage::{Reading, ServerProbe};

/// At or above this fraction of its CPUs (or of one core, for one thread) a side
/// counts as saturated.
pub const CPU_SATURATED: f64 = 0.90;

/// Linux reports /proc times in USER_HZ, which is 100 on every architecture.
const USER_HZ: f64 = 100.0;

/// Below this much wall time a CPU share is mostly /proc's 10 ms tick rounding.
const MIN_WINDOW_S: f64 = 0.5;

/// utime + stime of a /proc `stat` line, in seconds.
fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// Process CPU seconds (user + system, every thread) from the process CPU clock, to
/// the nanosecond: a window of a few hundred serial calls costs a few ms, which
/// /proc's 10 ms ticks cannot tell. The same clock the servers report.
pub fn process_cpu_seconds() -> Option<f64> {
    protolab_core::process::cpu_seconds()
}

/// CPU seconds of each of this process's threads, by thread id.
fn thread_cpu_seconds() -> HashMap<u32, f64> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        if let Some(cpu) = std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .as_deref()
            .and_then(stat_cpu_seconds)
        {
            out.insert(tid, cpu);
        }
    }
    out
}

static CPUS: OnceLock<usize> = OnceLock::new();

/// Records how many CPUs the generator may use: the ones it pins its threads to,
/// or (`None`) what the process was allowed when it started. Call it before any
/// thread is pinned; later calls change nothing.
pub fn init_cpus(pinned: Option<usize>) -> usize {
    *CPUS.get_or_init(|| pinned.unwrap_or_else(allowed_now).max(1))
}

/// The CPUs the generator may use (see [`init_cpus`]).
pub fn available_cores() -> usize {
    init_cpus(None)
}

/// What this thread may use now (affinity and cgroup quota aware).
fn allowed_now() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Calls one replica of the server answered over a measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaShare {
    /// The replica's name (its admin summary's `replica`, else its address).
    pub replica: String,
    /// Messages it answered over the window (its admin counter's growth).
    pub calls: u64,
}

impl std::fmt::Display for ReplicaShare {
    /// `name calls`, as the report and `loadgen check` list replicas.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.replica, self.calls)
    }
}

/// Each replica's share of a window, from counters read at its start and end: a
/// replica seen only at the end counts from zero.
pub fn replica_shares(before: &[(String, u64)], after: &[(String, u64)]) -> Vec<ReplicaShare> {
    after
        .iter()
        .map(|(replica, n)| {
            let was = before.iter().find(|(r, _)| r == replica).map_or(0, |b| b.1);
            ReplicaShare {
                replica: replica.clone(),
                calls: n.saturating_sub(was),
            }
        })
        .collect()
}

/// The busiest replica's calls over the idlest's (1.0: even); `None` with fewer than
/// two replicas, infinite when one got none.
pub fn imbalance(shares: &[ReplicaShare]) -> Option<f64> {
    if shares.len() < 2 {
        return None;
    }
    let max = shares.iter().map(|s| s.calls).max()? as f64;
    let min = shares.iter().map(|s| s.calls).min()? as f64;
    Some(if min == 0.0 { f64::INFINITY } else { max / min })
}

/// Both sides' CPU over one measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowUsage {
    /// The window's wall time.
    pub wall_s: f64,
    /// Generator CPU-seconds (all threads).
    pub client_cpu_s: f64,
    /// The CPUs the generator may use.
    pub client_cpus: usize,
    /// Generator CPU as a fraction of those CPUs.
    pub client_cpu_fraction: f64,
    /// The busiest generator thread's CPU, as a fraction of one core.
    pub busiest_thread_fraction: f64,
    /// Server CPU-seconds, when the server could be observed.
    #[serde(default)]
    pub server_cpu_s: Option<f64>,
    /// The server's CPU quota (cores) and its CPU as a fraction of it.
    #[serde(default)]
    pub server_cpus: Option<f64>,
    #[serde(default)]
    pub server_cpu_fraction: Option<f64>,
    /// Bytes the server received and sent over the window (container network
    /// counters), when its probe has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_net_bytes: Option<u64>,
    /// Calls each of the server's replicas answered over the window, when it was
    /// read replica by replica (see [`imbalance`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaShare>,
}

impl WindowUsage {
    /// Whether the window is long enough for its CPU shares to mean something.
    pub fn long_enough(&self) -> bool {
        self.wall_s >= MIN_WINDOW_S
    }

    /// The generator (as a whole, or one of its threads) used its CPU up.
    pub fn client_saturated(&self) -> bool {
        self.long_enough()
            && (self.client_cpu_fraction >= CPU_SATURATED
                || self.busiest_thread_fraction >= CPU_SATURATED)
    }

    /// The server used its CPU quota up (`None`: not observed).
    pub fn server_saturated(&self) -> Option<bool> {
        let f = self.server_cpu_fraction?;
        Some(self.long_enough() && f >= CPU_SATURATED)
    }

    /// Which side limited the window.
    pub fn bottleneck(&self) -> Bottleneck {
        match (self.client_saturated(), self.server_saturated()) {
            (true, Some(true)) => Bottleneck::CoSaturated,
            (true, _) => Bottleneck::ClientBound,
            (false, Some(true)) => Bottleneck::ServerBound,
            (false, Some(false)) => Bottleneck::Neither,
            (false, None) => Bottleneck::Unknown,
        }
    }
}

/// Which side was the limit of a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bottleneck {
    /// The server used its CPU quota up: the figure is the server's.
    ServerBound,
    /// Neither side's CPU was used up: the latency (network, protocol round
    /// trips, pacing) was the limit.
    Neither,
    /// The server was not observed and the generator was not saturated.
    Unknown,
    /// Both were saturated: the figure is a lower bound of the server.
    CoSaturated,
    /// The generator (or one of its threads) was saturated while the server was
    /// not: the figure measures the generator, not the server.
    ClientBound,
}

impl Bottleneck {
    pub fn as_str(self) -> &'static str {
        match self {
            Bottleneck::ServerBound => "server-bound",
            Bottleneck::Neither => "neither",
            Bottleneck::Unknown => "unknown",
            Bottleneck::CoSaturated => "co-saturated",
            Bottleneck::ClientBound => "client-bound",
        }
    }
}

/// Measures both sides' CPU between `start` and `stop`.
pub struct Meter<'a> {
    wall: Instant,
    process: Option<f64>,
    threads: HashMap<u32, f64>,
    server: Option<(&'a ServerProbe, Reading)>,
}

impl<'a> Meter<'a> {
    /// Starts a window now (reading the server through `server` when given).
    pub async fn start(server: Option<&'a ServerProbe>) -> Meter<'a> {
        let server = match server {
            Some(s) => (s.probe)().await.map(|r| (s, r)),
            None => None,
        };
        Meter {
            wall: Instant::now(),
            process: process_cpu_seconds(),
            threads: thread_cpu_seconds(),
            server,
        }
    }

    /// Ends the window; `None` when the generator's CPU cannot be read.
    pub async fn stop(self) -> Option<WindowUsage> {
        let wall_s = self.wall.elapsed().as_secs_f64();
        let (process, threads) = (process_cpu_seconds(), thread_cpu_seconds());
        let started = self.wall;
        let server = match self.server {
            Some((s, before)) => (s.probe)().await.map(|r| {
                let net = r.net.zip(before.net).map(|((rx1, tx1), (rx0, tx0))| {
                    rx1.saturating_sub(rx0) + tx1.saturating_sub(tx0)
                });
                let span = started.elapsed().as_secs_f64();
                let cpu = (r.cpu_seconds - before.cpu_seconds).max(0.0);
                let replicas = replica_shares(&before.replicas, &r.replicas);
                (cpu, s.cpus, net, span, replicas)
            }),
            None => None,
        };
        let client_cpu_s = (process? - self.process?).max(0.0);
        let busiest = threads
            .iter()
            .map(|(tid, cpu)| cpu - self.threads.get(tid).copied().unwrap_or(0.0))
            .fold(0.0_f64, f64::max);
        let per_wall = |cpu: f64| if wall_s > 0.0 { cpu / wall_s } else { 0.0 };
        let client_cpus = available_cores();
        Some(WindowUsage {
            wall_s,
            client_cpu_s,
            client_cpus,
            client_cpu_fraction: per_wall(client_cpu_s) / client_cpus as f64,
            busiest_thread_fraction: per_wall(busiest),
            server_cpu_s: server.as_ref().map(|s| s.0),
            server_cpus: server.as_ref().map(|s| s.1),
            server_cpu_fraction: server
                .as_ref()
                .map(|(cpu, cpus, _, span, _)| cpu / span.max(1e-3) / cpus.max(1e-3)),
            server_net_bytes: server.as_ref().and_then(|s| s.2),
            replicas: server.map(|s| s.4).unwrap_or_default(),
        })
    }
}

/// A five-second window of the given CPU shares, for tests.
#[cfg(test)]
pub(crate) fn test_window(client: f64, thread: f64, server: Option<f64>) -> WindowUsage {
    WindowUsage {
        wall_s: 5.0,
        client_cpu_s: client * 5.0,
        client_cpus: 1,
        client_cpu_fraction: client,
        busiest_thread_fraction: thread,
        server_cpu_s: server.map(|s| s * 5.0),
        server_cpus: server.map(|_| 1.0),
        server_cpu_fraction: server,
        server_net_bytes: None,
        replicas: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(of: &[(&str, u64)]) -> Vec<(String, u64)> {
        of.iter().map(|(r, n)| (r.to_string(), *n)).collect()
    }

    #[test]
    fn each_replica_counts_its_own_growth_over_the_window() {
        let before = counts(&[("rest.1", 100), ("rest.2", 40)]);
        let after = counts(&[("rest.1", 700), ("rest.2", 340), ("rest.3", 90)]);
        let shares = replica_shares(&before, &after);
        let calls: Vec<u64> = shares.iter().map(|s| s.calls).collect();
        assert_eq!(
            calls,
            vec![600, 300, 90],
            "a replica new at the end counts from 0"
        );
        assert_eq!(imbalance(&shares[..2]), Some(2.0));
        assert_eq!(
            imbalance(&shares[..1]),
            None,
            "one replica has no imbalance"
        );
        let idle = replica_shares(&before, &counts(&[("rest.1", 200), ("rest.2", 40)]));
        assert_eq!(imbalance(&idle), Some(f64::INFINITY));
    }

    /// This thread's CPU seconds.
    fn own_cpu_seconds() -> f64 {
        std::fs::read_to_string("/proc/thread-self/stat")
            .ok()
            .as_deref()
            .and_then(stat_cpu_seconds)
            .unwrap_or(0.0)
    }

    /// Burns `cpu_seconds` of this thread's CPU (bounded by wall time: on a busy
    /// machine it only takes longer).
    fn burn_for(cpu_seconds: f64) {
        let before = own_cpu_seconds();
        let t = Instant::now();
        let mut x = 0u64;
        while own_cpu_seconds() - before < cpu_seconds && t.elapsed().as_secs() < 30 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
    }

    #[test]
    fn burning_cpu_shows_up_in_process_cpu_seconds() {
        let before = process_cpu_seconds().expect("the process CPU clock");
        burn_for(0.2);
        let used = process_cpu_seconds().unwrap_or(0.0) - before;
        assert!(used >= 0.2, "{used} CPU seconds");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_saturated_thread_is_seen_whatever_the_cpu_count() {
        let meter = Meter::start(None).await;
        burn_for(0.5);
        let w = meter.stop().await.expect("readable");
        // The busiest thread is this one: the CPU it burned, whatever share of the
        // process's CPUs that is (and whatever else the machine was doing).
        let busiest_s = w.busiest_thread_fraction * w.wall_s;
        assert!(busiest_s >= 0.45, "{w:?}");
        assert!(busiest_s <= w.client_cpu_s + 0.02, "{w:?}");
        assert!(w.busiest_thread_fraction <= 1.05, "{w:?}");
        assert_eq!(w.server_cpu_fraction, None);
    }

    #[test]
    fn the_verdict_names_the_side_that_was_the_limit() {
        let w = test_window;
        assert_eq!(
            w(0.95, 0.95, Some(0.5)).bottleneck(),
            Bottleneck::ClientBound
        );
        assert_eq!(
            w(0.5, 0.97, Some(0.5)).bottleneck(),
            Bottleneck::ClientBound
        );
        assert_eq!(
            w(0.5, 0.5, Some(0.95)).bottleneck(),
            Bottleneck::ServerBound
        );
        assert_eq!(
            w(0.95, 0.95, Some(0.92)).bottleneck(),
            Bottleneck::CoSaturated
        );
        assert_eq!(w(0.3, 0.3, Some(0.3)).bottleneck(), Bottleneck::Neither);
        assert_eq!(w(0.3, 0.3, None).bottleneck(), Bottleneck::Unknown);
        assert_eq!(w(0.95, 0.95, None).bottleneck(), Bottleneck::ClientBound);
        let short = WindowUsage {
            wall_s: 0.1,
            ..w(1.0, 1.0, Some(1.0))
        };
        assert_eq!(short.bottleneck(), Bottleneck::Neither);
    }
}
