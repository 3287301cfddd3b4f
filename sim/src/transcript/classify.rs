//! The prompt classifier, the seed bug's detector: it names the known tenant text a set of
//! instructions carries (`acme.inbound_prompt`, `acme.outbound_prompt@2`) and says when a call got
//! its own tenant's prompt for the other direction.

use crate::realtime::DEFAULT_INSTRUCTIONS;
use crate::run::TenantRevision;
use crate::scenario::plan::CallDirection;

/// One known text: the label the transcript gives it and the tenant prompts it stands for
/// (`acme.inbound_prompt`, without the revision).
struct Entry {
    label: String,
    text: String,
    roles: Vec<String>,
}

/// Known prompt texts, longest first so the most specific match wins.
pub(crate) struct PromptCatalog {
    entries: Vec<Entry>,
}

impl PromptCatalog {
    /// The texts of every tenant revision, labelled by tenant, field and revision, except texts
    /// the target declares as its own prompts (`declared`: name, text), which carry their
    /// declared name and stand for every tenant prompt they serve.
    pub(crate) fn new(revisions: &[TenantRevision], declared: &[(String, String)]) -> Self {
        let mut entries: Vec<Entry> = declared
            .iter()
            .map(|(name, text)| Entry {
                label: name.clone(),
                text: text.clone(),
                roles: Vec::new(),
            })
            .collect();
        for rev in revisions {
            for (field, text) in [
                ("inbound_prompt", &rev.settings.inbound_prompt),
                ("outbound_prompt", &rev.settings.outbound_prompt),
            ] {
                let role = format!("{}.{field}", rev.tenant);
                if text.trim().is_empty() {
                    continue;
                }
                if let Some(known) = entries.iter_mut().find(|e| e.text == *text) {
                    // A declared prompt stands for every tenant prompt it serves; a scenario
                    // text keeps the first tenant prompt it was seen as, as it always has.
                    if known.label != role && declared.iter().any(|(n, _)| *n == known.label) {
                        known.roles.push(role);
                    }
                    continue;
                }
                let label = if rev.revision == 1 {
                    role.clone()
                } else {
                    format!("{role}@{}", rev.revision)
                };
                entries.push(Entry {
                    label,
                    text: text.clone(),
                    roles: vec![role],
                });
            }
        }
        entries.sort_by(|a, b| b.text.len().cmp(&a.text.len()).then(a.label.cmp(&b.label)));
        PromptCatalog { entries }
    }

    /// Names the known text the instructions carry.
    pub(crate) fn classify(&self, instructions: &str) -> String {
        if instructions.is_empty() {
            return "empty".into();
        }
        if instructions == DEFAULT_INSTRUCTIONS {
            return "openai-default".into();
        }
        self.entries
            .iter()
            .find(|e| instructions.contains(e.text.as_str()))
            .map(|e| e.label.clone())
            .unwrap_or_else(|| "other".into())
    }

    /// True when `source` (a label [`classify`](Self::classify) gave) stands for the other
    /// direction's prompt of the call's own tenant and not for its own direction's.
    pub(crate) fn is_direction_mixup(
        &self,
        source: &str,
        tenant: &str,
        direction: CallDirection,
    ) -> bool {
        let Some(entry) = self.entries.iter().find(|e| e.label == source) else {
            return false;
        };
        let (own, wrong) = match direction {
            CallDirection::Inbound => ("inbound_prompt", "outbound_prompt"),
            CallDirection::Outbound => ("outbound_prompt", "inbound_prompt"),
        };
        let stands_for = |field: &str| entry.roles.contains(&format!("{tenant}.{field}"));
        stands_for(wrong) && !stands_for(own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::plan::TenantPlan;

    fn rev(tenant: &str, revision: u32, inbound: &str, outbound: &str) -> TenantRevision {
        TenantRevision {
            tenant: tenant.into(),
            revision,
            settings: TenantPlan::acme(inbound, outbound),
        }
    }

    #[test]
    fn classifies_the_most_specific_known_prompt() {
        let cat = PromptCatalog::new(
            &[
                rev("acme", 1, "Answer calls.", "You are making a sales call."),
                rev(
                    "acme",
                    2,
                    "Answer calls. Mention the Tuesday offer.",
                    "You are making a sales call.",
                ),
            ],
            &[],
        );
        assert_eq!(
            cat.classify("Business: Acme\n\nYou are making a sales call."),
            "acme.outbound_prompt"
        );
        assert_eq!(
            cat.classify("x Answer calls. Mention the Tuesday offer."),
            "acme.inbound_prompt@2"
        );
        assert_eq!(cat.classify("Answer calls."), "acme.inbound_prompt");
        assert_eq!(cat.classify(DEFAULT_INSTRUCTIONS), "openai-default");
        assert_eq!(cat.classify("You are the receptionist for Acme."), "other");
        assert_eq!(cat.classify(""), "empty");
    }

    #[test]
    fn mixup_means_the_other_direction_of_the_same_tenant() {
        let cat = PromptCatalog::new(
            &[
                rev("acme", 1, "Answer calls.", "Sell."),
                rev("acme", 2, "Answer calls, politely.", "Sell."),
                rev("bob", 1, "Bob answers.", "Bob sells."),
            ],
            &[],
        );
        let mixup = |source: &str, direction| cat.is_direction_mixup(source, "acme", direction);
        assert!(mixup("acme.outbound_prompt", CallDirection::Inbound));
        assert!(mixup("acme.inbound_prompt@2", CallDirection::Outbound));
        assert!(!mixup("acme.inbound_prompt", CallDirection::Inbound));
        assert!(!mixup("other", CallDirection::Inbound));
        assert!(!mixup("bob.outbound_prompt", CallDirection::Inbound));
    }

    #[test]
    fn a_declared_prompt_is_named_and_stands_for_the_tenant_prompts_it_serves() {
        // A server with built-in prompts: its inbound prompt serves acme and bob, its outbound
        // prompt only acme (what `ServerPrompts::settings_for` makes of the revisions).
        let declared = [
            ("desk".to_string(), "Front desk.".to_string()),
            ("sales".to_string(), "Sell.".to_string()),
        ];
        let cat = PromptCatalog::new(
            &[
                rev("acme", 1, "Front desk.", "Sell."),
                rev("bob", 1, "Front desk.", ""),
            ],
            &declared,
        );
        assert_eq!(cat.classify("Preamble. Front desk."), "desk");
        assert_eq!(cat.classify("Sell."), "sales");
        assert!(cat.is_direction_mixup("sales", "acme", CallDirection::Inbound));
        assert!(!cat.is_direction_mixup("desk", "acme", CallDirection::Inbound));
        assert!(!cat.is_direction_mixup("desk", "bob", CallDirection::Inbound));
        assert!(cat.is_direction_mixup("desk", "acme", CallDirection::Outbound));
    }
}
