//! `PromptCache`: built prompts keyed by (tenant slug, direction) with a time to live.
//!
//! Reproduces the seed's prompt cache. Both the webhook pre-build and the stream-side build go
//! through it. Expiry uses `tokio::time::Instant` so it follows the harness's virtual clock.
//!
//! Two historical bugs live here:
//! - [`Bug::CacheKeyWithoutDirection`]: the key is the tenant alone, so both directions share one
//!   entry and whichever direction built it first serves the other.
//! - [`Bug::StaleCacheAfterEdit`]: nothing invalidates an entry when its tenant changes (the
//!   caller decides that, see [`crate::state::AppState::upsert_tenant`]), so a stale prompt
//!   survives until the TTL runs out.
//!
//! - [`Bug::CallerContextLeak`]: the caller's notes are built into the cached prompt, so the
//!   next caller within the TTL hears the previous caller's notes.
//!
//! The seed's cache stored prompt text only, and whoever read it attached the call's direction
//! and the tenant row it had just loaded. So under either bug a hit is handed out as if it had
//! been built for the requested direction from the current tenant version: a wrong prompt then
//! carries no mark that a later validation could catch, exactly as in the seed.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::bugs::Bug;
use crate::caller_context::with_caller_notes;
use crate::direction::Direction;
use crate::prompt_builder::{BuiltPrompt, build_full_business_prompt};
use crate::regressions::Regressions;
use crate::tenants::Tenant;

#[derive(Debug)]
struct Entry {
    prompt: BuiltPrompt,
    expires_at: Instant,
}

/// A tenant slug and, unless the key lost it ([`Bug::CacheKeyWithoutDirection`]), a direction.
type Key = (String, Option<Direction>);

/// TTL cache of built prompts.
#[derive(Debug)]
pub struct PromptCache {
    ttl: Duration,
    entries: Mutex<BTreeMap<Key, Entry>>,
}

impl PromptCache {
    /// An empty cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> PromptCache {
        PromptCache {
            ttl,
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Key, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The prompt for (tenant, direction) with the caller's notes appended: the cached prompt if
    /// still fresh, else a newly built and stored one.
    ///
    /// The notes are appended after the cache, so no caller's notes are ever stored; under
    /// [`Bug::CallerContextLeak`] they are built into the cached prompt, and the next caller
    /// within the TTL gets them.
    pub fn get_or_build(
        &self,
        tenant: &Tenant,
        direction: Direction,
        regressions: Regressions,
        caller_notes: Option<&str>,
    ) -> BuiltPrompt {
        let build = || build_full_business_prompt(tenant, direction, regressions);
        if regressions.has(Bug::CallerContextLeak) {
            return self.get_or_insert(tenant, direction, regressions, || {
                with_caller_notes(build(), caller_notes)
            });
        }
        with_caller_notes(
            self.get_or_insert(tenant, direction, regressions, build),
            caller_notes,
        )
    }

    /// The cached prompt for (tenant, direction) if still fresh, else `build`'s, stored.
    fn get_or_insert(
        &self,
        tenant: &Tenant,
        direction: Direction,
        regressions: Regressions,
        build: impl FnOnce() -> BuiltPrompt,
    ) -> BuiltPrompt {
        let now = Instant::now();
        let keyed_by_direction = !regressions.has(Bug::CacheKeyWithoutDirection);
        let key = (tenant.slug.clone(), keyed_by_direction.then_some(direction));
        let mut entries = self.lock();
        if let Some(entry) = entries.get(&key)
            && entry.expires_at > now
        {
            tracing::debug!(tenant = %tenant.slug, %direction, "prompt cache hit");
            return handed_out(&entry.prompt, tenant, direction, regressions);
        }
        let prompt = build();
        entries.insert(
            key,
            Entry {
                prompt: prompt.clone(),
                expires_at: now + self.ttl,
            },
        );
        prompt
    }

    /// Drops every entry of `slug` (both directions).
    pub fn invalidate_tenant(&self, slug: &str) {
        self.lock().retain(|(entry_slug, _), _| entry_slug != slug);
    }

    /// Number of live entries; expired ones are purged first.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        let mut entries = self.lock();
        entries.retain(|_, entry| entry.expires_at > now);
        entries.len()
    }

