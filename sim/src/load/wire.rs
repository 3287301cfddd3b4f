//! The Media Streams messages a load call sends, built for thousands of calls: `media` is
//! written by the fake Twilio's own writer (the exact bytes `serde_json` writes for
//! [`TwilioMessage::Media`], which the tests check), the rare ones go through the typed enum.

use std::collections::BTreeMap;

use crate::twilio::message::{
    DtmfPayload, MarkPayload, MediaFormat, StartPayload, StopPayload, TwilioMessage,
};

/// The ids of one stream.
#[derive(Debug, Clone)]
pub struct StreamIds {
    /// `AC…`.
    pub account_sid: String,
    /// `CA…`.
    pub call_sid: String,
    /// `MZ…`.
    pub stream_sid: String,
}

/// `{"event":"media",…}` for frame `chunk` (1-based) with sequence number `seq`.
pub fn media(ids: &StreamIds, seq: u64, chunk: u64, payload: &str) -> String {
    crate::twilio::media_text(seq, chunk, payload, &ids.stream_sid)
}

/// `connected`.
pub fn connected() -> String {
    to_text(&TwilioMessage::Connected {
        protocol: "Call".into(),
        version: "1.0.0".into(),
    })
}

/// `start`, with the TwiML `<Parameter>`s.
pub fn start(ids: &StreamIds, parameters: &BTreeMap<String, String>) -> String {
    to_text(&TwilioMessage::Start {
        sequence_number: "1".into(),
        start: StartPayload {
            account_sid: ids.account_sid.clone(),
            stream_sid: ids.stream_sid.clone(),
            call_sid: ids.call_sid.clone(),
            tracks: vec!["inbound".into()],
            custom_parameters: parameters.clone(),
            media_format: MediaFormat::mulaw_8k_mono(),
        },
        stream_sid: ids.stream_sid.clone(),
    })
}

/// A mark echo.
pub fn mark(ids: &StreamIds, seq: u64, name: &str) -> String {
    to_text(&TwilioMessage::Mark {
        sequence_number: seq.to_string(),
        stream_sid: ids.stream_sid.clone(),
        mark: MarkPayload { name: name.into() },
    })
}

/// A key press.
pub fn dtmf(ids: &StreamIds, seq: u64, digit: char) -> String {
    to_text(&TwilioMessage::Dtmf {
        stream_sid: ids.stream_sid.clone(),
        sequence_number: seq.to_string(),
        dtmf: DtmfPayload {
            track: "inbound_track".into(),
            digit: digit.to_string(),
        },
    })
}

/// `stop`.
pub fn stop(ids: &StreamIds, seq: u64) -> String {
    to_text(&TwilioMessage::Stop {
        sequence_number: seq.to_string(),
        stream_sid: ids.stream_sid.clone(),
        stop: StopPayload {
            account_sid: ids.account_sid.clone(),
            call_sid: ids.call_sid.clone(),
        },
    })
}

fn to_text(message: &TwilioMessage) -> String {
    // Serialising these plain structs cannot fail.
    serde_json::to_string(message).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::message::InboundMedia;

    #[test]
    fn media_is_byte_for_byte_what_the_typed_message_serialises_to() {
        let ids = StreamIds {
            account_sid: "AC1".into(),
            call_sid: "CA1".into(),
            stream_sid: "MZ00000000000000000000000000000001".into(),
        };
        let typed = TwilioMessage::Media {
            sequence_number: "7".into(),
            media: InboundMedia {
                track: "inbound".into(),
                chunk: "6".into(),
                timestamp: "100".into(),
                payload: "//8=".into(),
            },
            stream_sid: ids.stream_sid.clone(),
        };
        assert_eq!(
            media(&ids, 7, 6, "//8="),
            serde_json::to_string(&typed).unwrap()
        );
        let parsed: TwilioMessage = serde_json::from_str(&stop(&ids, 9)).unwrap();
        assert!(matches!(parsed, TwilioMessage::Stop { .. }));
    }
}
