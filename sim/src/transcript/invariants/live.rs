//! The configuration invariant as the Live dialect defines it: the instructions are fixed by
//! one `session.start` per connection, and the only way to change them mid-call is an append.
//! A second `session.start` on the same socket is the Live form of the seed's duplicate
//! `session.update`; an append that carries one of the tenant's prompts is a prompt change and,
//! like an instructions change under Realtime, must follow a tenant edit.

use super::config::ONE_CONFIG;
use super::context::{Context, prompt_for};
use super::{Finding, quote, secs};

/// What the Live mock answers a second `session.start` on one connection.
const ALREADY_STARTED: &str = "session_already_started";

/// Findings of [`ONE_CONFIG`] that only Live sessions can have.
pub(super) fn one_start_and_explained_appends(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        let session = served.session;
        if session.dialect != "live" {
            continue;
        }
        let call = served.call;
        let who = format!(
            "AI session {} of {} call `{}` to {}",
            session.index,
            call.direction.as_str(),
            call.name,
            call.tenant
        );
        let restart = session
            .updates
            .iter()
            .find(|u| u.error.as_ref().and_then(|e| e.code.as_deref()) == Some(ALREADY_STARTED));
        if let Some(restart) = restart {
            findings.push(Finding::new(
                ONE_CONFIG,
                Some(&call.name),
                restart.at_ms,
                format!(
                    "{who} sent session.start again on the same socket at {} (Live fixes the \
                     instructions at the first one)",
                    secs(restart.at_ms)
                ),
            ));
            continue;
        }
        let prompts: Vec<&str> = ctx
            .revisions(&call.tenant)
            .into_iter()
            .flat_map(|t| [&t.inbound_prompt, &t.outbound_prompt])
            .map(String::as_str)
            .filter(|p| !p.trim().is_empty())
            .collect();
        for append in &session.appends {
            let Some(prompt) = prompts.iter().find(|p| append.content.contains(**p)) else {
                continue;
            };
            let edited = ctx.plan.tenant_changes.iter().any(|c| {
                let at = u64::try_from(c.at.as_millis()).unwrap_or(u64::MAX);
                c.tenant == call.tenant && at <= append.at_ms
            });
            if edited {
                continue;
            }
            let own_now = prompt_for(ctx.revisions(&call.tenant)[0], call.direction);
            let what = if own_now == *prompt {
                "repeated its prompt"
            } else {
                "changed its prompt"
            };
            findings.push(Finding::new(
                ONE_CONFIG,
                Some(&call.name),
                append.at_ms,
                format!(
                    "{who} {what} by {} at {} with no tenant edit to explain it: {}",
                    append.source,
                    secs(append.at_ms),
                    quote(prompt, 60)
                ),
            ));
            break;
        }
    }
    findings
}
