//! The admin endpoints every server offers on its own port: `/healthz` (alive),
//! `/readyz` (ready to serve, false while starting and draining) and `/metrics`
//! (Prometheus text; `?format=json` for a small JSON summary).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::metrics::Metrics;

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
}

#[derive(serde::Deserialize)]
struct MetricsQuery {
    format: Option<String>,
}

/// The admin router.
pub fn router(server: &'static str, metrics: Arc<Metrics>, ready: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_handler))
        .with_state(AdminState {
            metrics,
            ready,
            server,
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
        return Json(serde_json::json!({
            "server": s.server,
            "ready": s.ready.get(),
            "open_connections": s.metrics.open_connections(),
        }))
        .into_response();
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
