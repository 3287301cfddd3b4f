//! The prompt invariants, the seed bug's family: every response is produced under the call's own
//! tenant's prompt for the call's own direction, with no other tenant's or direction's text, and
//! never under empty, default or greeting-only instructions.

use super::context::{Context, ServedSession, other, prompt_for};
use super::{Finding, quote, secs};
use crate::realtime::DEFAULT_INSTRUCTIONS;
use crate::scenario::plan::CallDirection;

/// The instructions carry the call's own tenant's prompt for its direction and nothing foreign.
pub(super) const OWN_PROMPT: &str = "prompt.own-tenant-and-direction";
/// No response under empty, default or greeting-only instructions.
pub(super) const NOT_EMPTY: &str = "prompt.not-empty-default-or-greeting";

/// Texts a call may carry (its own tenant's prompts for its direction, every revision) and texts
/// it must not (the other direction's and every other tenant's), none empty.
fn allowed_and_foreign<'a>(
    ctx: &Context<'a>,
    served: &ServedSession<'a>,
) -> (Vec<&'a str>, Vec<(String, &'a str)>) {
    let call = served.call;
    let own: Vec<&str> = ctx
        .revisions(&call.tenant)
        .into_iter()
        .map(|t| prompt_for(t, call.direction))
        .filter(|p| !p.trim().is_empty())
        .collect();
    let mut foreign: Vec<(String, &str)> = Vec::new();
    for rev in &ctx.art.revisions {
        for direction in [call.direction, other(call.direction)] {
            let text = prompt_for(&rev.settings, direction);
            let same_tenant = rev.tenant == call.tenant;
            if text.trim().is_empty() || (same_tenant && direction == call.direction) {
                continue;
            }
            // A text that is part of an allowed prompt (a shared sentence) proves nothing.
            if own.iter().any(|o| o.contains(text)) {
                continue;
            }
            let label = if same_tenant {
                format!("its own {} prompt", direction.as_str().to_uppercase())
            } else {
                format!("tenant {}'s {} prompt", rev.tenant, direction.as_str())
            };
            foreign.push((label, text));
        }
    }
    // Another caller's private notes, of any tenant, never reach this call.
    let party = match call.direction {
        CallDirection::Inbound => &call.from,
        CallDirection::Outbound => &call.to,
    };
    for rev in &ctx.art.revisions {
        for (phone, notes) in &rev.settings.contacts {
            if phone != party && !notes.trim().is_empty() {
                foreign.push((
                    format!("the private notes of caller {phone}"),
                    notes.as_str(),
                ));
            }
        }
    }
    (own, foreign)
}

/// The response-by-response check of [`OWN_PROMPT`].
pub(super) fn own_prompt(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        let (own, foreign) = allowed_and_foreign(ctx, &served);
        let call = served.call;
        let who = format!(
            "{} call `{}` to {}",
            call.direction.as_str(),
            call.name,
            call.tenant
        );
        for r in Context::responses(&served) {
            let problem = if let Some((label, text)) =
                foreign.iter().find(|(_, t)| r.instructions.contains(*t))
            {
                Some(format!("received text of {label}: {}", quote(text, 60)))
            } else if !own.is_empty() && !own.iter().any(|o| r.instructions.contains(o)) {
                Some(format!(
                    "was answered under instructions without its tenant's {} prompt: {}",
                    call.direction.as_str(),
                    quote(&r.instructions, 60)
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                findings.push(Finding::new(
                    OWN_PROMPT,
                    Some(&call.name),
                    r.at_ms,
                    format!("{who} {problem} (response at {})", secs(r.at_ms)),
                ));
                // One finding per session: the rest of its responses repeat it.
                break;
            }
        }
    }
    findings
}

/// The response-by-response check of [`NOT_EMPTY`].
pub(super) fn not_empty(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        let call = served.call;
        let greetings: Vec<String> = ctx
            .revisions(&call.tenant)
            .into_iter()
            .filter_map(|t| t.greeting.as_deref())
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        for r in Context::responses(&served) {
            let text = r.instructions.trim();
            let what = if text.is_empty() {
                Some("empty instructions".to_string())
            } else if r.instructions == DEFAULT_INSTRUCTIONS {
                Some("the model's default instructions (no session.update took effect)".into())
            } else if greetings.iter().any(|g| g == text) {
                Some(format!(
                    "the greeting alone as instructions: {}",
                    quote(text, 60)
                ))
            } else {
                None
            };
            if let Some(what) = what {
                findings.push(Finding::new(
                    NOT_EMPTY,
                    Some(&call.name),
                    r.at_ms,
                    format!(
                        "{} call `{}` to {} got a response at {} under {what}",
                        call.direction.as_str(),
                        call.name,
                        call.tenant,
                        secs(r.at_ms)
                    ),
                ));
                break;
            }
        }
    }
    findings
}
