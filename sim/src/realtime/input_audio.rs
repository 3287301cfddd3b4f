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
