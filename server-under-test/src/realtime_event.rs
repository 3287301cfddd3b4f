//! Typed OpenAI Realtime (GA dialect) events, kept apart from the WebSocket transport.

use serde::{Deserialize, Serialize};

/// An event the server sends to the Realtime API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientEvent {
    /// Configure the session (instructions, audio formats, voice).
    #[serde(rename = "session.update")]
    SessionUpdate {
        /// The session configuration.
        session: SessionConfig,
    },
    /// Caller audio, forwarded verbatim from Twilio.
    #[serde(rename = "input_audio_buffer.append")]
    InputAudioBufferAppend {
        /// Base64 µ-law audio.
        audio: String,
    },
    /// Add an item to the conversation (used for the greeting).
    #[serde(rename = "conversation.item.create")]
    ConversationItemCreate {
        /// The item.
        item: ConversationItem,
    },
    /// Ask the model to respond.
    #[serde(rename = "response.create")]
    ResponseCreate,
    /// Cut an assistant item's audio at the point the caller actually heard.
    #[serde(rename = "conversation.item.truncate")]
    ConversationItemTruncate {
        /// The assistant item.
        item_id: String,
        /// Always 0 (the audio part).
        content_index: u32,
        /// Milliseconds of audio the caller heard.
        audio_end_ms: u64,
    },
}

/// GA `session` object of a `session.update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionConfig {
    /// Always `realtime` (required on every GA update).
    #[serde(rename = "type")]
    pub kind: String,
    /// Model name.
    pub model: String,
    /// `["audio"]`.
    pub output_modalities: Vec<String>,
    /// The system prompt.
    pub instructions: String,
    /// Audio formats, turn detection and voice.
    pub audio: AudioConfig,
}

impl SessionConfig {
    /// The bridge's session: µ-law both ways, server VAD, the given prompt and voice.
    pub fn for_call(instructions: &str, voice: &str) -> SessionConfig {
        let pcmu = || AudioFormat {
            kind: "audio/pcmu".to_owned(),
        };
        SessionConfig {
            kind: "realtime".to_owned(),
            model: "gpt-realtime".to_owned(),
            output_modalities: vec!["audio".to_owned()],
            instructions: instructions.to_owned(),
            audio: AudioConfig {
                input: AudioInput {
                    format: pcmu(),
                    turn_detection: TurnDetection {
                        kind: "server_vad".to_owned(),
                    },
                },
                output: AudioOutput {
                    format: pcmu(),
                    voice: voice.to_owned(),
                },
            },
        }
    }
}

/// `session.audio`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioConfig {
    /// Input settings.
    pub input: AudioInput,
    /// Output settings.
    pub output: AudioOutput,
}

/// `session.audio.input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioInput {
    /// Input format.
    pub format: AudioFormat,
    /// Turn detection.
    pub turn_detection: TurnDetection,
}

/// `session.audio.output`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioOutput {
    /// Output format.
    pub format: AudioFormat,
    /// Voice name.
    pub voice: String,
}

/// A GA audio format object such as `{"type":"audio/pcmu"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFormat {
    /// Format name.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Turn detection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnDetection {
    /// `server_vad`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A user message item with text content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationItem {
    /// `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `user`.
    pub role: String,
    /// The content parts.
    pub content: Vec<ContentPart>,
}

impl ConversationItem {
    /// A user message with one `input_text` part.
    pub fn user_text(text: &str) -> ConversationItem {
        ConversationItem {
            kind: "message".to_owned(),
            role: "user".to_owned(),
            content: vec![ContentPart {
                kind: "input_text".to_owned(),
                text: text.to_owned(),
            }],
        }
    }
}

/// One content part of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentPart {
    /// `input_text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    pub text: String,
}

/// An event the Realtime API sends; events the bridge does not act on parse as `Other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerEvent {
    /// The session was created.
    #[serde(rename = "session.created")]
    SessionCreated,
    /// A `session.update` was applied.
    #[serde(rename = "session.updated")]
    SessionUpdated,
    /// A chunk of assistant audio.
    #[serde(rename = "response.output_audio.delta")]
    OutputAudioDelta {
        /// The assistant item.
        item_id: String,
        /// Base64 µ-law audio.
        delta: String,
    },
    /// The assistant item's audio is complete.
    #[serde(rename = "response.output_audio.done")]
    OutputAudioDone {
        /// The assistant item.
        #[serde(default)]
        item_id: Option<String>,
    },
    /// Server VAD heard the caller start speaking.
    #[serde(rename = "input_audio_buffer.speech_started")]
    SpeechStarted,
    /// An error; most are recoverable.
    #[serde(rename = "error")]
    Error {
        /// The error details.
        error: ErrorDetail,
    },
    /// Any other event.
    #[serde(other)]
    Other,
}

