//! The prompt ledger: what every mock session was told and what it answered.
//!
//! Scenarios snapshot this record to prove which instructions, formats and voices were really in
//! force for each response; it outlives the connections it describes. All times are milliseconds
//! of simulation time since the clock start; nothing here reads the wall clock.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::envelope::{ENVELOPE_FRAME_MS, InputEnvelope, MAX_ENVELOPE_FRAMES};
pub use super::records::{
    AppendRecord, ErrorRecord, ResponseRecord, TruncateRecord, UpdateRecord, VadTurn,
};
use super::records::{TextBytes, cut_opt, cut_opt_error, cut_text};
use super::session_config::AudioFormat;

/// Raw input audio kept per session by [`Retention::full`], in milliseconds (30 minutes).
const AUDIO_CAP_MS: usize = 30 * 60 * 1000;

/// The key under which a bounded ledger counts client event types it does not keep by name.
pub const OTHER_EVENT_TYPES: &str = "(other)";

/// The longest client event type a bounded ledger keeps by name; longer ones are not real types.
const MAX_EVENT_TYPE_LEN: usize = 64;

/// How much of each session the ledger keeps.
///
/// In-process scenario runs build their transcripts from the whole record and use
/// [`Retention::full`], which keeps everything. A long-running `callsim serve-ai` uses
/// [`Retention::bounded`], so that what it keeps stays small however many sessions it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Sessions kept; beyond this, the oldest closed sessions are dropped and counted in
    /// [`Ledger::dropped_sessions`]. Open sessions are never dropped. `None` keeps every session.
    pub max_sessions: Option<usize>,
    /// Raw input audio kept per session, in milliseconds of the input format in force.
    pub audio_cap_ms: usize,
    /// Records kept in each list of a session (updates, responses, truncates, errors sent, VAD
    /// turns), at least one; the oldest are dropped first and counted in
    /// [`SessionRecord::records_dropped`].
    /// Bounded ledgers also keep at most this many client event types by name and count the
    /// rest under [`OTHER_EVENT_TYPES`]. `None` keeps every record.
    pub max_records: Option<usize>,
    /// Bytes of client-controlled text a session keeps over all its records: instructions,
    /// error messages and item ids. Old records are dropped to make room for a new one; a
    /// record that alone exceeds the budget has its text cut, counted in
    /// [`SessionRecord::texts_cut`]. `None` keeps every byte.
    pub max_text_bytes: Option<usize>,
    /// Whether a closing session drops its raw audio and the raw instructions of the updates
    /// whose effective instructions repeat them.
    pub compact_on_close: bool,
}

impl Retention {
    /// Keeps everything (raw audio up to 30 minutes per session), as scenario transcripts need.
    pub fn full() -> Self {
        Self {
            max_sessions: None,
            audio_cap_ms: AUDIO_CAP_MS,
            max_records: None,
            max_text_bytes: None,
            compact_on_close: false,
        }
    }

    /// The `callsim serve-ai` defaults: the last 1,000 sessions, a minute of raw audio per open
    /// session, 32 records per list and 64 KiB of text per session, compacted at close.
    pub fn bounded() -> Self {
        Self {
            max_sessions: Some(1000),
            audio_cap_ms: 60 * 1000,
            max_records: Some(32),
            max_text_bytes: Some(64 * 1024),
            compact_on_close: true,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::full()
    }
}

/// A shared, cloneable recorder of mock sessions.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Sessions in accept order (ascending index).
    sessions: VecDeque<SessionRecord>,
    /// Closed sessions dropped to honour [`Retention::max_sessions`].
    dropped: u64,
}

impl Ledger {
    /// Every session kept, in accept order, open or closed.
    pub fn sessions(&self) -> Vec<SessionRecord> {
        self.lock().sessions.iter().cloned().collect()
    }

    /// How many sessions are still open.
    pub fn open_sessions(&self) -> usize {
        self.lock()
            .sessions
            .iter()
            .filter(|s| s.closed_at_ms.is_none())
            .count()
    }

    /// How many sessions the ledger holds now, open or closed.
    pub fn kept_sessions(&self) -> usize {
        self.lock().sessions.len()
    }

