//! The per-call time limit: whether and when the server ends a call itself.
//!
//! The fixed server has no limit; a call lasts until the caller or Twilio ends it. Under
//! [`Bug::PerCallLimitTooShort`] the server hangs the call up through the Twilio REST API
//! [`PER_CALL_LIMIT`] after its media stream started, as the seed did from 2025-12-07 with a
//! limit far below its longest calls. Twilio then ends the stream, and the session ends with it.

use std::time::Duration;

use tokio::sync::oneshot;

use crate::bugs::Bug;
use crate::state::AppState;
use crate::twilio_rest;

/// The limit under [`Bug::PerCallLimitTooShort`]: the first of the seed's limits.
pub const PER_CALL_LIMIT: Duration = Duration::from_secs(90);

/// A running limit; dropping it (the session ended first) cancels the hang-up.
pub(super) struct CallLimit {
    _cancel: oneshot::Sender<()>,
}

/// Arms the limit for `call_sid` if the server runs with one; `None` otherwise.
pub(super) fn arm(state: &AppState, call_sid: &str) -> Option<CallLimit> {
    if !state.regressions().has(Bug::PerCallLimitTooShort) {
        return None;
    }
    let (cancel, cancelled) = oneshot::channel::<()>();
    let state = state.clone();
    let call_sid = call_sid.to_owned();
    tokio::spawn(async move {
        tokio::select! {
            // The sender is only ever dropped, never used: the session ended before the limit.
            _ = cancelled => return,
            () = tokio::time::sleep(PER_CALL_LIMIT) => {}
        }
        // Past this point the hang-up completes even if the session ends meanwhile, so Twilio
        // never sees a request cut off halfway.
        tracing::warn!(%call_sid, limit = ?PER_CALL_LIMIT, "[CALL_LIMIT] per-call limit reached; ending the call through the REST API");
        if let Err(err) = twilio_rest::end_call(&state, &call_sid).await {
            tracing::error!(%call_sid, error = %err, "[CALL_LIMIT] ending the call failed");
        }
    });
    Some(CallLimit { _cancel: cancel })
}
