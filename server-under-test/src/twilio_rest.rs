//! Requests from this server to the Twilio REST API: placing a call ([`crate::outbound`]) and
//! ending one (the per-call limit of [`crate::media_session`]).
//!
//! Every request is a form POST under `{api_base}/2010-04-01/Accounts/{account_sid}/` with basic
//! auth, and every failure is a 502 carrying what Twilio said, so callers only decide what to
//! send.

use serde_json::{Value, json};

use crate::error::AppError;
use crate::state::AppState;

/// POSTs the form `body` to `resource` (e.g. `Calls.json`) under the configured account and
/// returns the JSON Twilio answered with.
pub(crate) async fn post_form(
    state: &AppState,
    resource: &str,
    body: String,
) -> Result<Value, AppError> {
    let config = state.config();
    let (Some(account_sid), Some(auth_token)) = (
        config.twilio_account_sid.as_deref(),
        config.twilio_auth_token.as_deref(),
    ) else {
        return Err(AppError::Internal(
            "Twilio account SID and auth token are required for the Twilio REST API".to_owned(),
        ));
    };
    let endpoint = format!(
        "{}/2010-04-01/Accounts/{account_sid}/{resource}",
        config.twilio_api_base
    );
    let response = state
        .http()
        .post(&endpoint)
        .basic_auth(account_sid, Some(auth_token))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .map_err(|err| {
            AppError::BadGateway(json!({ "message": format!("Twilio REST request failed: {err}") }))
        })?;
    let status = response.status();
    let text = response.text().await.map_err(|err| {
        AppError::BadGateway(
            json!({ "message": format!("Twilio REST response unreadable: {err}") }),
        )
    })?;
    let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "message": text }));
    if !status.is_success() {
        tracing::warn!(%status, %resource, body = %parsed, "Twilio refused the request");
        return Err(AppError::BadGateway(parsed));
    }
    Ok(parsed)
}

/// Ends the call `call_sid` (`POST Calls/{call_sid}.json` with `Status=completed`).
///
/// A call SID is letters and digits (`CA` and 32 hex digits); anything else is refused rather
/// than put into the URL path, where a `/` or `?` would address another resource.
pub(crate) async fn end_call(state: &AppState, call_sid: &str) -> Result<(), AppError> {
    if call_sid.is_empty() || !call_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::BadRequest(format!(
            "call SID {call_sid:?} is not letters and digits"
        )));
    }
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("Status", "completed")
        .finish();
    post_form(state, &format!("Calls/{call_sid}.json"), body).await?;
    Ok(())
}
