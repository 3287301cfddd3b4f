//! Typed Twilio Media Streams messages, kept apart from the WebSocket transport.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A message Twilio sends to the server over the Media Streams WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum TwilioInbound {
    /// First message of a stream.
    Connected {
        /// Protocol name, `Call`.
        #[serde(default)]
        protocol: Option<String>,
    },
    /// Stream metadata, sent once after `connected`.
    Start {
        /// The stream SID.
        #[serde(rename = "streamSid")]
        stream_sid: String,
        /// The `start` payload.
        start: StartPayload,
    },
    /// 20 ms of caller audio.
    Media {
        /// The stream SID.
        #[serde(rename = "streamSid", default)]
        stream_sid: Option<String>,
        /// The `media` payload.
        media: MediaPayload,
    },
    /// Echo of a mark the server sent, once playback reached it (or after a `clear`).
    Mark {
        /// The stream SID.
        #[serde(rename = "streamSid", default)]
        stream_sid: Option<String>,
        /// The mark.
        mark: MarkPayload,
    },
    /// A DTMF digit.
    Dtmf {
        /// The stream SID.
        #[serde(rename = "streamSid", default)]
        stream_sid: Option<String>,
    },
    /// The stream ended (hang-up or redirect).
    Stop {
        /// The stream SID.
        #[serde(rename = "streamSid", default)]
        stream_sid: Option<String>,
    },
}

/// The `start` object of a `start` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartPayload {
    /// The account SID.
    #[serde(default)]
    pub account_sid: Option<String>,
    /// The call SID.
    #[serde(default)]
    pub call_sid: Option<String>,
    /// `<Parameter>` values from the TwiML.
    #[serde(default)]
    pub custom_parameters: BTreeMap<String, String>,
}

/// The `media` object of an inbound `media` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaPayload {
    /// Presentation time in ms since the stream started, as a decimal string.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Base64 µ-law audio.
    pub payload: String,
}

/// A mark name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkPayload {
    /// The mark's name.
    pub name: String,
}

/// Outbound audio for Twilio to play.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMedia {
    /// Base64 raw µ-law 8 kHz audio.
    pub payload: String,
}

/// A message the server sends to Twilio (bidirectional streams accept only these three).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum TwilioOutbound {
    /// Audio to play.
    Media {
        /// The stream SID.
        #[serde(rename = "streamSid")]
        stream_sid: String,
        /// The audio.
        media: OutboundMedia,
    },
    /// A marker queued behind the audio; Twilio echoes it when playback reaches it.
    Mark {
        /// The stream SID.
        #[serde(rename = "streamSid")]
        stream_sid: String,
        /// The mark.
        mark: MarkPayload,
    },
    /// Drop all buffered audio (barge-in).
    Clear {
        /// The stream SID.
        #[serde(rename = "streamSid")]
        stream_sid: String,
    },
}

/// Parses one text frame; unknown events are an error the caller may log and skip.
///
/// Fifty `media` messages a second make up nearly all of a stream, and an internally tagged
/// enum buffers every field of every message before it can pick a variant. So a `media` message
/// in Twilio's exact compact layout is read without a parser (`media_fast_path.rs`); any other
/// media message is read in one pass of the event name (borrowed), the stream SID and the
/// `media` object; every other message (and a media message without its `media`) takes the
/// general path. All three give the same result.
pub fn parse_inbound(text: &str) -> Result<TwilioInbound, serde_json::Error> {
    if let Some(media) = crate::media_fast_path::parse_media(text) {
        return Ok(media);
    }
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        event: std::borrow::Cow<'a, str>,
        #[serde(rename = "streamSid", default)]
        stream_sid: Option<String>,
        #[serde(default)]
        media: Option<MediaPayload>,
    }
    if let Ok(Probe {
        event,
        stream_sid,
        media: Some(media),
    }) = serde_json::from_str::<Probe<'_>>(text)
        && event == "media"
    {
        return Ok(TwilioInbound::Media { stream_sid, media });
    }
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_media_fast_path_parses_exactly_as_the_tagged_enum_does() {
        let texts = [
            r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"40","payload":"//8="},"streamSid":"MZ1"}"#,
            r#"{"streamSid":"MZ1","event":"media","media":{"payload":"//8="}}"#,
            r#"{"event":"media","media":{"payload":"//8=","extra":1}}"#,
        ];
        for text in texts {
            let general: TwilioInbound = serde_json::from_str(text).unwrap();
            assert_eq!(parse_inbound(text).unwrap(), general, "{text}");
        }
        assert!(parse_inbound(r#"{"event":"media"}"#).is_err());
        assert!(parse_inbound(r#"{"event":"unknown"}"#).is_err());
        assert!(parse_inbound("not json").is_err());
    }

    #[test]
    fn parses_twilio_documented_messages() {
        let start = json!({"event":"start","sequenceNumber":"1",
            "start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],
                     "customParameters":{"tenant":"acme","direction":"inbound"},
                     "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},
            "streamSid":"MZ1"});
        let TwilioInbound::Start { stream_sid, start } = parse_inbound(&start.to_string()).unwrap()
        else {
            panic!("not a start message");
        };
        assert_eq!(stream_sid, "MZ1");
        assert_eq!(start.call_sid.as_deref(), Some("CA1"));
        assert_eq!(
            start.custom_parameters.get("direction").map(String::as_str),
            Some("inbound")
        );
        let media = json!({"event":"media","sequenceNumber":"2","streamSid":"MZ1",
            "media":{"track":"inbound","chunk":"1","timestamp":"102","payload":"fw=="}});
        assert!(matches!(parse_inbound(&media.to_string()).unwrap(),
            TwilioInbound::Media { media: MediaPayload { timestamp: Some(ts), .. }, .. } if ts == "102"));
        let connected = json!({"event":"connected","protocol":"Call","version":"1.0.0"});
        assert!(matches!(
            parse_inbound(&connected.to_string()).unwrap(),
            TwilioInbound::Connected { .. }
        ));
        assert!(parse_inbound("{\"event\":\"bogus\"}").is_err());
        assert!(parse_inbound("not json").is_err());
    }

    #[test]
    fn serializes_outbound_messages_in_twilio_shape() {
        let media = TwilioOutbound::Media {
            stream_sid: "MZ1".into(),
            media: OutboundMedia {
                payload: "AA==".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&media).unwrap(),
            json!({"event":"media","streamSid":"MZ1","media":{"payload":"AA=="}})
        );
        let mark = TwilioOutbound::Mark {
            stream_sid: "MZ1".into(),
            mark: MarkPayload {
                name: "resp-1".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&mark).unwrap(),
            json!({"event":"mark","streamSid":"MZ1","mark":{"name":"resp-1"}})
        );
        let clear = TwilioOutbound::Clear {
            stream_sid: "MZ1".into(),
        };
        assert_eq!(
            serde_json::to_value(&clear).unwrap(),
            json!({"event":"clear","streamSid":"MZ1"})
        );
    }
}
