//! The session timeline: input audio advances it, and everything the model does happens on it.
//!
//! Each append moves the timeline by the audio's length in the session format. As it moves,
//! appended context is injected (and acknowledged) once the timeline reaches its estimated end,
//! owed replies start, the output track emits one 100 ms delta per 100 ms of input (real-time
//! pace, silence between replies), and usage is reported every 15 s. The VAD listens to the
//! caller while the model speaks: speech over a reply stops it, which is Live's barge-in (no
//! event tells the client).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;
use tokio::time::Instant;

use super::event::{AppendKind, LiveError};
use super::session::{LiveSession, PendingAppend};
use super::start::LiveFormat;
use super::track::{CHUNK_MS, Speech, encode, pcm16k_to_ulaw};
use crate::realtime::ledger::{AppendRecord, ResponseRecord, VadTurn};
use crate::realtime::session_config::AudioFormat;
use crate::realtime::vad::VadEvent;

/// How often `session.usage.updated` reports, in milliseconds of the timeline.
pub(crate) const USAGE_EVERY_MS: u64 = 15_000;

/// How long the model takes to inject appended context, in milliseconds of the timeline
/// (0.6 to 1.0 s observed).
const INJECTION_MS: u64 = 600;

/// Longest appended content, in bytes (the service counts 500 tokens; four bytes a token).
const MAX_APPEND_BYTES: usize = 2_000;

impl LiveSession {
    /// `session.input_audio.append`: the caller's audio, which also moves the timeline.
    pub(crate) fn audio_append(&mut self, audio: &str) -> Result<(), LiveError> {
        let bytes = B64.decode(audio).map_err(|_| {
            LiveError::invalid(
                "invalid_value",
                "Invalid 'audio'. Expected base64-encoded audio.",
                Some("audio"),
            )
        })?;
        let Some(format) = self.started.as_ref().map(|c| c.format) else {
            return Ok(());
        };
        self.idle_expiry = Instant::now() + self.core.cfg.live_idle_expiry;
        let per_ms = format.bytes_per_ms();
        self.timeline_us += u64::try_from(bytes.len() * 1000 / per_ms).unwrap_or(0);
        let (analysed, analysis) = match format.analysis_format() {
            Some(f) => (bytes.clone(), f),
            None => (pcm16k_to_ulaw(&bytes), AudioFormat::Pcmu),
        };
        let total_ms = self.timeline_ms();
        let (retention, now_ms) = (self.core.cfg.retention, self.core.now_ms());
        self.core.record(|s| {
            s.audio_received_ms = total_ms;
            s.store_audio(&bytes, per_ms, &retention);
            s.store_envelope(&analysed, analysis, now_ms, &retention);
        });
        // A muted caller reaches the model as silence.
        let heard = if self.muted {
            encode(&vec![0; analysed.len()], LiveFormat::Pcmu)
        } else {
            analysed
        };
        let heard_format = if self.muted {
            AudioFormat::Pcmu
        } else {
            analysis
        };
        let td = self.td.clone();
        for event in self.vad.push(&heard, heard_format, &td) {
            match event {
                VadEvent::SpeechStarted { audio_start_ms } => self.caller_started(audio_start_ms),
                VadEvent::SpeechStopped { audio_end_ms } => self.caller_stopped(audio_end_ms),
            }
        }
        self.advance();
        Ok(())
    }

    /// The caller started talking: a reply in progress stops by itself.
    fn caller_started(&mut self, audio_start_ms: u64) {
        let turn = VadTurn {
            speech_started_ms: audio_start_ms,
            speech_stopped_ms: None,
            at_ms: self.core.now_ms(),
        };
        let retention = self.core.cfg.retention;
        self.core.record(|s| s.push_vad_turn(turn, &retention));
        self.reply_due = None;
        if let Some(speech) = self.track.stop() {
            self.end_response(&speech, "cancelled", Some("turn_detected"));
        }
    }

    /// The caller stopped talking: the model owes a reply.
    fn caller_stopped(&mut self, audio_end_ms: u64) {
        self.core.record(|s| {
            if let Some(turn) = s.vad_turns.last_mut() {
                turn.speech_stopped_ms = Some(audio_end_ms);
            }
        });
        self.reply_due = Some("vad");
    }

    /// A context append: recorded now, injected when the timeline reaches its estimated end.
    pub(crate) fn append(
        &mut self,
        kind: AppendKind,
        content: String,
        delegation_id: Option<String>,
        client_event_id: Option<&str>,
    ) -> Result<(), LiveError> {
        if content.len() > MAX_APPEND_BYTES {
            return Err(LiveError::invalid(
                "string_above_max_length",
                format!(
                    "Invalid 'content': string too long. Expected at most 500 tokens \
                     ({MAX_APPEND_BYTES} bytes), got {} bytes.",
                    content.len()
                ),
                Some("content"),
            ));
        }
        if delegation_id.is_some() {
            return Err(LiveError::invalid(
                "invalid_value",
                "Invalid 'delegation_id': no client delegation with this id exists.",
                Some("delegation_id"),
            ));
        }
        let start_ms = self.timeline_ms();
        let record = AppendRecord {
            at_ms: self.core.now_ms(),
            source: kind.event_type().to_owned(),
            content: content.clone(),
            delegation_id: delegation_id.clone(),
            injected_at_ms: None,
        };
        let retention = self.core.cfg.retention;
        self.core.record(|s| s.push_append(record, &retention));
        self.pending.push(PendingAppend {
            kind,
            at_ms: self.core.now_ms(),
            start_ms,
            end_ms: start_ms + INJECTION_MS,
            client_event_id: client_event_id.map(str::to_owned),
            content,
            delegation_id,
        });
        Ok(())
    }

