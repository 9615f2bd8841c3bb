//! The JSON error every HTTP server returns: a `ContractError` mapped once to a
//! status (404, 400, 413, 500) with `{"error": message}`. Internal errors carry no
//! detail to the client; the detail goes to the log where the error arose.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::contract::ContractError;

/// A contract error as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub ContractError);

impl From<ContractError> for ApiError {
    fn from(e: ContractError) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self.0 {
            ContractError::NotFound(_) => StatusCode::NOT_FOUND,
            ContractError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
            ContractError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ContractError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_error(self.status(), &self.0.to_string())
    }
}

/// `status` with `{"error": message}`: the one error body of every HTTP server.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The fallback of a server's router: 404 `{"error": "no such route"}`.
pub async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such route")
}
