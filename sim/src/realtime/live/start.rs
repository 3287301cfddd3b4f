//! `session.start` judged and turned into the configuration fixed for the session, and the
//! session resource the service echoes in `session.started`, `session.updated` and
//! `session.closed`.

use serde_json::{Map, Value, json};

use super::event::{Delegation, FormatSpec, LiveError, StartConfig, Voice};
use crate::realtime::session_config::AudioFormat;

/// The voice of a session that names none.
pub(crate) const DEFAULT_VOICE: &str = "marin";

/// The audio format of a Live session, used for both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LiveFormat {
    /// PCM16 little-endian mono at 16 kHz.
    Pcm16k,
    /// PCM16 little-endian mono at 24 kHz.
    Pcm24k,
    /// G.711 µ-law, 8 kHz.
    Pcmu,
    /// G.711 A-law, 8 kHz.
    Pcma,
}

impl LiveFormat {
    /// The format object as the service echoes it.
    pub(crate) fn to_json(self) -> Value {
        let (ty, rate) = match self {
            LiveFormat::Pcm16k => ("audio/pcm", 16_000),
            LiveFormat::Pcm24k => ("audio/pcm", 24_000),
            LiveFormat::Pcmu => ("audio/pcmu", 8_000),
            LiveFormat::Pcma => ("audio/pcma", 8_000),
        };
        json!({"type": ty, "rate": rate})
    }

    /// The mime type recorded in the ledger, e.g. `audio/pcmu`.
    pub(crate) fn mime(self) -> &'static str {
        match self {
            LiveFormat::Pcm16k | LiveFormat::Pcm24k => "audio/pcm",
            LiveFormat::Pcmu => "audio/pcmu",
            LiveFormat::Pcma => "audio/pcma",
        }
    }

    /// Bytes per millisecond: the rate at which the session timeline advances with input.
    pub(crate) fn bytes_per_ms(self) -> usize {
        match self {
            LiveFormat::Pcm16k => 32,
            LiveFormat::Pcm24k => 48,
            LiveFormat::Pcmu | LiveFormat::Pcma => 8,
        }
    }

    /// The Realtime format whose decoder reads these bytes (VAD and the input envelope);
    /// `None` for 16 kHz PCM, which the track resamples first.
    pub(crate) fn analysis_format(self) -> Option<AudioFormat> {
        match self {
            LiveFormat::Pcm16k => None,
            LiveFormat::Pcm24k => Some(AudioFormat::Pcm24k),
            LiveFormat::Pcmu => Some(AudioFormat::Pcmu),
            LiveFormat::Pcma => Some(AudioFormat::Pcma),
        }
    }
}

/// What `session.start` fixed for the whole session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LiveConfig {
    pub(crate) id: String,
    pub(crate) expires_at: i64,
    pub(crate) model: String,
    /// `None` when omitted or blank: the server's default applies.
    pub(crate) instructions: Option<String>,
    pub(crate) format: LiveFormat,
    pub(crate) voice: Value,
    pub(crate) delegation: Delegation,
    pub(crate) input: Vec<Value>,
    pub(crate) store: Option<bool>,
    pub(crate) safety_identifier: Option<String>,
    pub(crate) triggers: Option<Vec<Value>>,
}

/// Most messages `session.start.session.input` may carry.
const MAX_INPUT_MESSAGES: usize = 128;

