//! The playout buffer: server audio played to the caller at 8000 bytes/s, with marks in line.
//!
//! The buffer is a pure data structure driven by explicit tokio instants, so its timing can be
//! unit-tested under a paused clock. The stream session calls [`PlayoutBuffer::advance`] on every
//! tick and sleeps until [`PlayoutBuffer::next_mark_due`] so marks are echoed exactly when the
//! audio before them has played.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Playout time of one µ-law byte at 8 kHz.
const BYTE_TIME: Duration = Duration::from_micros(125);

#[derive(Debug)]
enum Entry {
    Audio { data: Vec<u8>, offset: usize },
    Mark(String),
}

/// Something that happened while the buffer played out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Played {
    /// These bytes reached the caller's ear.
    Audio(Vec<u8>),
    /// Playback reached this mark (or it was flushed by `clear`): echo it.
    Mark(String),
    /// A run of continuous playout ended (drained or cleared).
    Segment {
        /// When the run started playing.
        start: Instant,
        /// When it ended.
        end: Instant,
        /// Bytes played in the run.
        bytes: u64,
        /// Whether a `clear` cut it short.
        cleared: bool,
    },
}

/// Buffered server audio and marks, drained in real (tokio) time.
#[derive(Debug)]
pub struct PlayoutBuffer {
    queue: VecDeque<Entry>,
    /// Everything up to this instant has been played.
    drained_until: Instant,
    segment: Option<(Instant, u64)>,
}

impl PlayoutBuffer {
    /// An empty buffer.
    pub fn new(now: Instant) -> Self {
        Self {
            queue: VecDeque::new(),
            drained_until: now,
            segment: None,
        }
    }

    /// Bytes of audio waiting to be played.
    pub fn buffered_bytes(&self) -> usize {
        self.queue
            .iter()
            .map(|e| match e {
                Entry::Audio { data, offset } => data.len() - offset,
                Entry::Mark(_) => 0,
            })
            .sum()
    }

    /// Queues audio after playing out everything due by `now`.
    pub fn push_audio(&mut self, now: Instant, bytes: Vec<u8>) -> Vec<Played> {
        let mut out = self.advance(now);
        if bytes.is_empty() {
            return out;
        }
        if self.buffered_bytes() == 0 {
            self.segment = Some((now, 0));
        }
        self.queue.push_back(Entry::Audio {
            data: bytes,
            offset: 0,
        });
        out.extend(self.advance(now));
        out
    }

    /// Queues a mark; with nothing buffered before it, it is echoed at once.
    pub fn push_mark(&mut self, now: Instant, name: String) -> Vec<Played> {
        let mut out = self.advance(now);
        self.queue.push_back(Entry::Mark(name));
        out.extend(self.advance(now));
        out
    }

    /// Drops unplayed audio and returns every pending mark (after what was due by `now`).
    pub fn clear(&mut self, now: Instant) -> Vec<Played> {
        let mut out = self.advance(now);
        let had_audio = self.buffered_bytes() > 0;
        for entry in self.queue.drain(..) {
            if let Entry::Mark(name) = entry {
                out.push(Played::Mark(name));
            }
        }
        if let Some((start, bytes)) = self.segment.take() {
            out.push(Played::Segment {
                start,
                end: now,
                bytes,
                cleared: had_audio,
            });
        }
        self.drained_until = now;
        out
    }

    /// Plays out everything due by `now`.
    pub fn advance(&mut self, now: Instant) -> Vec<Played> {
        let mut out = Vec::new();
        loop {
            match self.queue.front_mut() {
                None => {
                    if let Some((start, bytes)) = self.segment.take() {
                        out.push(Played::Segment {
                            start,
                            end: self.drained_until.min(now),
                            bytes,
                            cleared: false,
                        });
                    }
                    self.drained_until = now;
                    return out;
                }
                Some(Entry::Mark(_)) => {
                    if let Some(Entry::Mark(name)) = self.queue.pop_front() {
                        out.push(Played::Mark(name));
                    }
                }
                Some(Entry::Audio { data, offset }) => {
                    let available = now.saturating_duration_since(self.drained_until);
                    let affordable = usize::try_from(available.as_nanos() / BYTE_TIME.as_nanos())
                        .unwrap_or(usize::MAX);
                    let n = affordable.min(data.len() - *offset);
                    if n > 0 {
                        out.push(Played::Audio(data[*offset..*offset + n].to_vec()));
                        *offset += n;
                        self.drained_until += BYTE_TIME * u32::try_from(n).unwrap_or(u32::MAX);
                        if let Some((_, bytes)) = self.segment.as_mut() {
                            *bytes += n as u64;
                        }
                    }
                    if *offset < data.len() {
                        return out;
                    }
                    self.queue.pop_front();
                }
            }
        }
    }

