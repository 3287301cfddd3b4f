//! `StreamRegistry`: per-call metadata keyed by call SID (the seed's `server/stream_state.py`).
//!
//! The webhook stores the pre-built prompt here under `_prebuilt_full_prompt` (plus its direction,
//! whether a fallback produced it and the tenant version), and the media session reads it back.
//!
//! An entry's lifetime depends on whether a media stream has claimed it ([`StreamRegistry::claim`]):
//! a claimed entry has no TTL and lives until [`StreamRegistry::clear`] at the end of the call,
//! which is why a wrong prompt persists for the whole call in the seed. An entry no stream has
//! claimed (the webhook answered, but Twilio never opened the stream and no terminal status
//! callback arrived) is dropped once the registry's TTL has passed, so a long-running server does
//! not grow without bound. The seed had no such expiry; it does not change the seed bug, because
//! Twilio opens the stream seconds after the webhook, far inside the TTL.
//!
//! Expiry is lazy: every access first drops the entries whose deadline has passed, so
//! [`StreamRegistry::len`] (and `/fixtures/state`) never counts an expired entry, and every new
//! webhook prunes what came before it. Deadlines follow tokio time, so tests can pause the clock.

use std::collections::btree_map;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::direction::Direction;
use crate::prompt_builder::BuiltPrompt;

/// Key of the pre-built prompt text (same name as in the seed).
pub const PREBUILT_PROMPT_KEY: &str = "_prebuilt_full_prompt";
/// Key of the direction the pre-built prompt was built for.
pub const PREBUILT_DIRECTION_KEY: &str = "_prebuilt_direction";
/// Key of the flag telling whether a cross-direction fallback produced the prompt.
pub const PREBUILT_FALLBACK_KEY: &str = "_prebuilt_used_fallback";
/// Key of the tenant version the prompt was built from.
pub const PREBUILT_VERSION_KEY: &str = "_prebuilt_tenant_version";
/// Key set while the webhook's background pre-build has not finished.
pub const PREBUILD_PENDING_KEY: &str = "_prebuild_pending";

/// How long an entry no media stream has claimed is kept by default.
///
/// Twilio opens the stream within seconds of receiving the TwiML (the bundled scenarios wait at
/// most 2 s), so five minutes leaves a wide margin while still bounding what an abandoned
/// webhook can leave behind.
pub const DEFAULT_UNCLAIMED_TTL: Duration = Duration::from_secs(5 * 60);

/// What the registry holds about a pre-built prompt; only `text` is guaranteed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrebuiltPrompt {
    /// The prompt text.
    pub text: String,
    /// Direction it was built for, if recorded.
    pub direction: Option<Direction>,
    /// Whether a fallback produced it, if recorded.
    pub used_fallback: Option<bool>,
    /// Tenant version it was built from, if recorded.
    pub tenant_version: Option<i64>,
}

/// One call's metadata.
#[derive(Debug)]
struct Entry {
    values: BTreeMap<String, Value>,
    /// When the entry is dropped unless a stream claims it first; `None` once claimed.
    expires_at: Option<Instant>,
}

/// The map plus the expiry queue, guarded together.
#[derive(Debug, Default)]
struct Entries {
    calls: BTreeMap<String, Entry>,
    /// Deadlines in creation order. The TTL is fixed, so this is also deadline order and expiry
    /// only ever looks at the front. An item whose entry was cleared, claimed or re-created since
    /// is stale and skipped.
    deadlines: VecDeque<(Instant, String)>,
}

impl Entries {
    /// Drops the unclaimed entries whose deadline is `now` or earlier; true when any was dropped.
    fn purge_expired(&mut self, now: Instant) -> bool {
        let mut dropped = false;
        while self
            .deadlines
            .front()
            .is_some_and(|(deadline, _)| *deadline <= now)
        {
            let Some((deadline, call_sid)) = self.deadlines.pop_front() else {
                break;
            };
            let expired = self
                .calls
                .get(&call_sid)
                .is_some_and(|entry| entry.expires_at == Some(deadline));
            if expired {
                self.calls.remove(&call_sid);
                dropped = true;
                tracing::info!(
                    call_sid,
                    "stream registry entry expired: no media stream claimed it"
                );
            }
        }
        dropped
    }

