//! WAV in (any rate, depth and channel count → 8 kHz mono µ-law) and WAV out (16-bit PCM).

use std::path::Path;

use hound::{SampleFormat, WavReader};

use super::AudioError;
use super::mulaw::{decode, encode};

/// Reads a WAV file and converts it to 8 kHz mono µ-law.
///
/// Channels are averaged; the rate is converted by linear interpolation. Integer samples of 8,
/// 16, 24 and 32 bits and 32-bit float samples are accepted.
pub fn read_wav_mulaw(path: impl AsRef<Path>) -> Result<Vec<u8>, AudioError> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(AudioError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let not_wav = |source| AudioError::NotWav {
        path: path.to_path_buf(),
        source,
    };
    let unsupported = |reason: String| AudioError::Unsupported {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = WavReader::open(path).map_err(not_wav)?;
    let spec = reader.spec();
    if spec.channels == 0 {
        return Err(unsupported("0 channels".into()));
    }
    if spec.sample_rate == 0 {
        return Err(unsupported("sample rate 0".into()));
    }
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Float, 32) => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(not_wav)?,
        (SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 2f32.powi(i32::from(bits) - 1);
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 / scale))
                .collect::<Result<_, _>>()
                .map_err(not_wav)?
        }
        (format, bits) => {
            return Err(unsupported(format!(
                "{bits}-bit {format:?} samples are not supported"
            )));
        }
    };
    let channels = usize::from(spec.channels);
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    let resampled = resample_linear(&mono, spec.sample_rate, super::SAMPLE_RATE);
    Ok(resampled
        .iter()
        .map(|&x| encode((x.clamp(-1.0, 1.0) * 32767.0).round() as i16))
        .collect())
}

fn resample_linear(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let idx = pos.floor() as usize;
            let frac = (pos - idx as f64) as f32;
            let a = input.get(idx).copied().unwrap_or(0.0);
            let b = input.get(idx + 1).copied().unwrap_or(a);
            a + (b - a) * frac
        })
        .collect()
}

/// An in-memory 8 kHz 16-bit mono WAV file of the µ-law audio (e.g. for embedding in HTML).
pub fn wav_bytes(mulaw: &[u8]) -> Vec<u8> {
    // The 44-byte canonical header is written by hand: it cannot fail, unlike a seekable writer.
    let data_len = u32::try_from(mulaw.len() * 2).unwrap_or(u32::MAX - 36);
    let mut out = Vec::with_capacity(44 + mulaw.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&super::SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(super::SAMPLE_RATE * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &b in mulaw {
        out.extend_from_slice(&decode(b).to_le_bytes());
    }
    out
}

/// Writes the µ-law audio as an 8 kHz 16-bit mono WAV file.
pub fn write_wav(path: impl AsRef<Path>, mulaw: &[u8]) -> Result<(), AudioError> {
    let path = path.as_ref();
    std::fs::write(path, wav_bytes(mulaw)).map_err(|source| AudioError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::super::generate::tone;
    use super::*;

    fn write(path: &Path, spec: hound::WavSpec, samples: &[f32]) {
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for &s in samples {
            match (spec.sample_format, spec.bits_per_sample) {
                (SampleFormat::Float, _) => w.write_sample(s).unwrap(),
                (_, 8) => w.write_sample((s * 127.0) as i8).unwrap(),
                (_, 16) => w.write_sample((s * 32767.0) as i16).unwrap(),
                (_, 24) => w.write_sample((s * 8_388_607.0) as i32).unwrap(),
                _ => w.write_sample((s * 2_147_483_647.0) as i32).unwrap(),
            }
        }
        w.finalize().unwrap();
    }

    #[test]
    fn every_depth_and_layout_converts_to_8k_mono() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (16_000, 2, 16, SampleFormat::Int),
            (44_100, 1, 8, SampleFormat::Int),
            (48_000, 3, 24, SampleFormat::Int),
            (8_000, 1, 32, SampleFormat::Int),
            (22_050, 2, 32, SampleFormat::Float),
        ];
        for (rate, channels, bits, format) in cases {
            let spec = hound::WavSpec {
                channels,
                sample_rate: rate,
                bits_per_sample: bits,
                sample_format: format,
            };
            // Half a second of a 400 Hz tone at half scale, same on every channel.
            let n = rate as usize / 2;
            let samples: Vec<f32> = (0..n)
                .flat_map(|i| {
                    let v =
                        0.5 * (2.0 * std::f32::consts::PI * 400.0 * i as f32 / rate as f32).sin();
                    std::iter::repeat_n(v, usize::from(channels))
                })
                .collect();
            let path = dir.path().join(format!("{rate}-{channels}-{bits}.wav"));
            write(&path, spec, &samples);
            let mulaw = read_wav_mulaw(&path).unwrap();
            assert!(
                (mulaw.len() as i64 - 4000).abs() <= 1,
                "{rate}: {}",
                mulaw.len()
            );
            let peak = mulaw
                .iter()
                .map(|&b| decode(b).unsigned_abs())
                .max()
                .unwrap();
            assert!(
                (15_000..=17_500).contains(&peak),
                "{rate}/{bits}: peak {peak}"
            );
        }
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.wav");
        let err = read_wav_mulaw(&missing).unwrap_err();
        assert!(matches!(err, AudioError::NotFound { .. }));
        assert!(err.to_string().contains("missing.wav"));

        let text = dir.path().join("notes.wav");
        std::fs::write(&text, b"this is not a wav file at all").unwrap();
        let err = read_wav_mulaw(&text).unwrap_err();
        assert!(matches!(err, AudioError::NotWav { .. }));
        assert!(err.to_string().contains("notes.wav"));
    }

    #[test]
    fn wav_out_round_trips_through_hound() {
        let dir = tempfile::tempdir().unwrap();
        let audio = tone(300.0, 250, 0.4);
        let path = dir.path().join("heard.wav");
        write_wav(&path, &audio).unwrap();
        let mut reader = WavReader::open(&path).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 8000, 16)
        );
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(samples.len(), audio.len());
        assert_eq!(read_wav_mulaw(&path).unwrap(), audio);
        assert_eq!(wav_bytes(&audio).len(), 44 + 2 * audio.len());
    }
}
