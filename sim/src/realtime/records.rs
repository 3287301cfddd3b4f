//! The records the prompt ledger keeps, one per event of a session (`session.update`, response,
//! truncate, error, Live append, VAD turn), and how a bounded ledger measures and cuts the
//! client-controlled text they hold.

use serde::{Deserialize, Serialize};

/// The client-controlled text a record holds, as counted against [`Retention::max_text_bytes`](super::ledger::Retention::max_text_bytes).
pub(crate) trait TextBytes {
    fn text_bytes(&self) -> usize;
}

impl TextBytes for UpdateRecord {
    fn text_bytes(&self) -> usize {
        self.effective_instructions.len()
            + self.instructions.as_ref().map_or(0, String::len)
            + self.error.as_ref().map_or(0, |e| e.message.len())
    }
}

impl TextBytes for ResponseRecord {
    fn text_bytes(&self) -> usize {
        self.instructions.len()
    }
}

impl TextBytes for TruncateRecord {
    fn text_bytes(&self) -> usize {
        self.item_id.len() + self.error.as_ref().map_or(0, String::len)
    }
}

impl TextBytes for ErrorRecord {
    fn text_bytes(&self) -> usize {
        self.message.len()
    }
}

impl TextBytes for AppendRecord {
    fn text_bytes(&self) -> usize {
        self.content.len()
    }
}

impl TextBytes for VadTurn {
    fn text_bytes(&self) -> usize {
        0
    }
}

/// Cuts `text` to at most `room` bytes (at a character boundary), takes what it keeps from
/// `room` and says whether it cut anything.
pub(crate) fn cut_text(text: &mut String, room: &mut usize) -> bool {
    let cut = text.len() > *room;
    if cut {
        let mut end = *room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.shrink_to_fit();
    }
    *room -= text.len();
    cut
}

pub(crate) fn cut_opt(text: &mut Option<String>, room: &mut usize) -> bool {
    text.as_mut().is_some_and(|t| cut_text(t, room))
}

pub(crate) fn cut_opt_error(error: &mut Option<ErrorRecord>, room: &mut usize) -> bool {
    error
        .as_mut()
        .is_some_and(|e| cut_text(&mut e.message, room))
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
    /// When the mock sent the item's first audio delta, if it is known and has audio: no audio
    /// of the item can have been heard before then. Left out of serialized records when unknown,
    /// so records of items without audio read as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_audio_from_ms: Option<u64>,
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

/// One context append of a Live session: text that joins the start instructions for every
/// response after the model injected it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppendRecord {
    /// When it arrived.
    pub at_ms: u64,
    /// The event that carried it: `session.instructions.append`, `session.thinking.append` or
    /// `session.commentary.append`.
    pub source: String,
    /// The appended text.
    pub content: String,
    /// The delegation it answers, `None` for general context.
    pub delegation_id: Option<String>,
    /// When the model injected it (the acknowledgement); `None` if the session ended first.
    pub injected_at_ms: Option<u64>,
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