    /// How many closed sessions were dropped to keep the ledger within
    /// [`Retention::max_sessions`].
    pub fn dropped_sessions(&self) -> u64 {
        self.lock().dropped
    }

    /// Adds a session record, keeping accept order by index.
    pub(crate) fn open(&self, record: SessionRecord, retention: &Retention) {
        let mut inner = self.lock();
        let at = inner.sessions.partition_point(|s| s.index < record.index);
        inner.sessions.insert(at, record);
        inner.trim(retention);
    }

    /// Applies `f` to the record of session `index`, if it is still kept.
    pub(crate) fn with<R>(
        &self,
        index: usize,
        f: impl FnOnce(&mut SessionRecord) -> R,
    ) -> Option<R> {
        let mut inner = self.lock();
        let at = inner.sessions.partition_point(|s| s.index < index);
        inner
            .sessions
            .get_mut(at)
            .filter(|s| s.index == index)
            .map(f)
    }

    /// Applies `f` (which marks the session closed) to session `index`, compacts the record
    /// and drops old closed sessions as `retention` says.
    pub(crate) fn close(
        &self,
        index: usize,
        retention: &Retention,
        f: impl FnOnce(&mut SessionRecord),
    ) {
        let mut inner = self.lock();
        let at = inner.sessions.partition_point(|s| s.index < index);
        if let Some(record) = inner.sessions.get_mut(at).filter(|s| s.index == index) {
            f(record);
            if retention.compact_on_close {
                record.compact();
            }
        }
        inner.trim(retention);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Drops the oldest closed sessions until at most `max_sessions` remain (open ones stay).
    fn trim(&mut self, retention: &Retention) {
        let Some(max) = retention.max_sessions else {
            return;
        };
        while self.sessions.len() > max {
            let Some(oldest_closed) = self.sessions.iter().position(|s| s.closed_at_ms.is_some())
            else {
                return;
            };
            self.sessions.remove(oldest_closed);
            self.dropped += 1;
        }
        if self.sessions.capacity() > 2 * max.max(16) {
            self.sessions.shrink_to(max);
        }
    }
}

/// Everything recorded about one mock Realtime connection.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Connection index in accept order.
    pub index: usize,
    /// The `sess_…` id.
    pub session_id: String,
    /// The model asked for in the query string.
    pub model: String,
    /// `ga` or `beta`.
    pub dialect: String,
    /// When the connection was accepted.
    pub opened_at_ms: u64,
    /// When it ended, if it has.
    pub closed_at_ms: Option<u64>,
    /// `client`, `server_expired`, `fault`, `auth` or `beta_retired`.
    pub closed_by: Option<String>,
    /// The WebSocket close code, if a close frame was exchanged.
    pub close_code: Option<u16>,
    /// The default instructions announced in `session.created`.
    pub initial_instructions: String,
    /// Every `session.update`, accepted or rejected.
    pub updates: Vec<UpdateRecord>,
    /// Every response, in creation order.
    pub responses: Vec<ResponseRecord>,
    /// Every `conversation.item.truncate`.
    pub truncates: Vec<TruncateRecord>,
    /// Every `error` event sent.
    pub errors_sent: Vec<ErrorRecord>,
    /// Count of client events per type.
    pub client_events: BTreeMap<String, u64>,
    /// Server VAD speech cycles.
    pub vad_turns: Vec<VadTurn>,
    /// Total appended audio, in ms of the input format in force when it arrived.
    pub audio_received_ms: u64,
    /// Raw appended bytes (capped at about 30 minutes); not serialized.
    #[serde(skip)]
    pub audio_received: Vec<u8>,
    /// Every appended 20 ms frame summarised (level and zero crossings, decoded in the input
    /// format in force when it arrived) with its arrival time; not serialized.
    #[serde(skip)]
    pub input_envelope: InputEnvelope,
    /// Effective input format at close, e.g. `audio/pcmu`.
    pub input_format: String,
    /// Effective output format at close.
    pub output_format: String,
    /// Records dropped from this session's lists by [`Retention::max_records`] or to make
    /// room within [`Retention::max_text_bytes`].
    #[serde(default)]
    pub records_dropped: u64,
    /// Records whose text was cut to fit [`Retention::max_text_bytes`].
    #[serde(default)]
    pub texts_cut: u64,
    /// Every context append of a Live session (`session.{instructions,thinking,commentary}
    /// .append`), in arrival order; always empty for Realtime sessions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub appends: Vec<AppendRecord>,
    /// The `session` object of the first `session.update`, exactly as received (voice, turn
    /// detection, model…), when it is at most [`MAX_FIRST_CONFIG_BYTES`] long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_config: Option<serde_json::Value>,
}

