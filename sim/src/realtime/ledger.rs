//! The prompt ledger: what every mock session was told and what it answered.
//!
//! Scenarios snapshot this record to prove which instructions, formats and voices were really in
//! force for each response; it outlives the connections it describes. All times are milliseconds
//! of simulation time since the clock start; nothing here reads the wall clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// Raw input audio kept per session, in milliseconds (30 minutes).
const AUDIO_CAP_MS: usize = 30 * 60 * 1000;

/// A shared, cloneable recorder of mock sessions.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    inner: Arc<Mutex<Vec<SessionRecord>>>,
}

impl Ledger {
    /// Every session in accept order, open or closed.
    pub fn sessions(&self) -> Vec<SessionRecord> {
        self.lock().clone()
    }

    /// How many sessions are still open.
    pub fn open_sessions(&self) -> usize {
        self.lock()
            .iter()
            .filter(|s| s.closed_at_ms.is_none())
            .count()
    }

    /// Adds a session record, keeping accept order by index.
    pub(crate) fn open(&self, record: SessionRecord) {
        let mut sessions = self.lock();
        let at = sessions.partition_point(|s| s.index < record.index);
        sessions.insert(at, record);
    }

    /// Applies `f` to the record of session `index`, if present.
    pub(crate) fn with<R>(
        &self,
        index: usize,
        f: impl FnOnce(&mut SessionRecord) -> R,
    ) -> Option<R> {
        let mut sessions = self.lock();
        sessions.iter_mut().find(|s| s.index == index).map(f)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SessionRecord>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// Effective input format at close, e.g. `audio/pcmu`.
    pub input_format: String,
    /// Effective output format at close.
    pub output_format: String,
}

impl SessionRecord {
    /// Stores appended audio up to about 30 minutes' worth of the current input format.
    pub(crate) fn store_audio(&mut self, bytes: &[u8], bytes_per_ms: usize) {
        let cap = AUDIO_CAP_MS.saturating_mul(bytes_per_ms);
        let room = cap.saturating_sub(self.audio_received.len());
        let take = room.min(bytes.len());
        self.audio_received.extend_from_slice(&bytes[..take]);
    }
}

/// One `session.update` as received and judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateRecord {
    /// When it arrived.
    pub at_ms: u64,
    /// Whether it was applied.
    pub accepted: bool,
    /// The error sent when rejected.
    pub error: Option<ErrorRecord>,
    /// The instructions as sent, if present.
    pub instructions: Option<String>,
    /// Instructions in force afterwards (unchanged when rejected).
    pub effective_instructions: String,
    /// Input format in force afterwards.
    pub input_format: String,
    /// Output format in force afterwards.
    pub output_format: String,
    /// Voice in force afterwards.
    pub voice: String,
    /// Turn detection type in force afterwards (`server_vad`, `semantic_vad`, or none).
    pub turn_detection: Option<String>,
}

/// One model response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseRecord {
    /// The `resp_…` id.
    pub response_id: String,
    /// When it was created.
    pub at_ms: u64,
    /// `vad`, `response.create` or `idle_timeout`.
    pub trigger: String,
    /// The effective instructions for this response.
    pub instructions: String,
    /// `session` or `response` (a per-response override).
    pub instructions_source: String,
    /// Effective voice.
    pub voice: String,
    /// Effective output format.
    pub output_format: String,
    /// Session input format at creation.
    pub input_format: String,
    /// Names of the tools offered.
    pub tools: Vec<String>,
    /// `auto` or `none` (out-of-band).
    pub conversation: String,
    /// Final status: completed, cancelled, failed, incomplete or in_progress.
    pub status: String,
    /// `status_details.reason` or the failure code.
    pub status_reason: Option<String>,
    /// Milliseconds of audio sent.
    pub audio_ms: u64,
    /// Text or transcript sent.
    pub text: String,
    /// Name of the function called, if any.
    pub tool_call: Option<String>,
    /// When the response ended.
    pub ended_at_ms: Option<u64>,
}

/// One `conversation.item.truncate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruncateRecord {
    /// When it arrived.
    pub at_ms: u64,
    /// Target item.
    pub item_id: String,
    /// Requested cut point.
    pub audio_end_ms: u64,
    /// Audio length of the item, if it is known and has audio.
    pub item_audio_ms: Option<u64>,
    /// The error message, if it was rejected.
    pub error: Option<String>,
}

/// One `error` event sent to the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// When it was sent.
    pub at_ms: u64,
    /// `error.code`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: String,
    /// `error.param`.
    pub param: Option<String>,
    /// The type of the client event that caused it, if any.
    pub client_event_type: Option<String>,
}

/// One server VAD speech cycle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VadTurn {
    /// `audio_start_ms` of `speech_started` (audio time).
    pub speech_started_ms: u64,
    /// `audio_end_ms` of `speech_stopped`, if speech stopped.
    pub speech_stopped_ms: Option<u64>,
    /// Simulation time when speech started.
    pub at_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_keep_accept_order_and_count_open_ones() {
        let ledger = Ledger::default();
        for index in [1, 0, 2] {
            ledger.open(SessionRecord {
                index,
                ..SessionRecord::default()
            });
        }
        ledger.with(1, |s| s.closed_at_ms = Some(5));
        let indexes: Vec<usize> = ledger.sessions().iter().map(|s| s.index).collect();
        assert_eq!(indexes, vec![0, 1, 2]);
        assert_eq!(ledger.open_sessions(), 2);
    }

    #[test]
    fn stored_audio_is_capped() {
        let mut record = SessionRecord::default();
        let cap = AUDIO_CAP_MS * 8;
        record.store_audio(&vec![0u8; cap - 10], 8);
        record.store_audio(&[1u8; 100], 8);
        assert_eq!(record.audio_received.len(), cap);
    }
}
