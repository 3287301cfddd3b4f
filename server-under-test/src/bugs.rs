//! The bug zoo's catalogue: every historical regression of the seed system that the reference
//! server can switch on with `--inject-bug`, and the `--prebuild` timing option.
//!
//! Each [`Bug`] reproduces one row of `docs/seed-bug-history.md` on top of the fixed profile, so
//! a harness can check that its scenarios catch that regression and nothing else. This module
//! only names and describes the bugs; each one is implemented in the module of the seed component
//! it breaks, and [`crate::regressions`] decides which of them a server runs with.

use serde::{Deserialize, Serialize};

/// One historical regression of the seed system.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    clap::ValueEnum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum Bug {
    /// The prompt cache is keyed by tenant only (2025-12-10).
    CacheKeyWithoutDirection,
    /// A call whose tenant cannot be resolved gets the first tenant's prompt (2025-12-12).
    DefaultTenantOnUnknown,
    /// A missing pre-built prompt makes the greeting the whole instructions (2025-12-31).
    GreetingAsInstructions,
    /// The stream never reads the pre-built prompt and builds its own, 4 s late (2026-01-28).
    PrebuildNeverRead,
    /// A tenant edit does not clear the prompt cache (2026-01-08/09).
    StaleCacheAfterEdit,
    /// The stream infers the direction instead of reading it, so every call is inbound (2026-01-31).
    DirectionInferred,
    /// The session configuration is sent twice per AI session (2025-12-30).
    DuplicateSessionUpdate,
    /// The server hangs every call up through the REST API after 90 s (2025-12-07).
    PerCallLimitTooShort,
    /// The prompt builder falls back to the other direction's prompt (RCA root cause #1).
    CrossDirectionFallback,
    /// The stream uses the pre-built prompt without validating it (RCA root cause #2).
    PrebuiltPromptUnvalidated,
    /// A pre-built prompt that fails validation is only logged, not rebuilt (RCA root cause #3).
    MismatchOnlyLogged,
    /// A prompt with one caller's notes is cached for the next caller (2026-02-01).
    CallerContextLeak,
}

/// What the catalogue says about one bug.
struct Entry {
    name: &'static str,
    history: &'static str,
    symptom: &'static str,
}

impl Bug {
    /// Every bug, in catalogue order.
    pub const ALL: &'static [Bug] = &[
        Bug::CacheKeyWithoutDirection,
        Bug::DefaultTenantOnUnknown,
        Bug::GreetingAsInstructions,
        Bug::PrebuildNeverRead,
        Bug::StaleCacheAfterEdit,
        Bug::DirectionInferred,
        Bug::DuplicateSessionUpdate,
        Bug::PerCallLimitTooShort,
        Bug::CrossDirectionFallback,
        Bug::PrebuiltPromptUnvalidated,
        Bug::MismatchOnlyLogged,
        Bug::CallerContextLeak,
    ];

    /// The kebab-case name used by `--inject-bug`, serde and the harness.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// The row of the seed's history this bug reproduces: its date and one line.
    pub fn history(self) -> &'static str {
        self.entry().history
    }

    /// What a caller (or the model) experiences, in one sentence.
    pub fn symptom(self) -> &'static str {
        self.entry().symptom
    }

    /// The bug named `name` (kebab-case), if there is one.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.iter().copied().find(|bug| bug.name() == name)
    }

    /// The `--list-bugs` text: for each bug its name, then its history row and its symptom.
    pub fn catalogue() -> String {
        let mut text = String::new();
        for bug in Bug::ALL {
            text.push_str(&format!(
                "{}\n    history: {}\n    symptom: {}\n",
                bug.name(),
                bug.history(),
                bug.symptom()
            ));
        }
        text
    }

    fn entry(self) -> Entry {
        let (name, history, symptom) = match self {
            Bug::CacheKeyWithoutDirection => (
                "cache-key-without-direction",
                "2025-12-10: prompt cache added, keyed by business only",
                "An inbound call that follows an outbound call to the same tenant within the cache TTL gets the outbound prompt (and the reverse).",
            ),
            Bug::DefaultTenantOnUnknown => (
                "default-tenant-on-unknown",
                "2025-12-12: a WebSocket default of business_id = 1 when the tenant could not be identified (removed that day)",
                "A call whose tenant the server cannot resolve (an unknown slug or number) is answered with another tenant's prompt instead of being refused.",
            ),
            Bug::GreetingAsInstructions => (
                "greeting-as-instructions",
                "2025-12-31: missing pre-built prompt: the greeting text was used as instructions",
                "When the pre-built prompt has not arrived at stream start, the model's whole system prompt is the tenant's greeting sentence.",
            ),
            Bug::PrebuildNeverRead => (
                "prebuild-never-read",
                "2026-01-28: prompt pre-build moved to a job worker in another process",
                "The stream never sees the pre-built prompt and builds its own, so the AI session opens 4 s after the stream starts and the caller hears silence meanwhile.",
            ),
            Bug::StaleCacheAfterEdit => (
                "stale-cache-after-edit",
                "2026-01-08/09: a voice or prompt change left stale caches",
                "After a tenant edits its prompt, calls keep getting the old prompt until the prompt cache's TTL expires.",
            ),
            Bug::DirectionInferred => (
                "direction-inferred",
                "2026-01-31: call direction inferred when Twilio omits Direction (no business number matches, so inbound)",
                "An outbound call is treated as inbound, and the person called hears the inbound prompt.",
            ),
            Bug::DuplicateSessionUpdate => (
                "duplicate-session-update",
                "2025-12-30: a duplicate session.update reset the conversation context",
                "The model receives its session configuration twice per AI session, which resets the session it had.",
            ),
            Bug::PerCallLimitTooShort => (
                "per-call-limit-too-short",
                "2025-12-07: hard per-call limits (90 s, 180 s, then 600 s) and a REST hang-up",
                "Every call is hung up by the server through the Twilio REST API 90 s after its media stream started.",
            ),
            Bug::CrossDirectionFallback => (
                "cross-direction-fallback",
                "2025-12-25: cross-direction fallback in the prompt builder (RCA root cause #1)",
                "A call whose own direction's prompt is empty gets the other direction's prompt: an inbound caller hears the outbound sales pitch.",
            ),
            Bug::PrebuiltPromptUnvalidated => (
                "prebuilt-prompt-unvalidated",
                "2025-12-16: direction HARD LOCK: the pre-built prompt is used as it is (RCA root cause #2)",
                "A pre-built prompt that is wrong or stale, such as one built before the tenant's edit, stays for the whole call.",
            ),
            Bug::MismatchOnlyLogged => (
                "mismatch-only-logged",
                "2025-12-24: a prompt/direction mismatch is detected, then only logged (RCA root cause #3)",
                "A pre-built prompt the stream finds wrong or stale is logged as a mismatch and kept for the whole call instead of rebuilt.",
            ),
            Bug::CallerContextLeak => (
                "caller-context-leak",
                "2026-02-01: caller-specific lead context cached under business:direction",
                "The next caller to a tenant within the cache TTL gets a prompt carrying the previous caller's private notes instead of their own.",
            ),
        };
        Entry {
            name,
            history,
            symptom,
        }
    }
}

