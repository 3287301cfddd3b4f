//! What the mock model does: scripted replies, injected failures and connection faults.
//!
//! The scenario runner builds a [`Script`]; each session picks its n-th reply by response
//! number, so a scenario reads as "the first answer is X, the second is Y".

use std::f32::consts::PI;
use std::sync::Arc;
use std::time::Duration;

/// The behaviour of the mock model for every connection of one mock server.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Reply `n` is used for the n-th response (0-based) of each connection.
    pub replies: Vec<Reply>,
    /// Used once `replies` is exhausted.
    pub default_reply: Option<Reply>,
    /// Connection-level faults (error events, dropped sockets, close frames).
    pub faults: Vec<AiFault>,
}

impl Script {
    /// The reply for the n-th response of a connection: `replies[n]`, else the default, else
    /// a one-second filler saying "Okay.".
    pub fn reply_for(&self, n: usize) -> Reply {
        self.replies
            .get(n)
            .or(self.default_reply.as_ref())
            .cloned()
            .unwrap_or_else(Reply::filler)
    }
}

/// One scripted model response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The transcript (audio modality) or text (text modality).
    pub text: String,
    /// The audio spoken.
    pub audio: ReplyAudio,
    /// A function call emitted after the spoken part.
    pub tool_call: Option<ToolCall>,
    /// Ends the response with `status: failed` instead of producing output.
    pub fail: Option<ResponseFailure>,
    /// An `error` event sent when this response starts.
    pub error: Option<InjectedError>,
}

impl Reply {
    /// The built-in reply: "Okay." over one second of speech-like audio.
    pub fn filler() -> Self {
        Self::spoken("Okay.", ReplyAudio::Filler { ms: 1000 })
    }

    /// A plain spoken reply with no tool call or fault.
    pub fn spoken(text: &str, audio: ReplyAudio) -> Self {
        Self {
            text: text.to_owned(),
            audio,
            tool_call: None,
            fail: None,
            error: None,
        }
    }
}

/// The audio of a reply.
#[derive(Debug, Clone)]
pub enum ReplyAudio {
    /// No audio at all (transcript only).
    None,
    /// A sine tone at -12 dBFS.
    Tone {
        /// Duration in milliseconds.
        ms: u32,
        /// Frequency in hertz.
        hz: f32,
    },
    /// A speech-like, silence-free signal (a voiced buzz with syllable-rate modulation).
    Filler {
        /// Duration in milliseconds.
        ms: u32,
    },
    /// Linear samples at 8 kHz mono, e.g. from a WAV file.
    Pcm8k(Arc<Vec<i16>>),
}

impl ReplyAudio {
    /// Renders the audio as linear samples at 8 kHz mono.
    pub fn samples_8k(&self) -> Vec<i16> {
        match self {
            ReplyAudio::None => Vec::new(),
            ReplyAudio::Tone { ms, hz } => {
                let n = samples_for_ms(*ms);
                let amp = 0.251 * 32_767.0;
                (0..n)
                    .map(|i| to_i16(amp * (2.0 * PI * hz * i as f32 / 8000.0).sin()))
                    .collect()
            }
            ReplyAudio::Filler { ms } => {
                let n = samples_for_ms(*ms);
                (0..n)
                    .map(|i| {
                        let t = i as f32 / 8000.0;
                        // A 140 Hz voice with a few harmonics, amplitude-modulated at a syllable
                        // rate but never dropping below half level, so no gap reads as silence.
                        let voice = (2.0 * PI * 140.0 * t).sin()
                            + 0.5 * (2.0 * PI * 280.0 * t).sin()
                            + 0.3 * (2.0 * PI * 700.0 * t).sin();
                        let envelope = 0.75 + 0.25 * (2.0 * PI * 4.0 * t).sin();
                        to_i16(0.12 * 32_767.0 * envelope * voice)
                    })
                    .collect()
            }
            ReplyAudio::Pcm8k(samples) => samples.as_ref().clone(),
        }
    }
}

fn samples_for_ms(ms: u32) -> usize {
    usize::try_from(u64::from(ms) * 8).unwrap_or(0)
}

