//! The mock OpenAI Realtime endpoint and its prompt ledger.
//!
//! - `server`: the axum WebSocket endpoint `GET /v1/realtime`, auth and dialect selection.
//! - `session`: the per-connection state machine, generic over `Sink`/`Stream`;
//!   `session_core`: what every session is whatever its dialect (ledger entry, ids, faults,
//!   queued outputs, how it ended).
//! - `session_config`: the effective session and `session.update` validation.
//! - `schema`: the GA schema and field validators shared by updates and responses.
//! - `vad`: server VAD in audio time over pcm16, µ-law and A-law.
//! - `script`: what the model says, and injected faults.
//! - `ledger`: the record of prompts, updates and responses that scenarios snapshot.
//! - `envelope`: a 20 ms summary of the audio each session received, for the audio invariant.
//! - `live/`: the Live dialect (`/v1/live/sessions`), its own session machine on the same
//!   script, ledger and envelope.

mod api_error;
mod codec;
mod config;
mod conversation;
mod dialect;
mod envelope;
mod input_audio;
mod ledger;
mod live;
mod records;
mod responding;
mod response;
mod schema;
mod script;
mod server;
mod session;
mod session_config;
mod session_core;
mod turns;
mod vad;

pub use config::{BetaMode, DEFAULT_MAX_MESSAGE_BYTES, Dialect, MockConfig};
pub use envelope::{ENVELOPE_FRAME_MS, FrameSummary, InputEnvelope, ReceivedFrame};
pub use ledger::{
    AppendRecord, ErrorRecord, Ledger, OTHER_EVENT_TYPES, ResponseRecord, Retention, SessionRecord,
    TruncateRecord, UpdateRecord, VadTurn,
};
pub use live::{LiveContext, serve_live_session};
pub use script::{
    AiFault, AiFaultKind, FirstAudioDelay, InjectedError, Reply, ReplyAudio, ResponseFailure,
    Script, ToolCall,
};
pub use server::{router, run};
pub use session::{SessionContext, SessionInput, SessionOutput, serve_session};
pub use session_config::{AudioFormat, DEFAULT_INSTRUCTIONS, SessionConfig, TurnDetection};
#[cfg(test)]
mod session_harness;
#[cfg(test)]
mod session_tests;
