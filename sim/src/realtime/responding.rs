//! Response lifecycle: creation with per-response overrides, paced streaming, function calls,
//! cancellation and the ledger's response records.

use serde_json::{Value, json};
use tokio::time::{Duration, Instant};

use super::api_error::ApiError;
use super::config::Dialect;
use super::conversation::{Item, Position};
use super::ledger::ResponseRecord;
use super::response::{ActiveResponse, CHUNK_MS, Phase, ResponseParams, b64};
use super::schema::{
    RESPONSE_AUDIO_SCHEMA, beta_modalities, check_unknown, ga_format, ga_modalities, max_tokens,
    object, string, tool_choice, tools, voice,
};
use super::session::Session;
use super::session_config::{GA_VOICES, SessionConfig};

const GA_RESPONSE_KEYS: &[&str] = &[
    "instructions",
    "output_modalities",
    "audio",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "conversation",
    "metadata",
    "input",
    "prompt",
];
const BETA_RESPONSE_KEYS: &[&str] = &[
    "modalities",
    "instructions",
    "voice",
    "output_audio_format",
    "tools",
    "tool_choice",
    "temperature",
    "max_response_output_tokens",
    "conversation",
    "metadata",
    "input",
];

impl Session {
    /// `response.create`.
    pub(crate) fn response_create(&mut self, event: &Value) -> Result<(), ApiError> {
        let params = self.response_params(event.get("response"))?;
        if params.conversation_id.is_some()
            && let Some(active) = self.responses.iter().find(|r| r.in_conversation())
        {
            return Err(already_active(&active.params.id));
        }
        self.start_response(params);
        Ok(())
    }

    /// A response created by the server (VAD turn or idle timeout) with the session defaults.
    pub(crate) fn start_auto_response(&mut self, trigger: &'static str) {
        if let Some(active) = self.responses.iter().find(|r| r.in_conversation()) {
            let err = already_active(&active.params.id);
            self.send_error(&err, None, None);
            return;
        }
        let mut params = self.default_params();
        params.trigger = trigger;
        self.start_response(params);
    }

    fn default_params(&mut self) -> ResponseParams {
        ResponseParams {
            id: self.core.ids.openai_id("resp"),
            trigger: "response.create",
            conversation_id: Some(self.conv_id.clone()),
            audio_modality: self.config.output_modalities.iter().any(|m| m == "audio"),
            output_format: self.config.output_format,
            voice: self.config.voice.clone(),
            instructions: self.config.instructions.clone(),
            instructions_from_response: false,
            tools: self.config.tools.clone(),
            max_output_tokens: self.config.max_output_tokens.clone(),
            metadata: Value::Null,
        }
    }