/// The largest first session configuration the ledger keeps (a prompt of a few pages fits).
pub(crate) const MAX_FIRST_CONFIG_BYTES: usize = 256 * 1024;

impl SessionRecord {
    /// Stores appended audio up to `retention.audio_cap_ms` of the current input format.
    pub(crate) fn store_audio(&mut self, bytes: &[u8], bytes_per_ms: usize, retention: &Retention) {
        let cap = retention.audio_cap_ms.saturating_mul(bytes_per_ms);
        let room = cap.saturating_sub(self.audio_received.len());
        let take = room.min(bytes.len());
        self.audio_received.extend_from_slice(&bytes[..take]);
    }

    /// Adds appended audio to the input envelope. An unbounded ledger keeps a 4-hour call's
    /// envelope; a bounded one keeps it as long as its raw audio cap.
    pub(crate) fn store_envelope(
        &mut self,
        bytes: &[u8],
        format: AudioFormat,
        at_ms: u64,
        retention: &Retention,
    ) {
        let bounded = retention.max_records.is_some() || retention.max_text_bytes.is_some();
        let cap = if bounded {
            retention.audio_cap_ms / ENVELOPE_FRAME_MS
        } else {
            MAX_ENVELOPE_FRAMES
        };
        self.input_envelope.push(bytes, format, at_ms, cap);
    }

    /// Records a `session.update`.
    pub(crate) fn push_update(&mut self, mut record: UpdateRecord, retention: &Retention) {
        self.make_room(retention, record.text_bytes(), |s| &mut s.updates);
        if let Some(room) = self.text_room(retention) {
            let mut room = room;
            let cut = cut_text(&mut record.effective_instructions, &mut room)
                | cut_opt(&mut record.instructions, &mut room)
                | cut_opt_error(&mut record.error, &mut room);
            self.texts_cut += u64::from(cut);
        }
        self.updates.push(record);
    }

    /// Records a response as it is created.
    pub(crate) fn push_response(&mut self, mut record: ResponseRecord, retention: &Retention) {
        self.make_room(retention, record.instructions.len(), |s| &mut s.responses);
        if let Some(mut room) = self.text_room(retention) {
            self.texts_cut += u64::from(cut_text(&mut record.instructions, &mut room));
        }
        self.responses.push(record);
    }

    /// Records a `conversation.item.truncate`.
    pub(crate) fn push_truncate(&mut self, mut record: TruncateRecord, retention: &Retention) {
        self.make_room(retention, record.text_bytes(), |s| &mut s.truncates);
        if let Some(mut room) = self.text_room(retention) {
            let cut =
                cut_text(&mut record.item_id, &mut room) | cut_opt(&mut record.error, &mut room);
            self.texts_cut += u64::from(cut);
        }
        self.truncates.push(record);
    }

    /// Records an `error` event sent to the client.
    pub(crate) fn push_error(&mut self, mut record: ErrorRecord, retention: &Retention) {
        self.make_room(retention, record.message.len(), |s| &mut s.errors_sent);
        if let Some(mut room) = self.text_room(retention) {
            self.texts_cut += u64::from(cut_text(&mut record.message, &mut room));
        }
        self.errors_sent.push(record);
    }

    /// Records a context append of a Live session.
    pub(crate) fn push_append(&mut self, mut record: AppendRecord, retention: &Retention) {
        self.make_room(retention, record.text_bytes(), |s| &mut s.appends);
        if let Some(mut room) = self.text_room(retention) {
            self.texts_cut += u64::from(cut_text(&mut record.content, &mut room));
        }
        self.appends.push(record);
    }

