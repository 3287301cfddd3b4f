//! The capture: every HTTP request and WebSocket upgrade callsim sends to a target and every
//! WebSocket message on both of its sockets (the Media Streams socket and the mock AI's), as
//! JSON lines a vendor can check or replay (`callsim run --capture FILE`, schema in
//! `docs/capture.md`).
//!
//! - `event.rs`: one line of the file, as typed records.
//! - `sink.rs`: the [`Capture`] handle the parts of a run write through, and the writer thread
//!   that owns the file (a bounded channel, so memory stays bounded whatever the run sends).
//! - `socket.rs`: `Sink`/`Stream` wrappers that record the text frames of the Twilio side.

mod event;
mod sink;
mod socket;

pub use event::{CaptureEvent, Direction, Socket};
pub use sink::{Capture, CaptureError, CaptureWriter};
pub use socket::{CapturedSink, CapturedStream, Tap};
