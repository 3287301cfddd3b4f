//! `GET /ws/media`: the Media Streams WebSocket upgrade (the seed's WebSocket route in
//! `server/media_ws_ai.py`).
//!
//! The upgrade's `X-Twilio-Signature` is validated over the `wss://` URL with no parameters,
//! and a missing or wrong signature is refused with 403 before upgrading, so nobody can open a
//! stream and spend model credits. The socket is then adapted to typed Twilio messages and
//! handed to [`crate::media_session::run_media_session`].
//!
//! The adapter also admits the `start` message ([`admit_start`]): the stream path carries no
//! slug, so the tenant arrives as a `<Parameter>` and is held to the same slug rule as a URL
//! segment, and the call's stream-registry entry is claimed so it lives as long as the stream
//! instead of expiring like an abandoned webhook's.

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt, future};

use crate::error::AppError;
use crate::media_session::run_media_session;
use crate::slug::Slug;
use crate::state::AppState;
use crate::twilio_message::{TwilioInbound, TwilioOutbound, parse_inbound};
use crate::twilio_request;

/// `GET /ws/media`.
pub async fn upgrade(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let url = twilio_request::signed_url(&state.config().public_ws_url(), &uri);
    twilio_request::check_signature(state.config(), &headers, &url, &[])?;
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    Ok(ws
        .read_buffer_size(crate::realtime::WS_READ_BUFFER)
        .on_upgrade(move |socket| handle_socket(state, socket)))
}

/// Name of the `<Parameter>` that carries the tenant slug (see [`crate::webhooks`]).
const TENANT_PARAMETER: &str = "tenant";

/// Applies the stream-side input rules to a `start` message; other messages pass unchanged.
///
/// A tenant parameter that breaks the slug rule is removed, so the session ends the stream as it
/// does for any `start` without a usable tenant. The call SID is read as the session reads it
/// (custom parameter first, then `start.callSid`).
pub fn admit_start(state: &AppState, message: TwilioInbound) -> TwilioInbound {
    let TwilioInbound::Start {
        stream_sid,
        mut start,
    } = message
    else {
        return message;
    };
    if let Some(raw) = start.custom_parameters.get(TENANT_PARAMETER)
        && let Err(err) = Slug::parse(raw)
    {
        tracing::warn!(%stream_sid, error = %err, "start refused: tenant parameter");
        start.custom_parameters.remove(TENANT_PARAMETER);
    }
    let call_sid = start
        .custom_parameters
        .get("call_sid")
        .or(start.call_sid.as_ref());
    if let Some(call_sid) = call_sid {
        state.registry().claim(call_sid);
    }
    TwilioInbound::Start { stream_sid, start }
}

async fn handle_socket(state: AppState, socket: WebSocket) {
    let admit_state = state.clone();
    let (sink, stream) = socket.split();
    let twilio_tx = sink.with(|message: TwilioOutbound| {
        future::ready(
            serde_json::to_string(&message)
                .map(|text| Message::Text(text.into()))
                .map_err(axum::Error::new),
        )
    });
    let twilio_rx = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => match parse_inbound(text.as_str()) {
                    Ok(parsed) => Some(admit_start(&admit_state, parsed)),
                    Err(err) => {
                        tracing::warn!(error = %err, "unparseable Twilio message ignored");
                        None
                    }
                },
                _ => None,
            })
        });
    let report = run_media_session(state, Box::pin(twilio_tx), Box::pin(twilio_rx)).await;
    tracing::debug!(?report, "media session finished");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::Config;
    use crate::stream_registry::DEFAULT_UNCLAIMED_TTL;
    use crate::twilio_message::StartPayload;

    fn start(tenant: &str, call_sid: &str) -> TwilioInbound {
        TwilioInbound::Start {
            stream_sid: "MZ1".to_owned(),
            start: StartPayload {
                account_sid: None,
                call_sid: Some(call_sid.to_owned()),
                custom_parameters: BTreeMap::from([
                    (TENANT_PARAMETER.to_owned(), tenant.to_owned()),
                    ("direction".to_owned(), "inbound".to_owned()),
                ]),
            },
        }
    }

    fn tenant_parameter(message: &TwilioInbound) -> Option<&str> {
        match message {
            TwilioInbound::Start { start, .. } => start
                .custom_parameters
                .get(TENANT_PARAMETER)
                .map(String::as_str),
            _ => None,
        }
    }

    fn state() -> AppState {
        AppState::new(Config::in_process(
            "https://h.test",
            "t",
            "ws://127.0.0.1:9",
        ))
        .expect("test config is valid")
    }

    #[tokio::test]
    async fn a_tenant_parameter_breaking_the_slug_rule_is_removed() {
        let state = state();
        for bad in ["../acme", "acme\u{202e}", "ac\0me", ""] {
            assert_eq!(
                tenant_parameter(&admit_start(&state, start(bad, "CA1"))),
                None
            );
        }
        let good = admit_start(&state, start("Acme-Dental_2", "CA1"));
        assert_eq!(tenant_parameter(&good), Some("Acme-Dental_2"));
        let stop = TwilioInbound::Stop { stream_sid: None };
        assert_eq!(admit_start(&state, stop.clone()), stop);
    }

    #[tokio::test(start_paused = true)]
    async fn start_claims_the_calls_registry_entry() {
        let state = state();
        state.registry().mark_prebuild_pending("CAstreamed");
        state.registry().mark_prebuild_pending("CAabandoned");
        admit_start(&state, start("acme", "CAstreamed"));
        assert!(!state.registry().is_unclaimed("CAstreamed"));
        tokio::time::advance(DEFAULT_UNCLAIMED_TTL).await;
        assert_eq!(state.registry().len(), 1);
        assert!(
            state
                .registry()
                .get_metadata("CAstreamed", crate::stream_registry::PREBUILD_PENDING_KEY)
                .is_some()
        );
    }
}
