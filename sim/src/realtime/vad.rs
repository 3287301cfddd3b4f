//! Server VAD: an energy detector over the audio the client appends, in audio time.
//!
//! Time is counted in audio received (bytes converted to milliseconds of the configured input
//! format), never in wall time, so `audio_start_ms`/`audio_end_ms` are cumulative over the
//! session exactly like the service reports them, and virtual-time runs are deterministic.
//!
//! The bytes are interpreted in the format the session is configured for, which reproduces the
//! classic mismatch: µ-law bytes read as pcm16 pair up into large samples (line noise around
//! 0x7F/0xFE becomes ±32 000), so speech starts and never stops; pcm16 bytes read as µ-law decode
//! near-zero samples (0x00/0xFF bytes) to ±32 124, the same effect. Only pure µ-law digital
//! silence (all 0xFF) reads as quiet pcm16 (-1), because any energy detector must call a
//! constant signal silent.

use super::codec::{alaw_decode, ulaw_decode};
use super::envelope::is_constant;
use super::session_config::{AudioFormat, TurnDetection};

/// Analysis window length.
const WINDOW_MS: u64 = 10;
/// Consecutive loud windows needed to declare an onset.
const ONSET_WINDOWS: u32 = 2;

/// What the detector decided while consuming audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VadEvent {
    /// Speech began; `audio_start_ms` already has the prefix padding subtracted.
    SpeechStarted {
        /// Cumulative audio time of the onset minus padding, clamped at zero.
        audio_start_ms: u64,
    },
    /// Speech ended; `audio_end_ms` is the last speech plus the silence duration.
    SpeechStopped {
        /// Cumulative audio time where the stop was decided.
        audio_end_ms: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle { loud_run: u32, run_start_ms: u64 },
    Speech { last_loud_end_ms: u64 },
}

/// An energy-based voice activity detector over cumulative audio time.
#[derive(Debug)]
pub(crate) struct Vad {
    carry: Vec<u8>,
    carry_format: AudioFormat,
    pos_ms: u64,
    state: State,
}

impl Vad {
    /// A detector at audio time zero.
    pub(crate) fn new() -> Self {
        Self {
            carry: Vec::new(),
            carry_format: AudioFormat::Pcm24k,
            pos_ms: 0,
            state: State::Idle {
                loud_run: 0,
                run_start_ms: 0,
            },
        }
    }

    /// Whether a speech cycle is open.
    pub(crate) fn in_speech(&self) -> bool {
        matches!(self.state, State::Speech { .. })
    }

    /// Ends any speech cycle without an event (after a commit or clear).
    pub(crate) fn reset(&mut self) {
        self.state = State::Idle {
            loud_run: 0,
            run_start_ms: self.pos_ms,
        };
    }

    /// Advances the audio clock without analysing (used while VAD is off).
    pub(crate) fn skip(&mut self, bytes: &[u8], format: AudioFormat) {
        self.feed(bytes, format, None);
    }

    /// Consumes appended bytes in `format` and returns the decisions they caused.
    pub(crate) fn push(
        &mut self,
        bytes: &[u8],
        format: AudioFormat,
        td: &TurnDetection,
    ) -> Vec<VadEvent> {
        self.feed(bytes, format, Some(td))
    }

    fn feed(
        &mut self,
        bytes: &[u8],
        format: AudioFormat,
        td: Option<&TurnDetection>,
    ) -> Vec<VadEvent> {
        if format != self.carry_format {
            // A format change starts a fresh window; the partial window is counted as time only.
            self.carry.clear();
            self.carry_format = format;
        }
        self.carry.extend_from_slice(bytes);
        let window_bytes = usize::try_from(WINDOW_MS).unwrap_or(10) * format.bytes_per_ms();
        let mut events = Vec::new();
        let mut offset = 0;
        while self.carry.len() - offset >= window_bytes {
            let window = &self.carry[offset..offset + window_bytes];
            offset += window_bytes;
            let start = self.pos_ms;
            self.pos_ms += WINDOW_MS;
            if let Some(td) = td {
                let loud = mean_abs(window, format) > level_for(td.threshold);
                if let Some(event) = self.step(loud, start, td) {
                    events.push(event);
                }
            }
        }
        self.carry.drain(..offset);
        events
    }