    /// Moves everything the timeline has reached: injections, replies, output audio, usage.
    pub(crate) fn advance(&mut self) {
        let now = self.timeline_ms();
        while self.out_ms + CHUNK_MS <= now {
            let at = self.out_ms;
            self.inject_until(at);
            if let Some(trigger) = self.reply_due
                && !self.track.speaking()
                && !self.vad.in_speech()
            {
                self.reply_due = None;
                self.respond(trigger);
            }
            let (chunk, ended) = self.track.next_chunk();
            self.emit_bare(json!({
                "type": "session.output_audio.delta",
                "delta": B64.encode(&chunk),
            }));
            self.out_ms += CHUNK_MS;
            if let Some(speech) = ended {
                self.end_response(&speech, "completed", None);
            }
            if self.out_ms >= self.next_usage_ms {
                self.next_usage_ms += USAGE_EVERY_MS;
                let usage = self.usage();
                self.emit("session.usage.updated", json!({ "usage": usage }));
            }
        }
        self.inject_until(now);
    }

    /// Injects every pending append whose estimated end the timeline reached at `at_ms`.
    fn inject_until(&mut self, at_ms: u64) {
        while let Some(pos) = self.pending.iter().position(|p| p.end_ms <= at_ms) {
            let pending = self.pending.remove(pos);
            let mut fields = json!({ "start_ms": pending.start_ms, "end_ms": pending.end_ms });
            if let (Some(id), Some(map)) = (&pending.client_event_id, fields.as_object_mut()) {
                map.insert("client_event_id".into(), json!(id));
            }
            self.emit(pending.kind.ack_type(), fields);
            let now = self.core.now_ms();
            let source = pending.kind.event_type();
            self.core.record(|s| {
                if let Some(a) = s.appends.iter_mut().rev().find(|a| {
                    a.at_ms == pending.at_ms && a.source == source && a.injected_at_ms.is_none()
                }) {
                    a.injected_at_ms = Some(now);
                }
            });
            self.in_force.push((source.to_owned(), pending.content));
            // Commentary is something to say: the model speaks it when it next can.
            if pending.kind == AppendKind::Commentary && pending.delegation_id.is_none() {
                self.reply_due = Some("session.commentary.append");
            }
        }
    }

    /// The instructions behind a response: the start instructions, then every injected append.
    fn effective_instructions(&self) -> String {
        let mut text = self.start_instructions();
        for (_, content) in &self.in_force {
            text.push_str("\n\n");
            text.push_str(content);
        }
        text
    }

    /// Starts the scripted reply for `trigger` on the output track.
    fn respond(&mut self, trigger: &str) {
        let reply = self.core.cfg.script.reply_for(self.response_count);
        self.response_count += 1;
        let Some(config) = self.started.as_ref() else {
            return;
        };
        let (format, voice) = (config.format, config.voice_name());
        let response_id = self.core.ids.openai_id("resp");
        let samples = reply.audio.samples_8k();
        let audio_ms = u64::try_from(samples.len() / 8).unwrap_or(u64::MAX);
        let source = if self.in_force.is_empty() {
            "session.start".to_owned()
        } else {
            let sources: Vec<&str> = self.in_force.iter().map(|(s, _)| s.as_str()).collect();
            format!("session.start+{}", sources.join("+"))
        };
        let record = ResponseRecord {
            response_id: response_id.clone(),
            at_ms: self.core.now_ms(),
            trigger: trigger.to_owned(),
            instructions: self.effective_instructions(),
            instructions_source: source,
            voice,
            output_format: format.mime().to_owned(),
            input_format: format.mime().to_owned(),
            tools: Vec::new(),
            conversation: "auto".to_owned(),
            status: "in_progress".to_owned(),
            status_reason: None,
            audio_ms: 0,
            text: reply.text.clone(),
            tool_call: None,
            ended_at_ms: None,
        };
        let retention = self.core.cfg.retention;
        self.core.record(|s| s.push_response(record, &retention));
        if let Some(injected) = &reply.error {
            let err = LiveError {
                error_type: "server_error",
                code: injected.code.clone(),
                message: injected.message.clone(),
                param: None,
            };
            self.send_error(&err, None, None);
        }
        if let Some(fail) = &reply.fail {
            let now = self.core.now_ms();
            let code = fail.code.clone();
            self.core.record(|s| {
                if let Some(r) = s
                    .responses
                    .iter_mut()
                    .rfind(|r| r.response_id == response_id)
                {
                    r.status = "failed".to_owned();
                    r.status_reason = Some(code);
                    r.ended_at_ms = Some(now);
                }
            });
            return;
        }
        let start_ms = self.out_ms;
        self.emit(
            "session.output_transcript.delta",
            json!({"start_ms": start_ms, "end_ms": start_ms + audio_ms, "delta": reply.text}),
        );
        self.track.speak(&samples, response_id);
    }

    /// Records how a spoken reply ended.
    fn end_response(&mut self, speech: &Speech, status: &str, reason: Option<&str>) {
        let Some(format) = self.started.as_ref().map(|c| c.format) else {
            return;
        };
        let sent_ms = speech.sent_ms(format);
        let now = self.core.now_ms();
        self.core.record(|s| {
            if let Some(r) = s
                .responses
                .iter_mut()
                .rfind(|r| r.response_id == speech.response_id)
            {
                r.status = status.to_owned();
                r.status_reason = reason.map(str::to_owned);
                r.audio_ms = sent_ms;
                r.ended_at_ms = Some(now);
            }
        });
    }
}
