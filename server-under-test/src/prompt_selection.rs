//! Stream-side prompt choice: the "HARD LOCK" section of the seed's `server/media_ws_ai.py`.
//!
//! A pre-built prompt found in the registry is used only when it was built for the locked
//! direction, without a fallback, from the current tenant version; otherwise it is rebuilt,
//! bypassing the cache. Without a pre-built prompt the stream builds through the prompt cache.
//!
//! The historical bugs of this choice:
//! - [`Bug::PrebuiltPromptUnvalidated`] (RCA root cause #2): the pre-built prompt is used as it
//!   is. Together with [`Bug::MismatchOnlyLogged`] (the legacy profile) the only check left is
//!   the seed's heuristic (`"outbound" in prompt.lower() or direction == outbound`), which logs
//!   `[PROMPT_MISMATCH] … action=CONTINUE_NO_REBUILD`.
//! - [`Bug::MismatchOnlyLogged`] (RCA root cause #3): a pre-built prompt that fails validation is
//!   logged as a mismatch and kept instead of rebuilt.
//! - [`Bug::GreetingAsInstructions`]: without a pre-built prompt, the tenant's greeting becomes
//!   the whole instructions.
//! - [`Bug::PrebuildNeverRead`]: the stream never finds the pre-built prompt (it was written in
//!   another process), and its own build takes [`STREAM_SIDE_BUILD_DELAY`].

use std::time::Duration;

use serde::Serialize;

use crate::bugs::Bug;
use crate::caller_context::with_caller_notes;
use crate::direction::Direction;
use crate::prompt_builder::build_full_business_prompt;
use crate::prompt_cache::PromptCache;
use crate::regressions::Regressions;
use crate::stream_registry::{PrebuiltPrompt, StreamRegistry};
use crate::tenants::Tenant;

/// How long the stream-side build takes under [`Bug::PrebuildNeverRead`].
///
/// The seed's stream-side build loaded the business and its settings and composed the prompt,
/// which took seconds; it paid that on every call once the pre-build lived in another process.
/// The reference server's build is instant, so the delay stands for it, on tokio time so that a
/// harness on a paused clock sees it as virtual seconds before the AI session opens.
pub const STREAM_SIDE_BUILD_DELAY: Duration = Duration::from_secs(4);

/// Where the session's instructions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptSource {
    /// The webhook's pre-built prompt from the stream registry.
    Prebuilt,
    /// Rebuilt on the stream side because the pre-built prompt failed validation.
    Rebuilt,
    /// Built (or found) through the prompt cache because nothing was pre-built.
    Cache,
    /// The tenant's greeting, because nothing was pre-built ([`Bug::GreetingAsInstructions`]).
    Greeting,
}

/// The chosen instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedPrompt {
    /// The instructions text.
    pub text: String,
    /// Where it came from.
    pub source: PromptSource,
}

impl SelectedPrompt {
    fn new(text: String, source: PromptSource) -> SelectedPrompt {
        SelectedPrompt { text, source }
    }
}

/// Inputs shared by every call.
#[derive(Debug, Clone, Copy)]
pub struct PromptSources<'a> {
    /// The per-call registry.
    pub registry: &'a StreamRegistry,
    /// The shared prompt cache.
    pub cache: &'a PromptCache,
    /// The bugs the server runs with.
    pub regressions: Regressions,
    /// How long to wait for a pending pre-build.
    pub prebuild_wait: Duration,
}

/// The seed's heuristic for the direction a prompt was built for.
fn heuristic_direction(prompt: &str, locked: Direction) -> Direction {
    if prompt.to_lowercase().contains("outbound") || locked == Direction::Outbound {
        Direction::Outbound
    } else {
        Direction::Inbound
    }
}

/// Why a pre-built prompt is unusable, or `None` when it is valid.
fn rejection_reason(
    prebuilt: &PrebuiltPrompt,
    tenant: &Tenant,
    locked: Direction,
) -> Option<String> {
    if prebuilt.direction != Some(locked) {
        return Some(format!(
            "direction {:?} != locked {locked}",
            prebuilt.direction.map(Direction::as_str)
        ));
    }
    if prebuilt.used_fallback != Some(false) {
        return Some("built from a fallback".to_owned());
    }
    if prebuilt.tenant_version != Some(tenant.version) {
        return Some(format!(
            "tenant version {:?} != current {}",
            prebuilt.tenant_version, tenant.version
        ));
    }
    None
}

