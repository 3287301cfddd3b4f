//! The fake Twilio: signatures, webhooks, TwiML, the Media Streams client, status callbacks,
//! the REST Calls API, and the call engine that plays one call end to end.

pub mod call_engine;
pub mod call_record;
pub mod call_store;
pub mod caller_cursor;
pub mod context;
pub mod env;
pub mod executor;
pub mod http;
mod media_frame;
pub mod message;
pub mod params;
pub mod playout;
pub mod rest;
pub mod signature;
pub mod spec;
pub mod status;
pub mod stream;
mod stream_socket;
pub mod twiml;
pub mod url_map;
pub mod webhook;

pub use call_engine::{CallSetup, MAX_CALL, play_call};
pub use call_record::{
    CallRecord, CallbackRecord, EventDir, MediaAfterStop, PlayoutSpan, StreamEndedBy, StreamEvent,
    StreamRecord, TwilioError, TwimlStep, WebhookExchange,
};
pub use call_store::{
    CallControl, CallHandle, CallRecorder, ControlCmd, TwimlSource, WaitIdleTimeout,
};
pub use env::{DEFAULT_WEBHOOK_TIMEOUT, TwilioEnv};
pub(crate) use media_frame::media_text;
pub use rest::{RestState, router, serve};
pub use spec::{
    CallEvent, CallFaults, CallSpec, CalleeAnswer, CalleeBehaviour, CallerScript, CallerStep,
    Direction, HttpMethod, StatusCallbackConfig,
};
pub use url_map::UrlMap;
