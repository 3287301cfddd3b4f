//! The Live session driven over channels: the handshake, strict validation, appends on the
//! timeline, the paced output track, barge-in, usage, close and expiry.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::{LiveContext, serve_live_session};
use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::realtime::codec::ulaw_encode;
use crate::realtime::session_harness::Harness;
use crate::realtime::{MockConfig, Reply, ReplyAudio, Script, SessionOutput};

const WAIT: Duration = Duration::from_secs(5);

/// A session whose model answers every turn with `reply_ms` of speech-like audio.
fn open(reply_ms: u32) -> Harness {
    let mut config = MockConfig::new(SimClock::start_default(), IdGen::new(7));
    config.script = Arc::new(Script {
        default_reply: Some(Reply::spoken(
            "Hello there.",
            ReplyAudio::Filler { ms: reply_ms },
        )),
        ..Script::default()
    });
    let ledger = config.ledger.clone();
    let ctx = LiveContext {
        config,
        index: 0,
        key_valid: true,
    };
    Harness::spawn(ledger, WAIT, |sink, stream| {
        serve_live_session(ctx, sink, stream)
    })
}

fn start_event(instructions: &str) -> Value {
    json!({"type": "session.start", "event_id": "evt_start", "session": {
        "model": "gpt-live-1", "instructions": instructions,
        "audio": {"format": {"type": "audio/pcmu", "rate": 8000}}}})
}

impl Harness {
    /// Everything queued so far, once the session has handled what was sent.
    async fn drain(&mut self) -> Vec<Value> {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        let mut out = Vec::new();
        while let Ok(output) = self.rx.try_recv() {
            if let SessionOutput::Event(event) = output {
                out.push(event);
            }
        }
        out
    }

    /// `ms` of caller audio in 20 ms µ-law frames: silence, or speech-like when `loud`.
    fn audio(&self, ms: u32, loud: bool) {
        let bytes: Vec<u8> = if loud {
            ReplyAudio::Filler { ms }
                .samples_8k()
                .iter()
                .map(|s| ulaw_encode(*s))
                .collect()
        } else {
            vec![0xFF; usize::try_from(ms).unwrap() * 8]
        };
        for frame in bytes.chunks(160) {
            self.send(json!({"type": "session.input_audio.append", "audio": B64.encode(frame)}));
        }
    }

    async fn started(&mut self, instructions: &str) -> Value {
        self.send(start_event(instructions));
        self.until("session.started").await.pop().unwrap()
    }
}

fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

#[tokio::test(start_paused = true)]
async fn session_start_is_answered_with_the_fixed_configuration() {
    let mut h = open(1000);
    let started = h.started("You are Acme's receptionist.").await;
    assert_eq!(started["client_event_id"], "evt_start");
    let session = &started["session"];
    assert_eq!(session["model"], "gpt-live-1");
    assert_eq!(session["instructions"], "You are Acme's receptionist.");
    assert_eq!(
        session["audio"]["format"],
        json!({"type": "audio/pcmu", "rate": 8000})
    );
    assert_eq!(session["audio"]["output"]["voice"], "marin");
    assert_eq!(session["delegation"], json!({"type": "client"}));
    assert_eq!(session["status"], "active");
    assert!(session["id"].as_str().unwrap().starts_with("live_"));
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    assert_eq!(record.dialect, "live");
    assert_eq!(record.updates.len(), 1);
    assert!(record.updates[0].accepted);
    assert_eq!(
        record.updates[0].effective_instructions,
        "You are Acme's receptionist."
    );
    assert_eq!(record.input_format, "audio/pcmu");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_field_in_session_start_is_refused_with_its_path() {
    let mut h = open(1000);
    h.send(json!({"type": "session.start", "event_id": "e1",
        "session": {"model": "gpt-live-1", "voice": "marin"}}));
    let error = h.until("error").await.pop().unwrap();
    assert_eq!(error["client_event_id"], "e1");
    assert_eq!(error["error"]["code"], "unknown_parameter");
    assert_eq!(error["error"]["param"], "session.voice");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    h.send(json!({"type": "session.start",
        "session": {"model": "gpt-live-1", "audio": {"format": {"type": "audio/pcmu"}}}}));
    let error = h.until("error").await.pop().unwrap();
    assert_eq!(error["error"]["code"], "missing_required_parameter");
    assert_eq!(error["error"]["param"], "session.audio.format.rate");
    let ledger = h.close().await;
    let updates = &ledger.sessions()[0].updates;
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|u| !u.accepted));
}