impl LiveConfig {
    /// Judges a parsed `session.start` (unknown keys were refused by the parser).
    pub(crate) fn from_start(
        start: StartConfig,
        id: String,
        expires_at: i64,
    ) -> Result<Self, LiveError> {
        if start.model.trim().is_empty() {
            return Err(LiveError::invalid(
                "invalid_value",
                "Invalid value: ''. 'session.model' must name a Live model.",
                Some("session.model"),
            ));
        }
        let audio = start.audio.unwrap_or(super::event::AudioConfig {
            format: None,
            output: None,
        });
        let format = match audio.format {
            None => LiveFormat::Pcm24k,
            Some(spec) => format_of(spec)?,
        };
        let voice = match audio.output.and_then(|o| o.voice) {
            None => json!(DEFAULT_VOICE),
            Some(Voice::Name(name)) if name.trim().is_empty() => {
                return Err(LiveError::invalid(
                    "invalid_value",
                    "Invalid value: ''. 'session.audio.output.voice' must name a voice.",
                    Some("session.audio.output.voice"),
                ));
            }
            Some(Voice::Name(name)) => json!(name),
            Some(Voice::Custom(custom)) => json!({"id": custom.id}),
        };
        let input = start.input.unwrap_or_default();
        if input.len() > MAX_INPUT_MESSAGES {
            return Err(LiveError::invalid(
                "array_above_max_length",
                format!(
                    "Invalid 'session.input': array too long. Expected an array with maximum \
                     length {MAX_INPUT_MESSAGES}, but got an array with length {} instead.",
                    input.len()
                ),
                Some("session.input"),
            ));
        }
        Ok(LiveConfig {
            id,
            expires_at,
            model: start.model,
            instructions: start.instructions.filter(|i| !i.trim().is_empty()),
            format,
            voice,
            delegation: start.delegation.unwrap_or(Delegation::Client {
                acknowledgement_delay_ms: None,
            }),
            input,
            store: start.store,
            safety_identifier: start.safety_identifier,
            triggers: start.triggers,
        })
    }

    /// The session resource (`status` is always `active`, even in `session.closed`).
    pub(crate) fn resource(&self, default_instructions: &str) -> Value {
        let mut session = Map::new();
        session.insert("id".into(), json!(self.id));
        session.insert("expires_at".into(), json!(self.expires_at));
        session.insert("model".into(), json!(self.model));
        session.insert(
            "instructions".into(),
            json!(self.instructions.as_deref().unwrap_or(default_instructions)),
        );
        session.insert(
            "audio".into(),
            json!({"output": {"voice": self.voice}, "format": self.format.to_json()}),
        );
        session.insert("delegation".into(), delegation_json(&self.delegation));
        session.insert("status".into(), json!("active"));
        session.insert("input".into(), Value::Array(self.input.clone()));
        if let Some(store) = self.store {
            session.insert("store".into(), json!(store));
        }
        if let Some(id) = &self.safety_identifier {
            session.insert("safety_identifier".into(), json!(id));
        }
        if let Some(triggers) = &self.triggers {
            session.insert("triggers".into(), Value::Array(triggers.clone()));
        }
        Value::Object(session)
    }

    /// The voice as recorded in the ledger.
    pub(crate) fn voice_name(&self) -> String {
        match &self.voice {
            Value::String(name) => name.clone(),
            other => other
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

fn format_of(spec: FormatSpec) -> Result<LiveFormat, LiveError> {
    let (format, rate, allowed): (Option<LiveFormat>, u32, &str) = match spec {
        FormatSpec::Pcm { rate: 16_000 } => (Some(LiveFormat::Pcm16k), 16_000, ""),
        FormatSpec::Pcm { rate: 24_000 } => (Some(LiveFormat::Pcm24k), 24_000, ""),
        FormatSpec::Pcm { rate } => (None, rate, "16000 or 24000"),
        FormatSpec::Pcmu { rate: 8_000 } => (Some(LiveFormat::Pcmu), 8_000, ""),
        FormatSpec::Pcma { rate: 8_000 } => (Some(LiveFormat::Pcma), 8_000, ""),
        FormatSpec::Pcmu { rate } | FormatSpec::Pcma { rate } => (None, rate, "8000"),
    };
    format.ok_or_else(|| {
        LiveError::invalid(
            "invalid_value",
            format!("Invalid value: {rate}. 'session.audio.format.rate' must be {allowed}."),
            Some("session.audio.format.rate"),
        )
    })
}

fn delegation_json(delegation: &Delegation) -> Value {
    match delegation {
        Delegation::Client {
            acknowledgement_delay_ms,
        } => match acknowledgement_delay_ms {
            Some(ms) => json!({"type": "client", "acknowledgement_delay_ms": ms}),
            None => json!({"type": "client"}),
        },
        Delegation::Responses {
            responses,
            acknowledgement_delay_ms,
        } => {
            json!({"type": "responses", "responses": responses,
                   "acknowledgement_delay_ms": acknowledgement_delay_ms.unwrap_or(0)})
        }
        Delegation::Decisions {
            decisions,
            acknowledgement_delay_ms,
        } => {
            json!({"type": "decisions", "decisions": decisions,
                   "acknowledgement_delay_ms": acknowledgement_delay_ms.unwrap_or(400)})
        }
    }
}