    /// The call's entry, created unclaimed with a deadline `ttl` from `now` if missing.
    fn entry(&mut self, call_sid: &str, now: Instant, ttl: Duration) -> &mut Entry {
        match self.calls.entry(call_sid.to_owned()) {
            btree_map::Entry::Occupied(occupied) => occupied.into_mut(),
            btree_map::Entry::Vacant(vacant) => {
                let deadline = now + ttl;
                self.deadlines.push_back((deadline, call_sid.to_owned()));
                vacant.insert(Entry {
                    values: BTreeMap::new(),
                    expires_at: Some(deadline),
                })
            }
        }
    }
}

/// Writes a pre-built prompt and its provenance into a call's values and ends its pending state.
fn write_prebuilt(values: &mut BTreeMap<String, Value>, prompt: &BuiltPrompt) {
    values.insert(
        PREBUILT_PROMPT_KEY.to_owned(),
        Value::String(prompt.text.clone()),
    );
    values.insert(
        PREBUILT_DIRECTION_KEY.to_owned(),
        Value::String(prompt.direction.as_str().to_owned()),
    );
    values.insert(
        PREBUILT_FALLBACK_KEY.to_owned(),
        Value::Bool(prompt.used_fallback),
    );
    values.insert(
        PREBUILT_VERSION_KEY.to_owned(),
        Value::from(prompt.tenant_version),
    );
    values.insert(PREBUILD_PENDING_KEY.to_owned(), Value::Bool(false));
}

/// In-memory per-call metadata map.
#[derive(Debug)]
pub struct StreamRegistry {
    entries: Mutex<Entries>,
    changed: Notify,
    ttl: Duration,
}

impl Default for StreamRegistry {
    fn default() -> StreamRegistry {
        StreamRegistry::with_ttl(DEFAULT_UNCLAIMED_TTL)
    }
}

impl StreamRegistry {
    /// An empty registry whose unclaimed entries live [`DEFAULT_UNCLAIMED_TTL`].
    pub fn new() -> StreamRegistry {
        StreamRegistry::default()
    }

    /// An empty registry whose unclaimed entries live `ttl`.
    pub fn with_ttl(ttl: Duration) -> StreamRegistry {
        StreamRegistry {
            entries: Mutex::new(Entries::default()),
            changed: Notify::new(),
            ttl,
        }
    }

