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
    stream_sid: String,
    last_frame: Option<[u8; FRAME_BYTES]>,
    last_payload: String,
}

impl MediaFrameWriter {
    pub(crate) fn new(stream_sid: &str) -> MediaFrameWriter {
        MediaFrameWriter {
            stream_sid: stream_sid.to_owned(),
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
        media_text(sequence, chunk, &self.last_payload, &self.stream_sid)
    }
}

/// The text of media message `sequence` carrying frame `chunk` (from 1) of stream `stream_sid`,
/// whose audio is `payload` (base64, which never needs escaping).
pub(crate) fn media_text(sequence: u64, chunk: u64, payload: &str, stream_sid: &str) -> String {
    let timestamp = (chunk - 1) * crate::audio::FRAME_MS;
    let mut numbers = itoa::Buffer::new();
    let mut text = String::with_capacity(160 + payload.len() + stream_sid.len());
    // Pieces pushed one by one: `format!` costs more than the rest of the message.
    text.push_str(r#"{"event":"media","sequenceNumber":""#);
    text.push_str(numbers.format(sequence));
    text.push_str(r#"","media":{"track":"inbound","chunk":""#);
    text.push_str(numbers.format(chunk));
    text.push_str(r#"","timestamp":""#);
    text.push_str(numbers.format(timestamp));
    text.push_str(r#"","payload":""#);
    text.push_str(payload);
    text.push_str(r#""},"streamSid":"#);
    push_json_string(&mut text, stream_sid);
    text.push('}');
    text
}

/// Appends `value` as a JSON string: as it is between quotes when it needs no escaping (every
/// SID does), else as serde writes it.
fn push_json_string(text: &mut String, value: &str) {
    let plain = !value.bytes().fold(false, |escape, b| {
        escape | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        text.push('"');
        text.push_str(value);
        text.push('"');
    } else {
        // A string always serializes; the fallback keeps the message valid JSON regardless.
        text.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "\"\"".into()));
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
