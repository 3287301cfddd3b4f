//! A tenant's edited prompt reaches its calls: a session configured after an edit carries the
//! edited prompt, not an older revision from a stale cache or a pre-built value (the seed system
//! shipped both: caches not cleared on a prompt change, and a pre-built prompt locked in the
//! registry).

use super::context::{Context, prompt_for};
use super::{Finding, secs};

/// A session configured after an edit carries the edited prompt.
pub(super) const FRESH: &str = "prompt.fresh-after-edit";

/// How long an edit may take to reach new sessions is the target's declared prompt freshness
/// (1 s unless declared): the fixture API answers before the edit is visible to a call that is
/// being set up at that very instant.
pub(super) fn fresh(ctx: &Context<'_>) -> Vec<Finding> {
    let grace_ms = ctx.art.declared.prompt_freshness_ms();
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        let call = served.call;
        // Revision n (1-based) of the tenant, with the time it was provisioned.
        let mut revisions: Vec<(u64, &str)> = Vec::new();
        for (n, settings) in ctx.revisions(&call.tenant).into_iter().enumerate() {
            let at = if n == 0 {
                0
            } else {
                ctx.plan
                    .tenant_changes
                    .iter()
                    .filter(|c| c.tenant == call.tenant)
                    .nth(n - 1)
                    .map_or(0, |c| u64::try_from(c.at.as_millis()).unwrap_or(u64::MAX))
            };
            revisions.push((at, prompt_for(settings, call.direction)));
        }
        for update in served.session.updates.iter().filter(|u| u.accepted) {
            let in_force = revisions
                .iter()
                .enumerate()
                .rfind(|(_, (at, _))| at.saturating_add(grace_ms) <= update.at_ms || *at == 0);
            let Some((current, (edited_at, text))) = in_force else {
                continue;
            };
            if text.trim().is_empty() || update.effective_instructions.contains(text) {
                continue;
            }
            let stale = revisions[..current].iter().rposition(|(_, old)| {
                !old.trim().is_empty() && update.effective_instructions.contains(old)
            });
            if let Some(old) = stale {
                findings.push(Finding::new(
                    FRESH,
                    Some(&call.name),
                    update.at_ms,
                    format!(
                        "{} call `{}` to {} was configured at {} with revision {} of its {} \
                         prompt, although revision {} was provisioned at {}",
                        call.direction.as_str(),
                        call.name,
                        call.tenant,
                        secs(update.at_ms),
                        old + 1,
                        call.direction.as_str(),
                        current + 1,
                        secs(*edited_at)
                    ),
                ));
                break;
            }
        }
    }
    findings
}
