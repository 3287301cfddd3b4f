//! One model response in flight: its effective parameters, its rendered output and the GA events
//! that describe it at each stage.
//!
//! The session decides *when* each stage runs (pacing, cancellation); this file decides *what*
//! the events of a stage contain.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::codec::{alaw_encode, ulaw_encode};
use super::script::Reply;
use super::session_config::AudioFormat;

/// Audio generated per `response.output_audio.delta`.
pub(crate) const CHUNK_MS: u64 = 100;

/// The effective parameters of a response (session values plus per-response overrides).
#[derive(Debug, Clone)]
pub(crate) struct ResponseParams {
    pub(crate) id: String,
    pub(crate) trigger: &'static str,
    /// `None` for out-of-band responses (`conversation: "none"`).
    pub(crate) conversation_id: Option<String>,
    pub(crate) audio_modality: bool,
    pub(crate) output_format: AudioFormat,
    pub(crate) voice: String,
    pub(crate) instructions: String,
    pub(crate) instructions_from_response: bool,
    pub(crate) tools: Vec<Value>,
    pub(crate) max_output_tokens: Value,
    pub(crate) metadata: Value,
}

/// Where a response is in its event sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Nothing after `response.created` yet.
    Open,
    /// The message item and content part are open; deltas flow.
    Streaming,
    /// Everything spoken; function call (if any) and `response.done` remain.
    Finishing,
}

/// A response being generated.
#[derive(Debug)]
pub(crate) struct ActiveResponse {
    pub(crate) params: ResponseParams,
    pub(crate) reply: Reply,
    pub(crate) phase: Phase,
    pub(crate) next_at: Instant,
    /// The encoded output audio (empty for text responses).
    pub(crate) audio: Vec<u8>,
    pub(crate) sent_bytes: usize,
    pub(crate) words: Vec<String>,
    pub(crate) sent_words: usize,
    pub(crate) chunks: usize,
    pub(crate) sent_chunks: usize,
    pub(crate) message_item: Option<String>,
    /// The conversation item the message item was appended after.
    pub(crate) message_previous: Option<String>,
    /// Completed items for `response.done.output`.
    pub(crate) output: Vec<Value>,
    /// Audio position (ms) of the session input when the response was created.
    pub(crate) created_at_audio_ms: u64,
}

impl ActiveResponse {
    /// Prepares a response: renders and encodes its audio and splits its text into deltas.
    pub(crate) fn new(
        params: ResponseParams,
        reply: Reply,
        now: Instant,
        created_at_audio_ms: u64,
    ) -> Self {
        let audio = if params.audio_modality {
            encode(&reply.audio.samples_8k(), params.output_format)
        } else {
            Vec::new()
        };
        let words = split_words(&reply.text);
        let chunk_bytes = chunk_bytes(params.output_format);
        let chunks = if !audio.is_empty() {
            audio.len().div_ceil(chunk_bytes)
        } else {
            words.len()
        };
        Self {
            params,
            reply,
            phase: Phase::Open,
            next_at: now,
            audio,
            sent_bytes: 0,
            words,
            sent_words: 0,
            chunks,
            sent_chunks: 0,
            message_item: None,
            message_previous: None,
            output: Vec::new(),
            created_at_audio_ms,
        }
    }

    /// Whether this response writes to the default conversation.
    pub(crate) fn in_conversation(&self) -> bool {
        self.params.conversation_id.is_some()
    }

    /// Whether the reply has a spoken/text part (else it is a bare function call).
    pub(crate) fn has_message(&self) -> bool {
        !(self.reply.text.is_empty() && self.audio.is_empty() && self.reply.tool_call.is_some())
    }

    /// Milliseconds of audio sent so far.
    pub(crate) fn audio_sent_ms(&self) -> u64 {
        let per_ms = self.params.output_format.bytes_per_ms();
        u64::try_from(self.sent_bytes / per_ms).unwrap_or(u64::MAX)
    }

    /// The text sent so far.
    pub(crate) fn text_sent(&self) -> String {
        self.words[..self.sent_words].concat()
    }

    /// The next chunk: (transcript delta, audio bytes); advances the counters.
    pub(crate) fn next_chunk(&mut self) -> (String, Vec<u8>) {
        let chunk_bytes = chunk_bytes(self.params.output_format);
        let end = (self.sent_bytes + chunk_bytes).min(self.audio.len());
        let audio = self.audio[self.sent_bytes..end].to_vec();
        self.sent_bytes = end;
        self.sent_chunks += 1;
        let words_due = (self.sent_chunks * self.words.len()).div_ceil(self.chunks.max(1));
        let words_due = words_due.min(self.words.len());
        let text = self.words[self.sent_words..words_due].concat();
        self.sent_words = words_due;
        (text, audio)
    }

