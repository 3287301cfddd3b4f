//! The per-call bridge between Twilio Media Streams and the Realtime API (the seed's
//! `server/media_ws_ai.py` session logic).
//!
//! The session is generic over a typed Twilio sink and stream, so tests drive it with channels.
//! Order of work: wait for `start`, lock the direction from `customParameters.direction`, choose
//! the prompt ([`crate::prompt_selection`]), connect to the Realtime API and send `session.update`
//! (plus the greeting), then pump audio both ways until `stop` or the socket closes. Barge-in
//! truncates the playing assistant item at the point the caller heard and clears Twilio's
//! buffer. Session expiry or an AI socket that closes while the caller is still connected
//! triggers a reconnect with the same `session.update`.

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Serialize;

use crate::counters::{CounterGuard, CounterKind};
use crate::direction::Direction;
use crate::media_bridge::{AiAction, Bridge};
use crate::prompt_selection::{PromptSource, PromptSources, SelectedPrompt, select_prompt};
use crate::realtime::AiConnection;
use crate::realtime_event::{ClientEvent, ConversationItem, SessionConfig};
use crate::state::AppState;
use crate::twilio_message::{StartPayload, TwilioInbound, TwilioOutbound};

/// How long to wait for Twilio's `start` message after the socket opens.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the webhook's background pre-build when `start` arrives first.
pub const PREBUILD_WAIT: Duration = Duration::from_secs(2);
/// Consecutive Realtime connections without a `session.updated` before the call is given up.
pub const MAX_AI_ATTEMPTS: u32 = 5;
/// Pause between failed Realtime connection attempts.
pub const RECONNECT_BACKOFF: Duration = Duration::from_millis(250);
/// Default Realtime voice when the tenant has none.
pub const DEFAULT_VOICE: &str = "alloy";

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Twilio sent `stop`.
    Stop,
    /// The Twilio socket closed (or failed) without `stop`.
    TwilioClosed,
    /// No `start` arrived in time.
    NoStart,
    /// `start` lacked a usable direction, tenant or call SID, or the tenant is unknown.
    BadStart,
    /// The Realtime API stayed unavailable for [`MAX_AI_ATTEMPTS`] attempts.
    AiUnavailable,
}

/// What happened in a session (used by tests and logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionReport {
    /// Call SID from the custom parameters (or `start.callSid`).
    pub call_sid: Option<String>,
    /// Locked direction.
    pub direction: Option<Direction>,
    /// Chosen instructions.
    pub prompt: Option<String>,
    /// Where the instructions came from.
    pub prompt_source: Option<PromptSource>,
    /// Number of successful Realtime connections.
    pub ai_connections: u32,
    /// Number of barge-in truncations.
    pub truncations: u32,
    /// Why it ended.
    pub end: EndReason,
}

/// A Realtime connection and the counter that tracks it.
struct LiveAi {
    conn: AiConnection,
    _guard: CounterGuard,
}

async fn close_ai(live: LiveAi) {
    let LiveAi { mut conn, _guard } = live;
    // Sending a close frame ends the model session at once instead of at its maximum duration.
    if tokio::time::timeout(Duration::from_secs(1), conn.sink.close())
        .await
        .is_err()
    {
        tracing::debug!("realtime close frame not acknowledged in time");
    }
}

async fn open_ai(state: &AppState, update: &ClientEvent) -> Option<LiveAi> {
    match state.connector().connect().await {
        Ok(mut conn) => {
            let guard = CounterGuard::new(state.counters(), CounterKind::AiSockets);
            if let Err(err) = conn.sink.send(update.clone()).await {
                tracing::warn!(error = %err, "sending session.update failed");
                close_ai(LiveAi {
                    conn,
                    _guard: guard,
                })
                .await;
                return None;
            }
            Some(LiveAi {
                conn,
                _guard: guard,
            })
        }
        Err(err) => {
            tracing::warn!(error = %err, "realtime connect failed");
            None
        }
    }
}

/// Removes the call's registry entry however the session ends.
struct RegistryCleanup {
    state: AppState,
    call_sid: String,
}

impl Drop for RegistryCleanup {
    fn drop(&mut self) {
        self.state.registry().clear(&self.call_sid);
    }
}

/// Reads Twilio messages until `start`; an `EndReason` when the socket ends or the timeout passes.
async fn wait_for_start<TR>(twilio_rx: &mut TR) -> Result<(String, StartPayload), EndReason>
where
    TR: Stream<Item = TwilioInbound> + Unpin,
{
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, twilio_rx.next()).await {
            Ok(Some(TwilioInbound::Start { stream_sid, start })) => return Ok((stream_sid, start)),
            Ok(Some(TwilioInbound::Stop { .. }) | None) => return Err(EndReason::TwilioClosed),
            Ok(Some(_)) => {}
            Err(_) => return Err(EndReason::NoStart),
        }
    }
}