/// The `error` object of an `error` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Error type, e.g. `invalid_request_error`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Error code, e.g. `session_expired`.
    #[serde(default)]
    pub code: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
}

impl ClientEvent {
    /// The event as the JSON text of one WebSocket message.
    ///
    /// Caller audio is fifty messages a second, and the general serializer looks at its base64
    /// one byte at a time for characters to escape. Base64 has none, so audio without a control
    /// character, quote or backslash (checked in one pass the compiler vectorizes) is written
    /// directly. The text is the same either way (a test holds them together).
    pub fn to_text(&self) -> Result<String, serde_json::Error> {
        if let ClientEvent::InputAudioBufferAppend { audio } = self
            && !audio.bytes().fold(false, |escape, b| {
                escape | (b < 0x20) | (b == b'"') | (b == b'\\')
            })
        {
            const HEAD: &str = r#"{"type":"input_audio_buffer.append","audio":""#;
            let mut text = String::with_capacity(HEAD.len() + audio.len() + 2);
            text.push_str(HEAD);
            text.push_str(audio);
            text.push_str(r#""}"#);
            return Ok(text);
        }
        serde_json::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn session_update_has_the_ga_shape() {
        let event = ClientEvent::SessionUpdate {
            session: SessionConfig::for_call("Be nice.", "alloy"),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type":"session.update","session":{"type":"realtime","model":"gpt-realtime",
                "output_modalities":["audio"],"instructions":"Be nice.",
                "audio":{"input":{"format":{"type":"audio/pcmu"},"turn_detection":{"type":"server_vad"}},
                         "output":{"format":{"type":"audio/pcmu"},"voice":"alloy"}}}})
        );
    }

    #[test]
    fn audio_is_written_as_the_general_serializer_writes_it() {
        for audio in [
            "//8=",
            "AbC+/9==",
            "not \"base64\"\n",
            "back\\slash",
            "\u{1}",
            "é",
            "",
        ] {
            let event = ClientEvent::InputAudioBufferAppend {
                audio: audio.into(),
            };
            assert_eq!(
                event.to_text().unwrap(),
                serde_json::to_string(&event).unwrap()
            );
        }
    }

    #[test]
    fn client_events_serialize() {
        assert_eq!(
            serde_json::to_value(ClientEvent::ResponseCreate).unwrap(),
            json!({"type":"response.create"})
        );
        let truncate = ClientEvent::ConversationItemTruncate {
            item_id: "item_1".into(),
            content_index: 0,
            audio_end_ms: 640,
        };
        assert_eq!(
            serde_json::to_value(truncate).unwrap(),
            json!({"type":"conversation.item.truncate","item_id":"item_1","content_index":0,"audio_end_ms":640})
        );
        let greet = ClientEvent::ConversationItemCreate {
            item: ConversationItem::user_text("Greet the caller with: Hi"),
        };
        assert_eq!(
            serde_json::to_value(greet).unwrap(),
            json!({"type":"conversation.item.create","item":{"type":"message","role":"user",
                "content":[{"type":"input_text","text":"Greet the caller with: Hi"}]}})
        );
    }

    #[test]
    fn server_events_parse_and_unknown_is_other() {
        let delta: ServerEvent = serde_json::from_value(json!({"type":"response.output_audio.delta","event_id":"e",
            "response_id":"r","item_id":"item_1","output_index":0,"content_index":0,"delta":"AAA="})).unwrap();
        assert_eq!(
            delta,
            ServerEvent::OutputAudioDelta {
                item_id: "item_1".into(),
                delta: "AAA=".into()
            }
        );
        let error: ServerEvent = serde_json::from_value(json!({"type":"error","event_id":"e",
            "error":{"type":"invalid_request_error","code":"session_expired","message":"m","param":null}})).unwrap();
        assert!(
            matches!(error, ServerEvent::Error { error: ErrorDetail { code: Some(c), .. } } if c == "session_expired")
        );
        let other: ServerEvent =
            serde_json::from_value(json!({"type":"rate_limits.updated","rate_limits":[]})).unwrap();
        assert_eq!(other, ServerEvent::Other);
        let created: ServerEvent =
            serde_json::from_value(json!({"type":"session.created","session":{"id":"s"}})).unwrap();
        assert_eq!(created, ServerEvent::SessionCreated);
    }
}
