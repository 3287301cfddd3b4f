//! The per-connection state machine of the Live mock, independent of any socket.
//!
//! [`serve_live_session`] reads [`SessionInput`]s and writes [`SessionOutput`]s through any
//! `Stream`/`Sink` pair, so unit tests drive it with channels and the server with a WebSocket.
//! The session says nothing until the client's `session.start`. After it, the session's clock
//! is the amount of input audio received (`timeline.rs`): acknowledgements, replies and output
//! audio advance with it and stop when the input stops. Only the two expiry timers and the
//! scripted faults run on tokio time.

use futures_util::{Sink, Stream, StreamExt};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep_until};

use super::event::{ClientEvent, LiveError, parse};
use super::start::LiveConfig;
use super::track::Track;
use crate::realtime::config::MockConfig;
use crate::realtime::ledger::{ErrorRecord, SessionRecord};
use crate::realtime::session::{End, SessionInput, SessionOutput};
use crate::realtime::session_config::{DEFAULT_INSTRUCTIONS, TurnDetection};
use crate::realtime::session_core::{SessionCore, sleep_opt};
use crate::realtime::vad::Vad;

/// Who a Live connection is.
#[derive(Debug, Clone)]
pub struct LiveContext {
    /// Server configuration.
    pub config: MockConfig,
    /// Connection index in accept order (shared with Realtime connections).
    pub index: usize,
    /// False when an API key list is configured and the key is not in it.
    pub key_valid: bool,
}

/// An append the model has not injected yet.
#[derive(Debug)]
pub(crate) struct PendingAppend {
    pub(crate) kind: super::event::AppendKind,
    pub(crate) at_ms: u64,
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
    pub(crate) client_event_id: Option<String>,
    pub(crate) content: String,
    pub(crate) delegation_id: Option<String>,
}

/// The state of one Live session.
pub(crate) struct LiveSession {
    pub(crate) core: SessionCore,
    pub(crate) started: Option<LiveConfig>,
    pub(crate) vad: Vad,
    pub(crate) td: TurnDetection,
    /// Input audio received since the start, in microseconds: the session timeline.
    pub(crate) timeline_us: u64,
    /// Output audio sent, in milliseconds of the timeline.
    pub(crate) out_ms: u64,
    pub(crate) track: Track,
    pub(crate) muted: bool,
    pub(crate) pending: Vec<PendingAppend>,
    /// Injected appends, in order: (source event type, text).
    pub(crate) in_force: Vec<(String, String)>,
    /// A reply the model owes, by its trigger.
    pub(crate) reply_due: Option<&'static str>,
    pub(crate) response_count: usize,
    pub(crate) next_usage_ms: u64,
    max_expiry: Instant,
    pub(crate) idle_expiry: Instant,
}

/// How the Live model hears turns. It has no turn detection setting; it answers after a real
/// pause, which the mock models as the 500 ms of silence Realtime's server VAD waits for when a
/// client names it without settings.
fn live_turn_detection() -> TurnDetection {
    TurnDetection {
        silence_duration_ms: 500,
        ..TurnDetection::creation_default()
    }
}

/// Runs one Live session to its end, recording it in the ledger.
pub async fn serve_live_session<Si, St>(ctx: LiveContext, mut sink: Si, mut stream: St)
where
    Si: Sink<SessionOutput> + Unpin,
    St: Stream<Item = SessionInput> + Unpin,
{
    let mut session = LiveSession::open(&ctx);
    loop {
        session.core.flush(&mut sink).await;
        if let Some(end) = session.core.end.take() {
            session.finish(&end);
            return;
        }
        let expiry = session.max_expiry.min(session.idle_expiry);
        let next_fault = session.core.next_fault();
        tokio::select! {
            biased;
            () = sleep_until(expiry) => session.expire(),
            () = sleep_opt(next_fault) => session.fire_fault(),
            input = stream.next() => session.handle_input(input),
        }
    }
}

