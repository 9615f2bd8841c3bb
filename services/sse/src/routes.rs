//! SSE handlers: validate through the contract, then stream. Extractor rejections
//! and contract errors become the same JSON errors (`protolab_core::http_error`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::{Stream, StreamExt};
use protolab_core::contract::{ContractError, StreamParams};
use protolab_core::http_error::ApiError;
use protolab_core::hub::HubEvent;
use protolab_core::Item;
use serde_json::{json, Value};

use crate::{AppState, SseConfig, KEEP_ALIVE_TEXT};

type ApiResult<T> = Result<T, ApiError>;

/// The request header a reconnecting EventSource sends (WHATWG HTML, SSE).
const LAST_EVENT_ID: &str = "last-event-id";
/// Event type of a hub message on `/subscribe`.
const EVENT_MESSAGE: &str = "message";
/// Event type telling a slow subscriber how many messages it skipped.
const EVENT_LAGGED: &str = "lagged";

fn invalid(msg: impl std::fmt::Display) -> ApiError {
    ApiError(ContractError::InvalidArgument(msg.to_string()))
}

/// Wraps an event stream as SSE with keep-alive comments, ending it on shutdown.
fn sse<S>(app: &AppState, events: S) -> Response
where
    S: Stream<Item = Result<Event, axum::Error>> + Send + 'static,
{
    let SseConfig { keep_alive } = app.config;
    let events = events.take_until(app.server.shutdown.clone().cancelled_owned());
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keep_alive).text(KEEP_ALIVE_TEXT))
        .into_response()
}

pub async fn get_item(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Item>> {
    let id: i64 = id
        .parse()
        .map_err(|_| invalid(format!("item id {id:?} is not an integer")))?;
    Ok(Json(app.server.dataset.get_item(id).await?))
}

/// The sequence to start from: 0, or one past a valid `Last-Event-ID`.
fn resume_from(headers: &HeaderMap) -> ApiResult<u64> {
    let Some(value) = headers.get(LAST_EVENT_ID) else {
        return Ok(0);
    };
    let text = value
        .to_str()
        .map_err(|_| invalid("Last-Event-ID is not text"))?;
    if text.trim().is_empty() {
        return Ok(0);
    }
    let last: u64 = text
        .trim()
        .parse()
        .map_err(|_| invalid(format!("Last-Event-ID {text:?} is not a sequence number")))?;
    Ok(last.saturating_add(1))
}

/// `stream`: `count` events `interval_ms` apart, each with `id: <seq>`.
pub async fn events(
    State(app): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<StreamParams>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(params) = q.map_err(|e| invalid(e.body_text()))?;
    params.validate()?;
    let first = resume_from(&headers)?;
    let events = params
        .events_from(first)
        .map(|e| Event::default().id(e.seq.to_string()).json_data(&e));
    Ok(sse(&app, events))
}

/// `subscribe`: every hub message from now on; `lagged` when some were skipped.
pub async fn subscribe(State(app): State<AppState>) -> Response {
    let events = app.hub.subscribe().into_stream().map(|ev| match ev {
        HubEvent::Message(m) => Event::default()
            .event(EVENT_MESSAGE)
            .id(m.seq.to_string())
            .json_data(&*m),
        HubEvent::Lagged(n) => Event::default()
            .event(EVENT_LAGGED)
            .json_data(json!({ "skipped": n })),
    });
    sse(&app, events)
}

/// `broadcast`: publishes the body text to every subscriber.
pub async fn broadcast(
    State(app): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let limit = app.server.max_body;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError(ContractError::TooLarge {
            size: limit as u64 + 1,
            limit: limit as u64,
        }),
        _ => invalid(e.body_text()),
    })?;
    protolab_core::contract::check_size(body.len(), limit)?;
    let text = String::from_utf8(body.to_vec()).map_err(|_| invalid("message is not UTF-8"))?;
    let (msg, subscribers) = app.hub.publish(text);
    Ok(Json(json!({ "seq": msg.seq, "subscribers": subscribers })))
}
