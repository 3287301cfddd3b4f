//! `GET /ws/media`: the Media Streams WebSocket upgrade (the seed's WebSocket route in
//! `server/media_ws_ai.py`).
//!
//! The upgrade's `X-Twilio-Signature` is validated over the `wss://` URL with no parameters,
//! and a missing or wrong signature is refused with 403 before upgrading, so nobody can open a
//! stream and spend model credits. The socket is then adapted to typed Twilio messages and
//! handed to [`crate::media_session::run_session`].

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt, future};

use crate::app::AppState;
use crate::error::AppError;
use crate::media_session::run_session;
use crate::signature;
use crate::twilio_message::{TwilioOutbound, parse_inbound};
use crate::webhooks::signed_url;

/// `GET /ws/media`.
pub async fn upgrade(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let url = signed_url(&state.config().public_ws_url(), &uri);
    signature::check_request(state.config(), &headers, &url, &[])?;
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    // Media messages are ~300 bytes; a small read buffer avoids zero-filling 128 KiB per read.
    Ok(ws
        .read_buffer_size(8 * 1024)
        .on_upgrade(move |socket| handle_socket(state, socket)))
}

async fn handle_socket(state: AppState, socket: WebSocket) {
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
                    Ok(parsed) => Some(parsed),
                    Err(err) => {
                        tracing::warn!(error = %err, "unparseable Twilio message ignored");
                        None
                    }
                },
                _ => None,
            })
        });
    let report = run_session(state, Box::pin(twilio_tx), Box::pin(twilio_rx)).await;
    tracing::debug!(?report, "media session finished");
}
