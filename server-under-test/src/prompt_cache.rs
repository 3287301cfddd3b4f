//! `PromptCache`: built prompts keyed by (tenant slug, direction) with a time to live.
//!
//! Reproduces the seed's prompt cache. Both the webhook pre-build and the stream-side build go
//! through it. Under the legacy profile nothing invalidates an entry when its tenant changes, so a
//! stale prompt survives until the TTL runs out; under the fixed profile a tenant update calls
//! [`PromptCache::invalidate_tenant`]. Expiry uses `tokio::time::Instant` so it follows the
//! harness's virtual clock.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Profile;
use crate::direction::Direction;
use crate::prompt_builder::{BuiltPrompt, build_full_business_prompt};
use crate::tenants::Tenant;

#[derive(Debug)]
struct Entry {
    prompt: BuiltPrompt,
    expires_at: Instant,
}

/// TTL cache of built prompts.
#[derive(Debug)]
pub struct PromptCache {
    ttl: Duration,
    entries: Mutex<BTreeMap<(String, Direction), Entry>>,
}

impl PromptCache {
    /// An empty cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> PromptCache {
        PromptCache {
            ttl,
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, Direction), Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached prompt for (tenant, direction) if still fresh, else a newly built and stored one.
    pub fn get_or_build(
        &self,
        tenant: &Tenant,
        direction: Direction,
        profile: Profile,
    ) -> BuiltPrompt {
        let now = Instant::now();
        let key = (tenant.slug.clone(), direction);
        let mut entries = self.lock();
        if let Some(entry) = entries.get(&key)
            && entry.expires_at > now
        {
            tracing::debug!(tenant = %tenant.slug, %direction, "prompt cache hit");
            return entry.prompt.clone();
        }
        let prompt = build_full_business_prompt(tenant, direction, profile);
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let inbound = cache.get_or_build(&t, Direction::Inbound, Profile::Legacy);
        let outbound = cache.get_or_build(&t, Direction::Outbound, Profile::Legacy);
        assert!(inbound.text.ends_with("Reception."));
        assert!(outbound.text.ends_with("Sales."));
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.get_or_build(&t, Direction::Inbound, Profile::Legacy),
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
                .get_or_build(&v1, Direction::Inbound, Profile::Legacy)
                .text
                .ends_with("Old reception.")
        );
        tokio::time::advance(Duration::from_secs(599)).await;
        // Legacy behaviour: the tenant changed but nothing invalidated the entry.
        let stale = cache.get_or_build(&v2, Direction::Inbound, Profile::Legacy);
        assert!(stale.text.ends_with("Old reception."));
        assert_eq!(stale.tenant_version, 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.len(), 0);
        let fresh = cache.get_or_build(&v2, Direction::Inbound, Profile::Legacy);
        assert!(fresh.text.ends_with("New reception."));
        assert_eq!(fresh.tenant_version, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_tenant_drops_both_directions() {
        let cache = PromptCache::new(Duration::from_secs(600));
        let v1 = tenant("Old.", "Sales.", 1);
        cache.get_or_build(&v1, Direction::Inbound, Profile::Fixed);
        cache.get_or_build(&v1, Direction::Outbound, Profile::Fixed);
        cache.invalidate_tenant("other");
        assert_eq!(cache.len(), 2);
        cache.invalidate_tenant("acme");
        assert!(cache.is_empty());
        let v2 = tenant("New.", "Sales.", 2);
        assert!(
            cache
                .get_or_build(&v2, Direction::Inbound, Profile::Fixed)
                .text
                .ends_with("New.")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn zero_ttl_caches_nothing() {
        let cache = PromptCache::new(Duration::ZERO);
        cache.get_or_build(&tenant("A.", "B.", 1), Direction::Inbound, Profile::Fixed);
        assert!(cache.is_empty());
    }
}