    fn response_params(&mut self, body: Option<&Value>) -> Result<ResponseParams, ApiError> {
        let mut params = self.default_params();
        let obj = match body {
            None | Some(Value::Null) => return Ok(params),
            Some(v) => object(v, "response")?,
        };
        let known = match self.dialect {
            Dialect::Ga => GA_RESPONSE_KEYS,
            Dialect::Beta => BETA_RESPONSE_KEYS,
        };
        if let Some(key) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ApiError::unknown_parameter(&format!("response.{key}")));
        }
        for (key, value) in obj {
            let p = format!("response.{key}");
            match key.as_str() {
                "instructions" => {
                    params.instructions = string(value, &p)?.to_owned();
                    params.instructions_from_response = true;
                }
                "output_modalities" => {
                    params.audio_modality = ga_modalities(value, &p)?[0] == "audio"
                }
                "modalities" => params.audio_modality = beta_modalities(value, &p)?[0] == "audio",
                "audio" => {
                    let audio = object(value, &p)?;
                    check_unknown(audio, &p, RESPONSE_AUDIO_SCHEMA)?;
                    if let Some(output) = audio.get("output") {
                        let output = object(output, "response.audio.output")?;
                        if let Some(f) = output.get("format") {
                            params.output_format = ga_format(f, "response.audio.output.format")?;
                        }
                        if let Some(v) = output.get("voice") {
                            params.voice = voice(v, "response.audio.output.voice", GA_VOICES)?;
                        }
                    }
                }
                "voice" => params.voice = voice(value, &p, GA_VOICES)?,
                "output_audio_format" => {
                    let mut probe = SessionConfig::new(String::new(), String::new(), 0);
                    probe = probe.updated(
                        Some(&json!({"output_audio_format": value})),
                        Dialect::Beta,
                        false,
                    )?;
                    params.output_format = probe.output_format;
                }
                "tools" => params.tools = tools(value, &p)?,
                "tool_choice" => {
                    tool_choice(value, &p)?;
                }
                "max_output_tokens" | "max_response_output_tokens" => {
                    params.max_output_tokens = max_tokens(value, &p)?
                }
                "conversation" => match value.as_str() {
                    Some("auto") => {}
                    Some("none") => params.conversation_id = None,
                    Some(other) => {
                        return Err(ApiError::invalid_value(other, &["auto", "none"], &p));
                    }
                    None => return Err(ApiError::invalid_type(&p, "a string", value)),
                },
                "metadata" => match value {
                    Value::Null | Value::Object(_) => params.metadata = value.clone(),
                    other => return Err(ApiError::invalid_type(&p, "an object", other)),
                },
                "input" if !value.is_array() => {
                    return Err(ApiError::invalid_type(&p, "an array", value));
                }
                _ => {}
            }
        }
        Ok(params)
    }

    fn start_response(&mut self, params: ResponseParams) {
        let reply = self.core.cfg.script.reply_for(self.response_count);
        self.response_count += 1;
        let record = ResponseRecord {
            response_id: params.id.clone(),
            at_ms: self.core.now_ms(),
            trigger: params.trigger.to_owned(),
            instructions: params.instructions.clone(),
            instructions_source: if params.instructions_from_response {
                "response"
            } else {
                "session"
            }
            .to_owned(),
            voice: params.voice.clone(),
            output_format: params.output_format.mime().to_owned(),
            input_format: self.config.input_format.mime().to_owned(),
            tools: SessionConfig::tool_names(&params.tools),
            conversation: if params.conversation_id.is_some() {
                "auto"
            } else {
                "none"
            }
            .to_owned(),
            status: "in_progress".to_owned(),
            status_reason: None,
            audio_ms: 0,
            text: String::new(),
            tool_call: None,
            ended_at_ms: None,
        };
        let retention = self.core.cfg.retention;
        self.core.record(|s| s.push_response(record, &retention));
        let mut response = ActiveResponse::new(params, reply, Instant::now(), self.audio_pos_ms());
        if let Some(delay) = &self.core.cfg.first_audio {
            response.next_at += delay.sample(&response.params.id);
        }
        let created = response.object("in_progress", Value::Null, Value::Null);
        self.emit("response.created", json!({ "response": created }));
        if let Some(injected) = response.reply.error.clone() {
            let err = ApiError {
                error_type: injected.error_type,
                code: Some(injected.code),
                message: injected.message,
                param: None,
            };
            self.send_error(&err, None, None);
        }
        if let Some(fail) = response.reply.fail.clone() {
            let details = json!({"type": "failed", "error": {"type": "server_error", "code": fail.code, "message": fail.message}});
            self.end_response(response, "failed", details, Some(fail.code));
            return;
        }
        self.responses.push(response);
        self.advance_responses();
    }

    /// Runs every response whose next step is due.
    pub(crate) fn advance_responses(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.responses.len() {
            if self.responses[i].next_at <= now {
                let mut response = self.responses.remove(i);
                if self.step(&mut response) {
                    self.finish_response(response);
                } else {
                    self.responses.insert(i, response);
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
    }

    /// Emits what is due for one response; true when it is complete.
    fn step(&mut self, r: &mut ActiveResponse) -> bool {
        loop {
            match r.phase {
                Phase::Open => {
                    if r.has_message() {
                        self.open_message(r);
                        r.phase = Phase::Streaming;
                    } else {
                        r.phase = Phase::Finishing;
                    }
                }
                Phase::Streaming => {
                    if !r.stream_finished() {
                        self.send_chunk(r);
                        if !r.stream_finished() {
                            r.next_at = Instant::now() + self.chunk_delay(r);
                            return false;
                        }
                    }
                    self.close_message(r, "completed");
                    r.phase = Phase::Finishing;
                }
                Phase::Finishing => {
                    self.function_call(r);
                    return true;
                }
            }
        }
    }

    fn chunk_delay(&self, r: &ActiveResponse) -> Duration {
        let pace = self.core.cfg.audio_pace;
        if !pace.is_finite() || pace <= 0.0 {
            return Duration::ZERO;
        }
        let real_ms = if r.audio.is_empty() {
            50.0
        } else {
            CHUNK_MS as f64
        };
        Duration::from_secs_f64(real_ms / 1000.0 / pace)
    }

    fn ids_of(r: &ActiveResponse) -> Value {
        json!({"response_id": r.params.id, "item_id": r.message_item, "output_index": 0, "content_index": 0})
    }

    fn open_message(&mut self, r: &mut ActiveResponse) {
        r.message_item = Some(self.core.ids.openai_id("item"));
        let item = r.message_item_json("in_progress", false);
        self.emit(
            "response.output_item.added",
            json!({"response_id": r.params.id, "output_index": 0, "item": item}),
        );
        if r.in_conversation() {
            let id = r.message_item.clone().unwrap_or_default();
            let audio_ms = r.params.audio_modality.then_some(0);
            let json = item.clone();
            let previous = self
                .conv
                .insert(
                    Item {
                        id,
                        json,
                        audio_ms,
                        audio_from_ms: None,
                    },
                    &Position::End,
                )
                .ok()
                .flatten();
            r.message_previous.clone_from(&previous);
            self.emit(
                "conversation.item.added",
                json!({"previous_item_id": previous, "item": item}),
            );
        }
        let mut fields = Self::ids_of(r);
        fields["part"] = r.part_json(false);
        self.emit("response.content_part.added", fields);
    }

    fn send_chunk(&mut self, r: &mut ActiveResponse) {
        let (text, audio) = r.next_chunk();
        let (text_event, audio_event) = if r.params.audio_modality {
            (
                "response.output_audio_transcript.delta",
                "response.output_audio.delta",
            )
        } else {
            ("response.output_text.delta", "")
        };
        if !text.is_empty() {
            let mut fields = Self::ids_of(r);
            fields["delta"] = json!(text);
            fields["obfuscation"] = json!(self.core.ids.alnum(13));
            self.emit(text_event, fields);
        }
        if !audio.is_empty() {
            let mut fields = Self::ids_of(r);
            fields["delta"] = json!(b64(&audio));
            self.emit(audio_event, fields);
            if r.in_conversation() {
                self.assistant_audio = true;
                let sent = r.audio_sent_ms();
                let now = self.core.now_ms();
                if let Some(item) = r
                    .message_item
                    .as_deref()
                    .and_then(|id| self.conv.get_mut(id))
                {
                    item.audio_ms = Some(sent);
                    item.audio_from_ms.get_or_insert(now);
                }
            }
        }
    }

    fn close_message(&mut self, r: &mut ActiveResponse, status: &str) {
        let full = r.text_sent();
        if r.params.audio_modality {
            self.emit("response.output_audio.done", Self::ids_of(r));
            let mut fields = Self::ids_of(r);
            fields["transcript"] = json!(full);
            self.emit("response.output_audio_transcript.done", fields);
        } else {
            let mut fields = Self::ids_of(r);
            fields["text"] = json!(full);
            self.emit("response.output_text.done", fields);
        }
        let mut fields = Self::ids_of(r);
        fields["part"] = r.part_json(true);
        self.emit("response.content_part.done", fields);
        let item = r.message_item_json(status, true);
        self.emit(
            "response.output_item.done",
            json!({"response_id": r.params.id, "output_index": 0, "item": item}),
        );
        if r.in_conversation() {
            let id = r.message_item.clone().unwrap_or_default();
            if let Some(stored) = self.conv.get_mut(&id) {
                stored.json = item.clone();
            }
            self.emit(
                "conversation.item.done",
                json!({"previous_item_id": r.message_previous, "item": item}),
            );
        }
        r.output.push(item);
    }

    fn function_call(&mut self, r: &mut ActiveResponse) {
        let Some(call) = r.reply.tool_call.clone() else {
            return;
        };
        let item_id = self.core.ids.openai_id("item");
        let call_id = format!("call_{}", self.core.ids.alnum(16));
        let output_index = r.output.len();
        let item = json!({"id": item_id, "type": "function_call", "status": "in_progress",
                          "name": call.name, "call_id": call_id, "arguments": ""});
        self.emit(
            "response.output_item.added",
            json!({"response_id": r.params.id, "output_index": output_index, "item": item}),
        );
        let previous = self.conv.last_id();
        if r.in_conversation() {
            self.emit(
                "conversation.item.added",
                json!({"previous_item_id": previous, "item": item}),
            );
        }
        let args = &call.arguments;
        let mid = args
            .char_indices()
            .nth(args.chars().count() / 2)
            .map_or(args.len(), |(i, _)| i);
        for delta in [&args[..mid], &args[mid..]] {
            if !delta.is_empty() {
                self.emit("response.function_call_arguments.delta", json!({"response_id": r.params.id,
                    "item_id": item_id, "output_index": output_index, "call_id": call_id, "delta": delta}));
            }
        }
        self.emit("response.function_call_arguments.done", json!({"response_id": r.params.id, "item_id": item_id,
            "output_index": output_index, "call_id": call_id, "name": call.name, "arguments": args}));
        let done = json!({"id": item_id, "type": "function_call", "status": "completed",
                          "name": call.name, "call_id": call_id, "arguments": args});
        self.emit(
            "response.output_item.done",
            json!({"response_id": r.params.id, "output_index": output_index, "item": done}),
        );
        if r.in_conversation() {
            let _ = self.conv.insert(
                Item {
                    id: item_id,
                    json: done.clone(),
                    audio_ms: None,
                    audio_from_ms: None,
                },
                &Position::End,
            );
            self.emit(
                "conversation.item.done",
                json!({"previous_item_id": previous, "item": done}),
            );
        }
        r.output.push(done);
    }

    fn finish_response(&mut self, response: ActiveResponse) {
        self.end_response(response, "completed", Value::Null, None);
    }

    /// Cancels a running response: closes what is open, then `response.done` cancelled.
    pub(crate) fn cancel_response(&mut self, mut response: ActiveResponse, reason: &str) {
        if response.phase == Phase::Streaming {
            self.close_message(&mut response, "incomplete");
        }
        let details = json!({"type": "cancelled", "reason": reason});
        self.end_response(response, "cancelled", details, Some(reason.to_owned()));
    }

    fn end_response(
        &mut self,
        response: ActiveResponse,
        status: &str,
        details: Value,
        reason: Option<String>,
    ) {
        let usage = response.usage(self.conv.len());
        let done = response.object(status, details, usage);
        self.emit("response.done", json!({ "response": done }));
        let output_tokens = done
            .pointer("/usage/total_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.emit(
            "rate_limits.updated",
            json!({"rate_limits": [{"name": "tokens", "limit": 40000,
            "remaining": 40000u64.saturating_sub(output_tokens), "reset_seconds": 0.3}]}),
        );
        let audio_ms = response.audio_sent_ms();
        if response.in_conversation() {
            self.idle_from_ms = Some(response.created_at_audio_ms + audio_ms);
        }
        let ended = self.core.now_ms();
        let (id, text) = (response.params.id.clone(), response.text_sent());
        let tool = response
            .reply
            .tool_call
            .as_ref()
            .filter(|_| status == "completed")
            .map(|c| c.name.clone());
        let status = status.to_owned();
        self.core.record(|s| {
            if let Some(rec) = s.responses.iter_mut().find(|r| r.response_id == id) {
                rec.status = status;
                rec.status_reason = reason;
                rec.audio_ms = audio_ms;
                rec.text = text;
                rec.tool_call = tool;
                rec.ended_at_ms = Some(ended);
            }
        });
    }

    /// `response.cancel`.
    pub(crate) fn response_cancel(&mut self, event: &Value) -> Result<(), ApiError> {
        let wanted = event.get("response_id").and_then(Value::as_str);
        let found = self.responses.iter().position(|r| match wanted {
            Some(id) => r.params.id == id,
            None => r.in_conversation(),
        });
        let Some(i) = found else {
            return Err(ApiError::invalid(
                Some("response_cancel_not_active"),
                "Cancellation failed: no active response found",
                None,
            ));
        };
        let response = self.responses.remove(i);
        self.cancel_response(response, "client_cancelled");
        Ok(())
    }
}

fn already_active(id: &str) -> ApiError {
    ApiError::invalid(
        Some("conversation_already_has_active_response"),
        format!(
            "Conversation already has an active response in progress: {id}. Wait until the response is finished before creating a new one."
        ),
        None,
    )
}
