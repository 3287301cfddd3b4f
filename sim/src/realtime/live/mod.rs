//! The mock of OpenAI's Live API (`/v1/live/sessions`), served next to Realtime GA.
//!
//! - `event`: the client events, parsed strictly, and the error shape.
//! - `start`: `session.start` judged into the configuration fixed for the session.
//! - `session`: the per-connection state machine, generic over `Sink`/`Stream`.
//! - `configure`: `session.start` once per connection, and `session.update`'s few mutable keys.
//! - `timeline`: input audio moves the session clock; appends, replies, output audio, usage.
//! - `track`: the continuous output track at real-time pace.
//!
//! Live sessions write the same prompt ledger as Realtime ones: `session.start` is the
//! session's one configuration (an [`UpdateRecord`](crate::realtime::UpdateRecord)), every
//! append an [`AppendRecord`](crate::realtime::AppendRecord), and each reply a response whose
//! instructions are the start instructions plus the appends injected before it.

mod configure;
mod event;
mod session;
mod start;
mod timeline;
mod track;

pub use session::{LiveContext, serve_live_session};

#[cfg(test)]
mod tests;
