//! A server's resource use over one case, sampled at 1 Hz from whatever can see it:
//! /proc for a `--local` child process, Docker's container stats for the compose lab.
//! One sampler, one result shape; the sources differ only in their probes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A server's resource use over one case. Every source fills this one shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServerUsage {
    /// `admin` (the server's admin summary, what a bench reads), or `proc` (/proc of a
    /// process; runs before admin readings said `proc` for `--local`, `docker` for the
    /// compose lab).
    pub source: String,
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
    pub rss_start_bytes: u64,
    pub rss_end_bytes: u64,
    /// (seconds since the case began, CPU seconds used since then, memory bytes), ~1 Hz.
    pub samples: Vec<(f64, f64, u64)>,
    /// Bytes the server received and sent during the case (container network
    /// counters), when the source has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_rx_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_tx_bytes: Option<u64>,
}

/// One reading of a server's counters (of all its replicas together, when it has
/// several).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    /// CPU seconds used since the server started.
    pub cpu_seconds: f64,
    /// Resident memory (process RSS, or the container's usage minus its page cache).
    pub memory_bytes: u64,
    /// Network bytes (received, sent) since some fixed point, when known.
    pub net: Option<(u64, u64)>,
    /// Messages each replica has answered since it started, by replica name, when
    /// the server was read replica by replica (a service behind one name with
    /// several addresses); empty otherwise.
    pub replicas: Vec<(String, u64)>,
}

/// Takes one reading; `None` when the server cannot be seen (it exited, say).
pub type Probe =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<Reading>> + Send>> + Send + Sync>;

/// What reads a server's counters at a measured window's start and end, and the CPU
/// quota they are judged against (cores: a container's `cpus`, or the CPUs a local
/// process is pinned to). Every reading is of the moment it is taken.
#[derive(Clone)]
pub struct ServerProbe {
    pub probe: Probe,
    pub cpus: f64,
}

/// The server's own view of itself, from its admin endpoint (`/metrics?format=json`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AdminReading {
    pub rss_bytes: Option<u64>,
    pub open_connections: Option<i64>,
}

/// Asks the server for an [`AdminReading`]; `None` when it does not answer.
pub type AdminView =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<AdminReading>> + Send>> + Send + Sync>;

/// Samples a server at 1 Hz until `finish` is called.
pub struct Sampler {
    source: &'static str,
    probe: Probe,
    start: Reading,
    began: Instant,
    task: tokio::task::JoinHandle<Vec<(f64, Reading)>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Sampler {
    /// Starts sampling; `None` when the first reading fails.
    pub async fn start(source: &'static str, probe: Probe) -> Option<Sampler> {
        let start = probe().await?;
        let began = Instant::now();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let tick_probe = probe.clone();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Some(r) = tick_probe().await {
                            samples.push((began.elapsed().as_secs_f64(), r));
                        }
                    }
                    _ = &mut stopped => break,
                }
            }
            samples
        });
        Some(Sampler {
            source,
            probe,
            start,
            began,
            task,
            stop,
        })
    }

    pub async fn finish(self) -> ServerUsage {
        let _ = self.stop.send(());
        let mut samples = self.task.await.unwrap_or_default();
        let end = (self.probe)().await.unwrap_or_else(|| self.start.clone());
        samples.push((self.began.elapsed().as_secs_f64(), end));
        usage_of(self.source, self.start, &samples)
    }
}

/// The usage between `start` and the last of `samples` (CPU and network as used
/// during the case, not since the server started).
fn usage_of(source: &str, start: Reading, samples: &[(f64, Reading)]) -> ServerUsage {
    let end = samples.last().map_or(&start, |s| &s.1);
    let peak = samples
        .iter()
        .map(|s| s.1.memory_bytes)
        .chain([start.memory_bytes])
        .max()
        .unwrap_or(0);
    let net = start.net.zip(end.net);
    ServerUsage {
        source: source.into(),
        cpu_seconds: (end.cpu_seconds - start.cpu_seconds).max(0.0),
        peak_rss_bytes: peak,
        rss_start_bytes: start.memory_bytes,
        rss_end_bytes: end.memory_bytes,
        samples: samples
            .iter()
            .map(|(t, r)| (*t, r.cpu_seconds - start.cpu_seconds, r.memory_bytes))
            .collect(),
        net_rx_bytes: net.map(|((rx0, _), (rx1, _))| rx1.saturating_sub(rx0)),
        net_tx_bytes: net.map(|((_, tx0), (_, tx1))| tx1.saturating_sub(tx0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(cpu: f64, mem: u64, net: Option<(u64, u64)>) -> Reading {
        Reading {
            cpu_seconds: cpu,
            memory_bytes: mem,
            net,
            replicas: Vec::new(),
        }
    }

    #[test]
    fn usage_counts_from_the_start_of_the_case() {
        let start = reading(10.0, 100, Some((1_000, 2_000)));
        let samples = [
            (1.0, reading(10.5, 300, Some((1_500, 2_100)))),
            (2.0, reading(11.25, 200, Some((4_000, 9_000)))),
        ];
        let u = usage_of("admin", start, &samples);
        assert_eq!(u.cpu_seconds, 1.25);
        assert_eq!(u.peak_rss_bytes, 300);
        assert_eq!((u.rss_start_bytes, u.rss_end_bytes), (100, 200));
        assert_eq!(u.net_rx_bytes, Some(3_000));
        assert_eq!(u.net_tx_bytes, Some(7_000));
        assert_eq!(u.samples, vec![(1.0, 0.5, 300), (2.0, 1.25, 200)]);
    }

    #[test]
    fn a_source_without_network_counters_reports_none() {
        let u = usage_of(
            "proc",
            reading(0.0, 5, None),
            &[(1.0, reading(1.0, 6, None))],
        );
        assert_eq!((u.net_rx_bytes, u.net_tx_bytes), (None, None));
    }

    #[tokio::test]
    async fn the_sampler_reads_the_probe_until_finished() {
        let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = calls.clone();
        let probe: Probe = Arc::new(move || {
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move { Some(reading(n as f64, 10 + n, None)) })
        });
        let s = Sampler::start("proc", probe).await.expect("first reading");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let u = s.finish().await;
        // start, the interval's immediate first tick, and the final reading.
        assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 2);
        assert!(u.cpu_seconds >= 1.0);
        assert_eq!(u.source, "proc");
    }
}
