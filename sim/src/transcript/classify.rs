//! The prompt classifier, the seed bug's detector: it names the known tenant text a set of
//! instructions carries (`acme.inbound_prompt`, `acme.outbound_prompt@2`) and says when a call got
//! its own tenant's prompt for the other direction.

use crate::realtime::DEFAULT_INSTRUCTIONS;
use crate::run::TenantRevision;
use crate::scenario::plan::CallDirection;

/// Known prompt texts, longest first so the most specific match wins.
pub(crate) struct PromptCatalog {
    entries: Vec<(String, String)>,
}

impl PromptCatalog {
    pub(crate) fn new(revisions: &[TenantRevision]) -> Self {
        let mut entries: Vec<(String, String)> = Vec::new();
        for rev in revisions {
            for (field, text) in [
                ("inbound_prompt", &rev.settings.inbound_prompt),
                ("outbound_prompt", &rev.settings.outbound_prompt),
            ] {
                if text.trim().is_empty() || entries.iter().any(|(_, t)| t == text) {
                    continue;
                }
                let label = if rev.revision == 1 {
                    format!("{}.{field}", rev.tenant)
                } else {
                    format!("{}.{field}@{}", rev.tenant, rev.revision)
                };
                entries.push((label, text.clone()));
            }
        }
        entries.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
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
            .find(|(_, text)| instructions.contains(text.as_str()))
            .map(|(label, _)| label.clone())
            .unwrap_or_else(|| "other".into())
    }
}

/// True when `source` names the other direction's prompt of the call's own tenant.
pub(crate) fn is_direction_mixup(source: &str, tenant: &str, direction: CallDirection) -> bool {
    let base = source.split('@').next().unwrap_or(source);
    let wrong_field = match direction {
        CallDirection::Inbound => "outbound_prompt",
        CallDirection::Outbound => "inbound_prompt",
    };
    base == format!("{tenant}.{wrong_field}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::plan::TenantPlan;

    fn rev(tenant: &str, revision: u32, inbound: &str, outbound: &str) -> TenantRevision {
        TenantRevision {
            tenant: tenant.into(),
            revision,
            settings: TenantPlan {
                business_name: "Acme".into(),
                inbound_prompt: inbound.into(),
                outbound_prompt: outbound.into(),
                greeting: None,
                voice: None,
                provision: true,
                contacts: std::collections::BTreeMap::new(),
                numbers: Vec::new(),
            },
        }
    }

    #[test]
    fn classifies_the_most_specific_known_prompt() {
        let cat = PromptCatalog::new(&[
            rev("acme", 1, "Answer calls.", "You are making a sales call."),
            rev(
                "acme",
                2,
                "Answer calls. Mention the Tuesday offer.",
                "You are making a sales call.",
            ),
        ]);
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
        assert!(is_direction_mixup(
            "acme.outbound_prompt",
            "acme",
            CallDirection::Inbound
        ));
        assert!(is_direction_mixup(
            "acme.inbound_prompt@2",
            "acme",
            CallDirection::Outbound
        ));
        assert!(!is_direction_mixup(
            "acme.inbound_prompt",
            "acme",
            CallDirection::Inbound
        ));
        assert!(!is_direction_mixup("other", "acme", CallDirection::Inbound));
        assert!(!is_direction_mixup(
            "bob.outbound_prompt",
            "acme",
            CallDirection::Inbound
        ));
    }
}
