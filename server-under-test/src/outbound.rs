//! `POST /calls/outbound`: place a call through the Twilio REST API (the seed's outbound call
//! service).
//!
//! Twilio later fetches the outbound webhook when the callee answers, which fixes the call's
//! direction to outbound: `{public_url}/twiml/outbound` when the call is placed from one of the
//! tenant's own numbers, so the answer finds the tenant by `From` as a number-based deployment
//! would, else `{public_url}/twiml/outbound/{tenant}`. A caller ID that is another tenant's
//! number is refused (409): that call would be answered as the other tenant's.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::AppError;
use crate::slug::Slug;
use crate::state::AppState;
use crate::twilio_rest;

/// Request body of `POST /calls/outbound`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundCallRequest {
    /// Tenant slug; validated on the way in because it becomes part of the webhook URL Twilio
    /// fetches.
    pub tenant: Slug,
    /// Callee, E.164.
    pub to: String,
    /// Caller ID (a Twilio number), E.164.
    pub from: String,
}

/// Response body of `POST /calls/outbound`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundCallResponse {
    /// The new call's SID.
    pub call_sid: String,
    /// Twilio's initial status (`queued`).
    pub status: String,
}

/// Call progress events subscribed on every outbound call.
pub const STATUS_CALLBACK_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// `POST /calls/outbound`.
pub async fn place_call(
    State(state): State<AppState>,
    request: Result<Json<OutboundCallRequest>, JsonRejection>,
) -> Result<Json<OutboundCallResponse>, AppError> {
    // axum's own rejection is plain text; this API answers JSON errors like every other refusal,
    // and its text names the offending field (an invalid slug quotes the slug rule).
    let Json(request) = request.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    if state.tenants().get(request.tenant.as_str())?.is_none() {
        return Err(AppError::NotFound(format!("tenant \"{}\"", request.tenant)));
    }
    let by_number = match state.tenants().owner_of_number(&request.from)? {
        Some(owner) if owner == request.tenant.as_str() => true,
        Some(owner) => {
            return Err(AppError::Conflict(format!(
                "caller ID {} belongs to tenant \"{owner}\", not \"{}\"",
                request.from, request.tenant
            )));
        }
        None => false,
    };
    let body = calls_form(&state.config().public_url, &request, by_number);
    let parsed = twilio_rest::post_form(&state, "Calls.json", body).await?;
    let Some(call_sid) = parsed.get("sid").and_then(Value::as_str) else {
        return Err(AppError::BadGateway(
            json!({ "message": "Twilio response has no sid", "body": parsed }),
        ));
    };
    let status = parsed
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("queued");
    tracing::info!(call_sid, tenant = %request.tenant, "outbound call placed");
    Ok(Json(OutboundCallResponse {
        call_sid: call_sid.to_owned(),
        status: status.to_owned(),
    }))
}

/// The form of Twilio's `Calls.json` for `request`: who to call, the webhook Twilio fetches
/// when the callee answers (slug-less when `by_number`: `From` is the tenant's own number), and
/// the status callback with every progress event.
fn calls_form(public_url: &str, request: &OutboundCallRequest, by_number: bool) -> String {
    let url = if by_number {
        format!("{public_url}/twiml/outbound")
    } else {
        format!("{public_url}/twiml/outbound/{}", request.tenant)
    };
    let mut form: Vec<(&str, String)> = vec![
        ("To", request.to.clone()),
        ("From", request.from.clone()),
        ("Url", url),
        ("StatusCallback", format!("{public_url}/status/call")),
    ];
    form.extend(
        STATUS_CALLBACK_EVENTS
            .iter()
            .map(|event| ("StatusCallbackEvent", (*event).to_owned())),
    );
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}
