//! The caller's side of the call: a cursor over the caller script, consumed 20 ms at a time.
//!
//! The script's clock is the amount of caller audio consumed, not wall time: it advances only
//! while the caller is listening on a media stream or answering a `<Gather>`. With one stream per
//! call this is exactly "time since the stream's `start`". During other verbs (`<Say>`,
//! `<Pause>` after the server closed the stream) the caller waits, so a trailing
//! `<Pause length="40"/>` really keeps the line open for 40 s, as on Twilio.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::audio::FRAME_BYTES;

use super::spec::{CallerScript, CallerStep};

/// Length of one DTMF key press in the caller's timeline.
pub const DTMF_KEY_MS: u64 = 100;

#[derive(Debug)]
enum Segment {
    Audio {
        data: Arc<Vec<u8>>,
        offset: usize,
        label: String,
    },
    Silence {
        bytes: u64,
    },
    Digit(char),
    Hangup,
}

/// A labelled piece of caller audio, in script positions (bytes since the script start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerAudioSpan {
    /// The step's label.
    pub label: String,
    /// Script position where it started.
    pub from_byte: u64,
    /// Script position where it ended.
    pub to_byte: u64,
}

/// What the caller produces in one 20 ms tick.
#[derive(Debug, Clone)]
pub struct CallerTick {
    /// The frame to send (silence where the caller is quiet).
    pub frame: [u8; FRAME_BYTES],
    /// Keys pressed at the start of this tick.
    pub digits: Vec<char>,
    /// Audio steps that finished in this tick.
    pub finished_audio: Vec<CallerAudioSpan>,
}

/// A cursor over a caller script.
#[derive(Debug)]
pub struct CallerCursor {
    segments: VecDeque<Segment>,
    position: u64,
    hangup_at: Option<u64>,
    hung_up: bool,
    current_audio_from: Option<u64>,
}

impl CallerCursor {
    /// A cursor at the start of `script`.
    pub fn new(script: &CallerScript) -> Self {
        let mut segments = VecDeque::new();
        for step in &script.steps {
            match step {
                CallerStep::Audio { mulaw, label } => segments.push_back(Segment::Audio {
                    data: Arc::clone(mulaw),
                    offset: 0,
                    label: label.clone(),
                }),
                CallerStep::Silence(d) => segments.push_back(Segment::Silence {
                    bytes: bytes_of(*d),
                }),
                CallerStep::Dtmf(keys) => {
                    for key in keys.chars().filter(|c| !c.is_whitespace()) {
                        segments.push_back(Segment::Digit(key));
                        segments.push_back(Segment::Silence {
                            bytes: DTMF_KEY_MS * 8,
                        });
                    }
                }
                CallerStep::Hangup => segments.push_back(Segment::Hangup),
            }
        }
        Self {
            segments,
            position: 0,
            hangup_at: script.hangup_at.map(bytes_of),
            hung_up: false,
            current_audio_from: None,
        }
    }

    /// Bytes of script consumed so far (8 per millisecond).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether the caller hangs up now (before producing another frame).
    pub fn should_hang_up(&self) -> bool {
        if self.hung_up {
            return true;
        }
        if let Some(limit) = self.hangup_at {
            return self.position >= limit;
        }
        match self.segments.front() {
            None => true,
            Some(Segment::Hangup) => true,
            Some(_) => false,
        }
    }