impl std::fmt::Display for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// When the webhook's background pre-build of the prompt lands (`--prebuild`).
///
/// `Late` and `Absent` exercise the stream-side builder and the prompt cache on their own, which
/// is where the seed's missing-pre-build regressions lived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum Prebuild {
    /// The pre-build runs as soon as the webhook has answered, as in the seed.
    #[default]
    Normal,
    /// The pre-build finishes only after the stream has started and stopped waiting for it.
    Late,
    /// The webhook pre-builds nothing.
    Absent,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::ValueEnum;

    use super::*;

    #[test]
    fn all_lists_every_variant_once_in_order() {
        let distinct: BTreeSet<Bug> = Bug::ALL.iter().copied().collect();
        assert_eq!(distinct.len(), Bug::ALL.len());
        assert_eq!(Bug::value_variants(), Bug::ALL);
    }

    /// The one name of a bug is the same for the catalogue, clap and serde.
    #[test]
    fn names_agree_across_catalogue_clap_and_serde() {
        for &bug in Bug::ALL {
            let name = bug.name();
            assert_eq!(Bug::from_name(name), Some(bug));
            assert_eq!(bug.to_string(), name);
            let possible = bug.to_possible_value().map(|v| v.get_name().to_owned());
            assert_eq!(possible.as_deref(), Some(name));
            assert_eq!(Bug::from_str(name, false), Ok(bug));
            let json = serde_json::to_string(&bug).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Bug>(&json).unwrap(), bug);
        }
        assert_eq!(
            Bug::CacheKeyWithoutDirection.name(),
            "cache-key-without-direction"
        );
        assert_eq!(Bug::from_name("CacheKeyWithoutDirection"), None);
        assert_eq!(Bug::from_name(""), None);
    }

    #[test]
    fn every_bug_has_a_dated_history_row_and_a_one_sentence_symptom() {
        for &bug in Bug::ALL {
            let history = bug.history();
            let date = history.split(':').next().unwrap_or_default();
            assert!(
                date.starts_with("202") && date.len() >= 10,
                "{bug}: {history}"
            );
            let symptom = bug.symptom();
            assert!(symptom.ends_with('.'), "{bug}: {symptom}");
            assert_eq!(symptom.matches(". ").count(), 0, "{bug}: {symptom}");
        }
    }

    #[test]
    fn catalogue_names_each_bug_at_the_start_of_a_line() {
        let text = Bug::catalogue();
        for &bug in Bug::ALL {
            assert!(
                text.lines().any(|line| line == bug.name()),
                "{bug} missing:\n{text}"
            );
            assert!(text.contains(bug.history()));
            assert!(text.contains(bug.symptom()));
        }
    }

    #[test]
    fn prebuild_parses_its_kebab_case_names() {
        assert_eq!(Prebuild::default(), Prebuild::Normal);
        for (name, prebuild) in [
            ("normal", Prebuild::Normal),
            ("late", Prebuild::Late),
            ("absent", Prebuild::Absent),
        ] {
            assert_eq!(Prebuild::from_str(name, false), Ok(prebuild));
        }
    }
}
