//! The admin endpoints every server offers on its own port: `/healthz` (alive),
//! `/readyz` (ready to serve, false while starting and draining) and `/metrics`
//! (Prometheus text; `?format=json` for a small JSON summary).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::metrics::{Metrics, Totals};

/// Readiness flag shared by a server and its admin endpoint.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct AdminState {
    metrics: Arc<Metrics>,
    ready: Readiness,
    server: &'static str,
    /// Rows in the dataset the server serves.
    items: Option<u64>,
    /// Totals at the previous JSON scrape, for messages/s over the interval since.
    last: Arc<Mutex<(Instant, Totals)>>,
}

#[derive(serde::Deserialize)]
struct MetricsQuery {
    format: Option<String>,
}

/// The admin router.
pub fn router(
    server: &'static str,
    metrics: Arc<Metrics>,
    ready: Readiness,
    items: Option<u64>,
) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_handler))
        .with_state(AdminState {
            metrics,
            ready,
            server,
            items,
            last: Arc::new(Mutex::new((Instant::now(), Totals::default()))),
        })
}

async fn readyz(State(s): State<AdminState>) -> Response {
    if s.ready.get() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics_handler(State(s): State<AdminState>, Query(q): Query<MetricsQuery>) -> Response {
    if q.format.as_deref() == Some("json") {
        return Json(json_summary(&s)).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

/// The admin JSON summary (`/metrics?format=json`): what every server serves and
/// the load generator reads (the hold kind's memory per connection, the dashboard).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdminSummary {
    pub server: String,
    pub ready: bool,
    pub open_connections: i64,
    pub messages_total: u64,
    pub errors_total: u64,
    /// Over the interval since the previous JSON scrape (since start for the first).
    pub messages_per_sec: f64,
    pub avg_latency_us: f64,
    pub error_rate: f64,
    /// Resident memory, when the platform tells it.
    pub rss_bytes: Option<u64>,
    /// CPU seconds the server process has used since it started (all threads, to the
    /// nanosecond), when the platform tells it: what a load generator reads at a
    /// measured window's edges, with nothing else in the container counted.
    #[serde(default)]
    pub cpu_seconds: Option<f64>,
    /// Rows in the dataset the server serves (clients keep `get_item` ids within it).
    #[serde(default)]
    pub items: Option<u64>,
    /// Which replica answered (`process::replica`): a load generator spreading
    /// connections over a service's replicas counts each one's share by it.
    #[serde(default)]
    pub replica: Option<String>,
}

/// The JSON summary: connections, totals, and rates over the interval since the
/// previous JSON scrape (since start for the first one).
fn json_summary(s: &AdminState) -> AdminSummary {
    let now = Instant::now();
    let t = s.metrics.totals();
    let (since, before) = match s.last.lock() {
        Ok(mut last) => std::mem::replace(&mut *last, (now, t)),
        Err(_) => (now, t),
    };
    let secs = now.duration_since(since).as_secs_f64();
    let delta = t.messages.saturating_sub(before.messages);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    AdminSummary {
        server: s.server.to_string(),
        ready: s.ready.get(),
        open_connections: s.metrics.open_connections(),
        messages_total: t.messages,
        errors_total: t.errors,
        messages_per_sec: if secs > 0.0 { delta as f64 / secs } else { 0.0 },
        avg_latency_us: ratio(t.latency_us_sum, t.messages),
        error_rate: ratio(t.errors, t.messages),
        rss_bytes: crate::process::rss_bytes(),
        cpu_seconds: crate::process::cpu_seconds(),
        items: s.items,
        replica: crate::process::replica().map(str::to_string),
    }
}
