//! Test-only fixture API under `/fixtures` (no seed counterpart): tenants and the numbers they
//! are called at, the notes they keep about callers, residual state and status callbacks.
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
use crate::tenant_numbers::UpsertError;
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

/// The most numbers one tenant may have; a bound on what one request can make the server store.
pub const MAX_NUMBERS: usize = 100;

/// The body of `PUT /fixtures/tenants/{tenant}`: the tenant's settings and, optionally, the
/// numbers it is called at.
///
/// The settings repeat [`TenantInput`]'s fields instead of flattening it, because serde cannot
/// refuse unknown fields through a flattened struct.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFixture {
    /// Display name.
    pub business_name: String,
    /// Prompt for inbound calls.
    #[serde(default)]
    pub inbound_prompt: Option<String>,
    /// Prompt for outbound calls.
    #[serde(default)]
    pub outbound_prompt: Option<String>,
    /// Optional greeting.
    #[serde(default)]
    pub greeting: Option<String>,
    /// Optional voice.
    #[serde(default)]
    pub voice: Option<String>,
    /// The numbers the tenant is called at, E.164; absent keeps the stored ones, `[]` removes
    /// them all.
    #[serde(default)]
    pub numbers: Option<Vec<String>>,
}

impl TenantFixture {
    /// The settings and the numbers apart.
    fn split(self) -> (TenantInput, Option<Vec<String>>) {
        let input = TenantInput {
            business_name: self.business_name,
            inbound_prompt: self.inbound_prompt,
            outbound_prompt: self.outbound_prompt,
            greeting: self.greeting,
            voice: self.voice,
        };
        (input, self.numbers)
    }
}

/// A tenant as the fixture API answers it: the stored row and its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTenant {
    /// The stored row.
    #[serde(flatten)]
    pub tenant: Tenant,
    /// Its numbers, in the order they were given.
    pub numbers: Vec<String>,
}

/// Refuses a number list with a number that is not E.164 or with more than [`MAX_NUMBERS`].
fn check_numbers(numbers: &[String]) -> Result<(), AppError> {
    if numbers.len() > MAX_NUMBERS {
        return Err(AppError::BadRequest(format!(
            "{} numbers; a tenant may have at most {MAX_NUMBERS}",
            numbers.len()
        )));
    }
    match numbers.iter().find(|n| !caller_context::is_e164(n)) {
        Some(bad) => Err(AppError::BadRequest(format!(
            "number {:?} is not E.164: '+' and 1 to 15 digits",
            bad.chars().take(32).collect::<String>()
        ))),
        None => Ok(()),
    }
}

/// `PUT /fixtures/tenants/{tenant}`: create or replace a tenant and, when the body has
/// `numbers`, its numbers; returns the stored row. A number another tenant has is a 409 that
/// names both, and nothing is stored.
pub async fn put_tenant(
    State(state): State<AppState>,
    slug: Result<TenantPath, InvalidSlug>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StoredTenant>, AppError> {
    authorize(&state, &headers)?;
    let slug = fixture_slug(slug)?;
    // serde's message names an unknown field and lists the expected ones.
    let body: TenantFixture = serde_json::from_slice(&body)
        .map_err(|err| AppError::BadRequest(format!("tenant JSON: {err}")))?;
    let (input, numbers) = body.split();
    if let Some(numbers) = &numbers {
        check_numbers(numbers)?;
    }
    let tenant = state
        .upsert_tenant_with_numbers(slug.as_str(), &input, numbers.as_deref())
        .map_err(|err| match err {
            UpsertError::NumberTaken { .. } => {
                AppError::Conflict(format!("tenant \"{slug}\" not stored: {err}"))
            }
            UpsertError::Db(err) => err.into(),
        })?;
    tracing::info!(tenant = %slug, version = tenant.version, "tenant stored");
    let numbers = state.tenants().numbers(slug.as_str())?;
    Ok(Json(StoredTenant { tenant, numbers }))
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

/// `GET /fixtures/tenants/{tenant}`: the stored row and its numbers.
pub async fn get_tenant(
    State(state): State<AppState>,
    slug: Result<TenantPath, InvalidSlug>,
    headers: HeaderMap,
) -> Result<Json<StoredTenant>, AppError> {
    authorize(&state, &headers)?;
    let slug = fixture_slug(slug)?;
    let Some(tenant) = state.tenants().get(slug.as_str())? else {
        return Err(AppError::NotFound(format!("tenant \"{slug}\"")));
    };
    let numbers = state.tenants().numbers(slug.as_str())?;
    Ok(Json(StoredTenant { tenant, numbers }))
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
