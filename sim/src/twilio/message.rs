//! Typed Media Streams messages in both directions, kept apart from the WebSocket transport.
//!
//! Numbers that Twilio sends as JSON strings (`sequenceNumber`, `chunk`, `timestamp`) are
//! `String`s here. Server-to-Twilio messages are parsed strictly (unknown fields, a missing
//! `mark.name` or an unknown `event` are errors) because Twilio answers those with warning 31951.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A message the fake Twilio sends to the call server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum TwilioMessage {
    /// First message on the socket.
    Connected {
        /// Always "Call".
        protocol: String,
        /// Protocol version, "1.0.0".
        version: String,
    },
    /// Stream metadata, sent once after `connected`.
    Start {
        /// "1".
        sequence_number: String,
        /// The metadata.
        start: StartPayload,
        /// The `MZ…` stream SID.
        stream_sid: String,
    },
    /// 20 ms of caller audio.
    Media {
        /// Per-stream message counter.
        sequence_number: String,
        /// The audio.
        media: InboundMedia,
        /// The `MZ…` stream SID.
        stream_sid: String,
    },
    /// A key the caller pressed.
    Dtmf {
        /// The `MZ…` stream SID.
        stream_sid: String,
        /// Per-stream message counter.
        sequence_number: String,
        /// The key.
        dtmf: DtmfPayload,
    },
    /// Echo of a server mark whose audio has been played (or cleared).
    Mark {
        /// Per-stream message counter.
        sequence_number: String,
        /// The `MZ…` stream SID.
        stream_sid: String,
        /// The mark.
        mark: MarkPayload,
    },
    /// The stream ends (hang-up, redirect); the socket closes next.
    Stop {
        /// Per-stream message counter.
        sequence_number: String,
        /// The `MZ…` stream SID.
        stream_sid: String,
        /// Ids of the call.
        stop: StopPayload,
    },
}

/// The `start` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartPayload {
    /// `AC…`.
    pub account_sid: String,
    /// `MZ…`.
    pub stream_sid: String,
    /// `CA…`.
    pub call_sid: String,
    /// `["inbound"]` for a bidirectional stream.
    pub tracks: Vec<String>,
    /// `<Parameter>` name/value pairs.
    pub custom_parameters: BTreeMap<String, String>,
    /// Always µ-law, 8000 Hz, mono.
    pub media_format: MediaFormat,
}

/// The audio format of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFormat {
    /// "audio/x-mulaw".
    pub encoding: String,
    /// 8000.
    pub sample_rate: u32,
    /// 1.
    pub channels: u32,
}

impl MediaFormat {
    /// The only format Media Streams use.
    pub fn mulaw_8k_mono() -> Self {
        Self {
            encoding: "audio/x-mulaw".into(),
            sample_rate: 8000,
            channels: 1,
        }
    }
}

/// The `media` object of a Twilio-to-server media message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMedia {
    /// "inbound".
    pub track: String,
    /// Per-track frame counter from "1".
    pub chunk: String,
    /// Milliseconds since the stream started.
    pub timestamp: String,
    /// Base64 of 160 µ-law bytes.
    pub payload: String,
}

/// The `dtmf` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DtmfPayload {
    /// Always "inbound_track".
    pub track: String,
    /// The key, "0"-"9", "*", "#".
    pub digit: String,
}

/// The `mark` object, in either direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkPayload {
    /// The label the server chose.
    pub name: String,
}

/// The `stop` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopPayload {
    /// `AC…`.
    pub account_sid: String,
    /// `CA…`.
    pub call_sid: String,
}

/// A message the call server sends to Twilio on a bidirectional stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "lowercase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ServerMessage {
    /// Audio to queue for playout.
    Media {
        /// Must equal the stream's SID.
        stream_sid: String,
        /// The audio.
        media: OutboundMedia,
    },
    /// A label queued in line with the audio.
    Mark {
        /// Must equal the stream's SID.
        stream_sid: String,
        /// The label.
        mark: MarkPayload,
    },
    /// Drop all unplayed audio and echo every pending mark.
    Clear {
        /// Must equal the stream's SID.
        stream_sid: String,
    },
}

impl ServerMessage {
    /// The `streamSid` the message carries.
    pub fn stream_sid(&self) -> &str {
        match self {
            Self::Media { stream_sid, .. }
            | Self::Mark { stream_sid, .. }
            | Self::Clear { stream_sid } => stream_sid,
        }
    }
}

/// The `media` object of a server-to-Twilio media message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundMedia {
    /// Base64 of raw µ-law 8 kHz mono bytes (no file header).
    pub payload: String,
}

/// Why a server message was rejected (all of these are warning 31951 on Twilio).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessageError {
    /// The text frame is not JSON.
    #[error("message is not valid JSON: {0}")]
    NotJson(String),
    /// The JSON does not have the shape of `media`, `mark` or `clear`.
    #[error("invalid message shape: {0}")]
    Shape(String),
    /// The `streamSid` is not the stream's.
    #[error("wrong streamSid {got} (expected {expected})")]
    WrongStreamSid {
        /// The SID in the message.
        got: String,
        /// The stream's SID.
        expected: String,
    },
    /// The media payload is not base64.
    #[error("media payload is not valid base64")]
    BadPayload,
}

