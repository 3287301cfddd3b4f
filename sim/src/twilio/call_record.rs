//! What happened on a call, as snapshotted: times in ms since the scenario start, ordered maps,
//! no wall-clock values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::spec::Direction;

/// A Twilio debugger error or warning (`11200`, `31951`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioError {
    /// When it happened.
    pub at_ms: u64,
    /// Twilio's error code.
    pub code: u32,
    /// What went wrong.
    pub message: String,
}

/// Everything that happened on one call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallRecord {
    /// The scenario's name for the call.
    pub label: String,
    /// `CA…`.
    pub call_sid: String,
    /// Inbound or outbound-api.
    pub direction: Direction,
    /// Caller number.
    pub from: String,
    /// Callee number.
    pub to: String,
    /// When the call started.
    pub started_at_ms: u64,
    /// When the call ended; `None` while in flight.
    pub ended_at_ms: Option<u64>,
    /// When the call was answered, if it was.
    pub answered_at_ms: Option<u64>,
    /// "queued", "ringing", "in-progress" while live; "completed", "failed", "busy",
    /// "no-answer" or "canceled" at the end.
    pub status: String,
    /// Seconds from answer to end (`CallDuration`).
    pub duration_secs: Option<u64>,
    /// Every voice webhook request (primary, fallback, Gather/Redirect/Connect actions).
    pub webhooks: Vec<WebhookExchange>,
    /// Executed TwiML verbs in order.
    pub twiml: Vec<TwimlStep>,
    /// Media streams opened (or attempted) on the call.
    pub streams: Vec<StreamRecord>,
    /// Call and stream status callbacks sent.
    pub status_callbacks: Vec<CallbackRecord>,
    /// Call-level errors (webhook failures, TwiML errors, stream handshake errors).
    pub errors: Vec<TwilioError>,
}

/// One voice webhook request and its outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookExchange {
    /// When the request was sent.
    pub at_ms: u64,
    /// The public URL it was signed over (the query string of a GET is not included).
    pub url: String,
    /// "POST" or "GET".
    pub method: String,
    /// The parameters sent.
    pub params: BTreeMap<String, String>,
    /// Whether `X-Twilio-Signature` was sent (a wrong signature counts as sent).
    pub signed: bool,
    /// The HTTP status, if a response arrived.
    pub http_status: Option<u16>,
    /// The response's `Content-Type`.
    pub content_type: Option<String>,
    /// The response body (TwiML).
    pub body: Option<String>,
    /// The error Twilio would log, if the exchange failed.
    pub error: Option<TwilioError>,
    /// Whether this was a request to the fallback URL.
    pub fallback: bool,
}

/// One executed TwiML verb.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TwimlStep {
    /// When execution of the verb started.
    pub at_ms: u64,
    /// The element name, e.g. "Say", "Connect".
    pub verb: String,
    /// Its attributes and outcome.
    pub detail: serde_json::Value,
}

/// Who ended a media stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamEndedBy {
    /// The caller hung up (`stop` then close).
    Caller,
    /// The call server closed the socket.
    Server,
    /// The connection was dropped by an injected fault.
    Drop,
    /// A REST update ended or redirected the call.
    Rest,
}

/// One Media Stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamRecord {
    /// `MZ…`.
    pub stream_sid: String,
    /// The public URL from the TwiML.
    pub url: String,
    /// The `name` attribute, if any.
    pub name: Option<String>,
    /// `<Parameter>` values.
    pub custom_parameters: BTreeMap<String, String>,
    /// HTTP status of the upgrade (101 on success).
    pub handshake_status: Option<u16>,
    /// When the WebSocket was connected.
    pub connected_at_ms: Option<u64>,
    /// When the stream ended.
    pub ended_at_ms: Option<u64>,
    /// Who ended it.
    pub ended_by: Option<StreamEndedBy>,
    /// Messages in both directions (media summarised as segments).
    pub events: Vec<StreamEvent>,
    /// Warnings (31950, 31951); only the first 50 are kept, see `warning_count`.
    pub warnings: Vec<TwilioError>,
    /// Total number of warnings.
    pub warning_count: u64,
    /// `mark` messages received from the server.
    pub marks_sent_by_server: u32,
    /// `mark` echoes sent back.
    pub marks_echoed: u32,
    /// When the server sent `clear`.
    pub clears: Vec<u64>,
    /// `media` frames sent to the server.
    pub media_frames_sent: u64,
    /// Milliseconds of server audio that was played to the caller.
    pub audio_heard_ms: u64,
    /// The played-out server audio, µ-law, in order.
    #[serde(skip)]
    pub heard: Vec<u8>,
    /// When the caller heard server audio: each run of continuous playout, in order. Not
    /// serialized: the `media` events summarise the same runs for readers; this typed copy is
    /// for the invariants that compare what the caller heard with what the server claims.
    #[serde(skip)]
    pub playout: Vec<PlayoutSpan>,
    /// The caller audio sent, µ-law.
    #[serde(skip)]
    pub sent: Vec<u8>,
    /// `media` messages the server sent after Twilio's `stop`, while the closing handshake was
    /// finishing. Left out of serialized records when there were none, so they read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_after_stop: Option<MediaAfterStop>,
}

