//! What a scenario asks for: one call, its caller script and its faults.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Who started the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// A caller dialled the tenant's number.
    #[serde(rename = "inbound")]
    Inbound,
    /// The call server created the call through the REST API.
    #[serde(rename = "outbound-api")]
    OutboundApi,
}

impl Direction {
    /// The wire value of `Direction`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::OutboundApi => "outbound-api",
        }
    }
}

/// HTTP method of a webhook or callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// Form-encoded body (Twilio's default).
    #[default]
    Post,
    /// Parameters in the query string.
    Get,
}

impl HttpMethod {
    /// Parses a TwiML or REST `method` value; anything but GET is POST, like Twilio.
    pub fn parse(value: &str) -> Self {
        if value.eq_ignore_ascii_case("GET") {
            Self::Get
        } else {
            Self::Post
        }
    }

    /// "GET" or "POST".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Get => "GET",
        }
    }
}

/// A call progress event a status callback can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallEvent {
    /// The call was created.
    Initiated,
    /// The callee's phone rings.
    Ringing,
    /// The call was answered (`CallStatus=in-progress`).
    Answered,
    /// The call ended (any terminal status).
    Completed,
}

impl CallEvent {
    /// The wire value used in `StatusCallbackEvent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiated => "initiated",
            Self::Ringing => "ringing",
            Self::Answered => "answered",
            Self::Completed => "completed",
        }
    }

    /// Parses a `StatusCallbackEvent` value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "initiated" => Some(Self::Initiated),
            "ringing" => Some(Self::Ringing),
            "answered" => Some(Self::Answered),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }
}

/// A call status callback subscription (`StatusCallback*` on the number or on Calls.create).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCallbackConfig {
    /// The public callback URL.
    pub url: String,
    /// POST by default.
    pub method: HttpMethod,
    /// Subscribed events; empty means `completed` only, as on Twilio.
    pub events: Vec<CallEvent>,
}

/// One step of what the caller does once the stream is up.
#[derive(Debug, Clone)]
pub enum CallerStep {
    /// The caller says something (µ-law 8 kHz).
    Audio {
        /// The audio.
        mulaw: Arc<Vec<u8>>,
        /// A name for the transcript.
        label: String,
    },
    /// The caller stays quiet (silence frames keep flowing).
    Silence(Duration),
    /// The caller presses keys; each key takes 100 ms.
    Dtmf(String),
    /// The caller hangs up.
    Hangup,
}

/// The caller's timeline: steps in order, then silence until `hangup_at`.
#[derive(Debug, Clone, Default)]
pub struct CallerScript {
    /// The steps, played from the stream's `start`.
    pub steps: Vec<CallerStep>,
    /// When the caller hangs up (relative to stream start); `None`: right after the last step.
    pub hangup_at: Option<Duration>,
}

/// Faults the fake Twilio injects into one call.
#[derive(Debug, Clone, Default)]
pub struct CallFaults {
    /// Send the webhook without `X-Twilio-Signature`.
    pub unsigned_webhook: bool,
    /// Send a wrong signature.
    pub bad_webhook_signature: bool,
    /// Open the stream without `X-Twilio-Signature`.
    pub unsigned_stream: bool,
    /// Drop the stream connection abruptly (no `stop`, no close frame) this long after its start.
    pub drop_stream_at: Option<Duration>,
}

/// One call to play.
#[derive(Debug, Clone)]
pub struct CallSpec {
    /// The scenario's name for the call; copied into the record.
    pub label: String,
    /// `None`: generated from the call's id fork.
    pub call_sid: Option<String>,
    /// Inbound or outbound-api.
    pub direction: Direction,
    /// E.164 caller.
    pub from: String,
    /// E.164 callee.
    pub to: String,
    /// Public voice URL, e.g. `https://callsim.test/twiml/incoming/acme`.
    pub voice_url: String,
    /// Method of the voice webhook.
    pub voice_method: HttpMethod,
    /// Requested when the voice URL fails.
    pub fallback_url: Option<String>,
    /// The number's (or the REST request's) status callback.
    pub status_callback: Option<StatusCallbackConfig>,
    /// What the caller does.
    pub caller: CallerScript,
    /// Delay between receiving the TwiML and opening the stream WebSocket.
    pub stream_connect_delay: Duration,
    /// Injected faults.
    pub faults: CallFaults,
}

impl CallSpec {
    /// An inbound call with POST webhooks, no fallback, no callbacks and no faults.
    pub fn inbound(
        label: &str,
        from: &str,
        to: &str,
        voice_url: &str,
        caller: CallerScript,
    ) -> Self {
        Self {
            label: label.to_owned(),
            call_sid: None,
            direction: Direction::Inbound,
            from: from.to_owned(),
            to: to.to_owned(),
            voice_url: voice_url.to_owned(),
            voice_method: HttpMethod::Post,
            fallback_url: None,
            status_callback: None,
            caller,
            stream_connect_delay: Duration::ZERO,
            faults: CallFaults::default(),
        }
    }
}

/// How the callee of an outbound call reacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CalleeAnswer {
    /// Picks up after the ring delay.
    #[default]
    Answer,
    /// The line is busy.
    Busy,
    /// Nobody picks up.
    NoAnswer,
}

/// The simulated callee of an outbound call created through the REST fake.
#[derive(Debug, Clone)]
pub struct CalleeBehaviour {
    /// Label of the resulting call record.
    pub label: String,
    /// How long the phone rings before the answer (or the no-answer).
    pub ring: Duration,
    /// Answer, busy or no answer.
    pub answer: CalleeAnswer,
    /// What the callee says once the stream is up.
    pub script: CallerScript,
    /// Delay between receiving the TwiML and opening the stream WebSocket.
    pub stream_connect_delay: Duration,
    /// Injected faults.
    pub faults: CallFaults,
}

impl Default for CalleeBehaviour {
    fn default() -> Self {
        Self {
            label: "outbound".into(),
            ring: Duration::from_secs(2),
            answer: CalleeAnswer::Answer,
            script: CallerScript::default(),
            stream_connect_delay: Duration::ZERO,
            faults: CallFaults::default(),
        }
    }
}
