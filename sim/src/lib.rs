//! callsim: a harness that fakes the telephone network (Twilio) and the AI model (OpenAI
//! Realtime) around a voice-AI call server.
//!
//! # Layout
//! - [`clock`]: the simulation clock (tokio time plus a fixed virtual epoch).
//! - [`ids`]: seeded id generation for every SID and event id.
//! - [`audio`]: G.711 µ-law, WAV in and out, tone, DTMF and silence generators, 20 ms framing.
//! - [`net`]: the transport seam: TCP or in-process memory pipes for every connection.
//! - [`twilio`]: the fake Twilio: signatures, webhooks, TwiML, Media Streams client, status
//!   callbacks, REST Calls API, and the call engine that plays one call end to end.
//! - [`realtime`]: the mock OpenAI Realtime endpoint and its prompt ledger.
//! - [`scenario`]: scenario files → a validated plan (no sockets).
//! - [`run`]: a plan against a target → run artifacts (the fakes, the in-process reference
//!   server, the wall-clock guard).
//! - [`transcript`]: run artifacts → the transcript and what a snapshot pins.
//! - [`suite`]: one file through load → run → transcript → expect.
//! - [`report`]: JSON, JUnit and HTML reports of what the pipeline produced.
//! - [`capture`]: every request, upgrade and WebSocket message of a run as JSON lines.
//! - [`certify`]: the bundled certification pack and its result document.
//! - [`shorten`]: long values cut to head, length and tail for messages.
//! - [`detect`]: the pack's kill rate against the reference server's historical regressions.
//! - [`partition`]: sharding of scenario runs (`hash:M/N`, `count:M/N`).
//! - [`cli`]: the `callsim` command line.

pub mod audio;
pub mod capture;
pub mod certify;
pub mod cli;
pub mod clock;
pub mod detect;
pub mod ids;
pub mod load;
pub mod net;
pub mod partition;
pub mod realtime;
pub mod report;
pub mod run;
pub mod scenario;
pub mod shorten;
pub mod suite;
pub mod transcript;
pub mod twilio;
