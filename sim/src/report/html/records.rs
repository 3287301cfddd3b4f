//! The transcript records that belong to one call.

use crate::transcript::model::{CallSummary, ResponseSummary, SessionSummary, Transcript};

/// The AI sessions that served a call, by the call's index list or by the session's own tag.
pub(super) fn call_sessions<'a>(t: &'a Transcript, call: &CallSummary) -> Vec<&'a SessionSummary> {
    t.ai.sessions
        .iter()
        .filter(|s| call.ai_sessions.contains(&s.index) || s.call.as_deref() == Some(&call.name))
        .collect()
}

/// The AI responses of a call.
pub(super) fn call_responses<'a>(
    t: &'a Transcript,
    call: &CallSummary,
) -> Vec<&'a ResponseSummary> {
    t.ai.responses
        .iter()
        .filter(|r| r.call.as_deref() == Some(&call.name) || call.ai_sessions.contains(&r.session))
        .collect()
}