/// Chooses the instructions for a call whose direction is locked to `locked`; a prompt built on
/// the stream side carries `caller_notes` (see [`crate::caller_context`]).
pub async fn select_prompt(
    sources: PromptSources<'_>,
    tenant: &Tenant,
    call_sid: &str,
    locked: Direction,
    caller_notes: Option<&str>,
) -> SelectedPrompt {
    let prebuilt = if sources.regressions.has(Bug::PrebuildNeverRead) {
        tracing::warn!(
            call_sid,
            "[PREBUILD_MISSING] no pre-built prompt where the stream reads it"
        );
        None
    } else {
        sources
            .registry
            .wait_prebuilt(call_sid, sources.prebuild_wait)
            .await
    };
    match prebuilt {
        Some(prebuilt) => use_prebuilt(
            sources.regressions,
            prebuilt,
            tenant,
            call_sid,
            locked,
            caller_notes,
        ),
        None => build_on_stream_side(sources, tenant, locked, caller_notes).await,
    }
}

/// The instructions when the webhook's pre-built prompt was found: it, or a rebuild.
fn use_prebuilt(
    regressions: Regressions,
    prebuilt: PrebuiltPrompt,
    tenant: &Tenant,
    call_sid: &str,
    locked: Direction,
    caller_notes: Option<&str>,
) -> SelectedPrompt {
    if regressions.has(Bug::PrebuiltPromptUnvalidated) {
        if regressions.has(Bug::MismatchOnlyLogged) {
            let computed = heuristic_direction(&prebuilt.text, locked);
            if computed != locked {
                tracing::warn!(
                    "[PROMPT_MISMATCH] call_sid={call_sid} expected={locked} prebuilt={computed} action=CONTINUE_NO_REBUILD"
                );
            }
        }
        tracing::info!(
            call_sid,
            "[PROMPT_PREBUILT] using the pre-built prompt (HARD LOCK)"
        );
        return SelectedPrompt::new(prebuilt.text, PromptSource::Prebuilt);
    }
    match rejection_reason(&prebuilt, tenant, locked) {
        None => {
            tracing::info!(call_sid, "[PROMPT_PREBUILT] pre-built prompt validated");
            SelectedPrompt::new(prebuilt.text, PromptSource::Prebuilt)
        }
        Some(reason) if regressions.has(Bug::MismatchOnlyLogged) => {
            tracing::warn!(
                "[PROMPT_MISMATCH] call_sid={call_sid} expected={locked} reason={reason} action=CONTINUE_NO_REBUILD"
            );
            SelectedPrompt::new(prebuilt.text, PromptSource::Prebuilt)
        }
        Some(reason) => {
            tracing::warn!(
                "[PROMPT_REBUILD] call_sid={call_sid} direction={locked} reason={reason}"
            );
            let rebuilt = with_caller_notes(
                build_full_business_prompt(tenant, locked, regressions),
                caller_notes,
            );
            SelectedPrompt::new(rebuilt.text, PromptSource::Rebuilt)
        }
    }
}

