//! Session updates, the input audio buffer with server VAD, and conversation item events.

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::config::Dialect;
use super::conversation::{Item, Position, not_found};
use super::ledger::{TruncateRecord, UpdateRecord, VadTurn};
use super::schema::{object, string, uint};
use super::session::Session;
use super::vad::VadEvent;

/// Minimum audio a manual commit needs.
const MIN_COMMIT_MS: f64 = 100.0;

impl Session {
    /// `session.update`: validated whole, then applied or rejected whole.
    pub(crate) fn session_update(&mut self, event: &Value, event_id: Option<&str>) {
        let sent_instructions = event
            .pointer("/session/instructions")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let result = self
            .config
            .updated(event.get("session"), self.dialect, self.assistant_audio);
        let error = match result {
            Ok(next) => {
                if next.turn_detection.is_none() && self.vad.in_speech() {
                    self.vad.reset();
                    self.speech_item = None;
                }
                self.config = next;
                let session = self.config.to_json(self.dialect);
                self.emit("session.updated", json!({ "session": session }));
                None
            }
            Err(err) => Some(self.send_error(&err, event_id, Some("session.update"))),
        };
        let record = UpdateRecord {
            at_ms: self.core.now_ms(),
            accepted: error.is_none(),
            error,
            instructions: sent_instructions,
            effective_instructions: self.config.instructions.clone(),
            input_format: self.config.input_format.mime().to_owned(),
            output_format: self.config.output_format.mime().to_owned(),
            voice: self.config.voice.clone(),
            turn_detection: self
                .config
                .turn_detection
                .as_ref()
                .map(|t| t.kind().to_owned()),
        };
        let (input, output) = (record.input_format.clone(), record.output_format.clone());
        let retention = self.core.cfg.retention;
        let first_config = event
            .get("session")
            .filter(|c| c.to_string().len() <= super::ledger::MAX_FIRST_CONFIG_BYTES)
            .cloned();
        self.core.record(|s| {
            if s.first_config.is_none() {
                s.first_config = first_config;
            }
            s.push_update(record, &retention);
            s.input_format = input;
            s.output_format = output;
        });
    }

    /// `input_audio_buffer.append` read by the general path.
    pub(crate) fn append(&mut self, event: &Value) -> Result<(), ApiError> {
        let audio = event
            .get("audio")
            .ok_or_else(|| ApiError::missing_required("audio"))?;
        self.append_audio(string(audio, "audio")?)
    }

    /// Appends base64 audio: counts audio time, runs VAD and the idle timeout.
    pub(crate) fn append_audio(&mut self, audio: &str) -> Result<(), ApiError> {
        let bytes = self.last_append.decode(audio)?;
        self.take_audio(&bytes);
        self.last_append.keep(bytes);
        Ok(())
    }

    /// Counts decoded input audio, runs VAD and the idle timeout.
    fn take_audio(&mut self, bytes: &[u8]) {
        let format = self.config.input_format;
        let per_ms = format.bytes_per_ms();
        self.audio_received_us += u64::try_from(bytes.len() * 1000 / per_ms).unwrap_or(0);
        self.buffer_bytes += bytes.len();
        let total_ms = self.audio_pos_ms();
        let retention = self.core.cfg.retention;
        let now_ms = self.core.now_ms();
        self.core.record(|s| {
            s.audio_received_ms = total_ms;
            s.store_audio(bytes, per_ms, &retention);
            s.store_envelope(bytes, format, now_ms, &retention);
        });
        let Some(td) = self.config.turn_detection.clone() else {
            self.vad.skip(bytes, format);
            return;
        };
        for vad_event in self.vad.push(bytes, format, &td) {
            match vad_event {
                VadEvent::SpeechStarted { audio_start_ms } => {
                    self.speech_started(audio_start_ms, td.interrupt_response)
                }
                VadEvent::SpeechStopped { audio_end_ms } => {
                    self.speech_stopped(audio_end_ms, td.create_response)
                }
            }
        }
        self.check_idle(td.idle_timeout_ms.filter(|_| !td.semantic));
    }

