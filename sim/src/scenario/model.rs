//! The raw scenario model: exactly what a YAML file may say, parsed with `deny_unknown_fields`.
//!
//! Nothing here is validated beyond its shape; [`super::plan`] turns a [`RawScenario`] into a
//! checked [`super::plan::Plan`]. Alternatives (`- silence: 2s` or `- say: hello.wav`) are
//! structs of optional keys with `deny_unknown_fields` rather than untagged enums, so that a typo
//! gets a precise "unknown field, expected one of …" message with its location; the plan checks
//! that exactly one key is present.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::duration::HumanDuration;

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// One line saying what the scenario shows.
    pub title: String,
    /// Longer explanation (free text).
    #[serde(default)]
    pub description: Option<String>,
    /// Free-form tags; `seed-bug` marks scenarios that reproduce a root cause of the seed RCA.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Seed of every generated id; the same seed gives byte-identical transcripts.
    #[serde(default)]
    pub seed: Option<u64>,
    /// `virtual` (default in-process) or `real`.
    #[serde(default)]
    pub clock: Option<RawClock>,
    /// Hard cap on the scenario's (virtual or real) duration.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Profiles of the bundled reference server under which this scenario is expected to FAIL
    /// (documents a reproduced bug; the suite asserts the failure).
    #[serde(default)]
    pub fails_under: Vec<RawProfile>,
    /// Tenants provisioned through the target's fixture API before the first call.
    #[serde(default)]
    pub tenants: BTreeMap<String, RawTenant>,
    /// Edits of tenant settings at a time (for example a prompt edited mid-call).
    #[serde(default)]
    pub tenant_changes: Vec<RawTenantChange>,
    /// The calls to play.
    pub calls: Vec<RawCall>,
    /// What the mock AI does.
    #[serde(default)]
    pub ai: RawAi,
    /// Injected faults.
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// Which parts of the transcript the snapshot pins (default: prompts and calls).
    #[serde(default)]
    pub snapshot: Option<Vec<RawSnapshotPart>>,
    /// Assertions: each item maps one transcript path to a matcher.
    #[serde(default)]
    pub expect: Vec<BTreeMap<String, serde_json::Value>>,
    /// Built-in invariants this scenario waives, each with the reason why.
    #[serde(default)]
    pub waive: BTreeMap<String, String>,
    /// Settings of the bundled reference server (in-process runs only).
    #[serde(default)]
    pub reference_server: RawReferenceServer,
}

/// Clock choice.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawClock {
    /// Paused tokio clock: hours of call time in seconds (in-process targets only).
    Virtual,
    /// Real time.
    Real,
}

/// A tenant (business).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    /// Display name.
    pub business_name: String,
    /// The inbound system prompt (`ai_prompt`); may be empty.
    #[serde(default)]
    pub inbound_prompt: String,
    /// The outbound system prompt (`outbound_ai_prompt`); may be empty.
    #[serde(default)]
    pub outbound_prompt: String,
    /// Optional greeting the server asks the AI to say first.
    #[serde(default)]
    pub greeting: Option<String>,
    /// Optional voice.
    #[serde(default)]
    pub voice: Option<String>,
    /// Whether callsim provisions it on the target (default true; false makes a tenant the
    /// server has never heard of).
    #[serde(default)]
    pub provision: Option<bool>,
    /// Caller-specific notes the tenant keeps, by the caller's E.164 number; a server that
    /// supports them adds them to that caller's prompt, and to nobody else's.
    #[serde(default)]
    pub contacts: BTreeMap<String, String>,
    /// The E.164 numbers the tenant is called at, provisioned with it; the first is the one a
    /// call with `resolve_by: number` dials (inbound) or calls from (outbound).
    #[serde(default)]
    pub numbers: Vec<String>,
}

/// A tenant edit at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenantChange {
    /// When, from the scenario start.
    pub at: HumanDuration,
    /// Which tenant.
    pub tenant: String,
    /// New business name.
    #[serde(default)]
    pub business_name: Option<String>,
    /// New inbound prompt.
    #[serde(default)]
    pub inbound_prompt: Option<String>,
    /// New outbound prompt.
    #[serde(default)]
    pub outbound_prompt: Option<String>,
    /// New greeting.
    #[serde(default)]
    pub greeting: Option<String>,
    /// New voice.
    #[serde(default)]
    pub voice: Option<String>,
}

/// Call direction as written in scenarios.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawDirection {
    /// A caller dials the tenant's number: Twilio posts the voice webhook.
    Inbound,
    /// The server places the call through `/calls/outbound` and the Twilio REST API.
    Outbound,
}

/// What the callee of an outbound call does.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RawAnswer {
    /// Picks up.
    Answer,
    /// Busy signal.
    Busy,
    /// Never picks up.
    NoAnswer,
}