#[tokio::test(start_paused = true)]
async fn nothing_but_session_start_may_come_first_and_only_once() {
    let mut h = open(1000);
    h.send(json!({"type": "session.input_audio.append", "audio": ""}));
    let error = h.until("error").await.pop().unwrap();
    assert_eq!(error["error"]["code"], "session_not_started");
    h.started("Rules.").await;
    h.send(start_event("Other rules."));
    let error = h.until("error").await.pop().unwrap();
    assert_eq!(error["error"]["code"], "session_already_started");
    h.send(json!({"type": "input_audio_buffer.commit"}));
    let error = h.until("error").await.pop().unwrap();
    assert_eq!(error["error"]["code"], "invalid_value");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'session.instructions.append'"),
        "{error}"
    );
    let ledger = h.close().await;
    let session = &ledger.sessions()[0];
    assert_eq!(
        session.updates.len(),
        1,
        "the second start is not recorded as a configuration"
    );
    assert_eq!(session.errors_sent.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn immutable_fields_are_refused_on_update_and_delegation_settings_accepted() {
    let mut h = open(1000);
    h.started("Rules.").await;
    h.send(json!({"type": "session.update", "event_id": "u1",
        "session": {"instructions": "New rules."}}));
    let error = h.until("error").await.pop().unwrap();
    assert_eq!(error["error"]["code"], "immutable_field_update");
    assert_eq!(error["error"]["param"], "session.instructions");
    assert_eq!(error["error"]["client_event_id"], "u1");
    h.send(
        json!({"type": "session.update", "session": {"delegation": {"type": "responses",
        "responses": {"model": "gpt-5.5"}}}}),
    );
    let error = h.until("error").await.pop().unwrap();
    assert_eq!(error["error"]["param"], "session.delegation.type");
    h.send(
        json!({"type": "session.update", "event_id": "u3", "session": {"delegation":
        {"type": "client", "acknowledgement_delay_ms": 400}, "triggers": []}}),
    );
    let updated = h.until("session.updated").await.pop().unwrap();
    assert_eq!(updated["client_event_id"], "u3");
    assert_eq!(updated["session"]["instructions"], "Rules.");
    assert_eq!(
        updated["session"]["delegation"]["acknowledgement_delay_ms"],
        400
    );
    h.close().await;
}

#[tokio::test(start_paused = true)]
async fn appends_are_injected_on_the_timeline_and_join_the_instructions() {
    let mut h = open(1000);
    h.started("You are Acme's receptionist.").await;
    h.send(
        json!({"type": "session.instructions.append", "event_id": "a1",
        "delegation_id": null, "content": "The caller is a VIP."}),
    );
    h.send(
        json!({"type": "session.commentary.append", "event_id": "a2",
        "delegation_id": null, "content": "Greet the caller now: Welcome to Acme."}),
    );
    assert!(
        of_type(&h.drain().await, "session.instructions.appended").is_empty(),
        "no acknowledgement while no audio flows"
    );
    h.audio(2000, false);
    let events = h.drain().await;
    let acks = of_type(&events, "session.instructions.appended");
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0]["client_event_id"], "a1");
    assert_eq!(acks[0]["end_ms"], 600);
    assert_eq!(of_type(&events, "session.commentary.appended").len(), 1);
    let deltas = of_type(&events, "session.output_audio.delta");
    assert_eq!(deltas.len(), 20, "one 100 ms delta per 100 ms of input");
    assert!(deltas.iter().all(|d| d.get("event_id").is_none()));
    assert!(
        deltas
            .iter()
            .all(|d| B64.decode(d["delta"].as_str().unwrap()).unwrap().len() == 800)
    );
    let transcript = of_type(&events, "session.output_transcript.delta");
    assert_eq!(transcript[0]["delta"], "Hello there.");
    let ledger = h.close().await;
    let session = &ledger.sessions()[0];
    assert_eq!(session.appends.len(), 2);
    assert!(session.appends.iter().all(|a| a.injected_at_ms.is_some()));
    let response = &session.responses[0];
    assert_eq!(response.trigger, "session.commentary.append");
    assert_eq!(
        response.instructions,
        "You are Acme's receptionist.\n\nThe caller is a VIP.\n\nGreet the caller now: Welcome to Acme."
    );
    assert_eq!(
        response.instructions_source,
        "session.start+session.instructions.append+session.commentary.append"
    );
    assert_eq!(response.status, "completed");
    assert_eq!(response.audio_ms, 1000);
}

