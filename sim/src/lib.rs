//! callsim: a harness that fakes the telephone network (Twilio) and the AI model (OpenAI
//! Realtime) around a voice-AI call server.
//!
//! # Layout
//! - [`clock`]: the simulation clock (tokio time plus a fixed virtual epoch).
//! - [`ids`]: seeded id generation for every SID and event id.

pub mod clock;
pub mod ids;
