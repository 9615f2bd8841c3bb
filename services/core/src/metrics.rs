//! Prometheus metrics of one server: requests by op and status, a latency histogram
//! per op, open connections. One registry per server instance (not a global), so
//! tests running several servers in one process keep their counts apart. Servers may
//! register their own metrics (e.g. the broadcast hub) with `register`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::contract::Op;

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub op: Cow<'static, str>,
    pub status: u16,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    pub op: Cow<'static, str>,
}

/// One server's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OpLabels, Histogram>,
    open_connections: Gauge,
    connections: Counter,
    totals: TotalCounters,
}

/// Plain counters over every op, for the JSON summary (messages/s, error rate,
/// average latency) without walking the Prometheus families.
#[derive(Default)]
struct TotalCounters {
    messages: AtomicU64,
    errors: AtomicU64,
    latency_us: AtomicU64,
}

/// Totals since the server started: messages handled, how many failed, and the sum of
/// their latencies (microseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub messages: u64,
    pub errors: u64,
    pub latency_us_sum: u64,
}

/// An HTTP status of 400 and above, or a non-zero gRPC status, is an error.
fn is_error_status(status: u16) -> bool {
    status >= 400 || (1..100).contains(&status)
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 25 µs .. ~13 s, doubling: covers loopback round trips and 10 s stalls alike.
    Histogram::new(exponential_buckets(0.000_025, 2.0, 20))
}

impl Metrics {
    pub fn new(server: &str) -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("protolab");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<OpLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let open_connections = Gauge::default();
        let connections = Counter::default();
        registry.register(
            "requests",
            format!("Requests handled by {server}, by op and status"),
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to response headers, by op",
            latency.clone(),
        );
        registry.register(
            "open_connections",
            "Connections open now",
            open_connections.clone(),
        );
        registry.register("connections", "Connections accepted", connections.clone());
        if let Some(replica) = crate::process::replica() {
            let info = prometheus_client::metrics::info::Info::new(vec![(
                "replica".to_string(),
                replica.to_string(),
            )]);
            registry.register("replica", "Which replica of its service this is", info);
        }
        Arc::new(Metrics {
            registry: Mutex::new(registry),
            requests,
            latency,
            open_connections,
            connections,
            totals: TotalCounters::default(),
        })
    }

    /// Registers a server-specific metric beside the standard ones.
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        if let Ok(mut reg) = self.registry.lock() {
            reg.register(name, help, metric);
        }
    }

    /// Records one finished request.
    pub fn observe(&self, op: impl Into<Cow<'static, str>>, status: u16, elapsed: Duration) {
        // One label value for both families, moved rather than cloned (a matched
        // route's label is an owned string).
        let labels = OpLabels { op: op.into() };
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                op: labels.op,
                status,
            })
            .inc();
        self.add_totals(1, status, elapsed);
    }

    /// Records `count` requests of one op and status handled together (a pipelined
    /// batch): the counters grow by `count`, the latency histogram gets one sample of
    /// `elapsed` (the batch's time, an upper bound for each of its requests).
    pub fn observe_batch(
        &self,
        op: impl Into<Cow<'static, str>>,
        status: u16,
        count: u64,
        elapsed: Duration,
    ) {
        if count == 0 {
            return;
        }
        let op = op.into();
        self.latency
            .get_or_create(&OpLabels { op: op.clone() })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels { op, status })
            .inc_by(count);
        let per = u32::try_from(count).unwrap_or(u32::MAX);
        self.add_totals(count, status, elapsed.saturating_mul(per));
    }

    fn add_totals(&self, count: u64, status: u16, latency: Duration) {
        let t = &self.totals;
        t.messages.fetch_add(count, Ordering::Relaxed);
        if is_error_status(status) {
            t.errors.fetch_add(count, Ordering::Relaxed);
        }
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        t.latency_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Totals over every op since start (JSON metrics).
    pub fn totals(&self) -> Totals {
        Totals {
            messages: self.totals.messages.load(Ordering::Relaxed),
            errors: self.totals.errors.load(Ordering::Relaxed),
            latency_us_sum: self.totals.latency_us.load(Ordering::Relaxed),
        }
    }

    /// Records one finished contract operation.
    pub fn observe_op(&self, op: Op, status: u16, elapsed: Duration) {
        self.observe(op.as_str(), status, elapsed);
    }

    /// Count of requests with this op and status (tests, JSON metrics).
    pub fn requests(&self, op: &str, status: u16) -> u64 {
        self.requests
            .get_or_create(&RequestLabels {
                op: Cow::Owned(op.to_string()),
                status,
            })
            .get()
    }

    pub fn open_connections(&self) -> i64 {
        self.open_connections.get()
    }

    /// Marks a connection open until the guard drops.
    pub fn connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.inc();
        self.open_connections.inc();
        ConnectionGuard(self.clone())
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(reg) = self.registry.lock() {
            if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &reg) {
                tracing::error!(error = %e, "encoding metrics");
            }
        }
        out
    }
}

/// Decrements the open-connection gauge when dropped.
pub struct ConnectionGuard(Arc<Metrics>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.open_connections.dec();
    }
}
