//! Nothing is left behind: once the calls have ended no AI socket is open, each call's AI session
//! closed soon after its call, and the server holds no per-call state (where it exposes it).

use serde_json::Value;

use super::context::Context;
use super::{Finding, secs};

/// No AI socket or per-call state after the calls.
pub(super) const NO_SOCKET: &str = "teardown.nothing-left-open";

/// How long after its call ends a session may stay open.
const CLOSE_GRACE_MS: u64 = 5_000;

pub(super) fn no_socket(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        let Some(ended) = served.record.ended_at_ms else {
            continue;
        };
        let late = match served.session.closed_at_ms {
            Some(closed) => closed > ended + CLOSE_GRACE_MS,
            None => true,
        };
        if late {
            let when = served
                .session
                .closed_at_ms
                .map_or_else(|| "never".to_string(), |c| format!("at {}", secs(c)));
            findings.push(Finding::new(
                NO_SOCKET,
                Some(&served.call.name),
                ended,
                format!(
                    "AI session {} of call `{}` to {} stayed open after the call ended at {} \
                     (closed {when})",
                    served.session.index,
                    served.call.name,
                    served.call.tenant,
                    secs(ended)
                ),
            ));
        }
    }
    if ctx.art.residual != Value::String("none".into()) {
        findings.push(Finding::new(
            NO_SOCKET,
            None,
            ctx.art.simulated_ms,
            format!(
                "after every call ended the server still held per-call state: {}",
                ctx.art.residual
            ),
        ));
    }
    findings
}