/// One call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCall {
    /// Name used in assertions (`calls.<name>`); defaults to `call-<index>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Which tenant is called (inbound) or calls (outbound).
    pub tenant: String,
    /// Direction.
    pub direction: RawDirection,
    /// When the call starts, from the scenario start.
    #[serde(default)]
    pub start: Option<HumanDuration>,
    /// Caller number (inbound) / the tenant's number (outbound).
    #[serde(default)]
    pub from: Option<String>,
    /// Called number.
    #[serde(default)]
    pub to: Option<String>,
    /// Delay between the TwiML answer and the stream opening.
    #[serde(default)]
    pub connect_delay: Option<HumanDuration>,
    /// What the caller does, from the moment the media stream starts.
    #[serde(default)]
    pub timeline: Vec<RawStep>,
    /// When the caller hangs up, from the moment the media stream starts.
    #[serde(default)]
    pub hangup_at: Option<HumanDuration>,
    /// Outbound only: what the callee does.
    #[serde(default)]
    pub answer: Option<RawAnswer>,
    /// Outbound only: how long it rings before the callee answers.
    #[serde(default)]
    pub ring: Option<HumanDuration>,
    /// How the server finds the call's tenant: `slug` (default, the webhook URL names it) or
    /// `number` (the slug-less webhook; the tenant's number is `To` inbound, `From` outbound).
    #[serde(default)]
    pub resolve_by: Option<RawResolveBy>,
}

/// How the server finds a call's tenant.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawResolveBy {
    /// From the slug in the webhook URL.
    Slug,
    /// From the tenant's number: the number called (inbound) or called from (outbound).
    Number,
}

/// One caller timeline step: a map with exactly one of these keys (checked by the plan).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Play a WAV file (path relative to the scenario file).
    #[serde(default)]
    pub say: Option<String>,
    /// Synthetic speech-like audio for a duration.
    #[serde(default)]
    pub speech: Option<HumanDuration>,
    /// A sine tone.
    #[serde(default)]
    pub tone: Option<RawTone>,
    /// Silence (0xFF frames keep flowing, as on a real line).
    #[serde(default)]
    pub silence: Option<HumanDuration>,
    /// DTMF digits.
    #[serde(default)]
    pub dtmf: Option<String>,
    /// Hang up now (`hangup: true`).
    #[serde(default)]
    pub hangup: Option<bool>,
}

/// A tone step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTone {
    /// Frequency in Hz (default 440).
    #[serde(default)]
    pub hz: Option<f32>,
    /// Length.
    #[serde(rename = "for")]
    pub length: HumanDuration,
}

/// The AI script.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAi {
    /// Maximum session length before `session_expired` (default 60m).
    #[serde(default)]
    pub max_session: Option<HumanDuration>,
    /// Replies in order: the n-th response of a session uses the n-th reply.
    #[serde(default)]
    pub replies: Vec<RawReply>,
    /// The reply used once `replies` are exhausted.
    #[serde(default)]
    pub default_reply: Option<RawReply>,
    /// How fast reply audio is streamed: seconds of audio per second of scenario time (1.0 is
    /// real time); absent, the mock's burst.
    #[serde(default)]
    pub audio_pace: Option<f64>,
    /// The protocol the model speaks: `realtime` (the default) or `live`.
    #[serde(default)]
    pub dialect: Option<RawAiDialect>,
}

/// One scripted model reply.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReply {
    /// Transcript text.
    #[serde(default)]
    pub text: Option<String>,
    /// Audio of the reply.
    #[serde(default)]
    pub audio: Option<RawReplyAudio>,
    /// A function call the model makes in this response.
    #[serde(default)]
    pub tool_call: Option<RawToolCall>,
    /// The response fails (`response.done` status failed) with this error.
    #[serde(default)]
    pub fail: Option<RawError>,
    /// An `error` event sent when this response starts.
    #[serde(default)]
    pub error: Option<RawError>,
}

/// Reply audio: a map with exactly one of these keys.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReplyAudio {
    /// A tone of this length.
    #[serde(default)]
    pub tone: Option<HumanDuration>,
    /// Speech-like filler of this length.
    #[serde(default)]
    pub filler: Option<HumanDuration>,
    /// A WAV file (relative to the scenario file).
    #[serde(default)]
    pub wav: Option<String>,
    /// No audio (`none: true`).
    #[serde(default)]
    pub none: Option<bool>,
}

/// A tool call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToolCall {
    /// Function name.
    pub name: String,
    /// Arguments (any YAML value; sent as JSON text).
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// An error code and message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawError {
    /// Error code, e.g. `server_error`.
    pub code: String,
    /// Message text.
    #[serde(default)]
    pub message: Option<String>,
    /// Error type (default `server_error` for injected errors).
    #[serde(default, rename = "type")]
    pub error_type: Option<String>,
}