    /// True when there is no live entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a hit returns: the entry as built, or, under the bugs that make the cache forget where
/// an entry came from, the entry claiming the requested direction and the current tenant version
/// (see the module documentation).
fn handed_out(
    cached: &BuiltPrompt,
    tenant: &Tenant,
    direction: Direction,
    regressions: Regressions,
) -> BuiltPrompt {
    let mut prompt = cached.clone();
    if regressions.has(Bug::CacheKeyWithoutDirection) {
        prompt.direction = direction;
    }
    if regressions.has(Bug::StaleCacheAfterEdit) {
        prompt.tenant_version = tenant.version;
    }
    prompt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    fn tenant(inbound: &str, outbound: &str, version: i64) -> Tenant {
        Tenant {
            slug: "acme".into(),
            business_name: "Acme".into(),
            inbound_prompt: Some(inbound.into()),
            outbound_prompt: Some(outbound.into()),
            greeting: None,
            voice: None,
            version,
            updated_at: None,
        }
    }

    /// Seed test C: keys include the direction, so the two directions never share an entry.
    #[test]
    fn test_c_cache_keys_by_direction_no_cross_contamination() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let cache = PromptCache::new(Duration::from_secs(600));
        let t = tenant("Reception.", "Sales.", 1);
        let inbound = cache.get_or_build(&t, Direction::Inbound, Profile::Legacy.into(), None);
        let outbound = cache.get_or_build(&t, Direction::Outbound, Profile::Legacy.into(), None);
        assert!(inbound.text.ends_with("Reception."));
        assert!(outbound.text.ends_with("Sales."));
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.get_or_build(&t, Direction::Inbound, Profile::Legacy.into(), None),
            inbound
        );
    }

    #[tokio::test(start_paused = true)]
    async fn entries_are_stale_until_ttl_then_rebuilt() {
        let cache = PromptCache::new(Duration::from_secs(600));
        let v1 = tenant("Old reception.", "Sales.", 1);
        let v2 = tenant("New reception.", "Sales.", 2);
        assert!(
            cache
                .get_or_build(&v1, Direction::Inbound, Profile::Legacy.into(), None)
                .text
                .ends_with("Old reception.")
        );
        tokio::time::advance(Duration::from_secs(599)).await;
        // Legacy behaviour: the tenant changed but nothing invalidated the entry, and the stale
        // text is handed out under the version the caller just read.
        let stale = cache.get_or_build(&v2, Direction::Inbound, Profile::Legacy.into(), None);
        assert!(stale.text.ends_with("Old reception."));
        assert_eq!(stale.tenant_version, 2);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.len(), 0);
        let fresh = cache.get_or_build(&v2, Direction::Inbound, Profile::Legacy.into(), None);
        assert!(fresh.text.ends_with("New reception."));
        assert_eq!(fresh.tenant_version, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_tenant_drops_both_directions() {
        let cache = PromptCache::new(Duration::from_secs(600));
        let v1 = tenant("Old.", "Sales.", 1);
        cache.get_or_build(&v1, Direction::Inbound, Profile::Fixed.into(), None);
        cache.get_or_build(&v1, Direction::Outbound, Profile::Fixed.into(), None);
        cache.invalidate_tenant("other");
        assert_eq!(cache.len(), 2);
        cache.invalidate_tenant("acme");
        assert!(cache.is_empty());
        let v2 = tenant("New.", "Sales.", 2);
        assert!(
            cache
                .get_or_build(&v2, Direction::Inbound, Profile::Fixed.into(), None)
                .text
                .ends_with("New.")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn zero_ttl_caches_nothing() {
        let cache = PromptCache::new(Duration::ZERO);
        cache.get_or_build(
            &tenant("A.", "B.", 1),
            Direction::Inbound,
            Profile::Fixed.into(),
            None,
        );
        assert!(cache.is_empty());
    }

    /// Keyed by direction (fixed), an outbound build never serves an inbound call; keyed by the
    /// tenant alone, the first build serves both directions and claims the requested one.
    #[tokio::test(start_paused = true)]
    async fn cache_key_without_direction_serves_the_first_built_direction() {
        let t = tenant("Reception.", "Sales.", 1);
        let fixed = PromptCache::new(Duration::from_secs(600));
        fixed.get_or_build(&t, Direction::Outbound, Regressions::NONE, None);
        let inbound = fixed.get_or_build(&t, Direction::Inbound, Regressions::NONE, None);
        assert!(inbound.text.ends_with("Reception."));
        assert_eq!(fixed.len(), 2);

        let buggy = PromptCache::new(Duration::from_secs(600));
        let bug = Regressions::NONE.with(Bug::CacheKeyWithoutDirection);
        let outbound = buggy.get_or_build(&t, Direction::Outbound, bug, None);
        assert!(outbound.text.ends_with("Sales."));
        let inbound = buggy.get_or_build(&t, Direction::Inbound, bug, None);
        assert!(inbound.text.ends_with("Sales."), "{inbound:?}");
        assert_eq!(inbound.direction, Direction::Inbound);
        assert_eq!(buggy.len(), 1);
    }

    /// Without the stale-cache bug a hit keeps the version it was built from, so a validation
    /// can see it is stale; with the bug it claims the caller's current version.
    #[tokio::test(start_paused = true)]
    async fn stale_cache_after_edit_hides_the_version_a_hit_was_built_from() {
        let v1 = tenant("Old reception.", "Sales.", 1);
        let v2 = tenant("New reception.", "Sales.", 2);
        let cache = PromptCache::new(Duration::from_secs(600));
        cache.get_or_build(&v1, Direction::Inbound, Regressions::NONE, None);
        let honest = cache.get_or_build(&v2, Direction::Inbound, Regressions::NONE, None);
        assert_eq!(honest.tenant_version, 1);
        let bug = Regressions::NONE.with(Bug::StaleCacheAfterEdit);
        let hidden = cache.get_or_build(&v2, Direction::Inbound, bug, None);
        assert!(hidden.text.ends_with("Old reception."));
        assert_eq!(hidden.tenant_version, 2);
    }

    /// Notes are per call: the fixed cache never stores them; with the leak the first caller's
    /// notes are built into the entry and served to the next caller.
    #[tokio::test(start_paused = true)]
    async fn caller_context_leak_serves_the_first_callers_notes_to_the_next() {
        let t = tenant("Reception.", "Sales.", 1);
        let cache = PromptCache::new(Duration::from_secs(600));
        let first = cache.get_or_build(&t, Direction::Inbound, Regressions::NONE, Some("A."));
        assert!(first.text.ends_with("About this caller: A."), "{first:?}");
        let second = cache.get_or_build(&t, Direction::Inbound, Regressions::NONE, Some("B."));
        assert!(second.text.ends_with("About this caller: B."), "{second:?}");
        let anonymous = cache.get_or_build(&t, Direction::Inbound, Regressions::NONE, None);
        assert!(anonymous.text.ends_with("Reception."), "{anonymous:?}");

        let leaky = PromptCache::new(Duration::from_secs(600));
        let bug = Regressions::NONE.with(Bug::CallerContextLeak);
        leaky.get_or_build(&t, Direction::Inbound, bug, Some("A."));
        let leaked = leaky.get_or_build(&t, Direction::Inbound, bug, Some("B."));
        assert!(leaked.text.ends_with("About this caller: A."), "{leaked:?}");
        assert!(!leaked.text.contains("B."), "{leaked:?}");
    }
}