impl LiveSession {
    fn open(ctx: &LiveContext) -> Self {
        let cfg = ctx.config.clone();
        let ids = cfg.ids.fork(&format!("live-session-{}", ctx.index));
        let now = Instant::now();
        let record = SessionRecord {
            index: ctx.index,
            dialect: "live".to_owned(),
            opened_at_ms: cfg.clock.elapsed_ms(),
            initial_instructions: DEFAULT_INSTRUCTIONS.to_owned(),
            ..SessionRecord::default()
        };
        let mut session = Self {
            max_expiry: now + cfg.max_session,
            idle_expiry: now + cfg.live_idle_expiry,
            core: SessionCore::open(cfg, ctx.index, ids, record),
            started: None,
            vad: Vad::new(),
            td: live_turn_detection(),
            timeline_us: 0,
            out_ms: 0,
            track: Track::new(super::start::LiveFormat::Pcm24k),
            muted: false,
            pending: Vec::new(),
            in_force: Vec::new(),
            reply_due: None,
            response_count: 0,
            next_usage_ms: super::timeline::USAGE_EVERY_MS,
        };
        if !ctx.key_valid {
            session
                .core
                .close(3000, "invalid_request_error.invalid_api_key", "auth");
        }
        session
    }

    /// Queues a server event: `type`, a fresh `event_id`, then `fields`.
    pub(crate) fn emit(&mut self, ty: &str, fields: Value) {
        let event = self.core.event(ty, fields);
        self.core.out.push(SessionOutput::Event(event));
    }

    /// Queues an event that carries no `event_id` (output audio on the primary socket).
    pub(crate) fn emit_bare(&mut self, event: Value) {
        self.core.out.push(SessionOutput::Event(event));
    }

    /// Sends an `error` event and records it.
    pub(crate) fn send_error(
        &mut self,
        err: &LiveError,
        client_event_id: Option<&str>,
        client_event_type: Option<&str>,
    ) -> ErrorRecord {
        let mut fields = json!({ "error": err.to_json(client_event_id) });
        if let (Some(id), Value::Object(map)) = (client_event_id, &mut fields) {
            map.insert("client_event_id".into(), json!(id));
        }
        self.emit("error", fields);
        let record = ErrorRecord {
            at_ms: self.core.now_ms(),
            code: Some(err.code.clone()),
            message: err.message.clone(),
            param: err.param.clone(),
            client_event_type: client_event_type.map(str::to_owned),
        };
        self.core.keep_error(record)
    }

    /// The session timeline in milliseconds.
    pub(crate) fn timeline_ms(&self) -> u64 {
        self.timeline_us / 1000
    }

    /// Billable seconds so far: whole seconds of the timeline.
    pub(crate) fn usage(&self) -> Value {
        json!({ "seconds": (self.timeline_ms() / 1000) as f64 })
    }

    /// Ends the session with `session.closed{reason}`, failing every append not yet injected
    /// with `context_injection_incomplete`, then closes the socket.
    pub(crate) fn close_session(
        &mut self,
        reason: &str,
        client_event_id: Option<&str>,
        closed_by: &'static str,
    ) {
        for pending in std::mem::take(&mut self.pending) {
            let err = LiveError {
                error_type: "server_error",
                code: "context_injection_incomplete".to_owned(),
                message: "The session closed before the appended context was injected.".to_owned(),
                param: None,
            };
            let ty = pending.kind.event_type();
            self.send_error(&err, pending.client_event_id.as_deref(), Some(ty));
        }
        if let Some(started) = &self.started {
            let mut fields = json!({
                "reason": reason,
                "session": started.resource(DEFAULT_INSTRUCTIONS),
                "usage": self.usage(),
            });
            if let (Some(id), Value::Object(map)) = (client_event_id, &mut fields) {
                map.insert("client_event_id".into(), json!(id));
            }
            self.emit("session.closed", fields);
        }
        self.core.close(1000, reason, closed_by);
    }

    fn expire(&mut self) {
        self.close_session("expired", None, "server_expired");
    }

    fn fire_fault(&mut self) {
        if let Some((error_type, code, message)) = self.core.fire_fault() {
            let err = LiveError {
                error_type: if error_type == "server_error" {
                    "server_error"
                } else {
                    "invalid_request_error"
                },
                code,
                message,
                param: None,
            };
            self.send_error(&err, None, None);
        }
    }