/// The `media` messages a server sent after Twilio's `stop`: a count and two times, however many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaAfterStop {
    /// How many arrived.
    pub count: u64,
    /// When the first arrived, in ms since the scenario start.
    pub first_ms: u64,
    /// When the last arrived.
    pub last_ms: u64,
}

impl MediaAfterStop {
    /// Counts one more message, arrived at `at_ms`.
    pub fn note(seen: Option<Self>, at_ms: u64) -> Self {
        match seen {
            None => Self {
                count: 1,
                first_ms: at_ms,
                last_ms: at_ms,
            },
            Some(s) => Self {
                count: s.count + 1,
                last_ms: at_ms,
                ..s
            },
        }
    }
}

impl StreamRecord {
    /// A record for a stream about to be opened.
    pub fn new(
        stream_sid: &str,
        url: &str,
        name: Option<String>,
        custom_parameters: BTreeMap<String, String>,
    ) -> Self {
        Self {
            stream_sid: stream_sid.to_owned(),
            url: url.to_owned(),
            name,
            custom_parameters,
            handshake_status: None,
            connected_at_ms: None,
            ended_at_ms: None,
            ended_by: None,
            events: Vec::new(),
            warnings: Vec::new(),
            warning_count: 0,
            marks_sent_by_server: 0,
            marks_echoed: 0,
            clears: Vec::new(),
            media_frames_sent: 0,
            audio_heard_ms: 0,
            heard: Vec::new(),
            playout: Vec::new(),
            sent: Vec::new(),
            media_after_stop: None,
        }
    }
}

/// One run of continuous playout: the caller heard server audio from `from_ms` to `to_ms`
/// (ms since the scenario start) at 8000 bytes per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayoutSpan {
    /// When the run started playing.
    pub from_ms: u64,
    /// When it stopped: drained, cleared or ended with the stream.
    pub to_ms: u64,
    /// µ-law bytes played in the run.
    pub bytes: u64,
    /// Whether a `clear` cut it short.
    pub cleared: bool,
}

impl PlayoutSpan {
    /// Milliseconds of this run's audio played within `[from_ms, to_ms]`.
    pub fn heard_within(&self, from_ms: u64, to_ms: u64) -> u64 {
        let overlap = self
            .to_ms
            .min(to_ms)
            .saturating_sub(self.from_ms.max(from_ms));
        // µ-law at 8 kHz is 8 bytes per millisecond.
        overlap.min(self.bytes / 8)
    }
}

/// Direction of a stream event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventDir {
    /// Twilio → server.
    Out,
    /// Server → Twilio.
    In,
}

/// One stream message (or a summarised media segment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamEvent {
    /// When it was sent or received (for a media segment: when it started).
    pub at_ms: u64,
    /// Out = Twilio → server, in = server → Twilio.
    pub dir: EventDir,
    /// "connected", "start", "media", "dtmf", "mark", "clear", "stop".
    pub event: String,
    /// Message details; for media a segment summary.
    pub detail: serde_json::Value,
}

/// One status callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallbackRecord {
    /// When it was sent.
    pub at_ms: u64,
    /// The public URL.
    pub url: String,
    /// "initiated", "ringing", "answered", "completed", "stream-started", "stream-stopped",
    /// "stream-error".
    pub event: String,
    /// The parameters sent.
    pub params: BTreeMap<String, String>,
    /// The HTTP status, if a response arrived.
    pub http_status: Option<u16>,
    /// What Twilio logs for it when it failed: 11200 for an error status, 11205 when nothing
    /// answered.
    pub error: Option<TwilioError>,
}

impl CallRecord {
    /// A fresh in-flight record.
    pub fn new(
        label: &str,
        call_sid: &str,
        direction: Direction,
        from: &str,
        to: &str,
        started_at_ms: u64,
    ) -> Self {
        Self {
            label: label.to_owned(),
            call_sid: call_sid.to_owned(),
            direction,
            from: from.to_owned(),
            to: to.to_owned(),
            started_at_ms,
            ended_at_ms: None,
            answered_at_ms: None,
            status: "queued".into(),
            duration_secs: None,
            webhooks: Vec::new(),
            twiml: Vec::new(),
            streams: Vec::new(),
            status_callbacks: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Whether the call has reached a terminal status.
    pub fn is_finished(&self) -> bool {
        self.ended_at_ms.is_some()
    }
}