fn to_i16(v: f32) -> i16 {
    // The cast saturates, which is the clipping we want.
    v.round().clamp(-32_768.0, 32_767.0) as i16
}

/// A seeded thinking time before each response's first output: `base` plus or minus up to
/// `jitter`, drawn uniformly from a hash of the seed and the response id, so two runs with the
/// same seed and ids wait the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstAudioDelay {
    /// The mean delay.
    pub base: Duration,
    /// The largest deviation either way.
    pub jitter: Duration,
    /// The seed.
    pub seed: u64,
}

impl FirstAudioDelay {
    /// The delay for the response with this id.
    pub fn sample(&self, response_id: &str) -> Duration {
        let mut h = self.seed ^ 0x9E37_79B9_7F4A_7C15;
        for b in response_id.bytes() {
            h = splitmix(h ^ u64::from(b));
        }
        let span = self.jitter.as_micros().saturating_mul(2);
        let span = u64::try_from(span).unwrap_or(u64::MAX);
        let offset = if span == 0 { 0 } else { h % (span + 1) };
        let low = self.base.saturating_sub(self.jitter);
        low + Duration::from_micros(offset)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A function call the model makes.
#[derive(Debug, Clone)]
pub struct ToolCall {
    /// Function name.
    pub name: String,
    /// Arguments as JSON text.
    pub arguments: String,
}

/// A response that ends with `status: failed`.
#[derive(Debug, Clone)]
pub struct ResponseFailure {
    /// `status_details.error.code`.
    pub code: String,
    /// `status_details.error.message`.
    pub message: String,
}

/// An `error` event sent when a response starts.
#[derive(Debug, Clone)]
pub struct InjectedError {
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// `error.type`, e.g. `server_error`.
    pub error_type: String,
}

/// A connection-level fault at a given time.
#[derive(Debug, Clone)]
pub struct AiFault {
    /// Connection index in accept order, 0-based.
    pub session: usize,
    /// Delay after that connection opened.
    pub at: Duration,
    /// What happens.
    pub kind: AiFaultKind,
}

/// The kinds of connection faults.
#[derive(Debug, Clone)]
pub enum AiFaultKind {
    /// An `error` event; the session continues.
    ErrorEvent {
        /// `error.code`.
        code: String,
        /// `error.message`.
        message: String,
        /// `error.type`.
        error_type: String,
    },
    /// The TCP connection is closed with no close frame.
    DropSocket,
    /// A close frame with this code and reason.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_audio_delay_stays_within_its_bounds_and_repeats_per_id() {
        let d = FirstAudioDelay {
            base: Duration::from_millis(400),
            jitter: Duration::from_millis(50),
            seed: 7,
        };
        let samples: Vec<Duration> = (0..200).map(|i| d.sample(&format!("resp_{i}"))).collect();
        assert!(
            samples.iter().all(|s| (350..=450).contains(&s.as_millis())),
            "{samples:?}"
        );
        assert_eq!(d.sample("resp_3"), d.sample("resp_3"));
        let distinct: std::collections::BTreeSet<_> = samples.iter().collect();
        assert!(distinct.len() > 50, "the jitter spreads the delays");
    }

    #[test]
    fn reply_selection_falls_back_in_order() {
        let mut script = Script::default();
        assert_eq!(script.reply_for(0).text, "Okay.");
        script
            .replies
            .push(Reply::spoken("first", ReplyAudio::None));
        script.default_reply = Some(Reply::spoken("default", ReplyAudio::None));
        assert_eq!(script.reply_for(0).text, "first");
        assert_eq!(script.reply_for(5).text, "default");
    }

    #[test]
    fn audio_lengths_follow_milliseconds() {
        assert_eq!(
            ReplyAudio::Tone { ms: 250, hz: 440.0 }.samples_8k().len(),
            2000
        );
        let filler = ReplyAudio::Filler { ms: 1000 }.samples_8k();
        assert_eq!(filler.len(), 8000);
        // Silence-free: every 10 ms window carries energy.
        for window in filler.chunks(80) {
            let mean = window.iter().map(|s| i32::from(*s).abs()).sum::<i32>() / 80;
            assert!(mean > 800, "quiet window {mean}");
        }
    }
}