#[tokio::test(start_paused = true)]
async fn the_model_stops_by_itself_when_the_caller_talks_over_it() {
    let mut h = open(5000);
    h.started("Rules.").await;
    h.send(
        json!({"type": "session.commentary.append", "delegation_id": null,
        "content": "Greet the caller now."}),
    );
    h.audio(1600, false);
    h.audio(800, true);
    h.audio(1000, false);
    let events = h.drain().await;
    assert!(of_type(&events, "error").is_empty(), "{events:?}");
    let ledger = h.close().await;
    let session = &ledger.sessions()[0];
    let first = &session.responses[0];
    assert_eq!(first.status, "cancelled");
    assert_eq!(first.status_reason.as_deref(), Some("turn_detected"));
    assert!(first.audio_ms < 2000, "stopped early: {}", first.audio_ms);
    assert_eq!(session.vad_turns.len(), 1);
    assert_eq!(
        session.responses[1].trigger, "vad",
        "the caller's turn is answered"
    );
}

#[tokio::test(start_paused = true)]
async fn usage_is_reported_every_fifteen_seconds_of_audio() {
    let mut h = open(1000);
    h.started("Rules.").await;
    h.audio(31_000, false);
    let events = h.drain().await;
    let usage = of_type(&events, "session.usage.updated");
    assert_eq!(usage.len(), 2);
    assert_eq!(usage[0]["usage"]["seconds"], 15.0);
    assert_eq!(usage[1]["usage"]["seconds"], 30.0);
    h.close().await;
}

#[tokio::test(start_paused = true)]
async fn close_fails_pending_appends_then_reports_the_reason() {
    let mut h = open(1000);
    h.started("Rules.").await;
    h.send(json!({"type": "session.thinking.append", "event_id": "t1",
        "delegation_id": null, "content": "Still searching."}));
    h.send(json!({"type": "session.close", "event_id": "c1"}));
    let events = h.until("session.closed").await;
    let errors = of_type(&events, "error");
    assert_eq!(errors[0]["error"]["code"], "context_injection_incomplete");
    assert_eq!(errors[0]["error"]["client_event_id"], "t1");
    let closed = events.last().unwrap();
    assert_eq!(closed["reason"], "close_requested");
    assert_eq!(closed["client_event_id"], "c1");
    assert_eq!(closed["session"]["status"], "active");
    assert!(matches!(
        h.next().await,
        SessionOutput::Close { code: 1000, .. }
    ));
    let ledger = h.ledger.clone();
    h.ended().await;
    let session = &ledger.sessions()[0];
    assert_eq!(session.closed_by.as_deref(), Some("client"));
    assert_eq!(session.appends[0].injected_at_ms, None);
}

#[tokio::test(start_paused = true)]
async fn a_session_without_input_audio_expires() {
    let mut h = open(1000);
    h.started("Rules.").await;
    let closed = loop {
        // The expiry is 31 s away on the paused clock, beyond the harness's usual wait.
        let output = tokio::time::timeout(Duration::from_secs(60), h.rx.recv()).await;
        if let Ok(Some(SessionOutput::Event(event))) = output
            && event["type"] == "session.closed"
        {
            break event;
        }
    };
    assert_eq!(closed["reason"], "expired");
    let ledger = h.ledger.clone();
    h.ended().await;
    let session = &ledger.sessions()[0];
    assert_eq!(session.closed_by.as_deref(), Some("server_expired"));
    assert!(session.closed_at_ms.unwrap() >= 31_000);
}