/// Runs one call's bridge to completion and reports what happened.
pub async fn run_session<TS, TR>(
    state: AppState,
    mut twilio_tx: TS,
    mut twilio_rx: TR,
) -> SessionReport
where
    TS: Sink<TwilioOutbound> + Unpin,
    TS::Error: std::fmt::Display,
    TR: Stream<Item = TwilioInbound> + Unpin,
{
    let _stream_guard = CounterGuard::new(state.counters(), CounterKind::Streams);
    let mut report = SessionReport {
        call_sid: None,
        direction: None,
        prompt: None,
        prompt_source: None,
        ai_connections: 0,
        truncations: 0,
        end: EndReason::TwilioClosed,
    };
    let (stream_sid, start) = match wait_for_start(&mut twilio_rx).await {
        Ok(started) => started,
        Err(reason) => {
            report.end = reason;
            let _ = twilio_tx.close().await;
            return report;
        }
    };
    let call_sid = start
        .custom_parameters
        .get("call_sid")
        .cloned()
        .or(start.call_sid.clone());
    report.call_sid.clone_from(&call_sid);
    let _cleanup = call_sid.clone().map(|call_sid| RegistryCleanup {
        state: state.clone(),
        call_sid,
    });
    let direction = start
        .custom_parameters
        .get("direction")
        .and_then(|d| Direction::parse(d));
    let tenant = match start
        .custom_parameters
        .get("tenant")
        .map(|slug| state.tenants().get(slug))
    {
        Some(Ok(tenant)) => tenant,
        Some(Err(err)) => {
            tracing::error!(error = %err, "tenant lookup failed");
            None
        }
        None => None,
    };
    let (Some(call_sid), Some(direction), Some(tenant)) = (call_sid, direction, tenant) else {
        tracing::error!(params = ?start.custom_parameters, "start without a usable call_sid, direction or tenant; ending the stream");
        report.end = EndReason::BadStart;
        let _ = twilio_tx.close().await;
        return report;
    };
    let mut bridge = Bridge::new(twilio_tx, stream_sid);
    // The direction is immutable from here on, whatever the prompt says.
    tracing::info!(%call_sid, "[CALL_DIRECTION_SET] Locked to: {direction} (IMMUTABLE)");
    report.direction = Some(direction);

    let sources = PromptSources {
        registry: state.registry(),
        cache: state.prompt_cache(),
        profile: state.config().profile,
        prebuild_wait: PREBUILD_WAIT,
    };
    let SelectedPrompt {
        text: instructions,
        source,
    } = select_prompt(sources, &tenant, &call_sid, direction).await;
    report.prompt = Some(instructions.clone());
    report.prompt_source = Some(source);
    let voice = tenant
        .voice
        .clone()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_VOICE.to_owned());
    let update = ClientEvent::SessionUpdate {
        session: SessionConfig::for_call(&instructions, &voice),
    };

    let mut ai: Option<LiveAi> = None;
    let mut attempts = 0u32;
    let mut greeted = false;
    let end = loop {
        if ai.is_none() {
            if attempts >= MAX_AI_ATTEMPTS {
                tracing::error!(%call_sid, attempts, "realtime API unavailable; ending the call");
                break EndReason::AiUnavailable;
            }
            attempts += 1;
            let Some(mut live) = open_ai(&state, &update).await else {
                tokio::time::sleep(RECONNECT_BACKOFF).await;
                continue;
            };
            report.ai_connections += 1;
            if !greeted
                && let Some(greeting) = tenant.greeting.as_deref().filter(|g| !g.trim().is_empty())
            {
                let item =
                    ConversationItem::user_text(&format!("Greet the caller with: {greeting}"));
                let sent = live
                    .conn
                    .sink
                    .send(ClientEvent::ConversationItemCreate { item })
                    .await
                    .is_ok()
                    && live
                        .conn
                        .sink
                        .send(ClientEvent::ResponseCreate)
                        .await
                        .is_ok();
                if !sent {
                    close_ai(live).await;
                    continue;
                }
            }
            greeted = true;
            ai = Some(live);
        }
        let Some(live) = ai.as_mut() else {
            continue;
        };
        let mut reconnect = false;
        tokio::select! {
            message = twilio_rx.next() => match message {
                None => break EndReason::TwilioClosed,
                Some(TwilioInbound::Stop { .. }) => break EndReason::Stop,
                Some(TwilioInbound::Media { media, .. }) => {
                    bridge.note_caller_media(media.timestamp.as_deref());
                    let append = ClientEvent::InputAudioBufferAppend { audio: media.payload };
                    if let Err(err) = live.conn.sink.send(append).await {
                        tracing::warn!(error = %err, "forwarding caller audio failed; reconnecting");
                        reconnect = true;
                    }
                }
                Some(TwilioInbound::Mark { mark, .. }) => {
                    bridge.mark_echoed(&mark.name);
                }
                Some(_) => {}
            },
            event = live.conn.stream.next() => match event {
                None => {
                    tracing::warn!(%call_sid, "realtime socket closed while the caller is connected; reconnecting");
                    reconnect = true;
                }
                Some(event) => match bridge.on_ai_event(event, &mut live.conn, &mut attempts).await {
                    AiAction::Continue => {}
                    AiAction::Reconnect => reconnect = true,
                    AiAction::TwilioGone => break EndReason::TwilioClosed,
                },
            },
        }
        if reconnect && let Some(live) = ai.take() {
            close_ai(live).await;
        }
    };
    if let Some(live) = ai.take() {
        close_ai(live).await;
    }
    bridge.close().await;
    report.truncations = bridge.truncations();
    report.end = end;
    tracing::info!(%call_sid, end = ?end, ai_connections = report.ai_connections, "call ended");
    report
}

#[cfg(test)]
mod tests;
