//! The per-connection state machine of the mock, independent of any socket.
//!
//! [`serve_session`] consumes [`SessionInput`]s and produces [`SessionOutput`]s through any
//! `Stream`/`Sink` pair, so unit tests drive it with channels and the server drives it with a
//! WebSocket. One task runs the whole session: client events, paced response streaming, faults
//! and the expiry timer are multiplexed with `select!` over tokio time, which keeps event order
//! deterministic under a paused clock.

use futures_util::{Sink, Stream, StreamExt};
use serde_json::{Value, json};
use tokio::time::{Duration, Instant, sleep_until};

use crate::net::WakeGated;

use super::api_error::ApiError;
use super::config::{BetaMode, Dialect, MockConfig};
use super::conversation::Conversation;
use super::dialect::to_beta;
use super::input_audio::{AudioAppend, LastAppend};
use super::ledger::{ErrorRecord, SessionRecord};
use super::response::ActiveResponse;
use super::session_config::{DEFAULT_INSTRUCTIONS, SessionConfig};
use super::session_core::{SessionCore, sleep_opt};
use super::vad::Vad;

/// A frame from the client, already separated from the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionInput {
    /// A text frame (one JSON event).
    Text(String),
    /// A binary frame (not part of the protocol).
    Binary(Vec<u8>),
    /// A message the transport refused to read whole because it is longer than its limit;
    /// carries the length the frame announced.
    TooBig(usize),
    /// A text frame whose payload is not valid UTF-8.
    InvalidUtf8,
    /// Any other violation of the WebSocket protocol, described.
    ProtocolViolation(String),
    /// The client closed, with its close code if it sent one.
    Close(Option<u16>),
}

/// How the ledger names a session ended by a frame the protocol does not allow.
const PROTOCOL_ERROR: &str = "protocol_error";

/// What the session asks the transport to do.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionOutput {
    /// Send one server event as a text frame.
    Event(Value),
    /// Send a close frame and end.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Drop the TCP connection without a close frame.
    Drop,
}

/// Who a connection is and how it was admitted.
#[derive(Debug, Clone)]
pub struct SessionContext {
    /// Server configuration.
    pub config: MockConfig,
    /// Connection index in accept order.
    pub index: usize,
    /// Model from the query string (or the default).
    pub model: String,
    /// Wire dialect chosen by the beta header/subprotocol.
    pub dialect: Dialect,
    /// False when an API key list is configured and the bearer token is not in it.
    pub key_valid: bool,
}

/// How the session ended.
#[derive(Debug, Clone)]
pub(crate) struct End {
    pub(crate) closed_by: &'static str,
    pub(crate) code: Option<u16>,
}

/// The state of one mock Realtime session.
pub(crate) struct Session {
    pub(crate) core: SessionCore,
    pub(crate) dialect: Dialect,
    pub(crate) expiry: Instant,
    pub(crate) config: SessionConfig,
    pub(crate) conv: Conversation,
    pub(crate) conv_id: String,
    pub(crate) vad: Vad,
    /// The last appended audio, as sent and decoded.
    pub(crate) last_append: LastAppend,
    pub(crate) speech_item: Option<String>,
    pub(crate) buffer_bytes: usize,
    pub(crate) audio_received_us: u64,
    pub(crate) responses: Vec<ActiveResponse>,
    pub(crate) response_count: usize,
    pub(crate) assistant_audio: bool,
    pub(crate) idle_from_ms: Option<u64>,
}

/// Runs one session to its end, recording it in the ledger.
pub async fn serve_session<Si, St>(ctx: SessionContext, mut sink: Si, stream: St)
where
    Si: Sink<SessionOutput> + Unpin,
    St: Stream<Item = SessionInput> + Unpin,
{
    let mut session = Session::open(&ctx);
    let mut stream = WakeGated::new(stream);
    // One timer for the session's life, not one per turn of the loop (fifty a second).
    let expiry = sleep_until(session.expiry);
    tokio::pin!(expiry);
    loop {
        session.core.flush(&mut sink).await;
        if let Some(end) = session.core.end.take() {
            session.finish(&end);
            return;
        }
        let next_response = session.responses.iter().map(|r| r.next_at).min();
        let next_fault = session.core.next_fault();
        tokio::select! {
            biased;
            () = &mut expiry => session.expire(),
            () = sleep_opt(next_fault) => session.fire_fault(),
            () = sleep_opt(next_response) => session.advance_responses(),
            input = stream.next() => session.handle_input(input),
        }
    }
}

