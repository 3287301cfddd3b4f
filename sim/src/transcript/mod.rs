//! The transcript, the artifact callsim exists to produce: what every call did and which prompt
//! reached the AI, condensed from a run's artifacts, and the part of it a snapshot pins.
//!
//! - `model`: the transcript's types (serialised into JSON reports and snapshots).
//! - `associate`: which AI session served which call.
//! - `classify`: the prompt classifier, the seed bug's detector.
//! - `build`: run artifacts → transcript.
//! - `invariants`: the built-in checks every call must pass.
//! - `diagnosis`: the root cause of each failed call, in words, with Twilio's error code.
//! - `snapshot`: the typed view of a transcript that a snapshot pins.

mod associate;
mod build;
mod classify;
pub mod diagnosis;
pub mod invariants;
pub mod model;
pub mod snapshot;

pub use build::build_transcript;
pub use model::Transcript;
