//! The AI session opens promptly after the Twilio stream starts: a caller who waits seconds in
//! silence hangs up, and a pre-built prompt that is never read shows up as a late session.

use super::context::Context;
use super::{Finding, secs};

/// The AI session opens within the target's declared bound of the stream's start (3 s unless
/// the target file declares `session_open_within`).
pub(super) const SESSION_OPENS: &str = "timing.ai-session-opens-promptly";

pub(super) fn session_opens(ctx: &Context<'_>) -> Vec<Finding> {
    let limit_ms = ctx.art.declared.session_open_within_ms();
    let mut findings = Vec::new();
    for (i, record) in ctx.art.calls.iter().enumerate() {
        let Some(call) = ctx.plan.calls.iter().find(|c| c.name == record.label) else {
            continue;
        };
        let Some(stream) = record.streams.first() else {
            continue;
        };
        let Some(connected) = stream.connected_at_ms else {
            continue;
        };
        let ended = stream.ended_at_ms.unwrap_or(u64::MAX);
        if ended.saturating_sub(connected) < limit_ms {
            // A stream shorter than the limit cannot show a late session.
            continue;
        }
        let first = ctx
            .art
            .sessions
            .iter()
            .zip(ctx.owner)
            .filter(|(_, who)| **who == Some(i))
            .map(|(s, _)| s.opened_at_ms)
            .min();
        let late = first.is_none_or(|opened| opened > connected.saturating_add(limit_ms));
        if late {
            let when = first.map_or_else(|| "never".to_string(), |o| format!("at {}", secs(o)));
            findings.push(Finding::new(
                SESSION_OPENS,
                Some(&call.name),
                connected,
                format!(
                    "{} call `{}` to {}: the stream started at {} but the AI session opened \
                     {when} (the target promises {})",
                    call.direction.as_str(),
                    call.name,
                    call.tenant,
                    secs(connected),
                    secs(limit_ms)
                ),
            ));
        }
    }
    findings
}