impl Session {
    fn open(ctx: &SessionContext) -> Self {
        let cfg = ctx.config.clone();
        let ids = cfg.ids.fork(&format!("realtime-session-{}", ctx.index));
        let now = Instant::now();
        let max_secs = i64::try_from(cfg.max_session.as_secs()).unwrap_or(i64::MAX);
        let config = SessionConfig::new(
            ids.openai_id("sess"),
            ctx.model.clone(),
            cfg.clock.unix_now().saturating_add(max_secs),
        );
        let conv_id = ids.openai_id("conv");
        let record = SessionRecord {
            index: ctx.index,
            session_id: config.id.clone(),
            model: ctx.model.clone(),
            dialect: ctx.dialect.as_str().to_owned(),
            opened_at_ms: cfg.clock.elapsed_ms(),
            initial_instructions: DEFAULT_INSTRUCTIONS.to_owned(),
            input_format: config.input_format.mime().to_owned(),
            output_format: config.output_format.mime().to_owned(),
            ..SessionRecord::default()
        };
        let mut session = Self {
            expiry: now + cfg.max_session,
            core: SessionCore::open(cfg, ctx.index, ids, record),
            dialect: ctx.dialect,
            config,
            conv: Conversation::default(),
            conv_id,
            vad: Vad::new(),
            last_append: LastAppend::default(),
            speech_item: None,
            buffer_bytes: 0,
            audio_received_us: 0,
            responses: Vec::new(),
            response_count: 0,
            assistant_audio: false,
            idle_from_ms: None,
        };
        session.greet(ctx);
        session
    }

    fn greet(&mut self, ctx: &SessionContext) {
        if !ctx.key_valid {
            self.core
                .close(3000, "invalid_request_error.invalid_api_key", "auth");
            return;
        }
        if ctx.dialect == Dialect::Beta && self.core.cfg.beta == BetaMode::Retired {
            let err = ApiError::invalid(
                Some("beta_api_shape_disabled"),
                "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
                None,
            );
            self.send_error(&err, None, None);
            self.core.close(
                4000,
                "invalid_request_error.beta_api_shape_disabled",
                "beta_retired",
            );
            return;
        }
        let session = self.config.to_json(self.dialect);
        self.emit("session.created", json!({ "session": session }));
    }

    /// Queues a server event: `type`, a fresh `event_id`, then `fields`, renamed for beta.
    pub(crate) fn emit(&mut self, ty: &str, fields: Value) {
        let event = self.core.event(ty, fields);
        let event = match self.dialect {
            Dialect::Ga => Some(event),
            Dialect::Beta if ty.starts_with("session.") => Some(event),
            Dialect::Beta => to_beta(event, self.config.temperature),
        };
        if let Some(event) = event {
            self.core.out.push(SessionOutput::Event(event));
        }
    }

    /// Sends an `error` event and records it.
    pub(crate) fn send_error(
        &mut self,
        err: &ApiError,
        client_event_id: Option<&str>,
        client_event_type: Option<&str>,
    ) -> ErrorRecord {
        self.emit("error", json!({ "error": err.to_json(client_event_id) }));
        let record = ErrorRecord {
            at_ms: self.core.now_ms(),
            code: err.code.clone(),
            message: err.message.clone(),
            param: err.param.clone(),
            client_event_type: client_event_type.map(str::to_owned),
        };
        self.core.keep_error(record)
    }

    /// Cumulative input audio time in ms.
    pub(crate) fn audio_pos_ms(&self) -> u64 {
        self.audio_received_us / 1000
    }

    fn expire(&mut self) {
        let message = expiry_message(self.core.cfg.max_session);
        let err = ApiError::invalid(Some("session_expired"), message.clone(), None);
        self.send_error(&err, None, None);
        self.core.close(1001, &message, "server_expired");
    }

    fn fire_fault(&mut self) {
        if let Some((error_type, code, message)) = self.core.fire_fault() {
            let err = ApiError {
                error_type,
                code: Some(code),
                message,
                param: None,
            };
            self.send_error(&err, None, None);
        }
    }

    fn finish(&mut self, end: &End) {
        // Responses still running when the socket ends stay `in_progress` in the ledger.
        let input = self.config.input_format.mime().to_owned();
        let output = self.config.output_format.mime().to_owned();
        self.core.finish(end, |s| {
            s.input_format = input;
            s.output_format = output;
        });
    }

