//! Stream-side prompt choice: the "HARD LOCK" section of the seed's `server/media_ws_ai.py`.
//!
//! Legacy: a pre-built prompt found in the registry is used without validation. The seed's
//! mismatch heuristic (`"outbound" in prompt.lower() or direction == outbound`) only logs
//! `[PROMPT_MISMATCH] … action=CONTINUE_NO_REBUILD`.
//! Fixed: the pre-built prompt is used only when it was built for the locked direction, without a
//! fallback, from the current tenant version; otherwise it is rebuilt, bypassing the cache.

use std::time::Duration;

use serde::Serialize;

use crate::config::Profile;
use crate::direction::Direction;
use crate::prompt_builder::build_full_business_prompt;
use crate::prompt_cache::PromptCache;
use crate::stream_registry::{PrebuiltPrompt, StreamRegistry};
use crate::tenants::Tenant;

/// Where the session's instructions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptSource {
    /// The webhook's pre-built prompt from the stream registry.
    Prebuilt,
    /// Rebuilt on the stream side because the pre-built prompt failed validation (fixed only).
    Rebuilt,
    /// Built (or found) through the prompt cache because nothing was pre-built.
    Cache,
}

/// The chosen instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedPrompt {
    /// The instructions text.
    pub text: String,
    /// Where it came from.
    pub source: PromptSource,
}

/// Inputs shared by every call.
#[derive(Debug, Clone, Copy)]
pub struct PromptSources<'a> {
    /// The per-call registry.
    pub registry: &'a StreamRegistry,
    /// The shared prompt cache.
    pub cache: &'a PromptCache,
    /// Behaviour profile.
    pub profile: Profile,
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

/// Why a pre-built prompt is unusable under the fixed profile, or `None` when it is valid.
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

/// Chooses the instructions for a call whose direction is locked to `locked`.
pub async fn select_prompt(
    sources: PromptSources<'_>,
    tenant: &Tenant,
    call_sid: &str,
    locked: Direction,
) -> SelectedPrompt {
    let prebuilt = sources
        .registry
        .wait_prebuilt(call_sid, sources.prebuild_wait)
        .await;
    match (prebuilt, sources.profile) {
        (Some(prebuilt), Profile::Legacy) => {
            let computed = heuristic_direction(&prebuilt.text, locked);
            if computed != locked {
                tracing::warn!(
                    "[PROMPT_MISMATCH] call_sid={call_sid} expected={locked} prebuilt={computed} action=CONTINUE_NO_REBUILD"
                );
            }
            tracing::info!(
                call_sid,
                "[PROMPT_PREBUILT] using the pre-built prompt (HARD LOCK)"
            );
            SelectedPrompt {
                text: prebuilt.text,
                source: PromptSource::Prebuilt,
            }
        }
        (Some(prebuilt), Profile::Fixed) => match rejection_reason(&prebuilt, tenant, locked) {
            None => {
                tracing::info!(call_sid, "[PROMPT_PREBUILT] pre-built prompt validated");
                SelectedPrompt {
                    text: prebuilt.text,
                    source: PromptSource::Prebuilt,
                }
            }
            Some(reason) => {
                tracing::warn!(
                    "[PROMPT_REBUILD] call_sid={call_sid} direction={locked} reason={reason}"
                );
                let rebuilt = build_full_business_prompt(tenant, locked, sources.profile);
                SelectedPrompt {
                    text: rebuilt.text,
                    source: PromptSource::Rebuilt,
                }
            }
        },
        (None, profile) => {
            let built = sources.cache.get_or_build(tenant, locked, profile);
            SelectedPrompt {
                text: built.text,
                source: PromptSource::Cache,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        profile: Profile,
    ) -> PromptSources<'a> {
        PromptSources {
            registry,
            cache,
            profile,
            prebuild_wait: Duration::from_secs(2),
        }
    }

    /// Seed test D: the registry stores what the webhook built and legacy uses it without validation.
    #[tokio::test(start_paused = true)]
    async fn test_d_legacy_uses_prebuilt_fallback_prompt_without_validation() {
        let registry = StreamRegistry::new();
        let cache = PromptCache::new(Duration::from_secs(600));
        let webhook_built =
            build_full_business_prompt(&acme(1), Direction::Inbound, Profile::Legacy);
        assert!(webhook_built.used_fallback);
        registry.store_prebuilt("CA1", &webhook_built);
        let chosen = select_prompt(
            sources(&registry, &cache, Profile::Legacy),
            &acme(1),
            "CA1",
            Direction::Inbound,
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
            &build_full_business_prompt(&acme(1), Direction::Inbound, Profile::Legacy),
        );
        let chosen = select_prompt(
            sources(&registry, &cache, Profile::Fixed),
            &acme(1),
            "CA1",
            Direction::Inbound,
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
        let good = build_full_business_prompt(&acme(1), Direction::Outbound, Profile::Fixed);
        registry.store_prebuilt("CA1", &good);
        let chosen = select_prompt(
            sources(&registry, &cache, Profile::Fixed),
            &acme(1),
            "CA1",
            Direction::Outbound,
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
        )
        .await;
        assert_eq!(stale.source, PromptSource::Rebuilt);
        let wrong = select_prompt(
            sources(&registry, &cache, Profile::Fixed),
            &acme(1),
            "CA1",
            Direction::Inbound,
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
}
