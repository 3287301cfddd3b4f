//! The validated scenario: every reference resolved, every file loaded, every alternative
//! checked to be exactly one, so the runner never meets a bad input. [`super::validate`] builds
//! it from the raw model.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::expect::Expectation;

/// Default seed when a scenario gives none.
pub const DEFAULT_SEED: u64 = 1;

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file.
    pub file: PathBuf,
    /// The scenario's name: its path relative to the scenarios root without extension
    /// (`seed/inbound-empty-ai-prompt`); also the snapshot name.
    pub name: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Clock.
    pub clock: ClockMode,
    /// Hard cap on the scenario's duration.
    pub timeout: Duration,
    /// Reference-server profiles under which this scenario is expected to fail.
    pub fails_under: Vec<Profile>,
    /// Tenants.
    pub tenants: BTreeMap<String, TenantPlan>,
    /// Tenant edits, sorted by time.
    pub tenant_changes: Vec<TenantChange>,
    /// Calls in file order.
    pub calls: Vec<CallPlan>,
    /// The AI script.
    pub ai: AiPlan,
    /// Snapshot selection.
    pub snapshot: Vec<SnapshotPart>,
    /// Assertions.
    pub expectations: Vec<Expectation>,
    /// Built-in invariants waived, by id, with the scenario's reason.
    pub waivers: BTreeMap<String, String>,
    /// Settings of the bundled reference server for this scenario (in-process runs only).
    pub reference_server: ReferenceServerPlan,
    /// Network faults on the links (memory transport only).
    pub links: LinkFaultsPlan,
}

/// Network faults on each link a scenario can make faulty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkFaultsPlan {
    /// The server's connections to the mock AI.
    pub ai: Option<LinkFaultPlan>,
    /// The fake Twilio's connections to the server.
    pub twilio: Option<LinkFaultPlan>,
}

impl LinkFaultsPlan {
    /// Whether any link is faulty.
    pub fn any(&self) -> bool {
        self.ai.is_some() || self.twilio.is_some()
    }
}

/// Network faults on one link; every time counts from the scenario start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkFaultPlan {
    /// One-way latency added in each direction.
    pub latency: Duration,
    /// Seeded jitter, uniform within ± this; delivery never precedes the send.
    pub jitter: Duration,
    /// A stall: from when, and for how long.
    pub stall: Option<(Duration, Duration)>,
    /// When every open connection of the link is cut.
    pub drop_at: Option<Duration>,
}

/// How the bundled reference server is set up for one scenario; an external target ignores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReferenceServerPlan {
    /// When its webhook's prompt pre-build is done.
    pub prebuild: Prebuild,
}

/// When the reference server's webhook pre-builds the call's prompt: as usual, only after the
/// stream has started, or never, so that the stream-side builder and the prompt cache can be
/// tested on their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Prebuild {
    /// In the webhook's background task, as the seed system does.
    #[default]
    Normal,
    /// After the stream has started.
    Late,
    /// Never.
    Absent,
}

/// A profile of the bundled reference server: the behaviour of the seed system it reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The seed's three root causes.
    Legacy,
    /// None of them.
    Fixed,
}

impl Profile {
    /// `legacy` or `fixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Legacy => "legacy",
            Profile::Fixed => "fixed",
        }
    }
}

/// Parts of the transcript a snapshot can pin, in the order a snapshot shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SnapshotPart {
    /// The prompt ledger: every AI session, update and response with its instructions.
    Prompts,
    /// Call outcomes: status, webhooks, stream summary (marks, clears), callbacks.
    Calls,
    /// The server's residual state after the calls.
    Server,
}

/// Clock mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    /// Paused tokio clock (in-process only).
    Virtual,
    /// Real time.
    Real,
}

/// A tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TenantPlan {
    /// Display name.
    pub business_name: String,
    /// Inbound prompt.
    pub inbound_prompt: String,
    /// Outbound prompt.
    pub outbound_prompt: String,
    /// Greeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// Voice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Whether the tenant is provisioned on the target (false: a tenant the server has never
    /// heard of, to see what its calls get).
    #[serde(skip)]
    pub provision: bool,
    /// Caller-specific notes by the caller's E.164 number.
    #[serde(skip)]
    pub contacts: BTreeMap<String, String>,
    /// The E.164 numbers the tenant is called at, in the scenario's order.
    #[serde(skip)]
    pub numbers: Vec<String>,
}

#[cfg(test)]
impl TenantPlan {
    /// A provisioned tenant named Acme with these prompts and nothing else, for tests.
    pub(crate) fn acme(inbound: &str, outbound: &str) -> TenantPlan {
        TenantPlan {
            business_name: "Acme".into(),
            inbound_prompt: inbound.into(),
            outbound_prompt: outbound.into(),
            greeting: None,
            voice: None,
            provision: true,
            contacts: BTreeMap::new(),
            numbers: Vec::new(),
        }
    }
}

/// A tenant edit.
#[derive(Debug, Clone)]
pub struct TenantChange {
    /// When.
    pub at: Duration,
    /// Which tenant.
    pub tenant: String,
    /// The tenant's full settings after the edit.
    pub after: TenantPlan,
}

/// Direction of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallDirection {
    /// Twilio posts the voice webhook.
    Inbound,
    /// The server places the call through the REST API.
    Outbound,
}

