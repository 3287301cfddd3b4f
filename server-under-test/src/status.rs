//! Call and stream status callbacks (the seed's status routes in `server/routes_twilio.py`).
//!
//! Callbacks are signed like every Twilio webhook; valid ones are recorded in memory in arrival
//! order (the fixture API exposes them for debugging) and answered with 204.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::state::AppState;
use crate::twilio_request;

/// Which callback URL was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackKind {
    /// `/status/call` (call progress events).
    Call,
    /// `/status/stream` (`<Stream statusCallback>`).
    Stream,
}

/// One recorded callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCallback {
    /// Which URL.
    pub kind: CallbackKind,
    /// The form parameters (a repeated name keeps its last value).
    pub params: BTreeMap<String, String>,
}

/// In-memory list of received callbacks.
#[derive(Debug, Default)]
pub struct StatusLog {
    entries: Mutex<Vec<StatusCallback>>,
}

impl StatusLog {
    /// Appends a callback.
    pub fn record(&self, callback: StatusCallback) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(callback);
    }

    /// A copy of every callback so far.
    pub fn snapshot(&self) -> Vec<StatusCallback> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn record(
    state: &AppState,
    kind: CallbackKind,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<StatusCode, AppError> {
    let params = twilio_request::verified_form(state.config(), uri, headers, body)?;
    let value = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    tracing::info!(?kind, call_sid = ?value("CallSid"), "status callback");
    // A terminal call status is the last word on a call. A call whose media stream never
    // connected (refused upgrade, caller hung up during setup) would otherwise leave its
    // pre-built prompt in the registry forever, since only the stream's end clears it.
    let terminal = value("CallStatus").is_some_and(|s| {
        matches!(
            s.as_str(),
            "completed" | "busy" | "failed" | "no-answer" | "canceled"
        )
    });
    if kind == CallbackKind::Call
        && terminal
        && let Some(call_sid) = value("CallSid")
    {
        state.registry().clear(&call_sid);
    }
    state.status_log().record(StatusCallback {
        kind,
        params: params.into_iter().collect(),
    });
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /status/call`.
pub async fn call_status(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    record(&state, CallbackKind::Call, &uri, &headers, &body)
}

/// `POST /status/stream`.
pub async fn stream_status(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    record(&state, CallbackKind::Stream, &uri, &headers, &body)
}
