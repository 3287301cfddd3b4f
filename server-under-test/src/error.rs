//! Error types: `ServerError` for startup and serving, `AppError` for HTTP responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Errors that stop the server from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The tenant database could not be opened or queried.
    #[error("tenant database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// A socket operation failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTP client for the Twilio REST API could not be built.
    #[error("http client error: {0}")]
    HttpClient(#[from] reqwest::Error),
}

/// An error returned by an HTTP handler, rendered as a JSON body with the matching status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing or wrong `X-Twilio-Signature`.
    #[error("invalid or missing X-Twilio-Signature")]
    Forbidden,
    /// Missing or wrong bearer token on the fixture API.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// The thing named does not exist (or the route is disabled).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request body or parameters are malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request contradicts what is stored (a number that belongs to another tenant).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The upstream (Twilio REST) failed; the body is passed through.
    #[error("upstream error")]
    BadGateway(serde_json::Value),
    /// A server-side failure such as a database error.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for AppError {
    fn from(err: rusqlite::Error) -> Self {
        AppError::Internal(format!("database: {err}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = match self {
            AppError::BadGateway(upstream) => upstream,
            other => json!({ "error": other.to_string() }),
        };
        (status, Json(body)).into_response()
    }
}