    fn step(&mut self, loud: bool, start: u64, td: &TurnDetection) -> Option<VadEvent> {
        match self.state {
            State::Idle {
                loud_run,
                run_start_ms,
            } => {
                if !loud {
                    self.state = State::Idle {
                        loud_run: 0,
                        run_start_ms: self.pos_ms,
                    };
                    return None;
                }
                let onset = if loud_run == 0 { start } else { run_start_ms };
                if loud_run + 1 >= ONSET_WINDOWS {
                    self.state = State::Speech {
                        last_loud_end_ms: self.pos_ms,
                    };
                    Some(VadEvent::SpeechStarted {
                        audio_start_ms: onset.saturating_sub(td.prefix_padding_ms),
                    })
                } else {
                    self.state = State::Idle {
                        loud_run: loud_run + 1,
                        run_start_ms: onset,
                    };
                    None
                }
            }
            State::Speech { last_loud_end_ms } => {
                if loud {
                    self.state = State::Speech {
                        last_loud_end_ms: self.pos_ms,
                    };
                    return None;
                }
                let silence = td.effective_silence_ms();
                if self.pos_ms.saturating_sub(last_loud_end_ms) >= silence {
                    self.state = State::Idle {
                        loud_run: 0,
                        run_start_ms: self.pos_ms,
                    };
                    Some(VadEvent::SpeechStopped {
                        audio_end_ms: last_loud_end_ms + silence,
                    })
                } else {
                    None
                }
            }
        }
    }
}

/// The mean absolute level (0..1 of full scale) that counts as speech for a detector threshold:
/// 0.5 maps to 0.03, between quiet line noise (< 0.005) and normal speech (0.05–0.2).
fn level_for(threshold: f64) -> f64 {
    0.002 + 0.056 * threshold
}