    /// Whether all chunks have been sent.
    pub(crate) fn stream_finished(&self) -> bool {
        self.sent_chunks >= self.chunks
    }

    /// The GA response object.
    pub(crate) fn object(&self, status: &str, status_details: Value, usage: Value) -> Value {
        let modalities = if self.params.audio_modality {
            json!(["audio"])
        } else {
            json!(["text"])
        };
        json!({
            "object": "realtime.response", "id": self.params.id, "status": status,
            "status_details": status_details, "output": self.output,
            "conversation_id": self.params.conversation_id, "output_modalities": modalities,
            "max_output_tokens": self.params.max_output_tokens,
            "audio": {"output": {"format": self.params.output_format.to_json(), "voice": self.params.voice}},
            "usage": usage, "metadata": self.params.metadata,
        })
    }

    /// The assistant message item in the given status and with the content sent so far.
    pub(crate) fn message_item_json(&self, status: &str, with_content: bool) -> Value {
        let content = if !with_content {
            json!([])
        } else if self.params.audio_modality {
            json!([{"type": "output_audio", "transcript": self.text_sent()}])
        } else {
            json!([{"type": "output_text", "text": self.text_sent()}])
        };
        json!({"id": self.message_item, "type": "message", "status": status, "role": "assistant", "content": content})
    }

    /// The `part` of `response.content_part.*`.
    pub(crate) fn part_json(&self, with_content: bool) -> Value {
        let text = if with_content {
            self.text_sent()
        } else {
            String::new()
        };
        if self.params.audio_modality {
            json!({"type": "audio", "transcript": text})
        } else {
            json!({"type": "text", "text": text})
        }
    }

    /// A deterministic token usage block proportional to the output.
    pub(crate) fn usage(&self, conversation_items: usize) -> Value {
        let text_tokens = u64::try_from(self.sent_words).unwrap_or(0) * 2;
        let audio_tokens = self.audio_sent_ms() / 50;
        let input_text = 40 + u64::try_from(self.params.instructions.len() / 4).unwrap_or(0);
        let input_audio = 10 * u64::try_from(conversation_items).unwrap_or(0);
        let output = text_tokens + audio_tokens;
        json!({
            "total_tokens": input_text + input_audio + output, "input_tokens": input_text + input_audio,
            "output_tokens": output,
            "input_token_details": {"text_tokens": input_text, "audio_tokens": input_audio, "image_tokens": 0,
                "cached_tokens": 0, "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}},
            "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
        })
    }
}

fn chunk_bytes(format: AudioFormat) -> usize {
    usize::try_from(CHUNK_MS).unwrap_or(100) * format.bytes_per_ms()
}

/// Splits text into deltas of one word each, keeping the separating spaces so that the deltas
/// concatenate to the original text.
pub(crate) fn split_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, word) in text.split(' ').enumerate() {
        if i == 0 {
            out.push(word.to_owned());
        } else {
            out.push(format!(" {word}"));
        }
    }
    out.retain(|w| !w.is_empty());
    out
}

/// Encodes 8 kHz samples into an output format (pcm is upsampled x3 by linear interpolation).
pub(crate) fn encode(samples: &[i16], format: AudioFormat) -> Vec<u8> {
    match format {
        AudioFormat::Pcmu => samples.iter().map(|s| ulaw_encode(*s)).collect(),
        AudioFormat::Pcma => samples.iter().map(|s| alaw_encode(*s)).collect(),
        AudioFormat::Pcm24k => {
            let mut out = Vec::with_capacity(samples.len() * 6);
            for (i, s) in samples.iter().enumerate() {
                let a = i32::from(*s);
                let b = i32::from(samples.get(i + 1).copied().unwrap_or(*s));
                for k in 0..3 {
                    let v = a + (b - a) * k / 3;
                    let v = i16::try_from(v).unwrap_or(0);
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            out
        }
    }
}

/// Base64 for audio deltas.
pub(crate) fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_concatenate_back() {
        let words = split_words("Hello there, how are you?");
        assert_eq!(words.len(), 5);
        assert_eq!(words.concat(), "Hello there, how are you?");
        assert!(split_words("").is_empty());
    }

    #[test]
    fn pcm_output_is_upsampled_three_times() {
        assert_eq!(encode(&[0, 300], AudioFormat::Pcm24k).len(), 12);
        assert_eq!(
            encode(&[0, 300], AudioFormat::Pcmu),
            vec![0xFF, ulaw_encode(300)]
        );
    }
}
