//! REST handlers: extract, validate through the contract, answer. Extractor
//! rejections become the same JSON errors as contract errors.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use protolab_core::contract::{
    self, ContractError, DownloadParams, ListQuery, StreamParams, UploadHasher, MAX_DOWNLOAD,
};
use protolab_core::http_error::ApiError;
use protolab_core::{Item, ServerState};
use serde_json::{json, Value};

type ApiResult<T> = Result<T, ApiError>;

fn invalid(msg: impl std::fmt::Display) -> ApiError {
    ApiError(ContractError::InvalidArgument(msg.to_string()))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(v)| v).map_err(|e| invalid(e.body_text()))
}

fn body(b: Result<Bytes, BytesRejection>, limit: usize) -> ApiResult<Bytes> {
    b.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError(ContractError::TooLarge {
            size: limit as u64 + 1,
            limit: limit as u64,
        }),
        _ => invalid(e.body_text()),
    })
}

pub async fn get_item(
    State(s): State<ServerState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Item>> {
    let id: i64 = id
        .parse()
        .map_err(|_| invalid(format!("item id {id:?} is not an integer")))?;
    Ok(Json(s.dataset.get_item(id).await?))
}

pub async fn list_items(
    State(s): State<ServerState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<Item>>> {
    Ok(Json(s.dataset.list_items(&query(q)?).await?))
}

pub async fn echo(
    State(s): State<ServerState>,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let b = body(b, s.max_body)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], b).into_response())
}

pub async fn score(
    State(s): State<ServerState>,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let b = body(b, s.max_body)?;
    let text = std::str::from_utf8(&b).map_err(|_| invalid("score input is not UTF-8"))?;
    let score = contract::score(text)?;
    contract::service_delay(s.delay).await;
    Ok(Json(json!({ "score": score })))
}

/// NDJSON: one `StreamEvent` per line, flushed as produced.
pub async fn stream(q: Result<Query<StreamParams>, QueryRejection>) -> ApiResult<Response> {
    let p = query(q)?;
    p.validate()?;
    let lines = p.events().map(|e| {
        let mut line = serde_json::to_vec(&e).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(line))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response())
}

pub async fn download(q: Result<Query<DownloadParams>, QueryRejection>) -> ApiResult<Response> {
    let p = query(q)?;
    p.validate()?;
    let chunks = futures::stream::iter(p.chunks().map(Ok::<_, Infallible>));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, p.size.to_string()),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// Streams the body through a CRC32, never holding it; capped at `MAX_DOWNLOAD`.
pub async fn upload(req: Request) -> ApiResult<Json<contract::UploadSummary>> {
    let mut hasher = UploadHasher::default();
    let mut body = req.into_body().into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| invalid(format!("upload body: {e}")))?;
        total += chunk.len() as u64;
        if total > MAX_DOWNLOAD {
            return Err(ApiError(ContractError::TooLarge {
                size: total,
                limit: MAX_DOWNLOAD,
            }));
        }
        hasher.update(&chunk);
    }
    Ok(Json(hasher.finish()))
}