/// Mean absolute sample value of a window, as a fraction of full scale.
fn mean_abs(window: &[u8], format: AudioFormat) -> f64 {
    // Silence is one byte repeated: its mean is that sample's magnitude, exactly what the sum
    // below gives (a sum of integers in f64 is exact at these sizes), without decoding it.
    if format != AudioFormat::Pcm24k
        && let Some((&first, rest)) = window.split_first()
        && is_constant(first, rest)
    {
        let sample = match format {
            AudioFormat::Pcma => alaw_decode(first),
            _ => ulaw_decode(first),
        };
        return f64::from(sample).abs() / 32_768.0;
    }
    let (sum, n): (f64, usize) = match format {
        AudioFormat::Pcm24k => (
            window
                .chunks_exact(2)
                .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])).abs())
                .sum(),
            window.len() / 2,
        ),
        AudioFormat::Pcmu => (
            window
                .iter()
                .map(|b| f64::from(ulaw_decode(*b)).abs())
                .sum(),
            window.len(),
        ),
        AudioFormat::Pcma => (
            window
                .iter()
                .map(|b| f64::from(alaw_decode(*b)).abs())
                .sum(),
            window.len(),
        ),
    };
    if n == 0 {
        0.0
    } else {
        sum / n as f64 / 32_768.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::ulaw_encode;
    use super::*;

    #[test]
    fn a_constant_window_has_the_mean_a_full_decoding_gives() {
        for byte in [0xFF_u8, 0x7F, 0x80, 0x00, 0x9A, 0x13] {
            for format in [AudioFormat::Pcmu, AudioFormat::Pcma] {
                let window = [byte; 80];
                let decode = |b: u8| match format {
                    AudioFormat::Pcma => alaw_decode(b),
                    _ => ulaw_decode(b),
                };
                let full = window
                    .iter()
                    .map(|&b| f64::from(decode(b)).abs())
                    .sum::<f64>()
                    / 80.0
                    / 32_768.0;
                assert_eq!(mean_abs(&window, format), full, "{byte:#x} {format:?}");
            }
        }
    }

    fn tone_ulaw(ms: u64, amplitude: f64) -> Vec<u8> {
        (0..ms * 8)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let v = amplitude * 32_767.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin();
                ulaw_encode(v as i16)
            })
            .collect()
    }

    fn feed_frames(
        vad: &mut Vad,
        bytes: &[u8],
        format: AudioFormat,
        td: &TurnDetection,
    ) -> Vec<VadEvent> {
        // Twilio-sized 20 ms frames, to exercise the carry between appends.
        let frame = 20 * format.bytes_per_ms();
        bytes
            .chunks(frame)
            .flat_map(|c| vad.push(c, format, td))
            .collect()
    }

    #[test]
    fn ulaw_tone_between_silences_is_one_turn() {
        let td = TurnDetection::creation_default();
        let mut vad = Vad::new();
        let mut audio = vec![0xFFu8; 1000 * 8];
        audio.extend(tone_ulaw(800, 0.251));
        audio.extend(vec![0xFFu8; 1000 * 8]);
        let events = feed_frames(&mut vad, &audio, AudioFormat::Pcmu, &td);
        assert_eq!(
            events,
            vec![
                VadEvent::SpeechStarted {
                    audio_start_ms: 700
                },
                VadEvent::SpeechStopped { audio_end_ms: 2000 },
            ]
        );
    }

    #[test]
    fn low_noise_and_silence_do_not_trigger() {
        let td = TurnDetection::creation_default();
        let mut vad = Vad::new();
        let mut audio = vec![0xFFu8; 500 * 8];
        audio.extend(tone_ulaw(500, 0.003));
        audio.extend(vec![0x7Fu8; 500 * 8]);
        assert!(feed_frames(&mut vad, &audio, AudioFormat::Pcmu, &td).is_empty());
        assert!(!vad.in_speech());
    }

    #[test]
    fn pcm16_speech_uses_48_bytes_per_ms() {
        let td = TurnDetection::creation_default();
        let mut vad = Vad::new();
        let mut audio = vec![0u8; 400 * 48];
        for i in 0..(600 * 24) {
            let v = (0.2
                * 32_767.0
                * (2.0 * std::f64::consts::PI * 300.0 * f64::from(i) / 24_000.0).sin())
                as i16;
            audio.extend(v.to_le_bytes());
        }
        audio.extend(vec![0u8; 400 * 48]);
        let events = feed_frames(&mut vad, &audio, AudioFormat::Pcm24k, &td);
        assert_eq!(
            events,
            vec![
                VadEvent::SpeechStarted {
                    audio_start_ms: 100
                },
                VadEvent::SpeechStopped { audio_end_ms: 1200 },
            ]
        );
    }

    #[test]
    fn ulaw_line_noise_read_as_pcm16_never_stops() {
        let td = TurnDetection::creation_default();
        let mut vad = Vad::new();
        // Real line noise hovers around µ-law zero: 0xFF, 0x7F, 0xFE, 0x7E.
        let noise: Vec<u8> = (0..3000 * 8)
            .map(|i| [0xFF, 0x7F, 0xFE, 0x7E][i % 4])
            .collect();
        let mut audio = tone_ulaw(500, 0.251);
        audio.extend(noise);
        let events = feed_frames(&mut vad, &audio, AudioFormat::Pcm24k, &td);
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0], VadEvent::SpeechStarted { .. }));
        assert!(vad.in_speech());
    }

    #[test]
    fn pcm16_silence_read_as_ulaw_is_loud() {
        let td = TurnDetection::creation_default();
        let mut vad = Vad::new();
        let events = feed_frames(&mut vad, &vec![0u8; 2000 * 8], AudioFormat::Pcmu, &td);
        assert_eq!(events, vec![VadEvent::SpeechStarted { audio_start_ms: 0 }]);
    }
}