    /// Produces the next 20 ms of caller output.
    pub fn next_tick(&mut self) -> CallerTick {
        let mut tick = CallerTick {
            frame: [0xFF; FRAME_BYTES],
            digits: Vec::new(),
            finished_audio: Vec::new(),
        };
        let mut filled = 0usize;
        while filled < FRAME_BYTES {
            let budget = match self.hangup_at {
                Some(limit) => {
                    usize::try_from(limit.saturating_sub(self.position)).unwrap_or(usize::MAX)
                }
                None => usize::MAX,
            };
            if budget == 0 {
                break;
            }
            let want = (FRAME_BYTES - filled).min(budget);
            match self.segments.front_mut() {
                None => {
                    if self.hangup_at.is_none() {
                        break;
                    }
                    // Silence until the hang-up time.
                    filled += want;
                    self.position += want as u64;
                }
                Some(Segment::Hangup) => {
                    self.hung_up = true;
                    break;
                }
                Some(Segment::Digit(key)) => {
                    tick.digits.push(*key);
                    self.segments.pop_front();
                }
                Some(Segment::Silence { bytes }) => {
                    let n = want.min(usize::try_from(*bytes).unwrap_or(usize::MAX));
                    filled += n;
                    self.position += n as u64;
                    *bytes -= n as u64;
                    if *bytes == 0 {
                        self.segments.pop_front();
                    }
                }
                Some(Segment::Audio {
                    data,
                    offset,
                    label,
                }) => {
                    if *offset == 0 && self.current_audio_from.is_none() {
                        self.current_audio_from = Some(self.position);
                    }
                    let n = want.min(data.len() - *offset);
                    tick.frame[filled..filled + n].copy_from_slice(&data[*offset..*offset + n]);
                    *offset += n;
                    filled += n;
                    self.position += n as u64;
                    if *offset == data.len() {
                        tick.finished_audio.push(CallerAudioSpan {
                            label: label.clone(),
                            from_byte: self.current_audio_from.take().unwrap_or(self.position),
                            to_byte: self.position,
                        });
                        self.segments.pop_front();
                    }
                }
            }
        }
        tick
    }
}

fn bytes_of(d: Duration) -> u64 {
    u64::try_from(d.as_millis())
        .unwrap_or(u64::MAX / 8)
        .saturating_mul(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(label: &str, ms: u64, byte: u8) -> CallerStep {
        CallerStep::Audio {
            mulaw: Arc::new(vec![byte; usize::try_from(ms * 8).unwrap()]),
            label: label.into(),
        }
    }

    fn run(cursor: &mut CallerCursor) -> Vec<CallerTick> {
        let mut ticks = Vec::new();
        while !cursor.should_hang_up() {
            ticks.push(cursor.next_tick());
            assert!(ticks.len() < 100_000);
        }
        ticks
    }

    #[test]
    fn ten_seconds_of_script_is_500_frames() {
        let script = CallerScript {
            steps: vec![
                audio("hello", 2000, 0x10),
                CallerStep::Silence(Duration::from_secs(3)),
                CallerStep::Dtmf("12".into()),
                audio("bye", 4800, 0x20),
            ],
            hangup_at: None,
        };
        let mut cursor = CallerCursor::new(&script);
        let ticks = run(&mut cursor);
        assert_eq!(ticks.len(), 500);
        let digits: Vec<(usize, char)> = ticks
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.digits.iter().map(move |d| (i, *d)))
            .collect();
        assert_eq!(digits, vec![(250, '1'), (255, '2')]);
        let spans: Vec<CallerAudioSpan> = ticks
            .iter()
            .flat_map(|t| t.finished_audio.clone())
            .collect();
        assert_eq!(
            spans[0],
            CallerAudioSpan {
                label: "hello".into(),
                from_byte: 0,
                to_byte: 16_000
            }
        );
        assert_eq!(
            spans[1],
            CallerAudioSpan {
                label: "bye".into(),
                from_byte: 41_600,
                to_byte: 80_000
            }
        );
        assert!(ticks[0].frame.iter().all(|&b| b == 0x10));
        assert!(ticks[200].frame.iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn hangup_at_extends_with_silence_or_cuts_short() {
        let longer = CallerScript {
            steps: vec![audio("a", 100, 1)],
            hangup_at: Some(Duration::from_secs(1)),
        };
        assert_eq!(run(&mut CallerCursor::new(&longer)).len(), 50);
        let shorter = CallerScript {
            steps: vec![audio("a", 5000, 1)],
            hangup_at: Some(Duration::from_millis(30)),
        };
        let ticks = run(&mut CallerCursor::new(&shorter));
        assert_eq!(ticks.len(), 2);
        assert!(ticks[1].frame[80..].iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn explicit_hangup_step_ends_the_script() {
        let script = CallerScript {
            steps: vec![
                audio("a", 30, 1),
                CallerStep::Hangup,
                audio("never", 1000, 2),
            ],
            hangup_at: Some(Duration::from_secs(60)),
        };
        let ticks = run(&mut CallerCursor::new(&script));
        assert_eq!(ticks.len(), 2);
        assert!(ticks.iter().all(|t| t.frame.iter().all(|&b| b != 2)));
        assert!(CallerCursor::new(&CallerScript::default()).should_hang_up());
    }
}
