//! The input envelope: a summary of the audio a session received, one small fixed-size record per
//! 20 ms of audio, so the transcript can check that the model heard the caller's speech (decoded
//! in whatever format the session declared) without keeping hours of raw audio.
//!
//! Each frame keeps its level in dB and its zero-crossing count. Both survive an honest change of
//! encoding (µ-law passed through, or decoded to 24 kHz PCM16, keeps the level within a dB and
//! the crossings nearly unchanged, because they are properties of the waveform, not of the
//! bytes), while noise, bytes read in the wrong order or in the wrong codec change them: silence
//! turns loud, and a voice's few crossings per frame become a noise's hundreds.

use super::codec::{alaw_decode, ulaw_decode};
use super::session_config::AudioFormat;

/// Audio per envelope frame: Twilio's media frame, so caller frames and model frames line up.
pub const ENVELOPE_FRAME_MS: usize = 20;

/// Frames an unbounded ledger keeps per session: Twilio's 4-hour call limit, at most 5.8 MB.
/// Audio beyond it is counted in [`InputEnvelope::dropped`], never stored.
pub(crate) const MAX_ENVELOPE_FRAMES: usize = 4 * 3600 * 1000 / ENVELOPE_FRAME_MS;

/// What 20 ms of audio sounds like, in two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameSummary {
    /// The RMS level in dB over one unit of a 16-bit sample (0 for digital silence, 90 for a
    /// full-scale square wave).
    pub level_db: u8,
    /// How often the waveform changes sign within the frame (zeros carry the previous sign),
    /// capped at 255; the same for a signal however many samples per second encode it.
    pub crossings: u8,
}

impl FrameSummary {
    /// Summarises one frame of audio in `format`.
    pub fn of(bytes: &[u8], format: AudioFormat) -> Self {
        // Most frames of a long call are one repeated byte (µ-law or A-law silence): a constant
        // waveform has the level of its one sample and no crossing, found without decoding 160
        // samples. This runs twice for every 20 ms frame of every call.
        if format != AudioFormat::Pcm24k
            && let Some((&first, rest)) = bytes.split_first()
            && is_constant(first, rest)
        {
            return Self::of_samples(std::iter::once(match format {
                AudioFormat::Pcma => alaw_decode(first),
                _ => ulaw_decode(first),
            }));
        }
        match format {
            AudioFormat::Pcmu => Self::of_samples(bytes.iter().map(|&b| ulaw_decode(b))),
            AudioFormat::Pcma => Self::of_samples(bytes.iter().map(|&b| alaw_decode(b))),
            AudioFormat::Pcm24k => Self::of_samples(
                bytes
                    .chunks_exact(2)
                    .map(|pair| i16::from_le_bytes([pair[0], pair[1]])),
            ),
        }
    }

    fn of_samples(samples: impl Iterator<Item = i16>) -> Self {
        // Integer sums: a frame has at most a few thousand samples of at most 2^30 each.
        let mut sum = 0u64;
        let mut count = 0u32;
        let mut crossings = 0u32;
        let mut sign = 0i8;
        for sample in samples {
            sum += u64::from(sample.unsigned_abs()).pow(2);
            count += 1;
            let now = match sample {
                0 => sign,
                s if s > 0 => 1,
                _ => -1,
            };
            if sign != 0 && now != sign {
                crossings += 1;
            }
            sign = now;
        }
        let rms = if count == 0 {
            0.0
        } else {
            (sum as f64 / f64::from(count)).sqrt()
        };
        let level = if rms < 1.0 {
            0.0
        } else {
            (20.0 * rms.log10()).round()
        };
        Self {
            // 20·log10 of an i16 RMS lies in 0..=91, so the cast cannot truncate.
            level_db: level.clamp(0.0, 255.0) as u8,
            crossings: u8::try_from(crossings).unwrap_or(u8::MAX),
        }
    }
}

/// One envelope frame of received audio and when the append that completed it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedFrame {
    /// Arrival, in ms since the clock start (saturating at about 49 days).
    pub at_ms: u32,
    /// The frame's level and crossings.
    pub summary: FrameSummary,
}

/// The envelope of a session's appended audio, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct InputEnvelope {
    frames: Vec<ReceivedFrame>,
    /// The start of a frame whose end has not arrived yet.
    carry: Vec<u8>,
    /// The format `carry` is in; a format change discards it.
    carry_format: Option<AudioFormat>,
    dropped: u64,
}

impl InputEnvelope {
    /// Every complete frame received, up to the cap.
    pub fn frames(&self) -> &[ReceivedFrame] {
        &self.frames
    }

    /// Frames received beyond the cap, counted but not kept.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Adds appended `bytes` in `format`, arrived at `at_ms`, keeping at most `cap` frames.
    pub(crate) fn push(&mut self, bytes: &[u8], format: AudioFormat, at_ms: u64, cap: usize) {
        if self.carry_format != Some(format) {
            // A partial frame in the old format cannot be completed in the new one.
            self.carry.clear();
            self.carry_format = Some(format);
        }
        let frame_bytes = ENVELOPE_FRAME_MS * format.bytes_per_ms();
        let at_ms = u32::try_from(at_ms).unwrap_or(u32::MAX);
        let mut rest = bytes;
        if !self.carry.is_empty() {
            let need = frame_bytes - self.carry.len();
            let take = need.min(rest.len());
            self.carry.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.carry.len() < frame_bytes {
                return;
            }
            let summary = FrameSummary::of(&self.carry, format);
            self.carry.clear();
            self.keep(ReceivedFrame { at_ms, summary }, cap);
        }
        let mut chunks = rest.chunks_exact(frame_bytes);
        for frame in &mut chunks {
            let summary = FrameSummary::of(frame, format);
            self.keep(ReceivedFrame { at_ms, summary }, cap);
        }
        self.carry.extend_from_slice(chunks.remainder());
    }

