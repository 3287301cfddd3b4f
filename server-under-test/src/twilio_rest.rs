//! Requests from this server to the Twilio REST API: placing a call ([`crate::outbound`]) and
//! ending one (the per-call limit of [`crate::media_session`]).
//!
//! Every request is a form POST under `{api_base}/2010-04-01/Accounts/{account_sid}/` with basic
//! auth, and every failure is a 502 carrying what Twilio said, so callers only decide what to
//! send.

use axum::body::Bytes;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::network::{Dialer, host_and_port};
use crate::state::TWILIO_HTTP_TIMEOUT;

/// The largest Twilio answer read: the API answers small JSON documents.
const MAX_RESPONSE: usize = 1024 * 1024;

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
    let failed = |err: String| {
        AppError::BadGateway(json!({ "message": format!("Twilio REST request failed: {err}") }))
    };
    let (status, text) = if state.dialer().is_tcp() {
        over_reqwest(state, &endpoint, account_sid, auth_token, body).await
    } else {
        let authorization = format!(
            "Basic {}",
            BASE64.encode(format!("{account_sid}:{auth_token}"))
        );
        tokio::time::timeout(
            TWILIO_HTTP_TIMEOUT,
            over_dialer(state.dialer(), &endpoint, &authorization, body),
        )
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {TWILIO_HTTP_TIMEOUT:?}")))
    }
    .map_err(failed)?;
    let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "message": text }));
    if !status.is_success() {
        tracing::warn!(%status, %resource, body = %parsed, "Twilio refused the request");
        return Err(AppError::BadGateway(parsed));
    }
    Ok(parsed)
}

/// The request through reqwest, which also speaks TLS (the real API is `https://`).
async fn over_reqwest(
    state: &AppState,
    endpoint: &str,
    account_sid: &str,
    auth_token: &str,
    body: String,
) -> Result<(StatusCode, String), String> {
    let response = state
        .http()
        .post(endpoint)
        .basic_auth(account_sid, Some(auth_token))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|err| err.to_string())?;
    Ok((status, text))
}

/// The request as HTTP/1.1 over a connection from a harness's dialer (plain `http://` only).
async fn over_dialer(
    dialer: &dyn Dialer,
    endpoint: &str,
    authorization: &str,
    body: String,
) -> Result<(StatusCode, String), String> {
    let url = url::Url::parse(endpoint).map_err(|err| format!("{endpoint}: {err}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "{endpoint}: a non-TCP dialer carries plain http:// only"
        ));
    }
    let (host, port) = host_and_port(&url).ok_or_else(|| format!("{endpoint}: no host"))?;
    let connection = dialer.dial(&host, port).await.map_err(|e| e.to_string())?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(connection))
        .await
        .map_err(|e| e.to_string())?;
    // The connection task ends once the response is read and the sender is dropped.
    tokio::spawn(async move {
        let _ = driver.await;
    });
    let request = hyper::Request::post(url.path())
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .header(hyper::header::AUTHORIZATION, authorization)
        .header(
            hyper::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = Limited::new(response.into_body(), MAX_RESPONSE)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
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
