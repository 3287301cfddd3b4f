//! The model's output track: one continuous stream of audio at real-time pace, silence between
//! replies, in 100 ms chunks. A reply is encoded in the session's format when it starts and
//! consumed a chunk at a time; barge-in drops what is left of it.

use super::start::LiveFormat;
use crate::realtime::codec::{alaw_encode, ulaw_encode};

/// Audio per `session.output_audio.delta`, in milliseconds.
pub(crate) const CHUNK_MS: u64 = 100;

/// The reply being spoken.
#[derive(Debug)]
pub(crate) struct Speech {
    bytes: Vec<u8>,
    pos: usize,
    /// Its response id in the ledger.
    pub(crate) response_id: String,
}

impl Speech {
    /// Milliseconds of the reply already sent.
    pub(crate) fn sent_ms(&self, format: LiveFormat) -> u64 {
        u64::try_from(self.pos / format.bytes_per_ms()).unwrap_or(u64::MAX)
    }
}

/// The output track of one session.
#[derive(Debug)]
pub(crate) struct Track {
    format: LiveFormat,
    speech: Option<Speech>,
}

impl Track {
    /// A silent track in `format`.
    pub(crate) fn new(format: LiveFormat) -> Self {
        Self {
            format,
            speech: None,
        }
    }

    /// Whether a reply is being spoken.
    pub(crate) fn speaking(&self) -> bool {
        self.speech.is_some()
    }

    /// Starts speaking `samples` (8 kHz linear) as response `response_id`.
    pub(crate) fn speak(&mut self, samples: &[i16], response_id: String) {
        self.speech = Some(Speech {
            bytes: encode(samples, self.format),
            pos: 0,
            response_id,
        });
    }

    /// Stops the reply being spoken, if any, and returns it.
    pub(crate) fn stop(&mut self) -> Option<Speech> {
        self.speech.take()
    }

    /// The next 100 ms of the track, and the reply that ended with it, if one did. A reply's
    /// last chunk is padded with silence so every delta carries the same length.
    pub(crate) fn next_chunk(&mut self) -> (Vec<u8>, Option<Speech>) {
        let len = usize::try_from(CHUNK_MS).unwrap_or(100) * self.format.bytes_per_ms();
        let mut chunk = Vec::with_capacity(len);
        if let Some(speech) = self.speech.as_mut() {
            let end = (speech.pos + len).min(speech.bytes.len());
            chunk.extend_from_slice(&speech.bytes[speech.pos..end]);
            speech.pos = end;
        }
        let silence = silence_byte(self.format);
        chunk.resize(len, silence);
        let finished = self.speech.as_ref().is_some_and(|s| s.pos >= s.bytes.len());
        let ended = if finished { self.speech.take() } else { None };
        (chunk, ended)
    }
}

/// The byte a silent frame repeats in `format` (PCM zero is two zero bytes).
fn silence_byte(format: LiveFormat) -> u8 {
    match format {
        LiveFormat::Pcmu => 0xFF,
        LiveFormat::Pcma => 0xD5,
        LiveFormat::Pcm16k | LiveFormat::Pcm24k => 0x00,
    }
}

/// Encodes 8 kHz linear samples in `format` (PCM rates by sample repetition).
pub(crate) fn encode(samples: &[i16], format: LiveFormat) -> Vec<u8> {
    match format {
        LiveFormat::Pcmu => samples.iter().map(|s| ulaw_encode(*s)).collect(),
        LiveFormat::Pcma => samples.iter().map(|s| alaw_encode(*s)).collect(),
        LiveFormat::Pcm16k => repeat_le(samples, 2),
        LiveFormat::Pcm24k => repeat_le(samples, 3),
    }
}

fn repeat_le(samples: &[i16], times: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * times * 2);
    for s in samples {
        for _ in 0..times {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
    out
}

/// 16 kHz PCM16 input as 8 kHz µ-law, the form the VAD and the input envelope read.
pub(crate) fn pcm16k_to_ulaw(bytes: &[u8]) -> Vec<u8> {
    bytes
        .chunks_exact(4)
        .map(|pair| ulaw_encode(i16::from_le_bytes([pair[0], pair[1]])))
        .collect()
}