    fn keep(&mut self, frame: ReceivedFrame, cap: usize) {
        if self.frames.len() < cap {
            self.frames.push(frame);
        } else {
            self.dropped += 1;
        }
    }

    /// Drops everything kept (a bounded ledger compacting a closed session).
    pub(crate) fn clear(&mut self) {
        *self = Self {
            dropped: self.dropped + u64::try_from(self.frames.len()).unwrap_or(u64::MAX),
            ..Self::default()
        };
    }
}

/// Whether every byte of `rest` is `first`. Written as one pass without an early exit, which
/// the compiler turns into a few vector instructions; `all()` checks one byte at a time.
pub(crate) fn is_constant(first: u8, rest: &[u8]) -> bool {
    rest.iter().fold(0u8, |differs, &b| differs | (b ^ first)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_frame_is_summarised_as_its_full_decoding_would_be() {
        for byte in [0xFF_u8, 0x7F, 0x80, 0x00, 0x9A] {
            for format in [AudioFormat::Pcmu, AudioFormat::Pcma] {
                let frame = [byte; 160];
                let decode = |b: u8| match format {
                    AudioFormat::Pcma => alaw_decode(b),
                    _ => ulaw_decode(b),
                };
                let full = FrameSummary::of_samples(frame.iter().map(|&b| decode(b)));
                assert_eq!(
                    FrameSummary::of(&frame, format),
                    full,
                    "{byte:#x} {format:?}"
                );
            }
        }
    }

    fn speech(ms: u64) -> Vec<u8> {
        crate::audio::speech_like(ms, 7)
    }

    /// µ-law decoded to 24 kHz PCM16 by repeating each sample three times, as a naive re-encoder
    /// would.
    fn to_pcm24k(mulaw: &[u8]) -> Vec<u8> {
        mulaw
            .iter()
            .flat_map(|&b| {
                let s = ulaw_decode(b).to_le_bytes();
                [s[0], s[1], s[0], s[1], s[0], s[1]]
            })
            .collect()
    }

    #[test]
    fn silence_is_level_zero_and_a_tone_is_loud_with_few_crossings() {
        assert_eq!(
            FrameSummary::of(&[0xFF; 160], AudioFormat::Pcmu),
            FrameSummary::default()
        );
        let tone = crate::audio::tone(400.0, 20, 0.5);
        let s = FrameSummary::of(&tone, AudioFormat::Pcmu);
        assert!((80..=82).contains(&s.level_db), "{s:?}");
        // 400 Hz for 20 ms: eight periods, sixteen sign changes give or take one.
        assert!((15..=17).contains(&s.crossings), "{s:?}");
    }

    #[test]
    fn the_same_audio_in_pcm24k_has_the_same_summary() {
        let audio = speech(200);
        for (mulaw, pcm) in audio.chunks(160).zip(to_pcm24k(&audio).chunks(960)) {
            assert_eq!(
                FrameSummary::of(mulaw, AudioFormat::Pcmu),
                FrameSummary::of(pcm, AudioFormat::Pcm24k)
            );
        }
    }

    #[test]
    fn frames_span_appends_and_a_format_change_drops_the_partial_one() {
        let audio = speech(100);
        let mut envelope = InputEnvelope::default();
        envelope.push(&audio[..100], AudioFormat::Pcmu, 20, MAX_ENVELOPE_FRAMES);
        assert!(envelope.frames().is_empty());
        envelope.push(&audio[100..], AudioFormat::Pcmu, 40, MAX_ENVELOPE_FRAMES);
        assert_eq!(envelope.frames().len(), 5);
        assert!(envelope.frames().iter().all(|f| f.at_ms == 40));
        assert_eq!(
            envelope.frames()[0].summary,
            FrameSummary::of(&audio[..160], AudioFormat::Pcmu)
        );

        envelope.push(&[0u8; 100], AudioFormat::Pcm24k, 60, MAX_ENVELOPE_FRAMES);
        envelope.push(&[0u8; 100], AudioFormat::Pcmu, 80, MAX_ENVELOPE_FRAMES);
        assert_eq!(envelope.frames().len(), 5, "no frame mixes two formats");
    }

    #[test]
    fn a_bounded_ledger_keeps_the_envelope_as_long_as_its_raw_audio() {
        use crate::realtime::{Retention, SessionRecord};
        // A minute and a frame of µ-law: the bounded ledger's raw-audio cap is one minute.
        let audio = vec![0xFF; 160 * 3_001];
        let mut bounded = SessionRecord::default();
        bounded.store_envelope(&audio, AudioFormat::Pcmu, 0, &Retention::bounded());
        assert_eq!(bounded.input_envelope.frames().len(), 3_000);
        assert_eq!(bounded.input_envelope.dropped(), 1);
        let mut full = SessionRecord::default();
        full.store_envelope(&audio, AudioFormat::Pcmu, 0, &Retention::full());
        assert_eq!(full.input_envelope.frames().len(), 3_001);
    }

    #[test]
    fn frames_beyond_the_cap_are_counted_not_kept() {
        let mut envelope = InputEnvelope::default();
        envelope.push(&[0xFF; 160 * 10], AudioFormat::Pcmu, 0, 4);
        assert_eq!(envelope.frames().len(), 4);
        assert_eq!(envelope.dropped(), 6);
        envelope.clear();
        assert!(envelope.frames().is_empty());
        assert_eq!(envelope.dropped(), 10);
    }
}