    fn speech_started(&mut self, audio_start_ms: u64, interrupt: bool) {
        let item_id = self.core.ids.openai_id("item");
        self.speech_item = Some(item_id.clone());
        self.idle_from_ms = None;
        self.emit(
            "input_audio_buffer.speech_started",
            json!({"audio_start_ms": audio_start_ms, "item_id": item_id}),
        );
        let at_ms = self.core.now_ms();
        let retention = self.core.cfg.retention;
        self.core.record(|s| {
            let turn = VadTurn {
                speech_started_ms: audio_start_ms,
                speech_stopped_ms: None,
                at_ms,
            };
            s.push_vad_turn(turn, &retention);
        });
        if interrupt && let Some(i) = self.responses.iter().position(|r| r.in_conversation()) {
            let response = self.responses.remove(i);
            self.cancel_response(response, "turn_detected");
        }
    }

    fn speech_stopped(&mut self, audio_end_ms: u64, create_response: bool) {
        let item_id = self
            .speech_item
            .take()
            .unwrap_or_else(|| self.core.ids.openai_id("item"));
        self.emit(
            "input_audio_buffer.speech_stopped",
            json!({"audio_end_ms": audio_end_ms, "item_id": item_id}),
        );
        self.core.record(|s| {
            if let Some(turn) = s.vad_turns.last_mut() {
                turn.speech_stopped_ms = Some(audio_end_ms);
            }
        });
        self.commit(item_id);
        if create_response {
            self.start_auto_response("vad");
        }
    }

    /// Fires `input_audio_buffer.timeout_triggered` once the caller stayed silent for the idle
    /// timeout after the model's audio would have finished playing (in audio time).
    fn check_idle(&mut self, idle_timeout_ms: Option<u64>) {
        let (Some(timeout), Some(from)) = (idle_timeout_ms, self.idle_from_ms) else {
            return;
        };
        let now = self.audio_pos_ms();
        if self.vad.in_speech()
            || self.responses.iter().any(|r| r.in_conversation())
            || now < from + timeout
        {
            return;
        }
        self.idle_from_ms = None;
        let item_id = self.core.ids.openai_id("item");
        self.emit(
            "input_audio_buffer.timeout_triggered",
            json!({"audio_start_ms": from, "audio_end_ms": now, "item_id": item_id}),
        );
        self.commit(item_id);
        self.start_auto_response("idle_timeout");
    }

    /// Commits the buffer as a user audio item: `committed`, then the item events.
    fn commit(&mut self, item_id: String) {
        self.buffer_bytes = 0;
        self.vad.reset();
        let previous = self.conv.last_id();
        self.emit(
            "input_audio_buffer.committed",
            json!({"previous_item_id": previous, "item_id": item_id}),
        );
        let item = json!({"id": item_id, "type": "message", "status": "completed", "role": "user",
                          "content": [{"type": "input_audio", "transcript": null}]});
        self.add_item(
            Item {
                id: item_id,
                json: item,
                audio_ms: None,
                audio_from_ms: None,
            },
            &Position::End,
        );
    }

    /// Inserts an item and emits `conversation.item.added` and `.done`.
    pub(crate) fn add_item(&mut self, item: Item, position: &Position) {
        let json = item.json.clone();
        if let Ok(previous) = self.conv.insert(item, position) {
            self.emit(
                "conversation.item.added",
                json!({"previous_item_id": previous, "item": json}),
            );
            self.emit(
                "conversation.item.done",
                json!({"previous_item_id": previous, "item": json}),
            );
        }
    }

    /// `input_audio_buffer.commit`.
    pub(crate) fn commit_manual(&mut self) -> Result<(), ApiError> {
        let buffered_ms = self.buffer_bytes as f64 / self.config.input_format.bytes_per_ms() as f64;
        if buffered_ms < MIN_COMMIT_MS {
            return Err(ApiError::invalid(
                Some("input_audio_buffer_commit_empty"),
                format!(
                    "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has {buffered_ms:.2}ms of audio."
                ),
                None,
            ));
        }
        let item_id = self
            .speech_item
            .take()
            .unwrap_or_else(|| self.core.ids.openai_id("item"));
        self.commit(item_id);
        Ok(())
    }

