//! The per-call bridge between Twilio Media Streams and the Realtime API (the seed's
//! `server/media_ws_ai.py` session logic).
//!
//! The session is generic over a typed Twilio sink and stream, so tests drive it with channels.
//! [`run_media_session`] runs its stages in order, one submodule each:
//!
//! 1. start (`media_session/start.rs`): wait for Twilio's `start` and lock the direction from
//!    `customParameters.direction`;
//! 2. choose the prompt ([`crate::prompt_selection`]) and build the `session.update`;
//! 3. connect and greet (`media_session/ai_link.rs`): connect to the Realtime API, send
//!    `session.update` and, on the first connection only, the greeting;
//! 4. pump (`media_session/pump.rs`): audio both ways until `stop` or the socket closes.
//!
//! Under the per-call-limit bug (`media_session/call_limit.rs`) the server also hangs the call up
//! through the Twilio REST API once the limit has passed.
//!
//! Barge-in truncates the playing assistant item at the point the caller heard and clears
//! Twilio's buffer ([`crate::media_bridge`]). Session expiry or an AI socket that closes while
//! the caller is still connected sends the pump back to stage 3 with the same `session.update`.

mod ai_link;
mod call_limit;
mod pump;
mod start;

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream};
use serde::Serialize;

use crate::caller_context;
use crate::counters::{CounterGuard, CounterKind};
use crate::direction::Direction;
use crate::media_bridge::Bridge;
use crate::prompt_selection::{PromptSource, PromptSources, select_prompt};
use crate::realtime_event::{ClientEvent, SessionConfig};
use crate::state::AppState;
use crate::tenants::Tenant;
use crate::twilio_message::{TwilioInbound, TwilioOutbound};
use ai_link::AiLink;
pub use call_limit::PER_CALL_LIMIT;
use start::{AdmittedCall, RegistryCleanup};

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

/// Runs one call's bridge to completion and reports what happened.
pub async fn run_media_session<TS, TR>(
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

    // Stage 1: start.
    let (stream_sid, start) = match start::wait_for_start(&mut twilio_rx).await {
        Ok(started) => started,
        Err(reason) => {
            report.end = reason;
            let _ = twilio_tx.close().await;
            return report;
        }
    };
    let call_sid = start::call_sid(&start);
    report.call_sid.clone_from(&call_sid);
    // Held until the session returns, so the registry entry goes however the call ends.
    let _cleanup = call_sid
        .clone()
        .map(|call_sid| RegistryCleanup::new(&state, call_sid));
    let Some(call) = start::admit(&state, call_sid, &start) else {
        report.end = EndReason::BadStart;
        let _ = twilio_tx.close().await;
        return report;
    };
    let mut bridge = Bridge::new(twilio_tx, stream_sid);
    report.direction = Some(call.direction);
    // Held until the session returns, so a call that ends first cancels its limit.
    let _limit = call_limit::arm(&state, &call.call_sid);

    // Stage 2: choose the prompt.
    let update = choose_prompt(&state, &call, &mut report).await;

    // Stages 3 and 4: connect and greet, then pump until the call ends.
    let mut ai = AiLink::new(&state, &call, update);
    let end = pump::pump(&mut bridge, &mut twilio_rx, &mut ai, &call.call_sid).await;
    ai.disconnect().await;
    bridge.close().await;
    report.ai_connections = ai.connections();
    report.truncations = bridge.truncations();
    report.end = end;
    tracing::info!(call_sid = %call.call_sid, end = ?end, ai_connections = report.ai_connections, "call ended");
    report
}

/// Chooses the call's instructions, records them in `report` and returns the `session.update`
/// that every Realtime connection of the call sends.
async fn choose_prompt(
    state: &AppState,
    call: &AdmittedCall,
    report: &mut SessionReport,
) -> ClientEvent {
    let sources = PromptSources {
        registry: state.registry(),
        cache: state.prompt_cache(),
        regressions: state.regressions(),
        prebuild_wait: PREBUILD_WAIT,
    };
    let notes = caller_context::notes_for_call(state, &call.tenant.slug, &call.call_sid);
    let prompt = select_prompt(
        sources,
        &call.tenant,
        &call.call_sid,
        call.direction,
        notes.as_deref(),
    )
    .await;
    let update = session_update(&prompt.text, &call.tenant);
    report.prompt = Some(prompt.text);
    report.prompt_source = Some(prompt.source);
    update
}

/// The `session.update` for `instructions` in the tenant's voice ([`DEFAULT_VOICE`] when blank).
fn session_update(instructions: &str, tenant: &Tenant) -> ClientEvent {
    let voice = tenant
        .voice
        .clone()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_VOICE.to_owned());
    ClientEvent::SessionUpdate {
        session: SessionConfig::for_call(instructions, &voice),
    }
}

#[cfg(test)]
mod tests;
