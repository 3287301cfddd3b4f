//! Caller audio as it arrives: `input_audio_buffer.append` read without a JSON tree, and the
//! last appended frame kept decoded. Both exist for speed; the general path in `session.rs`
//! and `turns.rs` gives the same results.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

use super::api_error::ApiError;

/// The event a call sends fifty times a second, read without building a JSON tree. Anything it
/// does not read exactly (another type, an escaped string, a field of the wrong type) goes the
/// general way, which gives the same result for what this reads, only slower.
#[derive(Deserialize)]
pub(crate) struct AudioAppend<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: &'a str,
    #[serde(borrow, default)]
    pub(crate) event_id: Option<&'a str>,
    #[serde(borrow)]
    pub(crate) audio: &'a str,
}

impl<'a> AudioAppend<'a> {
    /// The append in `text`, if `text` is one that the fast path reads exactly.
    pub(crate) fn parse(text: &'a str) -> Option<AudioAppend<'a>> {
        // The compact layout clients write, without an event id, is read without a parser: a
        // value with no quote, backslash or control character means just what it says.
        if let Some(audio) = text
            .strip_prefix(r#"{"type":"input_audio_buffer.append","audio":""#)
            .and_then(|rest| rest.strip_suffix(r#""}"#))
            && !audio.bytes().fold(false, |special, b| {
                special | (b == b'"') | (b == b'\\') | (b < 0x20)
            })
        {
            return Some(AudioAppend {
                kind: "input_audio_buffer.append",
                event_id: None,
                audio,
            });
        }
        serde_json::from_str::<AudioAppend<'a>>(text)
            .ok()
            .filter(|append| append.kind == "input_audio_buffer.append")
    }
}

/// The last appended audio, as sent and as decoded: a call's audio is mostly silence, the same
/// frame over and over, and comparing the text costs less than decoding it again.
#[derive(Default)]
pub(crate) struct LastAppend {
    text: String,
    bytes: Vec<u8>,
}

impl LastAppend {
    /// The bytes of `audio` (base64), decoded unless it is the text decoded last time. They are
    /// lent: [`LastAppend::keep`] gives them back, so the next identical frame needs no decoding.
    pub(crate) fn decode(&mut self, audio: &str) -> Result<Vec<u8>, ApiError> {
        if self.text != audio {
            let bytes = B64.decode(audio).map_err(|_| {
                ApiError::invalid(
                    Some("invalid_value"),
                    "Invalid 'audio'. Expected base64-encoded audio.",
                    Some("audio"),
                )
            })?;
            self.text.clear();
            self.text.push_str(audio);
            self.bytes = bytes;
        }
        Ok(std::mem::take(&mut self.bytes))
    }

    /// Takes back the bytes [`LastAppend::decode`] lent.
    pub(crate) fn keep(&mut self, bytes: Vec<u8>) {
        self.bytes = bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a full parse makes of `text`: type, event id and audio, for an append.
    fn general(text: &str) -> Option<(String, Option<String>, String)> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        if value["type"] != "input_audio_buffer.append" {
            return None;
        }
        let audio = value["audio"].as_str()?.to_owned();
        let event_id = value["event_id"].as_str().map(str::to_owned);
        Some(("input_audio_buffer.append".to_owned(), event_id, audio))
    }

    #[test]
    fn every_reading_agrees_with_a_full_parse() {
        let texts = [
            r#"{"type":"input_audio_buffer.append","audio":"//8A/w=="}"#,
            r#"{"type":"input_audio_buffer.append","audio":""}"#,
            r#"{"type":"input_audio_buffer.append","event_id":"e1","audio":"//8="}"#,
            r#"{"audio":"//8=","type":"input_audio_buffer.append"}"#,
            r#"{"type":"input_audio_buffer.append","audio":"a","x":"b"}"#,
        ];
        for text in texts {
            let fast = AudioAppend::parse(text).map(|a| {
                (
                    a.kind.to_owned(),
                    a.event_id.map(str::to_owned),
                    a.audio.to_owned(),
                )
            });
            assert_eq!(fast, general(text), "{text}");
        }
        // Escapes and other types are left to the general path.
        for text in [
            r#"{"type":"input_audio_buffer.append","audio":"\u002f"}"#,
            r#"{"type":"input_audio_buffer.commit"}"#,
        ] {
            assert!(AudioAppend::parse(text).is_none(), "{text}");
        }
    }
}