    /// Dispatches one frame from the client (`None`: the stream ended).
    fn handle_input(&mut self, input: Option<SessionInput>) {
        let max = self.core.cfg.max_message_bytes;
        match input {
            Some(SessionInput::Text(text)) if text.len() > max => self.reject_too_big(text.len()),
            Some(SessionInput::Text(text)) => self.handle_text(&text),
            Some(SessionInput::Binary(bytes)) if bytes.len() > max => {
                self.reject_too_big(bytes.len());
            }
            Some(SessionInput::Binary(_)) => {
                let err = ApiError::invalid(
                    Some("invalid_event"),
                    "Binary frames are not supported; send JSON text frames.",
                    None,
                );
                self.send_error(&err, None, None);
            }
            Some(SessionInput::TooBig(size)) => self.reject_too_big(size),
            Some(SessionInput::InvalidUtf8) => {
                let err = ApiError::invalid(
                    Some("invalid_event"),
                    "Text frames must be valid UTF-8; the message could not be decoded.",
                    None,
                );
                self.send_error(&err, None, None);
                // RFC 6455 section 8.1: invalid UTF-8 in a text frame fails the connection.
                self.core
                    .close(1007, "invalid UTF-8 in a text frame", PROTOCOL_ERROR);
            }
            Some(SessionInput::ProtocolViolation(detail)) => {
                let message = format!("WebSocket protocol error: {detail}.");
                let err = ApiError::invalid(Some("invalid_event"), message, None);
                self.send_error(&err, None, None);
                self.core.close(1002, "protocol error", PROTOCOL_ERROR);
            }
            Some(SessionInput::Close(code)) => self.core.closed_by_client(code),
            None => self.core.closed_by_client(None),
        }
    }

    /// Answers a message over [`MockConfig::max_message_bytes`]: an `error` event, then a close
    /// with 1009 (Message Too Big), so the client learns why rather than seeing the TCP
    /// connection drop.
    fn reject_too_big(&mut self, size: usize) {
        let max = self.core.cfg.max_message_bytes;
        let err = ApiError::invalid(
            Some("message_too_big"),
            format!("The message is {size} bytes long; the maximum is {max} bytes."),
            None,
        );
        self.send_error(&err, None, None);
        self.core.close(1009, "message too big", PROTOCOL_ERROR);
    }

    fn handle_text(&mut self, text: &str) {
        if let Some(append) = AudioAppend::parse(text) {
            let retention = self.core.cfg.retention;
            self.core
                .record(|s| s.count_client_event(append.kind, &retention));
            if let Err(err) = self.append_audio(append.audio) {
                self.send_error(&err, append.event_id, Some(append.kind));
            }
            return;
        }
        let event: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let err =
                    ApiError::invalid(Some("invalid_json"), format!("Invalid JSON: {e}"), None);
                self.send_error(&err, None, None);
                return;
            }
        };
        let event_id = event
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(ty) = event.get("type").and_then(Value::as_str).map(str::to_owned) else {
            let err = ApiError::invalid(
                Some("invalid_event"),
                "The 'type' field is missing.",
                Some("type"),
            );
            self.send_error(&err, event_id.as_deref(), None);
            return;
        };
        let retention = self.core.cfg.retention;
        self.core.record(|s| s.count_client_event(&ty, &retention));
        let result = match ty.as_str() {
            "session.update" => {
                self.session_update(&event, event_id.as_deref());
                Ok(())
            }
            "input_audio_buffer.append" => self.append(&event),
            "input_audio_buffer.commit" => self.commit_manual(),
            "input_audio_buffer.clear" => {
                self.clear_buffer();
                Ok(())
            }
            "conversation.item.create" => self.item_create(&event),
            "conversation.item.delete" => self.item_delete(&event),
            "conversation.item.retrieve" => self.item_retrieve(&event),
            "conversation.item.truncate" => self.item_truncate(&event),
            "response.create" => self.response_create(&event),
            "response.cancel" => self.response_cancel(&event),
            "output_audio_buffer.clear" => Ok(()),
            other => Err(ApiError::invalid_value(other, CLIENT_EVENT_TYPES, "type")),
        };
        if let Err(err) = result {
            self.send_error(&err, event_id.as_deref(), Some(&ty));
        }
    }
}

/// Client event types the service accepts.
const CLIENT_EVENT_TYPES: &[&str] = &[
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
];

/// "Your session hit the maximum duration of 60 minutes." in the configured unit.
pub(crate) fn expiry_message(max: Duration) -> String {
    let secs = max.as_secs();
    let amount = if secs.is_multiple_of(60) && secs > 0 {
        let minutes = secs / 60;
        if minutes == 1 {
            "1 minute".to_owned()
        } else {
            format!("{minutes} minutes")
        }
    } else if secs == 1 {
        "1 second".to_owned()
    } else {
        format!("{secs} seconds")
    };
    format!("Your session hit the maximum duration of {amount}.")
}
