//! Call and stream status callbacks: signed, awaited (bounded by the webhook timeout) so the
//! record is complete and ordered, and never able to change the call's course.

use std::collections::BTreeMap;

use super::call_record::{CallbackRecord, TwilioError};
use super::context::CallContext;
use super::http::{Signing, send_signed};
use super::params::set;
use super::spec::{CallEvent, HttpMethod};

/// Sends a call status callback if the call subscribed to `event`.
///
/// `completed` is always sent when a callback URL is configured (an empty event list means
/// "completed only", as on Twilio). `extra` adds e.g. `CallDuration`/`Duration`.
pub async fn call_status(
    ctx: &CallContext,
    event: CallEvent,
    call_status: &str,
    extra: &[(String, String)],
) {
    let Some(config) = ctx.status_callback.as_ref() else {
        return;
    };
    if event != CallEvent::Completed && !config.events.contains(&event) {
        return;
    }
    let mut params = ctx.identity.params(call_status);
    params.push(("CallbackSource".into(), "call-progress-events".into()));
    params.push(("SequenceNumber".into(), ctx.next_callback_seq().to_string()));
    params.push(("Timestamp".into(), ctx.env.clock.rfc2822_now()));
    for (k, v) in extra {
        set(&mut params, k, v);
    }
    send(
        ctx,
        &config.url.clone(),
        config.method,
        event.as_str(),
        params,
    )
    .await;
}

/// A stream lifecycle event for `<Stream statusCallback>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    /// The WebSocket is connected.
    Started,
    /// The stream ended normally.
    Stopped,
    /// The stream failed (handshake or protocol error).
    Error,
}

impl StreamStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Started => "stream-started",
            Self::Stopped => "stream-stopped",
            Self::Error => "stream-error",
        }
    }
}

/// Where a stream's callbacks go and how the stream is named.
#[derive(Debug, Clone)]
pub struct StreamCallbackTarget {
    /// Public callback URL.
    pub url: String,
    /// Its method.
    pub method: HttpMethod,
    /// `MZ…`.
    pub stream_sid: String,
    /// The `name` attribute, or the SID when there is none.
    pub stream_name: String,
}

/// Sends a stream status callback.
pub async fn stream_status(
    ctx: &CallContext,
    target: &StreamCallbackTarget,
    status: StreamStatus,
    error: Option<&str>,
) {
    let mut params: Vec<(String, String)> = vec![
        ("AccountSid".into(), ctx.identity.account_sid.clone()),
        ("CallSid".into(), ctx.identity.call_sid.clone()),
        ("StreamSid".into(), target.stream_sid.clone()),
        ("StreamName".into(), target.stream_name.clone()),
        ("StreamEvent".into(), status.as_str().into()),
        ("Timestamp".into(), ctx.env.clock.iso8601_now()),
    ];
    if let Some(e) = error {
        params.push(("StreamError".into(), e.to_owned()));
    }
    send(ctx, &target.url, target.method, status.as_str(), params).await;
}

async fn send(
    ctx: &CallContext,
    url: &str,
    method: HttpMethod,
    event: &str,
    params: Vec<(String, String)>,
) {
    let at_ms = ctx.now_ms();
    let token = ctx.ids.uuid();
    let result = send_signed(&ctx.env, url, method, &params, Signing::Valid, &token).await;
    let logged = |code, message| {
        Some(TwilioError {
            at_ms,
            code,
            message,
        })
    };
    let (http_status, error) = match result {
        Ok(reply) if (200..300).contains(&reply.status) => (Some(reply.status), None),
        // Twilio logs 11200 for a failed callback and carries on.
        Ok(reply) => (
            Some(reply.status),
            logged(11200, format!("callback returned {}", reply.status)),
        ),
        Err(failure) => (None, logged(11205, failure.to_string())),
    };
    let record = CallbackRecord {
        at_ms,
        url: url.to_owned(),
        event: event.to_owned(),
        params: params.into_iter().collect::<BTreeMap<_, _>>(),
        http_status,
        error,
    };
    ctx.record.update(|r| r.status_callbacks.push(record));
}