    /// Records the start of a server VAD speech cycle.
    pub(crate) fn push_vad_turn(&mut self, turn: VadTurn, retention: &Retention) {
        self.make_room(retention, 0, |s| &mut s.vad_turns);
        self.vad_turns.push(turn);
    }

    /// Counts one client event of type `ty`.
    pub(crate) fn count_client_event(&mut self, ty: &str, retention: &Retention) {
        // The type is client input: a bounded ledger keeps a few short names and lumps the rest
        // together, so a client cycling through made-up types cannot grow the map.
        let bounded = retention.max_records.is_some() || retention.max_text_bytes.is_some();
        let limit = retention.max_records.unwrap_or(usize::MAX);
        let known = self.client_events.contains_key(ty);
        let key = if bounded
            && !known
            && (ty.len() > MAX_EVENT_TYPE_LEN || self.client_events.len() >= limit)
        {
            OTHER_EVENT_TYPES
        } else {
            ty
        };
        // Looked up before inserting: the same few types arrive fifty times a second.
        match self.client_events.get_mut(key) {
            Some(count) => *count += 1,
            None => {
                self.client_events.insert(key.to_owned(), 1);
            }
        }
    }

    /// Drops what only an open session needs: raw audio, the raw instructions of updates whose
    /// effective instructions repeat them, and spare capacity.
    fn compact(&mut self) {
        self.audio_received = Vec::new();
        self.input_envelope.clear();
        for update in &mut self.updates {
            if update.accepted
                && update.instructions.as_ref() == Some(&update.effective_instructions)
            {
                update.instructions = None;
            }
        }
        self.updates.shrink_to_fit();
        self.responses.shrink_to_fit();
        self.truncates.shrink_to_fit();
        self.errors_sent.shrink_to_fit();
        self.vad_turns.shrink_to_fit();
    }

    /// Makes room in the list `list` picks for one more record carrying `need` bytes of text:
    /// drops its oldest records beyond `max_records`, then while the text budget is exceeded.
    fn make_room<T: TextBytes>(
        &mut self,
        retention: &Retention,
        need: usize,
        list: impl Fn(&mut Self) -> &mut Vec<T>,
    ) {
        if let Some(max) = retention.max_records {
            let len = list(self).len();
            let excess = (len + 1).saturating_sub(max.max(1));
            if excess > 0 {
                list(self).drain(..excess);
                self.records_dropped += u64::try_from(excess).unwrap_or(u64::MAX);
            }
        }
        if let Some(budget) = retention.max_text_bytes {
            let mut used = self.text_bytes();
            while used + need > budget && !list(self).is_empty() {
                used -= list(self).remove(0).text_bytes();
                self.records_dropped += 1;
            }
        }
    }

    /// The text budget left, if `retention` sets one.
    fn text_room(&self, retention: &Retention) -> Option<usize> {
        retention
            .max_text_bytes
            .map(|budget| budget.saturating_sub(self.text_bytes()))
    }

