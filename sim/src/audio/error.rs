//! Errors of audio conversion; each one names the file it is about.

use std::path::PathBuf;

/// Why an audio file could not be read, converted or written.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file does not exist.
    #[error("audio file {path} does not exist")]
    NotFound {
        /// The file that was asked for.
        path: PathBuf,
    },
    /// The file exists but is not a WAV file hound can read.
    #[error("audio file {path} is not a readable WAV file: {source}")]
    NotWav {
        /// The offending file.
        path: PathBuf,
        /// hound's description of the problem.
        #[source]
        source: hound::Error,
    },
    /// The WAV header is valid but describes audio we cannot convert.
    #[error("audio file {path} cannot be converted: {reason}")]
    Unsupported {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it, e.g. "0 channels".
        reason: String,
    },
    /// The audio is longer than the caller allows.
    #[error("audio file {path} holds {seconds} s of audio, more than the limit of {max_seconds} s")]
    TooLong {
        /// The offending file.
        path: PathBuf,
        /// How long it claims to be (bounded by the file's size), in seconds.
        seconds: u64,
        /// The limit, in seconds.
        max_seconds: u64,
    },
    /// Writing a WAV file failed.
    #[error("cannot write audio file {path}: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A DTMF generator was asked for a key that is not on a telephone keypad.
    #[error("'{0}' is not a DTMF key (expected 0-9, *, #, A-D)")]
    BadDtmfDigit(char),
}
