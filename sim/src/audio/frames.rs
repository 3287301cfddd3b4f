//! 20 ms framing of µ-law audio, the unit of a Media Streams `media` message.

/// Samples per second of every µ-law stream (one byte per sample).
pub const SAMPLE_RATE: u32 = 8000;
/// Bytes in one 20 ms frame of µ-law audio.
pub const FRAME_BYTES: usize = 160;
/// Milliseconds of audio in one frame.
pub const FRAME_MS: u64 = 20;

/// Milliseconds of audio in `bytes` bytes of 8 kHz µ-law.
pub fn mulaw_ms(bytes: usize) -> u64 {
    u64::try_from(bytes / 8).unwrap_or(u64::MAX)
}

/// Splits µ-law bytes into 20 ms frames, padding the last one with µ-law silence (0xFF).
pub fn frames(mulaw: &[u8]) -> impl Iterator<Item = [u8; FRAME_BYTES]> + '_ {
    mulaw.chunks(FRAME_BYTES).map(|chunk| {
        let mut frame = [0xFF; FRAME_BYTES];
        frame[..chunk.len()].copy_from_slice(chunk);
        frame
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_pad_the_tail_with_silence() {
        let audio: Vec<u8> = (0..400u32)
            .map(|i| u8::try_from(i % 200).unwrap())
            .collect();
        let out: Vec<[u8; FRAME_BYTES]> = frames(&audio).collect();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0][..], audio[..160]);
        assert_eq!(out[2][..80], audio[320..]);
        assert!(out[2][80..].iter().all(|&b| b == 0xFF));
        assert_eq!(frames(&[]).count(), 0);
    }

    #[test]
    fn eight_bytes_per_millisecond() {
        assert_eq!(mulaw_ms(8000), 1000);
        assert_eq!(mulaw_ms(FRAME_BYTES), FRAME_MS);
    }
}
