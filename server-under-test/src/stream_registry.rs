//! `StreamRegistry`: per-call metadata keyed by call SID (the seed's `server/stream_state.py`).
//!
//! The webhook stores the pre-built prompt here under `_prebuilt_full_prompt` (plus its direction,
//! whether a fallback produced it and the tenant version), and the media session reads it back.
//! Entries have no TTL: they live until [`StreamRegistry::clear`] at the end of the call, which is
//! why a wrong prompt persists for the whole call in the seed.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use crate::prompt_builder::{BuiltPrompt, Direction};

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

type Metadata = BTreeMap<String, BTreeMap<String, Value>>;

/// In-memory per-call metadata map.
#[derive(Debug, Default)]
pub struct StreamRegistry {
    entries: Mutex<Metadata>,
    changed: Notify,
}

impl StreamRegistry {
    /// An empty registry.
    pub fn new() -> StreamRegistry {
        StreamRegistry::default()
    }

    fn lock(&self) -> MutexGuard<'_, Metadata> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets one metadata value for a call and wakes waiters.
    pub fn set_metadata(&self, call_sid: &str, key: &str, value: Value) {
        self.lock()
            .entry(call_sid.to_owned())
            .or_default()
            .insert(key.to_owned(), value);
        self.changed.notify_waiters();
    }

    /// Reads one metadata value of a call.
    pub fn get_metadata(&self, call_sid: &str, key: &str) -> Option<Value> {
        self.lock()
            .get(call_sid)
            .and_then(|entry| entry.get(key))
            .cloned()
    }

    /// Removes everything stored for a call.
    pub fn clear(&self, call_sid: &str) {
        self.lock().remove(call_sid);
        self.changed.notify_waiters();
    }

    /// Number of calls with metadata.
    pub fn len(&self) -> usize {
        self.lock().len()
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
        let entry = entries.entry(call_sid.to_owned()).or_default();
        entry.insert(
            PREBUILT_PROMPT_KEY.to_owned(),
            Value::String(prompt.text.clone()),
        );
        entry.insert(
            PREBUILT_DIRECTION_KEY.to_owned(),
            Value::String(prompt.direction.as_str().to_owned()),
        );
        entry.insert(
            PREBUILT_FALLBACK_KEY.to_owned(),
            Value::Bool(prompt.used_fallback),
        );
        entry.insert(
            PREBUILT_VERSION_KEY.to_owned(),
            Value::from(prompt.tenant_version),
        );
        entry.insert(PREBUILD_PENDING_KEY.to_owned(), Value::Bool(false));
        drop(entries);
        self.changed.notify_waiters();
    }

    /// The pre-built prompt of a call, if one is stored.
    pub fn prebuilt(&self, call_sid: &str) -> Option<PrebuiltPrompt> {
        let entries = self.lock();
        let entry = entries.get(call_sid)?;
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
}
