//! Test-only fixture API under `/fixtures` (no seed counterpart).
//!
//! Every route requires `Authorization: Bearer <fixture-token>` (401 otherwise) and answers 404
//! when the server runs without `--fixture-token`, so a production-like server exposes nothing.
//! The authorization check runs before the body is parsed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};

use crate::app::{AppState, ResidualState};
use crate::error::AppError;
use crate::status::StatusCallback;
use crate::tenants::{Tenant, TenantInput};

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(expected) = state.config().fixture_token.as_deref() else {
        return Err(AppError::NotFound("fixture API disabled".to_owned()));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(AppError::Unauthorized),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `PUT /fixtures/tenants/{tenant}`: create or replace a tenant; returns the stored row.
pub async fn put_tenant(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Tenant>, AppError> {
    authorize(&state, &headers)?;
    let input: TenantInput = serde_json::from_slice(&body)
        .map_err(|err| AppError::BadRequest(format!("tenant JSON: {err}")))?;
    let tenant = state.upsert_tenant(&slug, &input)?;
    tracing::info!(tenant = %slug, version = tenant.version, "tenant stored");
    Ok(Json(tenant))
}

/// `GET /fixtures/tenants/{tenant}`.
pub async fn get_tenant(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Tenant>, AppError> {
    authorize(&state, &headers)?;
    state
        .tenants()
        .get(&slug)?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("tenant {slug:?}")))
}

/// `GET /fixtures/state`: residual per-call state, all zero once calls have ended.
pub async fn state(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ResidualState>, AppError> {
    authorize(&state, &headers)?;
    Ok(Json(state.residual_state()))
}

/// `GET /fixtures/status-callbacks`: every recorded status callback, oldest first.
pub async fn status_callbacks(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<StatusCallback>>, AppError> {
    authorize(&state, &headers)?;
    Ok(Json(state.status_log().snapshot()))
}
