//! The router: pages (GET, HTML), the live stream (GET /events, SSE), the assets
//! (embedded in the binary) and the actions (POST /api/..., JSON in and out, each
//! refusal a status with `{"error": "..."}` the page shows). Every route passes
//! `security::check` first.

use crate::lab::controller::ControlError;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use serde::Deserialize;

use super::history::{self, HistoryError};
use super::launch::{self, RunParams};
use super::pages;
use super::state::{Action, AppState, StateError};

const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The dashboard's routes over `state`.
pub fn app(state: Arc<AppState>) -> Router {
    let guard = state.guard.clone();
    Router::new()
        .route("/", get(index))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run_page))
        .route("/compare", get(compare))
        .route("/engineering", get(engineering))
        .route("/events", get(events))
        .route("/assets/app.js", get(|| asset(APP_JS, "text/javascript")))
        .route("/assets/style.css", get(|| asset(STYLE_CSS, "text/css")))
        .route("/api/servers/{name}/{action}", post(control))
        .route("/api/runs", post(start_run))
        .route("/api/runs/stop", post(stop_run))
        .route("/api/reseed", post(reseed))
        .layer(axum::middleware::from_fn_with_state(
            guard,
            super::security::check,
        ))
        .with_state(state)
}

async fn asset(body: &'static str, kind: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// A refused or failed action: its status and a message for the page.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<StateError> for ApiError {
    fn from(e: StateError) -> ApiError {
        let status = match &e {
            StateError::UnknownServer(_) => StatusCode::NOT_FOUND,
            StateError::UnknownAction(_) => StatusCode::BAD_REQUEST,
            StateError::Busy => StatusCode::CONFLICT,
            StateError::Docker(ControlError::Unreachable(_) | ControlError::NoContainer { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            StateError::Docker(_) => StatusCode::BAD_GATEWAY,
            // The operator's own lab: why a server did not start is theirs to see.
            StateError::Local(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        tracing::warn!(error = %e, "dashboard action refused");
        ApiError(status, e.to_string())
    }
}

/// A page that cannot be shown, as a page.
pub struct PageError(StatusCode, String, String);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        (self.0, Html(pages::error_page(&self.2, &self.1))).into_response()
    }
}

fn page_error(state: &AppState, e: HistoryError) -> PageError {
    let status = match e {
        HistoryError::NotFound(_) => StatusCode::NOT_FOUND,
        HistoryError::Compare(_) => StatusCode::BAD_REQUEST,
        HistoryError::Unreadable { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    PageError(status, e.to_string(), state.guard.csrf().to_string())
}

async fn index(State(s): State<Arc<AppState>>) -> Html<String> {
    Html(pages::index(&s))
}

async fn engineering(State(s): State<Arc<AppState>>) -> Html<String> {
    Html(pages::engineering(&s))
}

async fn runs(State(s): State<Arc<AppState>>) -> Html<String> {
    let (root, csrf) = (s.results.clone(), s.guard.csrf().to_string());
    // Reading every run.json is file IO: off the async threads.
    let page = tokio::task::spawn_blocking(move || history::list_page(&root, &csrf)).await;
    Html(page.unwrap_or_else(|e| pages::error_page(s.guard.csrf(), &e.to_string())))
}

async fn run_page(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let (root, csrf) = (s.results.clone(), s.guard.csrf().to_string());
    // Drawing the charts is CPU work.
    let page =
        blocking(move || history::read(&root, &id).map(|run| history::run_page(&run, &csrf)))
            .await?;
    page.map(Html).map_err(|e| page_error(&s, e))
}

/// Runs CPU work (reading runs, drawing charts) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PageError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        PageError(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
            String::new(),
        )
    })
}

#[derive(Debug, Deserialize)]
struct ComparePick {
    baseline: String,
    candidate: String,
}

async fn compare(
    State(s): State<Arc<AppState>>,
    pick: Result<Query<ComparePick>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, PageError> {
    let csrf = s.guard.csrf().to_string();
    let Query(pick) = pick.map_err(|_| {
        let why = "pick a baseline and a candidate run on the Results page".to_string();
        PageError(StatusCode::BAD_REQUEST, why, csrf.clone())
    })?;
    let root = s.results.clone();
    let page =
        blocking(move || history::compare_page(&root, &pick.baseline, &pick.candidate, &csrf))
            .await?;
    page.map(Html).map_err(|e| page_error(&s, e))
}

/// The live stream: both snapshots, then every change, until the dashboard closes.
async fn events(
    State(s): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = s.live.subscribe();
    let first = futures::stream::iter(s.live.snapshot());
    let changes = futures::stream::unfold(rx, |mut rx| async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match rx.recv().await {
                Ok(m) => return Some((m, rx)),
                // Every message is a whole snapshot: skipping some loses nothing.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let mut closing = s.closing.subscribe();
    let until_closed = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    let stream = first
        .chain(changes)
        .take_until(until_closed)
        .map(|m| Ok(Event::default().event(m.0).data(m.1.as_str())));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn control(
    State(s): State<Arc<AppState>>,
    Path((name, action)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let action = Action::parse(&action)?;
    if s.run_active() {
        return Err(StateError::Busy.into());
    }
    s.servers.control(&name, action).await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

async fn start_run(
    State(s): State<Arc<AppState>>,
    params: Result<Json<RunParams>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(params) = params.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    let launch = launch::validate(&params, &s).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
    if !s.claim_run() {
        return Err(StateError::Busy.into());
    }
    let label = launch.label.clone();
    launch::spawn(s.clone(), launch);
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "label": label })),
    ))
}

async fn stop_run(State(s): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    if !s.run_active() {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "no run is in progress".into(),
        ));
    }
    s.cancel.notify_one();
    Ok(Json(serde_json::json!({ "ok": true })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reseed {
    items: u32,
}

async fn reseed(
    State(s): State<Arc<AppState>>,
    body: Result<Json<Reseed>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(r) = body.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    if !(1..=10_000_000).contains(&r.items) {
        let why = "items must be between 1 and 10,000,000".to_string();
        return Err(ApiError(StatusCode::BAD_REQUEST, why));
    }
    if s.run_active() {
        return Err(StateError::Busy.into());
    }
    s.servers.reseed(r.items).await?;
    Ok(Json(serde_json::json!({ "ok": true, "items": r.items })))
}