/// Parses one text frame from the server and checks its `streamSid`.
pub fn parse_server_message(text: &str, expected_sid: &str) -> Result<ServerMessage, MessageError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| MessageError::NotJson(e.to_string()))?;
    let message: ServerMessage =
        serde_json::from_value(value).map_err(|e| MessageError::Shape(e.to_string()))?;
    if message.stream_sid() != expected_sid {
        return Err(MessageError::WrongStreamSid {
            got: message.stream_sid().to_owned(),
            expected: expected_sid.to_owned(),
        });
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "MZ00000000000000000000000000000001";

    #[test]
    fn twilio_messages_serialize_like_the_docs() {
        let start = TwilioMessage::Start {
            sequence_number: "1".into(),
            start: StartPayload {
                account_sid: "AC1".into(),
                stream_sid: SID.into(),
                call_sid: "CA1".into(),
                tracks: vec!["inbound".into()],
                custom_parameters: BTreeMap::from([("callId".into(), "abc".into())]),
                media_format: MediaFormat::mulaw_8k_mono(),
            },
            stream_sid: SID.into(),
        };
        let json = serde_json::to_value(&start).unwrap();
        assert_eq!(json["event"], "start");
        assert_eq!(json["sequenceNumber"], "1");
        assert_eq!(json["streamSid"], SID);
        assert_eq!(json["start"]["customParameters"]["callId"], "abc");
        assert_eq!(json["start"]["mediaFormat"]["sampleRate"], 8000);
        assert_eq!(json["start"]["mediaFormat"]["encoding"], "audio/x-mulaw");

        let media = TwilioMessage::Media {
            sequence_number: "2".into(),
            media: InboundMedia {
                track: "inbound".into(),
                chunk: "1".into(),
                timestamp: "0".into(),
                payload: "//8=".into(),
            },
            stream_sid: SID.into(),
        };
        let text = serde_json::to_string(&media).unwrap();
        assert!(text.contains(r#""chunk":"1""#) && text.contains(r#""timestamp":"0""#));
        assert_eq!(serde_json::from_str::<TwilioMessage>(&text).unwrap(), media);

        let connected = serde_json::to_value(TwilioMessage::Connected {
            protocol: "Call".into(),
            version: "1.0.0".into(),
        })
        .unwrap();
        assert_eq!(
            connected,
            serde_json::json!({"event":"connected","protocol":"Call","version":"1.0.0"})
        );
    }

    #[test]
    fn valid_server_messages_parse() {
        let media =
            format!(r#"{{"event":"media","streamSid":"{SID}","media":{{"payload":"//8="}}}}"#);
        assert!(matches!(
            parse_server_message(&media, SID),
            Ok(ServerMessage::Media { .. })
        ));
        let mark = format!(r#"{{"event":"mark","streamSid":"{SID}","mark":{{"name":"m1"}}}}"#);
        assert_eq!(
            parse_server_message(&mark, SID).unwrap(),
            ServerMessage::Mark {
                stream_sid: SID.into(),
                mark: MarkPayload { name: "m1".into() }
            }
        );
        let clear = format!(r#"{{"event":"clear","streamSid":"{SID}"}}"#);
        assert!(matches!(
            parse_server_message(&clear, SID),
            Ok(ServerMessage::Clear { .. })
        ));
    }

    #[test]
    fn invalid_server_messages_are_rejected() {
        let shape = |text: String| {
            matches!(
                parse_server_message(&text, SID),
                Err(MessageError::Shape(_))
            )
        };
        assert!(matches!(
            parse_server_message("{not json", SID),
            Err(MessageError::NotJson(_))
        ));
        assert!(shape(format!(r#"{{"event":"mark","streamSid":"{SID}"}}"#)));
        assert!(shape(format!(
            r#"{{"event":"mark","streamSid":"{SID}","mark":{{}}}}"#
        )));
        assert!(shape(format!(
            r#"{{"event":"media","streamSid":"{SID}","media":{{"playload":"x"}}}}"#
        )));
        assert!(shape(format!(
            r#"{{"event":"media","streamSid":"{SID}","media":{{"payload":"x","extra":1}}}}"#
        )));
        assert!(shape(format!(
            r#"{{"event":"clear","streamSid":"{SID}","extra":true}}"#
        )));
        assert!(shape(format!(r#"{{"event":"start","streamSid":"{SID}"}}"#)));
        assert!(shape(r#"{"event":"clear"}"#.to_owned()));
        assert!(matches!(
            parse_server_message(r#"{"event":"clear","streamSid":"MZother"}"#, SID),
            Err(MessageError::WrongStreamSid { .. })
        ));
    }
}
