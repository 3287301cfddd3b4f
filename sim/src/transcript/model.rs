//! The transcript of one scenario run: what every call did and which prompt reached the AI.
//!
//! **Invariant:** a transcript contains no wall-clock values and no ids that do not come from the
//! scenario's seed, so two runs of a scenario serialise to identical bytes. Times are
//! milliseconds since the scenario start on the scenario's clock (virtual or real).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::invariants::Finding;

/// Everything observed in one scenario run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transcript {
    /// Scenario name (`seed/inbound-empty-ai-prompt`).
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// What was driven (`reference server (fixed)` or a URL).
    pub target: String,
    /// The tenants as provisioned.
    pub tenants: BTreeMap<String, TenantState>,
    /// Tenant edits made during the run.
    pub tenant_changes: Vec<TenantChangeRecord>,
    /// One entry per call, in scenario order.
    pub calls: Vec<CallSummary>,
    /// The prompt ledger.
    pub ai: AiSummary,
    /// What the server left behind.
    pub server: ServerSummary,
    /// Simulated duration of the run in milliseconds.
    pub simulated_ms: u64,
    /// Violations of the built-in invariants (waived ones say why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invariants: Vec<Finding>,
}

/// A tenant's settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TenantState {
    /// Display name.
    pub business_name: String,
    /// Inbound prompt.
    pub inbound_prompt: String,
    /// Outbound prompt.
    pub outbound_prompt: String,
    /// Greeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
}

/// A tenant edit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TenantChangeRecord {
    /// When.
    pub at_ms: u64,
    /// Which tenant.
    pub tenant: String,
    /// The revision the edit created (the provisioned settings are revision 1).
    pub revision: u32,
    /// HTTP status of the fixture API call.
    pub http_status: Option<u16>,
}

/// One webhook attempt, condensed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WebhookSummary {
    /// When.
    pub at_ms: u64,
    /// Public URL.
    pub url: String,
    /// Whether it was the fallback URL.
    pub fallback: bool,
    /// Whether it carried a signature.
    pub signed: bool,
    /// HTTP status, if any answer came.
    pub http_status: Option<u16>,
    /// Twilio error code recorded for this attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
}

/// The media stream of a call, condensed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamSummary {
    /// Stream SID.
    pub stream_sid: String,
    /// URL from the TwiML.
    pub url: String,
    /// `<Parameter>`s.
    pub custom_parameters: BTreeMap<String, String>,
    /// HTTP status of the upgrade (101 when accepted).
    pub handshake_status: Option<u16>,
    /// When the stream connected.
    pub connected_at_ms: Option<u64>,
    /// When it ended.
    pub ended_at_ms: Option<u64>,
    /// Who ended it.
    pub ended_by: Option<String>,
    /// Marks the server sent.
    pub marks_sent: u32,
    /// Marks echoed back.
    pub marks_echoed: u32,
    /// Times of `clear` messages.
    pub clears_at_ms: Vec<u64>,
    /// Milliseconds of server audio the caller heard.
    pub audio_heard_ms: u64,
    /// Invalid-message warnings (31950/31951).
    pub warnings: Vec<u32>,
}

/// One call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallSummary {
    /// Scenario name of the call.
    pub name: String,
    /// Tenant.
    pub tenant: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Call SID.
    pub call_sid: String,
    /// Final Twilio status.
    pub status: String,
    /// Duration in seconds, when completed.
    pub duration_secs: Option<u64>,
    /// Start.
    pub started_at_ms: u64,
    /// End.
    pub ended_at_ms: Option<u64>,
    /// Webhook attempts.
    pub webhooks: Vec<WebhookSummary>,
    /// The first media stream.
    pub stream: Option<StreamSummary>,
    /// Status callbacks as `event@ms`.
    pub status_callbacks: Vec<String>,
    /// Twilio error codes recorded on the call.
    pub errors: Vec<u32>,
    /// Indexes of the AI sessions that served this call.
    pub ai_sessions: Vec<usize>,
    /// The instructions of the call's first AI response (else its first session's effective
    /// instructions): the prompt the caller actually talked to.
    pub instructions: Option<String>,
    /// Which known text those instructions carry (`acme.inbound_prompt`, `acme.outbound_prompt`,
    /// `openai-default`, `other`, `none`).
    pub prompt_source: String,
    /// True when the call got the other direction's tenant prompt: the seed bug.
    pub direction_mixup: bool,
}

/// One `session.update`, condensed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpdateSummary {
    /// When.
    pub at_ms: u64,
    /// Accepted or rejected.
    pub accepted: bool,
    /// Error code when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Source of the instructions after the update.
    pub prompt_source: String,
    /// Input format after the update.
    pub input_format: String,
    /// Output format after the update.
    pub output_format: String,
}

/// One AI session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionSummary {
    /// Accept order.
    pub index: usize,
    /// The call it served, when known.
    pub call: Option<String>,
    /// Opened.
    pub opened_at_ms: u64,
    /// Closed.
    pub closed_at_ms: Option<u64>,
    /// How long it was open.
    pub lifetime_ms: Option<u64>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// Close code.
    pub close_code: Option<u16>,
    /// Effective instructions at the end of the session.
    pub instructions: String,
    /// Their source.
    pub prompt_source: String,
    /// Every update.
    pub updates: Vec<UpdateSummary>,
    /// Number of responses.
    pub responses: usize,
    /// `conversation.item.truncate` requests.
    pub truncates: Vec<TruncateSummary>,
    /// Error codes the mock sent.
    pub errors_sent: Vec<String>,
    /// Seconds of caller audio the session received.
    ///
    /// Rounded to the second: a caller frame that arrives at the instant a session expires or
    /// drops may be counted by either session, and the transcript must not depend on which.
    pub audio_received_s: u64,
    /// `live` for a session of the Live dialect; absent for Realtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// The context appends of a Live session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub appends: Vec<AppendSummary>,
    /// The first `session.update`'s `session` object as the server sent it (raw JSON), so a
    /// scenario can assert e.g. `ai.sessions[0].config.audio.output.voice`. Snapshots leave it
    /// out, so they stay as they were pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
}

/// One context append of a Live session, condensed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppendSummary {
    /// When it arrived.
    pub at_ms: u64,
    /// `session.instructions.append`, `session.thinking.append` or `session.commentary.append`.
    pub source: String,
    /// The known prompt its text carries.
    pub prompt_source: String,
    /// When the model injected it; absent if the session ended first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_at_ms: Option<u64>,
}

/// One truncate request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TruncateSummary {
    /// When.
    pub at_ms: u64,
    /// Requested cut point.
    pub audio_end_ms: u64,
    /// Length of the item's audio, when the item existed.
    pub item_audio_ms: Option<u64>,
    /// The error the mock answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One AI response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResponseSummary {
    /// Session index.
    pub session: usize,
    /// The call, when known.
    pub call: Option<String>,
    /// When.
    pub at_ms: u64,
    /// `vad`, `response.create` or `idle_timeout`.
    pub trigger: String,
    /// Effective instructions.
    pub instructions: String,
    /// Their source.
    pub prompt_source: String,
    /// Final status.
    pub status: String,
    /// The function the model called in this response, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<String>,
}

/// The prompt ledger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AiSummary {
    /// Sessions in accept order.
    pub sessions: Vec<SessionSummary>,
    /// All responses of all sessions, in time order.
    pub responses: Vec<ResponseSummary>,
    /// Sessions still open after every call ended (should be 0).
    pub open_sessions: usize,
}

/// The server's residual state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerSummary {
    /// `none` when nothing remained, else what remained.
    pub residual_state: serde_json::Value,
}
