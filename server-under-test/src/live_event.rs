//! Typed OpenAI Live events (`/v1/live/sessions`), kept apart from the WebSocket transport.
//!
//! Only what the bridge sends and acts on is modelled; any other server event parses as
//! [`LiveServerEvent::Other`].

use serde::{Deserialize, Serialize};

/// The model a Live session runs unless `--live-model` says otherwise.
pub const DEFAULT_LIVE_MODEL: &str = "gpt-live-1";

/// An event the server sends to the Live API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LiveClientEvent {
    /// The first frame of a connection: everything fixed for the session.
    #[serde(rename = "session.start")]
    SessionStart {
        /// The configuration.
        session: LiveSessionConfig,
    },
    /// Caller audio, forwarded verbatim from Twilio.
    #[serde(rename = "session.input_audio.append")]
    InputAudioAppend {
        /// Base64 µ-law audio.
        audio: String,
    },
    /// Something for the model to say (the greeting).
    #[serde(rename = "session.commentary.append")]
    CommentaryAppend {
        /// Always `None`: general context, not the answer to a delegation.
        delegation_id: Option<String>,
        /// The text.
        content: String,
    },
    /// A standing rule added to the start instructions.
    #[serde(rename = "session.instructions.append")]
    InstructionsAppend {
        /// Always `None`: general context.
        delegation_id: Option<String>,
        /// The text.
        content: String,
    },
    /// Ends the session gracefully.
    #[serde(rename = "session.close")]
    SessionClose,
}

/// `session.start.session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSessionConfig {
    /// The Live model (never in the URL).
    pub model: String,
    /// The call's instructions, fixed for the whole session.
    pub instructions: String,
    /// One format for both directions, and the voice.
    pub audio: LiveAudio,
}

/// `session.audio`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAudio {
    /// `{"type": "audio/pcmu", "rate": 8000}`, Twilio's format.
    pub format: LiveFormat,
    /// The voice.
    pub output: LiveOutput,
}

/// An audio format; Live requires the rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFormat {
    /// e.g. `audio/pcmu`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Samples per second.
    pub rate: u32,
}

/// `session.audio.output`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveOutput {
    /// A built-in voice name.
    pub voice: String,
}

impl LiveSessionConfig {
    /// The configuration of a Twilio call: µ-law 8 kHz both ways.
    pub fn for_call(model: &str, instructions: &str, voice: &str) -> LiveSessionConfig {
        LiveSessionConfig {
            model: model.to_owned(),
            instructions: instructions.to_owned(),
            audio: LiveAudio {
                format: LiveFormat {
                    kind: "audio/pcmu".to_owned(),
                    rate: 8000,
                },
                output: LiveOutput {
                    voice: voice.to_owned(),
                },
            },
        }
    }
}

/// An event the Live API sends; events the bridge does not act on parse as `Other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LiveServerEvent {
    /// `session.start` was accepted.
    #[serde(rename = "session.started")]
    SessionStarted,
    /// 100 ms of the model's continuous output track.
    #[serde(rename = "session.output_audio.delta")]
    OutputAudioDelta {
        /// Base64 audio in the session format.
        delta: String,
    },
    /// The session ended; the socket closes next.
    #[serde(rename = "session.closed")]
    SessionClosed {
        /// `close_requested`, `expired`, `content`, `remote_hangup`, `connection_lost` or a
        /// reason this client does not know.
        reason: String,
    },
    /// An error.
    #[serde(rename = "error")]
    Error {
        /// The details.
        error: LiveErrorDetail,
    },
    /// Any other event.
    #[serde(other)]
    Other,
}

/// The `error` object of a Live `error` event (`code` is always a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveErrorDetail {
    /// e.g. `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// e.g. `immutable_field_update`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn session_start_has_the_live_shape() {
        let event = LiveClientEvent::SessionStart {
            session: LiveSessionConfig::for_call("gpt-live-1", "Be nice.", "marin"),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type": "session.start", "session": {"model": "gpt-live-1",
                "instructions": "Be nice.",
                "audio": {"format": {"type": "audio/pcmu", "rate": 8000},
                          "output": {"voice": "marin"}}}})
        );
    }

    #[test]
    fn appends_carry_a_null_delegation_id() {
        let event = LiveClientEvent::CommentaryAppend {
            delegation_id: None,
            content: "Greet the caller now.".into(),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type": "session.commentary.append", "delegation_id": null,
                   "content": "Greet the caller now."})
        );
    }

    #[test]
    fn server_events_parse_and_unknown_ones_are_other() {
        let delta: LiveServerEvent =
            serde_json::from_str(r#"{"type":"session.output_audio.delta","delta":"AAA="}"#)
                .unwrap();
        assert_eq!(
            delta,
            LiveServerEvent::OutputAudioDelta {
                delta: "AAA=".into()
            }
        );
        let closed: LiveServerEvent = serde_json::from_str(
            r#"{"type":"session.closed","event_id":"e","reason":"expired","session":{},"usage":{"seconds":3}}"#,
        )
        .unwrap();
        assert_eq!(
            closed,
            LiveServerEvent::SessionClosed {
                reason: "expired".into()
            }
        );
        let usage: LiveServerEvent =
            serde_json::from_str(r#"{"type":"session.usage.updated","usage":{"seconds":15.0}}"#)
                .unwrap();
        assert_eq!(usage, LiveServerEvent::Other);
    }
}
