//! The session's configuration: `session.start` fixes it once per connection and is recorded
//! as the session's one configuration; `session.update` may change only the delegation settings
//! and the triggers, and names the immutable field it refuses.

use serde_json::{Map, Value, json};

use super::event::{Delegation, LiveError, StartConfig};
use super::session::LiveSession;
use super::start::LiveConfig;
use super::track::Track;
use crate::realtime::ledger::{ErrorRecord, UpdateRecord};
use crate::realtime::session_config::DEFAULT_INSTRUCTIONS;

/// Keys of `session.update` that exist but are fixed at `session.start`.
const IMMUTABLE_KEYS: &[&str] = &[
    "model",
    "instructions",
    "audio",
    "input",
    "store",
    "safety_identifier",
];

impl LiveSession {
    pub(crate) fn start(
        &mut self,
        start: StartConfig,
        client_event_id: Option<&str>,
    ) -> Result<(), LiveError> {
        let max_secs = i64::try_from(self.core.cfg.max_session.as_secs()).unwrap_or(i64::MAX);
        let expires_at = self.core.cfg.clock.unix_now().saturating_add(max_secs);
        let id = format!("live_{}", self.core.ids.alnum(32));
        let sent_instructions = start.instructions.clone();
        let config = match LiveConfig::from_start(start, id, expires_at) {
            Ok(config) => config,
            Err(err) => {
                let record = self.send_error(&err, client_event_id, Some("session.start"));
                self.record_start(sent_instructions, Some(record));
                return Ok(());
            }
        };
        self.track = Track::new(config.format);
        let mut fields = json!({ "session": config.resource(DEFAULT_INSTRUCTIONS) });
        if let (Some(id), Value::Object(map)) = (client_event_id, &mut fields) {
            map.insert("client_event_id".into(), json!(id));
        }
        let (model, session_id) = (config.model.clone(), config.id.clone());
        self.started = Some(config);
        self.core.record(|s| {
            s.model = model;
            s.session_id = session_id;
        });
        self.record_start(sent_instructions, None);
        self.emit("session.started", fields);
        Ok(())
    }

    /// Records a `session.start` as the session's one configuration (or a rejected one).
    pub(crate) fn record_start(&self, sent: Option<String>, error: Option<ErrorRecord>) {
        let (format, voice, effective) = match &self.started {
            Some(c) if error.is_none() => (
                c.format.mime().to_owned(),
                c.voice_name(),
                self.start_instructions(),
            ),
            _ => (
                String::new(),
                String::new(),
                DEFAULT_INSTRUCTIONS.to_owned(),
            ),
        };
        let record = UpdateRecord {
            at_ms: self.core.now_ms(),
            accepted: error.is_none(),
            error,
            instructions: sent,
            effective_instructions: effective,
            input_format: format.clone(),
            output_format: format,
            voice,
            turn_detection: None,
        };
        let retention = self.core.cfg.retention;
        self.core.record(|s| s.push_update(record, &retention));
    }

    /// The instructions fixed at the start (the server default when none were sent).
    pub(crate) fn start_instructions(&self) -> String {
        self.started
            .as_ref()
            .and_then(|c| c.instructions.clone())
            .unwrap_or_else(|| DEFAULT_INSTRUCTIONS.to_owned())
    }

    pub(crate) fn update(
        &mut self,
        update: &Map<String, Value>,
        client_event_id: Option<&str>,
    ) -> Result<(), LiveError> {
        for key in update.keys() {
            let param = format!("session.{key}");
            if IMMUTABLE_KEYS.contains(&key.as_str()) {
                return Err(LiveError::immutable(&param));
            }
            if key != "delegation" && key != "triggers" {
                return Err(LiveError::unknown_parameter(&param));
            }
        }
        let Some(started) = self.started.as_mut() else {
            return Ok(());
        };
        if let Some(delegation) = update.get("delegation") {
            if delegation.is_null() {
                return Err(LiveError::immutable("session.delegation.type"));
            }
            let same_type =
                delegation.get("type").and_then(Value::as_str) == Some(started.delegation.kind());
            if !same_type {
                return Err(LiveError::immutable("session.delegation.type"));
            }
            if let Ok(parsed) = serde_json::from_value::<Delegation>(delegation.clone()) {
                started.delegation = parsed;
            }
        }
        if let Some(triggers) = update.get("triggers").and_then(Value::as_array) {
            started.triggers = Some(triggers.clone());
        }
        let mut fields = json!({ "session": started.resource(DEFAULT_INSTRUCTIONS) });
        if let (Some(id), Value::Object(map)) = (client_event_id, &mut fields) {
            map.insert("client_event_id".into(), json!(id));
        }
        self.emit("session.updated", fields);
        Ok(())
    }
}