impl CallDirection {
    /// `inbound` or `outbound`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallDirection::Inbound => "inbound",
            CallDirection::Outbound => "outbound",
        }
    }
}

/// One caller step with its audio already rendered.
#[derive(Debug, Clone)]
pub enum StepPlan {
    /// Audio to send (µ-law 8 kHz).
    Audio {
        /// What it is (`hello.wav`, `tone 440Hz`, `speech`).
        label: String,
        /// The bytes.
        mulaw: Arc<Vec<u8>>,
    },
    /// Silence.
    Silence(Duration),
    /// DTMF digits.
    Dtmf(String),
    /// Hang up.
    Hangup,
}

/// What the callee of an outbound call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Picks up.
    Answer,
    /// Busy.
    Busy,
    /// Never picks up.
    NoAnswer,
}

/// A webhook fault on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFault {
    /// The primary URL answers this status.
    Status(u16),
    /// The primary URL never answers.
    Timeout,
}

/// Faults that apply to one call.
#[derive(Debug, Clone, Default)]
pub struct CallFaultPlan {
    /// Primary webhook fault and whether the real webhook is the fallback.
    pub webhook: Option<(WebhookFault, bool)>,
    /// Drop the stream connection after this long.
    pub stream_drop_at: Option<Duration>,
    /// Send the webhook unsigned.
    pub unsigned_webhook: bool,
    /// Send the webhook with a wrong signature.
    pub bad_webhook_signature: bool,
    /// Open the stream unsigned.
    pub unsigned_stream: bool,
}

/// One call.
#[derive(Debug, Clone)]
pub struct CallPlan {
    /// Name.
    pub name: String,
    /// Tenant slug.
    pub tenant: String,
    /// Direction.
    pub direction: CallDirection,
    /// Start, from the scenario start.
    pub start: Duration,
    /// From number.
    pub from: String,
    /// To number.
    pub to: String,
    /// Delay between TwiML and stream.
    pub connect_delay: Duration,
    /// Caller steps.
    pub steps: Vec<StepPlan>,
    /// Hang-up time from the stream start.
    pub hangup_at: Option<Duration>,
    /// Outbound: callee behaviour.
    pub answer: Answer,
    /// Outbound: ring time.
    pub ring: Duration,
    /// Faults.
    pub faults: CallFaultPlan,
    /// How the server is to find the call's tenant.
    pub resolve_by: ResolveBy,
}

/// How the server finds a call's tenant: which voice webhook the fake Twilio posts (inbound) and
/// which caller ID the call is placed from (outbound).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResolveBy {
    /// The webhook URL names the tenant's slug.
    #[default]
    Slug,
    /// The slug-less webhook; the tenant's number is `To` (inbound) or `From` (outbound).
    Number,
}

/// Reply audio.
#[derive(Debug, Clone)]
pub enum ReplyAudioPlan {
    /// None.
    None,
    /// A tone.
    Tone(Duration),
    /// Filler.
    Filler(Duration),
    /// Linear 8 kHz samples from a WAV file.
    Pcm8k(Arc<Vec<i16>>),
}

/// An error to inject.
#[derive(Debug, Clone)]
pub struct ErrorPlan {
    /// Code.
    pub code: String,
    /// Message.
    pub message: String,
    /// Type.
    pub error_type: String,
}

/// One scripted reply.
#[derive(Debug, Clone)]
pub struct ReplyPlan {
    /// Text.
    pub text: String,
    /// Audio.
    pub audio: ReplyAudioPlan,
    /// Tool call (name, JSON arguments).
    pub tool_call: Option<(String, String)>,
    /// Failure.
    pub fail: Option<ErrorPlan>,
    /// Injected error event.
    pub error: Option<ErrorPlan>,
}

/// An AI fault.
#[derive(Debug, Clone)]
pub enum AiFaultPlan {
    /// Error event.
    Error {
        /// Connection index.
        session: usize,
        /// When after it opened.
        at: Duration,
        /// The error.
        error: ErrorPlan,
    },
    /// Socket dropped.
    Drop {
        /// Connection index.
        session: usize,
        /// When after it opened.
        at: Duration,
    },
}

/// The AI script.
#[derive(Debug, Clone)]
pub struct AiPlan {
    /// Max session length.
    pub max_session: Duration,
    /// Replies.
    pub replies: Vec<ReplyPlan>,
    /// Default reply.
    pub default_reply: Option<ReplyPlan>,
    /// Faults.
    pub faults: Vec<AiFaultPlan>,
    /// Seconds of reply audio streamed per second of scenario time (1.0 is real time); `None`
    /// keeps the mock's own pace, a burst of about ten times real time.
    pub audio_pace: Option<f64>,
    /// The protocol the model speaks, and so the one the in-process server is switched to.
    pub dialect: AiDialect,
}

/// The protocol the model speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AiDialect {
    /// OpenAI Realtime GA (`/v1/realtime`).
    #[default]
    Realtime,
    /// OpenAI Live (`/v1/live/sessions`).
    Live,
}

impl AiDialect {
    /// `realtime` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            AiDialect::Realtime => "realtime",
            AiDialect::Live => "live",
        }
    }
}
