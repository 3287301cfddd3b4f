//! Test-only fixture API under `/fixtures` (no seed counterpart).
//!
//! Every route requires `Authorization: Bearer <fixture-token>` (401 otherwise) and answers 404
//! when the server runs without `--fixture-token`, so a production-like server exposes nothing.
//! The authorization check runs before the slug is judged and the body is parsed, so a caller
//! without the token learns nothing. Request bodies refuse unknown fields: a typo such as
//! `inbound_promt` would otherwise store an empty inbound prompt, which is exactly what triggers
//! the seed bug. Every refusal is a JSON `{"error": ...}` body naming what was wrong.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};

use crate::caller_context;
use crate::error::AppError;
use crate::slug::{InvalidSlug, Slug, TenantPath};
use crate::state::{AppState, ResidualState};
use crate::status::StatusCallback;
use crate::tenants::{Tenant, TenantInput};

/// The slug of a fixture route, refused as a JSON 400 (after authorization).
fn fixture_slug(slug: Result<TenantPath, InvalidSlug>) -> Result<Slug, AppError> {
    slug.map(|TenantPath(slug)| slug)
        .map_err(|err| AppError::BadRequest(err.to_string()))
}

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
    slug: Result<TenantPath, InvalidSlug>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Tenant>, AppError> {
    authorize(&state, &headers)?;
    let slug = fixture_slug(slug)?;
    // serde's message names an unknown field and lists the expected ones.
    let body: TenantInput = serde_json::from_slice(&body)
        .map_err(|err| AppError::BadRequest(format!("tenant JSON: {err}")))?;
    let tenant = state.upsert_tenant(slug.as_str(), &body)?;
    tracing::info!(tenant = %slug, version = tenant.version, "tenant stored");
    Ok(Json(tenant))
}

/// The body of `PUT /fixtures/tenants/{tenant}/contacts/{phone}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// What the tenant knows about the caller; it goes into that caller's prompt.
    pub notes: String,
}

/// A stored contact, as `PUT /fixtures/tenants/{tenant}/contacts/{phone}` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The tenant's slug.
    pub tenant: String,
    /// The caller's number, E.164.
    pub phone: String,
    /// The notes.
    pub notes: String,
}

/// `PUT /fixtures/tenants/{tenant}/contacts/{phone}`: create or replace the notes a tenant keeps
/// about the caller at `phone` (E.164); the tenant must exist.
pub async fn put_contact(
    State(state): State<AppState>,
    slug: Result<TenantPath, InvalidSlug>,
    path: Result<RawPathParams, RawPathParamsRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Contact>, AppError> {
    authorize(&state, &headers)?;
    let slug = fixture_slug(slug)?;
    let phone = path
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(name, _)| *name == "phone")
                .map(|(_, value)| value.to_owned())
        })
        .filter(|phone| caller_context::is_e164(phone))
        .ok_or_else(|| {
            AppError::BadRequest("a contact's phone is E.164: '+' and 1 to 15 digits".to_owned())
        })?;
    let body: ContactInput = serde_json::from_slice(&body)
        .map_err(|err| AppError::BadRequest(format!("contact JSON: {err}")))?;
    if state.tenants().get(slug.as_str())?.is_none() {
        return Err(AppError::NotFound(format!("tenant \"{slug}\"")));
    }
    state
        .tenants()
        .upsert_contact(slug.as_str(), &phone, &body.notes)?;
    tracing::info!(tenant = %slug, "contact stored");
    Ok(Json(Contact {
        tenant: slug.as_str().to_owned(),
        phone,
        notes: body.notes,
    }))
}

/// `GET /fixtures/tenants/{tenant}`.
pub async fn get_tenant(
    State(state): State<AppState>,
    slug: Result<TenantPath, InvalidSlug>,
    headers: HeaderMap,
) -> Result<Json<Tenant>, AppError> {
    authorize(&state, &headers)?;
    let slug = fixture_slug(slug)?;
    state
        .tenants()
        .get(slug.as_str())?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("tenant \"{slug}\"")))
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