/// A fault to inject: a map with exactly one of these keys.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// The voice webhook answers this HTTP status (the primary URL points at callsim's fault
    /// endpoint); with `fallback: true` the server's real webhook is the fallback URL.
    #[serde(default)]
    pub webhook_error: Option<RawWebhookFault>,
    /// The voice webhook never answers (Twilio's 15 s timeout fires).
    #[serde(default)]
    pub webhook_timeout: Option<RawWebhookTimeout>,
    /// The mock AI sends an `error` event.
    #[serde(default)]
    pub ai_error: Option<RawAiError>,
    /// The mock AI drops the TCP connection without a close frame.
    #[serde(default)]
    pub ai_drop: Option<RawAiAt>,
    /// The media stream connection drops (network failure): no `stop`, no close frame.
    #[serde(default)]
    pub stream_drop: Option<RawCallAt>,
    /// The webhook is sent without `X-Twilio-Signature`.
    #[serde(default)]
    pub unsigned_webhook: Option<RawCallRef>,
    /// The webhook carries a wrong signature.
    #[serde(default)]
    pub bad_webhook_signature: Option<RawCallRef>,
    /// The stream upgrade is sent without `X-Twilio-Signature`.
    #[serde(default)]
    pub unsigned_stream: Option<RawCallRef>,
    /// Network faults on every connection the server opens to the mock AI.
    #[serde(default)]
    pub ai_link: Option<RawLinkFault>,
    /// Network faults on every connection the fake Twilio opens to the server (webhooks,
    /// callbacks and Media Streams sockets).
    #[serde(default)]
    pub twilio_link: Option<RawLinkFault>,
}

/// Network faults on one link (memory transport only); times count from the scenario start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLinkFault {
    /// One-way latency added in each direction.
    #[serde(default)]
    pub latency: Option<HumanDuration>,
    /// Seeded jitter, uniform within ± this.
    #[serde(default)]
    pub jitter: Option<HumanDuration>,
    /// When nothing starts being delivered in either direction.
    #[serde(default)]
    pub stall_at: Option<HumanDuration>,
    /// How long the stall lasts (only with `stall_at`).
    #[serde(default, rename = "for")]
    pub stall_for: Option<HumanDuration>,
    /// When every open connection of the link is cut.
    #[serde(default)]
    pub drop_at: Option<HumanDuration>,
}

/// A webhook error fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhookFault {
    /// Which call.
    pub call: String,
    /// HTTP status the primary URL answers.
    pub status: u16,
    /// Whether the real webhook is configured as the fallback URL (default true).
    #[serde(default)]
    pub fallback: Option<bool>,
}

/// A webhook timeout fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhookTimeout {
    /// Which call.
    pub call: String,
    /// Whether the real webhook is configured as the fallback URL (default true).
    #[serde(default)]
    pub fallback: Option<bool>,
}

/// An AI error fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAiError {
    /// AI connection index (accept order, from 0).
    #[serde(default)]
    pub session: usize,
    /// When, after that connection opened.
    pub at: HumanDuration,
    /// Error code.
    pub code: String,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
    /// Error type.
    #[serde(default, rename = "type")]
    pub error_type: Option<String>,
}

/// A fault at a time on one AI connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAiAt {
    /// AI connection index (accept order, from 0).
    #[serde(default)]
    pub session: usize,
    /// When, after that connection opened.
    pub at: HumanDuration,
}

/// A fault at a time on one call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCallAt {
    /// Which call.
    pub call: String,
    /// When, from the stream start.
    pub at: HumanDuration,
}

/// A fault on one call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCallRef {
    /// Which call.
    pub call: String,
}

/// Settings of the bundled reference server for one scenario.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReferenceServer {
    /// `normal`, `late` or `absent`.
    #[serde(default)]
    pub prebuild: Option<RawPrebuild>,
}

/// When the reference server pre-builds the prompt.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawPrebuild {
    /// As usual.
    Normal,
    /// After the stream started.
    Late,
    /// Never.
    Absent,
}

/// The model's protocol.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawAiDialect {
    /// OpenAI Realtime GA.
    Realtime,
    /// OpenAI Live.
    Live,
}

/// A profile of the bundled reference server.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawProfile {
    /// The seed's three root causes.
    Legacy,
    /// None of them.
    Fixed,
}

/// Parts of the transcript a snapshot can pin.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RawSnapshotPart {
    /// The prompt ledger: every AI session, update and response with its instructions.
    Prompts,
    /// Call outcomes: status, webhooks, stream summary (marks, clears), callbacks.
    Calls,
    /// The server's residual state after the calls.
    Server,
}
