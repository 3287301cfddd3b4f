//! Signal generators: silence, tones, DTMF keys and a speech-like voiced signal.

use std::f32::consts::PI;

use super::AudioError;
use super::mulaw::encode;

const RATE: f32 = 8000.0;

/// `ms` milliseconds of µ-law silence (0xFF, the positive-zero code).
pub fn silence(ms: u64) -> Vec<u8> {
    vec![0xFF; samples_for(ms)]
}

/// A sine tone of `hz` for `ms` milliseconds; `amplitude` is a fraction of full scale (0..=1).
pub fn tone(hz: f32, ms: u64, amplitude: f32) -> Vec<u8> {
    let amp = amplitude.clamp(0.0, 1.0);
    (0..samples_for(ms))
        .map(|n| {
            let t = sample_time(n);
            to_mulaw(amp * (2.0 * PI * hz * t).sin())
        })
        .collect()
}

/// The row and column frequencies (Hz) of a DTMF key.
pub fn dtmf_frequencies(digit: char) -> Result<(f32, f32), AudioError> {
    let row = match digit {
        '1' | '2' | '3' | 'A' => 697.0,
        '4' | '5' | '6' | 'B' => 770.0,
        '7' | '8' | '9' | 'C' => 852.0,
        '*' | '0' | '#' | 'D' => 941.0,
        other => return Err(AudioError::BadDtmfDigit(other)),
    };
    let column = match digit {
        '1' | '4' | '7' | '*' => 1209.0,
        '2' | '5' | '8' | '0' => 1336.0,
        '3' | '6' | '9' | '#' => 1477.0,
        _ => 1633.0,
    };
    Ok((row, column))
}

/// The dual tone of a DTMF key for `ms` milliseconds.
pub fn dtmf(digit: char, ms: u64) -> Result<Vec<u8>, AudioError> {
    let (row, column) = dtmf_frequencies(digit.to_ascii_uppercase())
        .map_err(|_| AudioError::BadDtmfDigit(digit))?;
    Ok((0..samples_for(ms))
        .map(|n| {
            let t = sample_time(n);
            to_mulaw(0.35 * ((2.0 * PI * row * t).sin() + (2.0 * PI * column * t).sin()))
        })
        .collect())
}

/// A voiced, syllable-modulated synthetic signal, loud enough to trip a voice activity detector.
///
/// It is a 110–140 Hz glottal-like pulse train shaped by two formant-like harmonics and
/// modulated into syllables of 120–300 ms with short gaps; `seed` picks the syllable pattern.
pub fn speech_like(ms: u64, seed: u64) -> Vec<u8> {
    let total = samples_for(ms);
    let mut out = Vec::with_capacity(total);
    let mut rng = seed ^ 0x5DEE_CE66_D1CE_4E5B;
    while out.len() < total {
        let syllable = samples_for(120 + next(&mut rng) % 180);
        let gap = samples_for(30 + next(&mut rng) % 60);
        let pitch = 110.0 + (next(&mut rng) % 30) as f32;
        let formant = 500.0 + (next(&mut rng) % 700) as f32;
        for n in 0..syllable {
            if out.len() == total {
                break;
            }
            let t = sample_time(n);
            let progress = n as f32 / syllable as f32;
            let envelope = (PI * progress).sin();
            let voiced = (2.0 * PI * pitch * t).sin()
                + 0.6 * (2.0 * PI * 2.0 * pitch * t).sin()
                + 0.4 * (2.0 * PI * formant * t).sin() * (2.0 * PI * pitch * t).sin().abs();
            out.push(to_mulaw(0.3 * envelope * voiced));
        }
        for _ in 0..gap {
            if out.len() == total {
                break;
            }
            out.push(0xFF);
        }
    }
    out
}

fn next(state: &mut u64) -> u64 {
    // xorshift64*: a tiny local generator so the pattern depends only on the seed.
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn samples_for(ms: u64) -> usize {
    usize::try_from(ms.saturating_mul(8)).unwrap_or(usize::MAX)
}

fn sample_time(n: usize) -> f32 {
    n as f32 / RATE
}

fn to_mulaw(x: f32) -> u8 {
    let scaled = (x.clamp(-1.0, 1.0) * 32767.0).round();
    encode(scaled as i16)
}

#[cfg(test)]
mod tests {
    use super::super::mulaw::decode;
    use super::*;

    fn rms(mulaw: &[u8]) -> f64 {
        let sum: f64 = mulaw.iter().map(|&b| f64::from(decode(b)).powi(2)).sum();
        (sum / mulaw.len() as f64).sqrt()
    }

    #[test]
    fn silence_is_positive_zero() {
        let s = silence(20);
        assert_eq!(s.len(), 160);
        assert!(s.iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn tone_has_the_requested_level_and_length() {
        let t = tone(440.0, 1000, 0.5);
        assert_eq!(t.len(), 8000);
        let level = rms(&t);
        // A sine of amplitude 0.5 full scale has an RMS of about 0.354 * 32767.
        assert!((level - 11585.0).abs() < 400.0, "rms {level}");
    }

    #[test]
    fn dtmf_uses_the_keypad_frequencies() {
        assert_eq!(dtmf_frequencies('5').unwrap(), (770.0, 1336.0));
        assert_eq!(dtmf_frequencies('#').unwrap(), (941.0, 1477.0));
        assert_eq!(dtmf_frequencies('D').unwrap(), (941.0, 1633.0));
        assert!(matches!(dtmf('x', 100), Err(AudioError::BadDtmfDigit('x'))));
        assert_eq!(dtmf('1', 100).unwrap().len(), 800);
    }

    #[test]
    fn speech_like_is_loud_varied_and_seeded() {
        let a = speech_like(3000, 1);
        assert_eq!(a.len(), 24_000);
        assert_eq!(a, speech_like(3000, 1));
        assert_ne!(a, speech_like(3000, 2));
        assert!(rms(&a) > 3000.0, "too quiet for a VAD: {}", rms(&a));
        // Syllable gaps: some 20 ms windows are silent.
        assert!(a.chunks(160).any(|c| rms(c) < 50.0));
    }
}