    /// `input_audio_buffer.clear`.
    pub(crate) fn clear_buffer(&mut self) {
        self.buffer_bytes = 0;
        self.vad.reset();
        self.speech_item = None;
        self.emit("input_audio_buffer.cleared", json!({}));
    }

    /// `conversation.item.create`.
    pub(crate) fn item_create(&mut self, event: &Value) -> Result<(), ApiError> {
        let item = event
            .get("item")
            .ok_or_else(|| ApiError::missing_required("item"))?;
        let item = object(item, "item")?;
        let position = self.position_after(event.get("previous_item_id"))?;
        let ty = item
            .get("type")
            .ok_or_else(|| ApiError::missing_required("item.type"))?;
        let ty = string(ty, "item.type")?;
        let id = match item.get("id") {
            Some(Value::String(id)) => id.clone(),
            _ => self.core.ids.openai_id("item"),
        };
        let json = match ty {
            "message" => self.message_item(item, &id)?,
            "function_call" => {
                let call_id = required_str(item, "call_id")?;
                let name = required_str(item, "name")?;
                let arguments = item
                    .get("arguments")
                    .and_then(Value::as_str)
                    .unwrap_or("{}");
                json!({"id": id, "type": "function_call", "status": "completed", "name": name,
                       "call_id": call_id, "arguments": arguments})
            }
            "function_call_output" => self.call_output_item(item, &id)?,
            "item_reference" => {
                let target = required_str(item, "id")?;
                match self.conv.get(target) {
                    Some(found) => found.json.clone(),
                    None => return Err(not_found(target, "item.id")),
                }
            }
            other => {
                return Err(ApiError::invalid_value(
                    other,
                    &[
                        "message",
                        "function_call",
                        "function_call_output",
                        "item_reference",
                    ],
                    "item.type",
                ));
            }
        };
        self.add_item(
            Item {
                id,
                json,
                audio_ms: None,
                audio_from_ms: None,
            },
            &position,
        );
        Ok(())
    }

    /// Where `previous_item_id` puts a new item: at the end, first (`root`), or after an item
    /// that must exist.
    fn position_after(&self, previous: Option<&Value>) -> Result<Position, ApiError> {
        match previous {
            None | Some(Value::Null) => Ok(Position::End),
            Some(Value::String(s)) if s == "root" => Ok(Position::Root),
            Some(Value::String(s)) => {
                if self.conv.get(s).is_none() {
                    return Err(not_found(s, "previous_item_id"));
                }
                Ok(Position::After(s.clone()))
            }
            Some(other) => Err(ApiError::invalid_type(
                "previous_item_id",
                "a string",
                other,
            )),
        }
    }

    /// A `function_call_output` item, whose call must be in the conversation.
    fn call_output_item(
        &self,
        item: &serde_json::Map<String, Value>,
        id: &str,
    ) -> Result<Value, ApiError> {
        let call_id = required_str(item, "call_id")?;
        let output = required_str(item, "output")?;
        if !self.conv.has_call(call_id) {
            return Err(ApiError::invalid(
                Some("invalid_value"),
                format!("Tool call ID '{call_id}' not found in conversation."),
                Some("item.call_id"),
            ));
        }
        Ok(json!({"id": id, "type": "function_call_output", "call_id": call_id, "output": output}))
    }

    fn message_item(
        &self,
        item: &serde_json::Map<String, Value>,
        id: &str,
    ) -> Result<Value, ApiError> {
        let role = required_str(item, "role")?;
        let allowed: &[&str] = match (role, self.dialect) {
            ("user", _) => &["input_text", "input_audio", "input_image"],
            ("system", _) => &["input_text"],
            ("assistant", Dialect::Ga) => &["output_text"],
            ("assistant", Dialect::Beta) => &["text"],
            (other, _) => {
                return Err(ApiError::invalid_value(
                    other,
                    &["user", "assistant", "system"],
                    "item.role",
                ));
            }
        };
        let content = item
            .get("content")
            .ok_or_else(|| ApiError::missing_required("item.content"))?;
        let content = content
            .as_array()
            .ok_or_else(|| ApiError::invalid_type("item.content", "an array", content))?;
        let mut parts = Vec::new();
        for (i, part) in content.iter().enumerate() {
            let p = format!("item.content[{i}].type");
            let ty = part
                .get("type")
                .ok_or_else(|| ApiError::missing_required(&p))?;
            let ty = string(ty, &p)?;
            if !allowed.contains(&ty) {
                return Err(ApiError::invalid_value(ty, allowed, &p));
            }
            let mut part = part.clone();
            if let Some(obj) = part.as_object_mut() {
                // Audio bytes are never echoed back in item events.
                if obj.remove("audio").is_some() && !obj.contains_key("transcript") {
                    obj.insert("transcript".to_owned(), Value::Null);
                }
            }
            parts.push(part);
        }
        Ok(
            json!({"id": id, "type": "message", "status": "completed", "role": role, "content": parts}),
        )
    }