    /// When the next mark will be reached, if one is queued.
    pub fn next_mark_due(&self) -> Option<Instant> {
        let mut bytes = 0usize;
        for entry in &self.queue {
            match entry {
                Entry::Audio { data, offset } => bytes += data.len() - offset,
                Entry::Mark(_) => {
                    return Some(
                        self.drained_until + BYTE_TIME * u32::try_from(bytes).unwrap_or(u32::MAX),
                    );
                }
            }
        }
        None
    }

    /// When the buffered audio will have played out completely, if any is buffered.
    pub fn drained_at(&self) -> Option<Instant> {
        let bytes = self.buffered_bytes();
        (bytes > 0)
            .then(|| self.drained_until + BYTE_TIME * u32::try_from(bytes).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(played: &[Played]) -> Vec<&str> {
        played
            .iter()
            .filter_map(|p| match p {
                Played::Mark(m) => Some(m.as_str()),
                _ => None,
            })
            .collect()
    }

    fn audio_len(played: &[Played]) -> usize {
        played
            .iter()
            .map(|p| match p {
                Played::Audio(a) => a.len(),
                _ => 0,
            })
            .sum()
    }

    #[tokio::test(start_paused = true)]
    async fn mark_after_one_second_of_audio_is_reached_at_one_second() {
        let t0 = Instant::now();
        let mut buf = PlayoutBuffer::new(t0);
        assert!(buf.push_audio(t0, vec![0x11; 8000]).is_empty());
        assert!(marks(&buf.push_mark(t0, "m1".into())).is_empty());
        assert_eq!(buf.next_mark_due(), Some(t0 + Duration::from_secs(1)));

        tokio::time::sleep(Duration::from_millis(999)).await;
        let early = buf.advance(Instant::now());
        assert!(marks(&early).is_empty());
        assert_eq!(audio_len(&early), 7992);

        tokio::time::sleep_until(buf.next_mark_due().unwrap()).await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
        let played = buf.advance(Instant::now());
        assert_eq!(marks(&played), vec!["m1"]);
        assert_eq!(audio_len(&played), 8);
        assert!(played.iter().any(|p| matches!(
            p,
            Played::Segment {
                bytes: 8000,
                cleared: false,
                ..
            }
        )));
        assert_eq!(buf.buffered_bytes(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn clear_at_300_ms_echoes_pending_marks_and_drops_the_rest() {
        let t0 = Instant::now();
        let mut buf = PlayoutBuffer::new(t0);
        buf.push_audio(t0, vec![0x22; 8000]);
        buf.push_mark(t0, "a".into());
        buf.push_audio(t0, vec![0x33; 4000]);
        buf.push_mark(t0, "b".into());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let out = buf.clear(Instant::now());
        assert_eq!(audio_len(&out), 2400);
        assert_eq!(marks(&out), vec!["a", "b"]);
        assert!(out.iter().any(|p| matches!(
            p,
            Played::Segment {
                bytes: 2400,
                cleared: true,
                ..
            }
        )));
        assert_eq!(buf.buffered_bytes(), 0);
        assert_eq!(buf.next_mark_due(), None);
        // Nothing else plays later.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(buf.advance(Instant::now()).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn mark_with_nothing_buffered_is_echoed_at_once() {
        let t0 = Instant::now();
        let mut buf = PlayoutBuffer::new(t0);
        assert_eq!(marks(&buf.push_mark(t0, "now".into())), vec!["now"]);
        // Audio that arrives after a gap starts playing when it arrives, not in the past.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let t1 = Instant::now();
        buf.push_audio(t1, vec![0x44; 800]);
        buf.push_mark(t1, "later".into());
        assert_eq!(buf.next_mark_due(), Some(t1 + Duration::from_millis(100)));
        assert_eq!(buf.drained_at(), Some(t1 + Duration::from_millis(100)));
    }

    #[tokio::test(start_paused = true)]
    async fn audio_sent_faster_than_real_time_plays_in_order_at_8000_bytes_per_second() {
        let t0 = Instant::now();
        let mut buf = PlayoutBuffer::new(t0);
        buf.push_audio(t0, vec![1; 160]);
        buf.push_audio(t0, vec![2; 160]);
        tokio::time::sleep(Duration::from_millis(30)).await;
        let out = buf.advance(Instant::now());
        let bytes: Vec<u8> = out
            .iter()
            .flat_map(|p| match p {
                Played::Audio(a) => a.clone(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(bytes.len(), 240);
        assert!(bytes[..160].iter().all(|&b| b == 1) && bytes[160..].iter().all(|&b| b == 2));
    }
}