    /// How long an unclaimed entry lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The entries, with the expired ones already dropped.
    fn lock(&self) -> MutexGuard<'_, Entries> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.purge_expired(Instant::now()) {
            // A waiter for a pending pre-build whose entry just expired should stop waiting.
            self.changed.notify_waiters();
        }
        entries
    }

    /// Sets one metadata value for a call and wakes waiters.
    pub fn set_metadata(&self, call_sid: &str, key: &str, value: Value) {
        self.lock()
            .entry(call_sid, Instant::now(), self.ttl)
            .values
            .insert(key.to_owned(), value);
        self.changed.notify_waiters();
    }

    /// Reads one metadata value of a call.
    pub fn get_metadata(&self, call_sid: &str, key: &str) -> Option<Value> {
        self.lock()
            .calls
            .get(call_sid)
            .and_then(|entry| entry.values.get(key))
            .cloned()
    }

    /// Marks the call's entry as belonging to a live media stream, so it no longer expires and
    /// lives until [`StreamRegistry::clear`]; false when there is no entry to claim.
    pub fn claim(&self, call_sid: &str) -> bool {
        match self.lock().calls.get_mut(call_sid) {
            Some(entry) => {
                entry.expires_at = None;
                true
            }
            None => false,
        }
    }

    /// Whether the call has an entry that no stream has claimed yet.
    pub fn is_unclaimed(&self, call_sid: &str) -> bool {
        self.lock()
            .calls
            .get(call_sid)
            .is_some_and(|entry| entry.expires_at.is_some())
    }

    /// Removes everything stored for a call.
    pub fn clear(&self, call_sid: &str) {
        self.lock().calls.remove(call_sid);
        self.changed.notify_waiters();
    }

    /// Number of calls with metadata.
    pub fn len(&self) -> usize {
        self.lock().calls.len()
    }

    /// True when no call has metadata.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records that a background pre-build for the call has started.
    pub fn mark_prebuild_pending(&self, call_sid: &str) {
        self.set_metadata(call_sid, PREBUILD_PENDING_KEY, Value::Bool(true));
    }

    /// Records that the background pre-build ended without storing a prompt.
    pub fn mark_prebuild_failed(&self, call_sid: &str) {
        self.set_metadata(call_sid, PREBUILD_PENDING_KEY, Value::Bool(false));
    }

    /// Stores a pre-built prompt with its provenance (what the seed's webhook does).
    pub fn store_prebuilt(&self, call_sid: &str, prompt: &BuiltPrompt) {
        let mut entries = self.lock();
        let entry = entries.entry(call_sid, Instant::now(), self.ttl);
        write_prebuilt(&mut entry.values, prompt);
        drop(entries);
        self.changed.notify_waiters();
    }

    /// Stores a pre-built prompt only into the call's existing entry; false when there is none.
    ///
    /// A pre-build that lands after its call has ended (the entry cleared by the stream or by a
    /// terminal status callback) must not create a new entry: nothing would claim or clear it.
    pub fn store_prebuilt_if_present(&self, call_sid: &str, prompt: &BuiltPrompt) -> bool {
        let mut entries = self.lock();
        let Some(entry) = entries.calls.get_mut(call_sid) else {
            return false;
        };
        write_prebuilt(&mut entry.values, prompt);
        drop(entries);
        self.changed.notify_waiters();
        true
    }

    /// The pre-built prompt of a call, if one is stored.
    pub fn prebuilt(&self, call_sid: &str) -> Option<PrebuiltPrompt> {
        let entries = self.lock();
        let entry = &entries.calls.get(call_sid)?.values;
        let text = entry.get(PREBUILT_PROMPT_KEY)?.as_str()?.to_owned();
        Some(PrebuiltPrompt {
            text,
            direction: entry
                .get(PREBUILT_DIRECTION_KEY)
                .and_then(Value::as_str)
                .and_then(Direction::parse),
            used_fallback: entry.get(PREBUILT_FALLBACK_KEY).and_then(Value::as_bool),
            tenant_version: entry.get(PREBUILT_VERSION_KEY).and_then(Value::as_i64),
        })
    }

    fn prebuild_pending(&self, call_sid: &str) -> bool {
        self.get_metadata(call_sid, PREBUILD_PENDING_KEY)
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// The pre-built prompt, waiting up to `max_wait` (tokio time) while a pre-build is pending.
    pub async fn wait_prebuilt(
        &self,
        call_sid: &str,
        max_wait: Duration,
    ) -> Option<PrebuiltPrompt> {
        let wait = async {
            loop {
                // Register interest before checking, so a store between the check and the
                // await cannot be missed.
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(prompt) = self.prebuilt(call_sid) {
                    return Some(prompt);
                }
                if !self.prebuild_pending(call_sid) {
                    return None;
                }
                notified.await;
            }
        };
        match tokio::time::timeout(max_wait, wait).await {
            Ok(found) => found,
            Err(_) => {
                tracing::warn!(
                    call_sid,
                    "pre-built prompt still pending after {max_wait:?}; building on the stream side"
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn built(text: &str) -> BuiltPrompt {
        BuiltPrompt {
            text: text.into(),
            direction: Direction::Inbound,
            used_fallback: true,
            tenant_version: 4,
        }
    }

    #[test]
    fn a_conditional_store_fills_an_existing_entry_and_never_creates_one() {
        let registry = StreamRegistry::new();
        assert!(!registry.store_prebuilt_if_present("CAgone", &built("late")));
        assert!(registry.is_empty(), "a call that ended gets no new entry");
        registry.mark_prebuild_pending("CA1");
        assert!(registry.store_prebuilt_if_present("CA1", &built("on time")));
        assert_eq!(
            registry.prebuilt("CA1").map(|p| p.text),
            Some("on time".to_owned())
        );
        assert_eq!(
            registry.get_metadata("CA1", PREBUILD_PENDING_KEY),
            Some(Value::Bool(false))
        );
    }

    #[test]
    fn metadata_set_get_clear() {
        let registry = StreamRegistry::new();
        registry.set_metadata("CA1", "k", Value::from(1));
        registry.set_metadata("CA2", "k", Value::from(2));
        assert_eq!(registry.get_metadata("CA1", "k"), Some(Value::from(1)));
        assert_eq!(registry.get_metadata("CA1", "missing"), None);
        assert_eq!(registry.len(), 2);
        registry.clear("CA1");
        assert_eq!(registry.get_metadata("CA1", "k"), None);
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn prebuilt_round_trip_keeps_provenance() {
        let registry = StreamRegistry::new();
        assert_eq!(registry.prebuilt("CA1"), None);
        registry.store_prebuilt("CA1", &built("P"));
        assert_eq!(
            registry.prebuilt("CA1"),
            Some(PrebuiltPrompt {
                text: "P".into(),
                direction: Some(Direction::Inbound),
                used_fallback: Some(true),
                tenant_version: Some(4)
            })
        );
        // A bare `_prebuilt_full_prompt`, as the seed stored it, is still readable.
        registry.set_metadata("CA2", PREBUILT_PROMPT_KEY, Value::String("bare".into()));
        assert_eq!(
            registry.prebuilt("CA2").map(|p| (p.text, p.direction)),
            Some(("bare".into(), None))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn wait_prebuilt_wakes_when_stored() {
        let registry = Arc::new(StreamRegistry::new());
        registry.mark_prebuild_pending("CA1");
        let writer = Arc::clone(&registry);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            writer.store_prebuilt("CA1", &built("late"));
        });
        let start = tokio::time::Instant::now();
        let found = registry.wait_prebuilt("CA1", Duration::from_secs(2)).await;
        assert_eq!(found.map(|p| p.text), Some("late".into()));
        assert_eq!(start.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_prebuilt_gives_up_after_max_wait_or_when_nothing_pending() {
        let registry = StreamRegistry::new();
        let start = tokio::time::Instant::now();
        assert_eq!(
            registry.wait_prebuilt("CA1", Duration::from_secs(2)).await,
            None
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
        registry.mark_prebuild_pending("CA1");
        assert_eq!(
            registry.wait_prebuilt("CA1", Duration::from_secs(2)).await,
            None
        );
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        registry.mark_prebuild_failed("CA1");
        assert_eq!(
            registry.wait_prebuilt("CA1", Duration::from_secs(2)).await,
            None
        );
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn unclaimed_entries_expire_after_the_ttl_and_claimed_ones_do_not() {
        let ttl = Duration::from_secs(300);
        let registry = StreamRegistry::with_ttl(ttl);
        registry.store_prebuilt("CAabandoned", &built("never streamed"));
        registry.store_prebuilt("CAstreamed", &built("streamed"));
        assert!(registry.claim("CAstreamed"));
        assert!(!registry.claim("CAunknown"), "claiming creates nothing");
        assert!(registry.is_unclaimed("CAabandoned"));
        assert!(!registry.is_unclaimed("CAstreamed"));

        tokio::time::advance(ttl - Duration::from_secs(1)).await;
        assert_eq!(registry.len(), 2, "nothing expires before the TTL");
        assert!(registry.prebuilt("CAabandoned").is_some());

        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(registry.len(), 1);
        assert_eq!(registry.prebuilt("CAabandoned"), None);
        assert_eq!(
            registry.prebuilt("CAstreamed").map(|p| p.text),
            Some("streamed".to_owned())
        );

        // A claimed entry outlives any number of TTLs, until the call clears it.
        tokio::time::advance(ttl * 10).await;
        assert_eq!(registry.len(), 1);
        registry.clear("CAstreamed");
        assert!(registry.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_recreated_entry_gets_a_fresh_deadline() {
        let ttl = Duration::from_secs(300);
        let registry = StreamRegistry::with_ttl(ttl);
        registry.mark_prebuild_pending("CA1");
        tokio::time::advance(Duration::from_secs(200)).await;
        // Later writes keep the original deadline: the TTL counts from the webhook.
        registry.store_prebuilt("CA1", &built("first"));
        registry.clear("CA1");
        registry.store_prebuilt("CA1", &built("second"));
        tokio::time::advance(Duration::from_secs(200)).await;
        assert_eq!(
            registry.prebuilt("CA1").map(|p| p.text),
            Some("second".to_owned()),
            "the first entry's deadline does not apply to the second"
        );
        tokio::time::advance(Duration::from_secs(100)).await;
        assert!(registry.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn many_abandoned_webhooks_do_not_accumulate() {
        let ttl = Duration::from_secs(300);
        let registry = StreamRegistry::with_ttl(ttl);
        for n in 0..1_000 {
            registry.mark_prebuild_pending(&format!("CA{n}"));
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        // It is now t = 1000 s; only the webhooks of t = 701..=999 s are younger than the TTL.
        assert_eq!(registry.len(), 299);
        assert_eq!(registry.lock().deadlines.len(), 299);
    }
}
