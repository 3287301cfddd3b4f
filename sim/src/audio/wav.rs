//! WAV in (any rate, depth and channel count → 8 kHz mono µ-law) and WAV out (16-bit PCM).

use std::path::Path;
use std::time::Duration;

use hound::{SampleFormat, WavReader};

use super::AudioError;
use super::mulaw::{decode, encode};

/// Sample rates a WAV file may declare: from narrowband telephony to studio audio. A header
/// outside this range is a lie or a mistake (a file claiming 1 Hz would be resampled 8,000-fold).
pub const WAV_RATES_HZ: std::ops::RangeInclusive<u32> = 4_000..=192_000;

/// The most channels a WAV file may declare.
pub const WAV_MAX_CHANNELS: u16 = 32;

/// The longest WAV file read when the caller sets no limit: Twilio's maximum call length.
pub const WAV_DEFAULT_MAX: Duration = Duration::from_secs(4 * 3600);

/// Reads a WAV file and converts it to 8 kHz mono µ-law, refusing audio longer than
/// [`WAV_DEFAULT_MAX`].
pub fn read_wav_mulaw(path: impl AsRef<Path>) -> Result<Vec<u8>, AudioError> {
    read_wav_mulaw_within(path, WAV_DEFAULT_MAX)
}

/// Reads a WAV file and converts it to 8 kHz mono µ-law, refusing audio longer than `max`.
///
/// Channels are averaged; the rate is converted by linear interpolation. Integer samples of 8,
/// 16, 24 and 32 bits and 32-bit float samples are accepted. The header is checked before any
/// sample is read: its rate and channel count must be plausible, and the duration it claims
/// (bounded by what the file's size can really hold) must fit in `max`, so a lying header is an
/// error and never an allocation of gigabytes.
pub fn read_wav_mulaw_within(path: impl AsRef<Path>, max: Duration) -> Result<Vec<u8>, AudioError> {
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
    let mut reader = WavReader::open(path).map_err(not_wav)?;
    let spec = reader.spec();
    check_header(path, &spec, reader.duration(), max)?;
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
            return Err(AudioError::Unsupported {
                path: path.to_path_buf(),
                reason: format!("{bits}-bit {format:?} samples are not supported"),
            });
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

/// Checks a WAV header's rate, channels and claimed length before anything is allocated.
fn check_header(
    path: &Path,
    spec: &hound::WavSpec,
    frames_claimed: u32,
    max: Duration,
) -> Result<(), AudioError> {
    let unsupported = |reason: String| AudioError::Unsupported {
        path: path.to_path_buf(),
        reason,
    };
    if spec.channels == 0 || spec.channels > WAV_MAX_CHANNELS {
        return Err(unsupported(format!(
            "{} channels (1 to {WAV_MAX_CHANNELS} are accepted)",
            spec.channels
        )));
    }
    if !WAV_RATES_HZ.contains(&spec.sample_rate) {
        return Err(unsupported(format!(
            "the header claims a sample rate of {} Hz; accepted rates are {} to {} Hz",
            spec.sample_rate,
            WAV_RATES_HZ.start(),
            WAV_RATES_HZ.end()
        )));
    }
    // The header's frame count may be a lie; the file's size bounds what can really be read.
    let bytes_per_frame = u64::from(spec.channels) * u64::from(spec.bits_per_sample.div_ceil(8));
    let file_len = std::fs::metadata(path).map_or(u64::MAX, |m| m.len());
    let frames = u64::from(frames_claimed).min(file_len / bytes_per_frame.max(1));
    let ms = frames.saturating_mul(1000) / u64::from(spec.sample_rate);
    if ms > u64::try_from(max.as_millis()).unwrap_or(u64::MAX) {
        return Err(AudioError::TooLong {
            path: path.to_path_buf(),
            seconds: ms / 1000,
            max_seconds: max.as_secs(),
        });
    }
    Ok(())
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

    /// A valid 8 kHz WAV of `ms` milliseconds whose header fields are then overwritten.
    fn lying_wav(path: &Path, ms: u64, patch: impl FnOnce(&mut Vec<u8>)) {
        let mut bytes = wav_bytes(&tone(300.0, ms, 0.4));
        patch(&mut bytes);
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_header_claiming_an_implausible_rate_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one-hertz.wav");
        // Bytes 24..28 of the canonical header hold the sample rate, 28..32 the byte rate.
        lying_wav(&path, 1000, |b| {
            b[24..28].copy_from_slice(&1u32.to_le_bytes());
            b[28..32].copy_from_slice(&2u32.to_le_bytes());
        });
        let err = read_wav_mulaw(&path).unwrap_err().to_string();
        assert!(err.contains("one-hertz.wav"), "{err}");
        assert!(err.contains("sample rate of 1 Hz"), "{err}");
    }

    #[test]
    fn a_header_claiming_more_data_than_the_file_holds_is_bounded_by_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long-claim.wav");
        // Bytes 40..44 hold the data chunk's length: claim 4 GB for a one-second file.
        lying_wav(&path, 1000, |b| {
            b[40..44].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        });
        // The file holds one second, so a two-second limit accepts it...
        let within = read_wav_mulaw_within(&path, Duration::from_secs(2));
        assert!(
            matches!(&within, Ok(m) if m.len() == 8000)
                || matches!(within, Err(AudioError::NotWav { .. })),
            "{within:?}"
        );
        // ...and a limit below what it really holds refuses it by name.
        let err = read_wav_mulaw_within(&path, Duration::from_millis(500))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("long-claim.wav") && err.contains("limit of 0 s"),
            "{err}"
        );
    }

    #[test]
    fn audio_longer_than_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("three-seconds.wav");
        lying_wav(&path, 3000, |_| {});
        assert_eq!(
            read_wav_mulaw_within(&path, Duration::from_secs(3))
                .unwrap()
                .len(),
            24_000
        );
        let err = read_wav_mulaw_within(&path, Duration::from_secs(2)).unwrap_err();
        assert!(
            matches!(
                err,
                AudioError::TooLong {
                    seconds: 3,
                    max_seconds: 2,
                    ..
                }
            ),
            "{err}"
        );
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