    /// `conversation.item.delete`.
    pub(crate) fn item_delete(&mut self, event: &Value) -> Result<(), ApiError> {
        let id = required_event_str(event, "item_id")?;
        self.conv.remove(id)?;
        self.emit("conversation.item.deleted", json!({"item_id": id}));
        Ok(())
    }

    /// `conversation.item.retrieve`.
    pub(crate) fn item_retrieve(&mut self, event: &Value) -> Result<(), ApiError> {
        let id = required_event_str(event, "item_id")?;
        let item = self
            .conv
            .get(id)
            .ok_or_else(|| not_found(id, "item_id"))?
            .json
            .clone();
        self.emit("conversation.item.retrieved", json!({"item": item}));
        Ok(())
    }

    /// `conversation.item.truncate`: only model audio, never past its end.
    pub(crate) fn item_truncate(&mut self, event: &Value) -> Result<(), ApiError> {
        let id = required_event_str(event, "item_id")?.to_owned();
        let content_index = event
            .get("content_index")
            .ok_or_else(|| ApiError::missing_required("content_index"))?;
        let content_index = uint(content_index, "content_index")?;
        let end = event
            .get("audio_end_ms")
            .ok_or_else(|| ApiError::missing_required("audio_end_ms"))?;
        let audio_end_ms = uint(end, "audio_end_ms")?;
        let item_audio_ms = self.conv.get(&id).and_then(|i| i.audio_ms);
        let item_audio_from_ms = self.conv.get(&id).and_then(|i| i.audio_from_ms);
        let result = match self.conv.get_mut(&id) {
            None => Err(not_found(&id, "item_id")),
            Some(item) => match item.audio_ms {
                None | Some(0) => Err(ApiError::invalid(
                    Some("unsupported_content_type"),
                    "Only model output audio messages can be truncated",
                    None,
                )),
                Some(have) if audio_end_ms > have => Err(ApiError::invalid(
                    None,
                    format!("Audio content of {have}ms is already shorter than {audio_end_ms}ms"),
                    Some("audio_end_ms"),
                )),
                Some(_) => {
                    item.audio_ms = Some(audio_end_ms);
                    // The service drops the transcript so unheard text leaves the context.
                    if let Some(part) = item.json.pointer_mut("/content/0/transcript") {
                        *part = json!("");
                    }
                    Ok(())
                }
            },
        };
        let at_ms = self.core.now_ms();
        let error = result.as_ref().err().map(|e| e.message.clone());
        let retention = self.core.cfg.retention;
        let record = TruncateRecord {
            at_ms,
            item_id: id.clone(),
            audio_end_ms,
            item_audio_ms,
            item_audio_from_ms,
            error,
        };
        self.core.record(|s| s.push_truncate(record, &retention));
        result?;
        self.emit(
            "conversation.item.truncated",
            json!({"item_id": id, "content_index": content_index, "audio_end_ms": audio_end_ms}),
        );
        Ok(())
    }
}

fn required_str<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, ApiError> {
    let p = format!("item.{key}");
    let v = obj.get(key).ok_or_else(|| ApiError::missing_required(&p))?;
    string(v, &p)
}

fn required_event_str<'a>(event: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    let v = event
        .get(key)
        .ok_or_else(|| ApiError::missing_required(key))?;
    string(v, key)
}
