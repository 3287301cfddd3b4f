//! One session configuration per AI session: a later accepted `session.update` that changes the
//! instructions must follow a tenant edit of the call's tenant, and one that repeats the
//! configuration unchanged is flagged (the seed system's duplicate `session.update` reset the
//! conversation).

use super::context::Context;
use super::{Finding, secs};

/// One configuration per session; every change explained.
pub(super) const ONE_CONFIG: &str = "session.one-configuration";

pub(super) fn one_config(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        let call = served.call;
        let accepted: Vec<_> = served
            .session
            .updates
            .iter()
            .filter(|u| u.accepted)
            .collect();
        for pair in accepted.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            let same = before.effective_instructions == after.effective_instructions
                && before.input_format == after.input_format
                && before.output_format == after.output_format
                && before.voice == after.voice;
            let edited = ctx.plan.tenant_changes.iter().any(|c| {
                let at = u64::try_from(c.at.as_millis()).unwrap_or(u64::MAX);
                c.tenant == call.tenant && at <= after.at_ms
            });
            let problem = if same {
                Some("sent the same session configuration again".to_string())
            } else if before.effective_instructions != after.effective_instructions && !edited {
                Some(format!(
                    "changed its instructions with no tenant edit to explain it (configured at \
                     {} and again at {})",
                    secs(before.at_ms),
                    secs(after.at_ms)
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                findings.push(Finding::new(
                    ONE_CONFIG,
                    Some(&call.name),
                    after.at_ms,
                    format!(
                        "AI session {} of {} call `{}` to {} {problem} at {}",
                        served.session.index,
                        call.direction.as_str(),
                        call.name,
                        call.tenant,
                        secs(after.at_ms)
                    ),
                ));
                break;
            }
        }
    }
    findings
}
