//! G.711 µ-law, WAV in and out, tone, DTMF, silence and speech-like generators, 20 ms framing.
//!
//! Everything the fake Twilio sends or receives on a Media Stream is raw µ-law at 8 kHz mono, so
//! this module converts to and from that one format and nothing else.

mod error;
mod frames;
mod generate;
mod mulaw;
mod wav;

pub use error::AudioError;
pub use frames::{FRAME_BYTES, FRAME_MS, SAMPLE_RATE, frames, mulaw_ms};
pub use generate::{dtmf, dtmf_frequencies, silence, speech_like, tone};
pub use mulaw::{MULAW_DECODE, decode, decode_all, encode, encode_all};
pub use wav::{
    WAV_DEFAULT_MAX, WAV_MAX_CHANNELS, WAV_RATES_HZ, read_wav_mulaw, read_wav_mulaw_within,
    wav_bytes, write_wav,
};