    fn finish(&mut self, end: &End) {
        let format = self.started.as_ref().map(|s| s.format.mime().to_owned());
        self.core.finish(end, |s| {
            if let Some(format) = format {
                s.input_format.clone_from(&format);
                s.output_format = format;
            }
        });
    }

    /// Dispatches one frame from the client (`None`: the stream ended).
    fn handle_input(&mut self, input: Option<SessionInput>) {
        let max = self.core.cfg.max_message_bytes;
        match input {
            Some(SessionInput::Text(text)) if text.len() > max => self.too_big(text.len()),
            Some(SessionInput::Text(text)) => self.handle_text(&text),
            Some(SessionInput::Binary(bytes)) => {
                let err = LiveError::invalid(
                    "invalid_event",
                    "Binary frames are not supported; send JSON text frames.",
                    None,
                );
                self.send_error(&err, None, None);
                if bytes.len() > max {
                    self.core.close(1009, "message too big", "protocol_error");
                }
            }
            Some(SessionInput::TooBig(size)) => self.too_big(size),
            Some(SessionInput::InvalidUtf8) => {
                self.core
                    .close(1007, "invalid UTF-8 in a text frame", "protocol_error");
            }
            Some(SessionInput::ProtocolViolation(_)) => {
                self.core.close(1002, "protocol error", "protocol_error");
            }
            Some(SessionInput::Close(code)) => self.core.closed_by_client(code),
            None => self.core.closed_by_client(None),
        }
    }

    fn too_big(&mut self, size: usize) {
        let max = self.core.cfg.max_message_bytes;
        let err = LiveError::invalid(
            "message_too_big",
            format!("The message is {size} bytes long; the maximum is {max} bytes."),
            None,
        );
        self.send_error(&err, None, None);
        self.core.close(1009, "message too big", "protocol_error");
    }

    fn handle_text(&mut self, text: &str) {
        let (event_id, ty, event) = match parse(text) {
            Ok(parsed) => parsed,
            Err(refused) => {
                let (event_id, ty, err) = *refused;
                let record = self.send_error(&err, event_id.as_deref(), ty.as_deref());
                // A refused first configuration is part of the session's record.
                if ty.as_deref() == Some("session.start") && self.started.is_none() {
                    self.record_start(None, Some(record));
                }
                return;
            }
        };
        let retention = self.core.cfg.retention;
        self.core.record(|s| s.count_client_event(&ty, &retention));
        let id = event_id.as_deref();
        let result = match (event, self.started.is_some()) {
            (ClientEvent::Start(start), false) => self.start(start, id),
            (ClientEvent::Start(_), true) => Err(LiveError::invalid(
                "session_already_started",
                "session.start may be sent only once per connection.",
                None,
            )),
            (_, false) => Err(LiveError::invalid(
                "session_not_started",
                "The first event must be session.start.",
                None,
            )),
            (ClientEvent::Update(update), true) => self.update(&update, id),
            (ClientEvent::AudioAppend(audio), true) => self.audio_append(&audio),
            (ClientEvent::Mute, true) => {
                self.muted = true;
                self.ack("session.input_audio.muted", id);
                Ok(())
            }
            (ClientEvent::Unmute, true) => {
                self.muted = false;
                self.ack("session.input_audio.unmuted", id);
                Ok(())
            }
            (
                ClientEvent::Append {
                    kind,
                    content,
                    delegation_id,
                },
                true,
            ) => self.append(kind, content, delegation_id, id),
            (ClientEvent::Close, true) => {
                self.close_session("close_requested", id, "client");
                Ok(())
            }
            (ClientEvent::NeedsDelegation(message), true) => {
                Err(LiveError::invalid("invalid_request", message, None))
            }
        };
        if let Err(err) = result {
            self.send_error(&err, id, Some(&ty));
        }
    }

    /// An acknowledgement carrying only its id and the command's.
    fn ack(&mut self, ty: &str, client_event_id: Option<&str>) {
        let fields = match client_event_id {
            Some(id) => json!({ "client_event_id": id }),
            None => json!({}),
        };
        self.emit(ty, fields);
    }
}
