//! GraphQL over HTTP and WebSocket: the axum handlers in front of the schema.
//!
//! POST bodies are read through axum's `Bytes` extractor, so the body limit holds
//! (413) before any parsing, and a body that is not a GraphQL request is a 400 with a
//! GraphQL-shaped error, never a 500. GET runs queries only (a mutation over GET is
//! a 405), or upgrades to a WebSocket when asked. WebSocket subscriptions speak
//! graphql-transport-ws or the legacy graphql-ws, chosen by subprotocol, with
//! messages capped at the same size as a POST body.

use async_graphql::http::{parse_query_string, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::parser::types::OperationType;
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;

use crate::schema::AppSchema;

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub schema: AppSchema,
    /// Largest POST body / WebSocket message, bytes.
    pub body_limit: usize,
}

/// A request-level error (the request never reached the schema), shaped as GraphQL.
fn reject(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message.into() }] });
    (status, Json(body)).into_response()
}

/// `POST /graphql`: one JSON-encoded GraphQL request.
pub async fn post(State(s): State<HttpState>, body: Bytes) -> Response {
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(req) => GraphQLResponse::from(s.schema.execute(req).await).into_response(),
        Err(e) => reject(
            StatusCode::BAD_REQUEST,
            format!("body is not a GraphQL request: {e}"),
        ),
    }
}

/// `GET /graphql`: a query in the URL, or a WebSocket upgrade for subscriptions.
pub async fn get(State(s): State<HttpState>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    if parts.headers.contains_key(header::UPGRADE) {
        return upgrade(s, &mut parts).await;
    }
    let mut req = match parse_query_string(parts.uri.query().unwrap_or_default()) {
        Ok(r) => r,
        Err(e) => return reject(StatusCode::BAD_REQUEST, format!("bad query string: {e}")),
    };
    // A document that does not parse is left for `execute` to report.
    if let Ok(doc) = req.parsed_query() {
        if doc
            .operations
            .iter()
            .any(|(_, op)| op.node.ty != OperationType::Query)
        {
            return reject(
                StatusCode::METHOD_NOT_ALLOWED,
                "only queries may be sent with GET; use POST",
            );
        }
    }
    GraphQLResponse::from(s.schema.execute(req).await).into_response()
}

/// `GET /graphql/ws`: the WebSocket endpoint.
pub async fn ws(State(s): State<HttpState>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    upgrade(s, &mut parts).await
}

async fn upgrade(s: HttpState, parts: &mut Parts) -> Response {
    let Ok(protocol) = GraphQLProtocol::from_request_parts(parts, &()).await else {
        return reject(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws",
        );
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(parts, &()).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    protolab_core::websocket::limits(upgrade, s.body_limit)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| GraphQLWebSocket::new(socket, s.schema, protocol).serve())
}