/// The instructions when no pre-built prompt was found: built through the cache, or the
/// greeting under [`Bug::GreetingAsInstructions`].
async fn build_on_stream_side(
    sources: PromptSources<'_>,
    tenant: &Tenant,
    locked: Direction,
    caller_notes: Option<&str>,
) -> SelectedPrompt {
    let greeting = tenant.greeting.as_deref().filter(|g| !g.trim().is_empty());
    if sources.regressions.has(Bug::GreetingAsInstructions)
        && let Some(greeting) = greeting
    {
        tracing::warn!(
            tenant = %tenant.slug,
            "[PROMPT_GREETING] no pre-built prompt; using the greeting as instructions"
        );
        return SelectedPrompt::new(greeting.to_owned(), PromptSource::Greeting);
    }
    if sources.regressions.has(Bug::PrebuildNeverRead) {
        tokio::time::sleep(STREAM_SIDE_BUILD_DELAY).await;
    }
    let built = sources
        .cache
        .get_or_build(tenant, locked, sources.regressions, caller_notes);
    SelectedPrompt::new(built.text, PromptSource::Cache)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    const SALES: &str = "You are calling the customer for a sales pitch. Be persuasive.";

    fn acme(version: i64) -> Tenant {
        Tenant {
            slug: "acme".into(),
            business_name: "Acme".into(),
            inbound_prompt: Some(String::new()),
            outbound_prompt: Some(SALES.into()),
            greeting: None,
            voice: None,
            version,
            updated_at: None,
        }
    }

    fn sources<'a>(
        registry: &'a StreamRegistry,
        cache: &'a PromptCache,
        regressions: impl Into<Regressions>,
    ) -> PromptSources<'a> {
        PromptSources {
            registry,
            cache,
            regressions: regressions.into(),
            prebuild_wait: Duration::from_secs(2),
        }
    }

    /// Seed test D: the registry stores what the webhook built and legacy uses it without validation.
    #[tokio::test(start_paused = true)]
    async fn test_d_legacy_uses_prebuilt_fallback_prompt_without_validation() {
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        let webhook_built =
            build_full_business_prompt(&acme(1), Direction::Inbound, Profile::Legacy.into());
        assert!(webhook_built.used_fallback);
        registry.store_prebuilt("CA1", &webhook_built);
        let chosen = select_prompt(
            sources(&registry, &cache, Profile::Legacy),
            &acme(1),
            "CA1",
            Direction::Inbound,
            None,
        )
        .await;
        assert_eq!(
            chosen,
            SelectedPrompt {
                text: webhook_built.text,
                source: PromptSource::Prebuilt
            }
        );
        assert!(chosen.text.contains("sales pitch"));
        // The seed's heuristic does not even flag this prompt: it never says "outbound".
        assert_eq!(
            heuristic_direction(&chosen.text, Direction::Inbound),
            Direction::Inbound
        );
    }

    /// Seed test D with the fix: the fallback-built prompt is rejected and rebuilt for the locked direction.
    #[tokio::test(start_paused = true)]
    async fn test_d_fixed_rebuilds_fallback_prompt() {
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        registry.store_prebuilt(
            "CA1",
            &build_full_business_prompt(&acme(1), Direction::Inbound, Profile::Legacy.into()),
        );
        let chosen = select_prompt(
            sources(&registry, &cache, Profile::Fixed),
            &acme(1),
            "CA1",
            Direction::Inbound,
            None,
        )
        .await;
        assert_eq!(chosen.source, PromptSource::Rebuilt);
        assert!(chosen.text.contains("receptionist for Acme"));
        assert!(!chosen.text.contains("sales"));
    }

    #[tokio::test(start_paused = true)]
    async fn fixed_accepts_valid_prebuilt_and_rejects_stale_or_wrong_direction() {
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        let good = build_full_business_prompt(&acme(1), Direction::Outbound, Profile::Fixed.into());
        registry.store_prebuilt("CA1", &good);
        let chosen = select_prompt(
            sources(&registry, &cache, Profile::Fixed),
            &acme(1),
            "CA1",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(
            chosen,
            SelectedPrompt {
                text: good.text.clone(),
                source: PromptSource::Prebuilt
            }
        );
        let stale = select_prompt(
            sources(&registry, &cache, Profile::Fixed),
            &acme(2),
            "CA1",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(stale.source, PromptSource::Rebuilt);
        let wrong = select_prompt(
            sources(&registry, &cache, Profile::Fixed),
            &acme(1),
            "CA1",
            Direction::Inbound,
            None,
        )
        .await;
        assert_eq!(wrong.source, PromptSource::Rebuilt);
        assert!(wrong.text.contains("receptionist for Acme"));
    }

    #[tokio::test(start_paused = true)]
    async fn without_prebuilt_both_profiles_use_the_cache() {
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        let legacy = select_prompt(
            sources(&registry, &cache, Profile::Legacy),
            &acme(1),
            "CA9",
            Direction::Inbound,
            None,
        )
        .await;
        assert_eq!(legacy.source, PromptSource::Cache);
        assert!(legacy.text.contains("sales pitch"));
        assert_eq!(cache.len(), 1);
        let fixed = select_prompt(
            sources(&registry, &cache, Profile::Fixed),
            &acme(1),
            "CA9",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(fixed.source, PromptSource::Cache);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn heuristic_matches_the_seed() {
        assert_eq!(
            heuristic_direction("An OUTBOUND campaign", Direction::Inbound),
            Direction::Outbound
        );
        assert_eq!(
            heuristic_direction("Hello", Direction::Outbound),
            Direction::Outbound
        );
        assert_eq!(
            heuristic_direction("Hello", Direction::Inbound),
            Direction::Inbound
        );
    }

    fn fixed_with(bug: Bug) -> Regressions {
        Regressions::NONE.with(bug)
    }

    /// A pre-built prompt from tenant version 1 chosen for a call when the tenant is at version 2.
    async fn choose_for_stale_prebuilt(regressions: Regressions) -> SelectedPrompt {
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        let mut before_edit = acme(1);
        before_edit.inbound_prompt = Some("Old reception.".into());
        let prebuilt = build_full_business_prompt(&before_edit, Direction::Inbound, regressions);
        registry.store_prebuilt("CA1", &prebuilt);
        let mut after_edit = acme(2);
        after_edit.inbound_prompt = Some("New reception.".into());
        select_prompt(
            sources(&registry, &cache, regressions),
            &after_edit,
            "CA1",
            Direction::Inbound,
            None,
        )
        .await
    }

    /// RCA root cause #2 alone: the stale pre-built prompt is used without validation.
    #[tokio::test(start_paused = true)]
    async fn prebuilt_prompt_unvalidated_keeps_a_stale_prebuilt() {
        let fixed = choose_for_stale_prebuilt(Regressions::NONE).await;
        assert_eq!(fixed.source, PromptSource::Rebuilt);
        assert!(fixed.text.ends_with("New reception."), "{fixed:?}");
        let buggy = choose_for_stale_prebuilt(fixed_with(Bug::PrebuiltPromptUnvalidated)).await;
        assert_eq!(buggy.source, PromptSource::Prebuilt);
        assert!(buggy.text.ends_with("Old reception."), "{buggy:?}");
    }

    /// RCA root cause #3 alone: the mismatch is found, logged and the pre-built prompt kept.
    #[tokio::test(start_paused = true)]
    async fn mismatch_only_logged_keeps_a_rejected_prebuilt() {
        let buggy = choose_for_stale_prebuilt(fixed_with(Bug::MismatchOnlyLogged)).await;
        assert_eq!(buggy.source, PromptSource::Prebuilt);
        assert!(buggy.text.ends_with("Old reception."), "{buggy:?}");
        // A pre-built prompt that passes validation is used either way.
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        let good = build_full_business_prompt(&acme(1), Direction::Outbound, Regressions::NONE);
        registry.store_prebuilt("CA1", &good);
        let chosen = select_prompt(
            sources(&registry, &cache, fixed_with(Bug::MismatchOnlyLogged)),
            &acme(1),
            "CA1",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(
            chosen,
            SelectedPrompt::new(good.text, PromptSource::Prebuilt)
        );
    }

    fn greeted(version: i64) -> Tenant {
        Tenant {
            greeting: Some("Thanks for calling Acme!".into()),
            ..acme(version)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn greeting_as_instructions_only_when_nothing_was_prebuilt() {
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        let bug = fixed_with(Bug::GreetingAsInstructions);
        let fixed = select_prompt(
            sources(&registry, &cache, Regressions::NONE),
            &greeted(1),
            "CA1",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(fixed.source, PromptSource::Cache);
        assert!(fixed.text.contains("sales pitch"));
        let buggy = select_prompt(
            sources(&registry, &cache, bug),
            &greeted(1),
            "CA1",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(
            buggy,
            SelectedPrompt::new("Thanks for calling Acme!".into(), PromptSource::Greeting)
        );
        // With the pre-built prompt there, the bug changes nothing.
        let prebuilt = build_full_business_prompt(&greeted(1), Direction::Outbound, bug);
        registry.store_prebuilt("CA2", &prebuilt);
        let found = select_prompt(
            sources(&registry, &cache, bug),
            &greeted(1),
            "CA2",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(found.source, PromptSource::Prebuilt);
    }

    #[tokio::test(start_paused = true)]
    async fn prebuild_never_read_ignores_the_registry_and_builds_seconds_late() {
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        let prebuilt = build_full_business_prompt(&acme(1), Direction::Outbound, Regressions::NONE);
        registry.store_prebuilt("CA1", &prebuilt);
        let start = tokio::time::Instant::now();
        let fixed = select_prompt(
            sources(&registry, &cache, Regressions::NONE),
            &acme(1),
            "CA1",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(fixed.source, PromptSource::Prebuilt);
        assert_eq!(start.elapsed(), Duration::ZERO);
        let buggy = select_prompt(
            sources(&registry, &cache, fixed_with(Bug::PrebuildNeverRead)),
            &acme(1),
            "CA1",
            Direction::Outbound,
            None,
        )
        .await;
        assert_eq!(buggy.source, PromptSource::Cache);
        assert_eq!(buggy.text, prebuilt.text, "the prompt is right, only late");
        assert_eq!(start.elapsed(), STREAM_SIDE_BUILD_DELAY);
    }
}
