//! The caller's `media` message, written by hand: a call sends fifty a second, and the general
//! serializer spends most of its time escaping a base64 payload that never needs escaping.
//! The text is byte for byte what `serde_json` writes for [`TwilioMessage::Media`]; the tests
//! below hold the two together.
//!
//! [`TwilioMessage::Media`]: super::message::TwilioMessage::Media

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::audio::FRAME_BYTES;

/// Writes one stream's media messages, remembering the last frame's base64 so that a run of
/// identical frames (silence, mostly) is encoded once.
pub(crate) struct MediaFrameWriter {
    /// The stream SID as a JSON string, quotes included.
    quoted_sid: String,
    last_frame: Option<[u8; FRAME_BYTES]>,
    last_payload: String,
}

impl MediaFrameWriter {
    pub(crate) fn new(stream_sid: &str) -> MediaFrameWriter {
        MediaFrameWriter {
            // A string always serializes; the fallback keeps the message valid JSON regardless.
            quoted_sid: serde_json::to_string(stream_sid).unwrap_or_else(|_| "\"\"".into()),
            last_frame: None,
            last_payload: String::new(),
        }
    }

    /// The text of media message `sequence` carrying frame `chunk` (from 1) of the stream.
    pub(crate) fn text(&mut self, sequence: u64, chunk: u64, frame: &[u8; FRAME_BYTES]) -> String {
        if self.last_frame.as_ref() != Some(frame) {
            self.last_payload.clear();
            STANDARD.encode_string(frame, &mut self.last_payload);
            self.last_frame = Some(*frame);
        }
        let timestamp = (chunk - 1) * crate::audio::FRAME_MS;
        let mut numbers = itoa::Buffer::new();
        let mut text = String::with_capacity(160 + self.last_payload.len() + self.quoted_sid.len());
        // Pieces pushed one by one: `format!` costs more than the rest of the message.
        text.push_str(r#"{"event":"media","sequenceNumber":""#);
        text.push_str(numbers.format(sequence));
        text.push_str(r#"","media":{"track":"inbound","chunk":""#);
        text.push_str(numbers.format(chunk));
        text.push_str(r#"","timestamp":""#);
        text.push_str(numbers.format(timestamp));
        text.push_str(r#"","payload":""#);
        text.push_str(&self.last_payload);
        text.push_str(r#""},"streamSid":"#);
        text.push_str(&self.quoted_sid);
        text.push('}');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::message::{InboundMedia, TwilioMessage};

    fn general(sequence: u64, chunk: u64, frame: &[u8], sid: &str) -> String {
        serde_json::to_string(&TwilioMessage::Media {
            sequence_number: sequence.to_string(),
            media: InboundMedia {
                track: "inbound".into(),
                chunk: chunk.to_string(),
                timestamp: ((chunk - 1) * 20).to_string(),
                payload: STANDARD.encode(frame),
            },
            stream_sid: sid.into(),
        })
        .unwrap()
    }

    #[test]
    fn the_text_is_what_the_general_serializer_writes() {
        let mut writer = MediaFrameWriter::new("MZ0123abcd");
        let silence = [0xFF; FRAME_BYTES];
        let mut ramp = [0u8; FRAME_BYTES];
        for (i, byte) in ramp.iter_mut().enumerate() {
            *byte = u8::try_from(i).unwrap();
        }
        let frames = [silence, silence, ramp, silence];
        for (i, frame) in frames.iter().enumerate() {
            let chunk = u64::try_from(i).unwrap() + 1;
            assert_eq!(
                writer.text(chunk + 1, chunk, frame),
                general(chunk + 1, chunk, frame, "MZ0123abcd")
            );
        }
    }

    #[test]
    fn a_stream_sid_that_needs_escaping_stays_valid_json() {
        let mut writer = MediaFrameWriter::new("MZ\"odd\\");
        let frame = [0x7F; FRAME_BYTES];
        assert_eq!(
            writer.text(2, 1, &frame),
            general(2, 1, &frame, "MZ\"odd\\")
        );
    }
}