    /// Bytes of client-controlled text held by this record's lists.
    fn text_bytes(&self) -> usize {
        self.updates
            .iter()
            .map(TextBytes::text_bytes)
            .sum::<usize>()
            + self
                .responses
                .iter()
                .map(TextBytes::text_bytes)
                .sum::<usize>()
            + self
                .truncates
                .iter()
                .map(TextBytes::text_bytes)
                .sum::<usize>()
            + self
                .errors_sent
                .iter()
                .map(TextBytes::text_bytes)
                .sum::<usize>()
            + self
                .appends
                .iter()
                .map(TextBytes::text_bytes)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(index: usize) -> SessionRecord {
        SessionRecord {
            index,
            ..SessionRecord::default()
        }
    }

    fn update(instructions: &str, accepted: bool) -> UpdateRecord {
        UpdateRecord {
            at_ms: 0,
            accepted,
            error: None,
            instructions: Some(instructions.to_owned()),
            effective_instructions: if accepted {
                instructions.to_owned()
            } else {
                String::new()
            },
            input_format: "audio/pcmu".to_owned(),
            output_format: "audio/pcmu".to_owned(),
            voice: "alloy".to_owned(),
            turn_detection: None,
        }
    }

    fn error(message: &str) -> ErrorRecord {
        ErrorRecord {
            at_ms: 0,
            code: None,
            message: message.to_owned(),
            param: None,
            client_event_type: None,
        }
    }

    fn close(ledger: &Ledger, index: usize, retention: &Retention) {
        ledger.close(index, retention, |s| s.closed_at_ms = Some(1));
    }

    #[test]
    fn sessions_keep_accept_order_and_count_open_ones() {
        let ledger = Ledger::default();
        let full = Retention::full();
        for index in [1, 0, 2] {
            ledger.open(session(index), &full);
        }
        close(&ledger, 1, &full);
        let indexes: Vec<usize> = ledger.sessions().iter().map(|s| s.index).collect();
        assert_eq!(indexes, vec![0, 1, 2]);
        assert_eq!(ledger.open_sessions(), 2);
        assert_eq!(ledger.with(2, |s| s.index), Some(2));
        assert_eq!(ledger.with(7, |s| s.index), None);
    }

    #[test]
    fn full_retention_keeps_every_session_and_record() {
        let ledger = Ledger::default();
        let full = Retention::full();
        for index in 0..50 {
            ledger.open(session(index), &full);
            ledger.with(index, |s| {
                for _ in 0..40 {
                    s.push_update(update(&"x".repeat(10_000), true), &full);
                }
            });
            close(&ledger, index, &full);
        }
        let sessions = ledger.sessions();
        assert_eq!(sessions.len(), 50);
        assert_eq!(ledger.dropped_sessions(), 0);
        assert!(
            sessions
                .iter()
                .all(|s| s.updates.len() == 40 && s.records_dropped == 0)
        );
        assert_eq!(
            sessions[0].updates[0].instructions.as_deref().map(str::len),
            Some(10_000),
            "full retention keeps the raw instructions of closed sessions"
        );
    }

    #[test]
    fn ledger_keeps_the_last_sessions_and_counts_the_dropped_ones() {
        let ledger = Ledger::default();
        let retention = Retention {
            max_sessions: Some(3),
            ..Retention::full()
        };
        // Session 0 stays open throughout: open sessions are never dropped.
        ledger.open(session(0), &retention);
        for index in 1..=6 {
            ledger.open(session(index), &retention);
            close(&ledger, index, &retention);
        }
        let indexes: Vec<usize> = ledger.sessions().iter().map(|s| s.index).collect();
        assert_eq!(indexes, vec![0, 5, 6]);
        assert_eq!(ledger.dropped_sessions(), 4);
        // A write to a dropped session is ignored rather than misapplied.
        assert_eq!(ledger.with(3, |s| s.index), None);
    }

    #[test]
    fn open_sessions_may_exceed_the_session_limit() {
        let ledger = Ledger::default();
        let retention = Retention {
            max_sessions: Some(2),
            ..Retention::full()
        };
        for index in 0..4 {
            ledger.open(session(index), &retention);
        }
        assert_eq!(ledger.sessions().len(), 4);
        assert_eq!(ledger.dropped_sessions(), 0);
        close(&ledger, 1, &retention);
        let indexes: Vec<usize> = ledger.sessions().iter().map(|s| s.index).collect();
        assert_eq!(indexes, vec![0, 2, 3]);
        assert_eq!(ledger.dropped_sessions(), 1);
    }

    #[test]
    fn stored_audio_is_capped() {
        let full = Retention::full();
        let mut record = SessionRecord::default();
        let cap = AUDIO_CAP_MS * 8;
        record.store_audio(&vec![0u8; cap - 10], 8, &full);
        record.store_audio(&[1u8; 100], 8, &full);
        assert_eq!(record.audio_received.len(), cap);

        let bounded = Retention {
            audio_cap_ms: 1000,
            ..Retention::bounded()
        };
        let mut record = SessionRecord::default();
        for _ in 0..30 {
            record.store_audio(&[0u8; 160 * 16], 16, &bounded);
        }
        assert_eq!(record.audio_received.len(), 16_000);
    }

    #[test]
    fn records_per_list_are_capped_oldest_first() {
        let retention = Retention {
            max_records: Some(3),
            ..Retention::full()
        };
        let mut record = SessionRecord::default();
        for i in 0..5 {
            record.push_update(update(&format!("u{i}"), true), &retention);
            record.push_error(error(&format!("e{i}")), &retention);
            let turn = VadTurn {
                speech_started_ms: i,
                speech_stopped_ms: None,
                at_ms: i,
            };
            record.push_vad_turn(turn, &retention);
        }
        let kept: Vec<&str> = record
            .updates
            .iter()
            .map(|u| u.effective_instructions.as_str())
            .collect();
        assert_eq!(kept, vec!["u2", "u3", "u4"]);
        assert_eq!(record.errors_sent.len(), 3);
        assert_eq!(record.errors_sent[0].message, "e2");
        assert_eq!(record.vad_turns.len(), 3);
        assert_eq!(record.records_dropped, 6);
    }

    #[test]
    fn text_budget_drops_old_records_to_make_room() {
        let retention = Retention {
            max_text_bytes: Some(100),
            ..Retention::full()
        };
        let mut record = SessionRecord::default();
        // Each accepted update holds its text twice (raw and effective): 40 bytes.
        for i in 0..5 {
            record.push_update(update(&format!("{i}").repeat(20), true), &retention);
        }
        assert_eq!(
            record.updates.len(),
            2,
            "two 40-byte updates fit in 100 bytes"
        );
        assert_eq!(record.updates[1].effective_instructions, "4".repeat(20));
        assert_eq!(record.records_dropped, 3);
        assert_eq!(record.texts_cut, 0);
        assert!(record.text_bytes() <= 100);
    }

    #[test]
    fn text_budget_cuts_a_record_that_alone_exceeds_it() {
        let retention = Retention {
            max_text_bytes: Some(11),
            ..Retention::full()
        };
        let mut record = SessionRecord::default();
        // 'é' is two bytes: the cut lands on a character boundary.
        record.push_update(update(&"é".repeat(20), true), &retention);
        let kept = &record.updates[0];
        assert_eq!(kept.effective_instructions, "ééééé");
        assert_eq!(kept.instructions.as_deref(), Some(""));
        assert_eq!(record.texts_cut, 1);
        record.push_error(error(&"x".repeat(50)), &retention);
        assert!(record.text_bytes() <= 11, "{}", record.text_bytes());
        assert_eq!(record.texts_cut, 2);
    }

    #[test]
    fn closing_compacts_only_when_asked() {
        let ledger = Ledger::default();
        let bounded = Retention::bounded();
        let full = Retention::full();
        for (index, retention) in [(0, &bounded), (1, &full)] {
            ledger.open(session(index), retention);
            ledger.with(index, |s| {
                s.store_audio(&[0u8; 800], 8, retention);
                s.push_update(update("same", true), retention);
                s.push_update(update("rejected", false), retention);
            });
            close(&ledger, index, retention);
        }
        let sessions = ledger.sessions();
        let (compacted, kept) = (&sessions[0], &sessions[1]);
        assert!(compacted.audio_received.is_empty());
        assert_eq!(compacted.updates[0].instructions, None);
        assert_eq!(compacted.updates[0].effective_instructions, "same");
        assert_eq!(
            compacted.updates[1].instructions.as_deref(),
            Some("rejected"),
            "raw instructions that never took effect are not a duplicate"
        );
        assert_eq!(kept.audio_received.len(), 800);
        assert_eq!(kept.updates[0].instructions.as_deref(), Some("same"));
    }

    #[test]
    fn bounded_ledgers_lump_unknown_event_types_together() {
        let retention = Retention {
            max_records: Some(2),
            ..Retention::full()
        };
        let mut record = SessionRecord::default();
        for ty in ["a", "b", "a", "c", "d", &"long".repeat(40)] {
            record.count_client_event(ty, &retention);
        }
        let counts: Vec<(&str, u64)> = record
            .client_events
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(counts, vec![(OTHER_EVENT_TYPES, 3), ("a", 2), ("b", 1)]);

        let mut full = SessionRecord::default();
        for ty in ["a", "b", "c"] {
            full.count_client_event(ty, &Retention::full());
        }
        assert_eq!(full.client_events.len(), 3);
    }
}
