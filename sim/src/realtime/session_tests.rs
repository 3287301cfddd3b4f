//! Unit tests of the session state machine, driven through channels without a socket.
//!
//! They live beside `session.rs` rather than inside it because they cover the whole state
//! machine (`session.rs`, `turns.rs`, `responding.rs`) and would triple its length.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::clock::SimClock;
use crate::ids::IdGen;

use super::codec::ulaw_encode;
use super::config::{BetaMode, Dialect, MockConfig};
use super::ledger::{Ledger, Retention};
use super::script::{
    AiFault, AiFaultKind, InjectedError, Reply, ReplyAudio, ResponseFailure, Script, ToolCall,
};
use super::session::{SessionContext, SessionInput, SessionOutput, serve_session};
use super::session_config::DEFAULT_INSTRUCTIONS;
use super::session_harness::Harness;

const WAIT: Duration = Duration::from_secs(7200);

fn config(script: Script) -> MockConfig {
    let mut config = MockConfig::new(SimClock::start_default(), IdGen::new(42));
    config.script = Arc::new(script);
    config
}

fn start_with(config: MockConfig, dialect: Dialect, key_valid: bool) -> Harness {
    let ledger = config.ledger.clone();
    let ctx = SessionContext {
        config,
        index: 0,
        model: "gpt-realtime".to_owned(),
        dialect,
        key_valid,
    };
    Harness::spawn(ledger, WAIT, |sink, stream| {
        serve_session(ctx, sink, stream)
    })
}

fn start(script: Script) -> Harness {
    start_with(config(script), Dialect::Ga, true)
}

impl Harness {
    async fn error(&mut self) -> Value {
        let event = self.until("error").await;
        event.last().unwrap()["error"].clone()
    }

    fn append(&self, bytes: &[u8]) {
        for frame in bytes.chunks(160) {
            self.send(json!({"type": "input_audio_buffer.append", "audio": B64.encode(frame)}));
        }
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).collect()
}

/// Types without the streaming deltas, to compare against the canonical sequences.
fn skeleton(events: &[Value]) -> Vec<&str> {
    types(events)
        .into_iter()
        .filter(|t| !t.ends_with(".delta"))
        .collect()
}

fn tone_ulaw(ms: usize) -> Vec<u8> {
    (0..ms * 8)
        .map(|i| {
            let v =
                0.251 * 32_767.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 8000.0).sin();
            ulaw_encode(v as i16)
        })
        .collect()
}

fn silence_ulaw(ms: usize) -> Vec<u8> {
    vec![0xFF; ms * 8]
}

fn twilio_ga_update(instructions: &str) -> Value {
    json!({"type": "session.update", "session": {"type": "realtime", "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": {"type": "server_vad"}},
                  "output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"}},
        "instructions": instructions}})
}

fn manual_update() -> Value {
    json!({"type": "session.update", "session": {"type": "realtime",
        "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": null},
                  "output": {"format": {"type": "audio/pcmu"}}}}})
}

fn user_text(text: &str) -> Value {
    json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": text}]}})
}

fn long_reply(text: &str, ms: u32) -> Reply {
    Reply::spoken(text, ReplyAudio::Filler { ms })
}

#[tokio::test(start_paused = true)]
async fn session_created_carries_the_real_defaults() {
    let mut h = start(Script::default());
    let created = h.event().await;
    assert_eq!(created["type"], "session.created");
    let id = created["event_id"].as_str().unwrap();
    assert!(id.starts_with("event_") && id.len() == 27);
    let s = &created["session"];
    assert!(s["id"].as_str().unwrap().starts_with("sess_"));
    assert_eq!(s["model"], "gpt-realtime");
    assert_eq!(s["instructions"], DEFAULT_INSTRUCTIONS);
    assert_eq!(s["output_modalities"], json!(["audio"]));
    assert_eq!(
        s["audio"]["input"]["format"],
        json!({"type": "audio/pcm", "rate": 24000})
    );
    assert_eq!(
        s["audio"]["output"]["format"],
        json!({"type": "audio/pcm", "rate": 24000})
    );
    assert_eq!(s["audio"]["output"]["voice"], "alloy");
    let td = &s["audio"]["input"]["turn_detection"];
    assert_eq!(td["type"], "server_vad");
    assert_eq!(td["threshold"], 0.5);
    assert_eq!(td["prefix_padding_ms"], 300);
    assert_eq!(td["silence_duration_ms"], 200);
    assert_eq!(s["expires_at"], crate::clock::DEFAULT_EPOCH_UNIX + 3600);
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    assert_eq!(record.closed_by.as_deref(), Some("client"));
    assert_eq!(record.close_code, Some(1000));
    assert_eq!(record.initial_instructions, DEFAULT_INSTRUCTIONS);
}

#[tokio::test(start_paused = true)]
async fn twilio_ga_sample_update_is_accepted() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(twilio_ga_update("You are a dental receptionist."));
    let updated = h.event().await;
    assert_eq!(updated["type"], "session.updated");
    let s = &updated["session"];
    assert_eq!(s["instructions"], "You are a dental receptionist.");
    assert_eq!(s["audio"]["input"]["format"], json!({"type": "audio/pcmu"}));
    assert_eq!(
        s["audio"]["output"]["format"],
        json!({"type": "audio/pcmu"})
    );
    // A turn_detection object sent without silence_duration_ms gets the documented 500 ms.
    assert_eq!(
        s["audio"]["input"]["turn_detection"]["silence_duration_ms"],
        500
    );
    let ledger = h.close().await;
    let update = &ledger.sessions()[0].updates[0];
    assert!(update.accepted);
    assert_eq!(
        update.effective_instructions,
        "You are a dental receptionist."
    );
    assert_eq!(update.input_format, "audio/pcmu");
    assert_eq!(update.turn_detection.as_deref(), Some("server_vad"));
    assert_eq!(ledger.sessions()[0].output_format, "audio/pcmu");
}

#[tokio::test(start_paused = true)]
async fn beta_flat_update_on_ga_is_rejected_whole() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(
        json!({"type": "session.update", "event_id": "evt_client_1", "session": {
        "turn_detection": {"type": "server_vad"}, "input_audio_format": "g711_ulaw",
        "output_audio_format": "g711_ulaw", "voice": "alloy", "instructions": "Be brief.",
        "modalities": ["text", "audio"], "temperature": 0.8}}),
    );
    let error = h.error().await;
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "unknown_parameter");
    assert_eq!(
        error["message"],
        "Unknown parameter: 'session.turn_detection'."
    );
    assert_eq!(error["param"], "session.turn_detection");
    assert_eq!(error["event_id"], "evt_client_1");
    let ledger = h.close().await;
    let update = &ledger.sessions()[0].updates[0];
    assert!(!update.accepted);
    assert_eq!(update.instructions.as_deref(), Some("Be brief."));
    assert_eq!(update.effective_instructions, DEFAULT_INSTRUCTIONS);
    assert_eq!(update.input_format, "audio/pcm");
    assert_eq!(
        update.error.as_ref().unwrap().code.as_deref(),
        Some("unknown_parameter")
    );
    assert_eq!(ledger.sessions()[0].errors_sent.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn update_error_catalogue() {
    let cases: Vec<(Value, &str, &str, &str)> = vec![
        (
            json!({"instructions": "x"}),
            "missing_required_parameter",
            "session.type",
            "Missing required parameter: 'session.type'.",
        ),
        (
            json!({"type": "realtime", "temperature": 0.8}),
            "unknown_parameter",
            "session.temperature",
            "Unknown parameter: 'session.temperature'.",
        ),
        (
            json!({"type": "realtime", "input_audio_format": "g711_ulaw"}),
            "unknown_parameter",
            "session.input_audio_format",
            "Unknown parameter: 'session.input_audio_format'.",
        ),
        (
            json!({"type": "realtime", "audio": {"input": {"foo": 1}}}),
            "unknown_parameter",
            "session.audio.input.foo",
            "Unknown parameter: 'session.audio.input.foo'.",
        ),
        (
            json!({"type": "realtime", "audio": {"output": {"format": {"type": "g711_ulaw"}}}}),
            "invalid_value",
            "session.audio.output.format.type",
            "Invalid value: 'g711_ulaw'. Supported values are: 'audio/pcm', 'audio/pcmu', and 'audio/pcma'.",
        ),
        (
            json!({"type": "realtime", "audio": {"output": {"voice": "nova"}}}),
            "invalid_value",
            "session.audio.output.voice",
            "Invalid value: 'nova'. Supported values are: 'alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', and 'cedar'.",
        ),
        (
            json!({"type": "realtime", "output_modalities": ["text", "audio"]}),
            "invalid_value",
            "session.output_modalities",
            "Invalid modalities: ['text', 'audio']. Supported combinations are: ['text'] and ['audio'].",
        ),
        (
            json!({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "loud_vad"}}}}),
            "invalid_value",
            "session.audio.input.turn_detection.type",
            "Invalid value: 'loud_vad'. Supported values are: 'server_vad' and 'semantic_vad'.",
        ),
        (
            json!({"type": "realtime", "instructions": 7}),
            "invalid_type",
            "session.instructions",
            "Invalid type for 'session.instructions': expected a string, but got an integer instead.",
        ),
    ];
    let mut h = start(Script::default());
    h.event().await;
    for (session, code, param, message) in &cases {
        h.send(json!({"type": "session.update", "session": session}));
        let error = h.error().await;
        assert_eq!(error["code"], *code, "{session}");
        assert_eq!(error["param"], *param, "{session}");
        assert_eq!(error["message"], *message, "{session}");
    }
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    assert_eq!(record.updates.len(), cases.len());
    assert!(
        record
            .updates
            .iter()
            .all(|u| !u.accepted && u.effective_instructions == DEFAULT_INSTRUCTIONS)
    );
    assert_eq!(
        record.client_events.get("session.update"),
        Some(&(cases.len() as u64))
    );
}

#[tokio::test(start_paused = true)]
async fn partial_updates_merge_key_by_key() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(twilio_ga_update("First prompt."));
    h.until("session.updated").await;
    h.send(json!({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "marin"}}}}));
    let s = h.until("session.updated").await.pop().unwrap()["session"].clone();
    assert_eq!(s["instructions"], "First prompt.");
    assert_eq!(s["audio"]["output"]["voice"], "marin");
    assert_eq!(s["audio"]["output"]["format"]["type"], "audio/pcmu");
    assert_eq!(s["audio"]["input"]["format"]["type"], "audio/pcmu");
    h.send(json!({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": null}}}}));
    let s = h.until("session.updated").await.pop().unwrap()["session"].clone();
    assert_eq!(s["audio"]["input"]["turn_detection"], Value::Null);
    assert_eq!(s["audio"]["input"]["format"]["type"], "audio/pcmu");
    let ledger = h.close().await;
    assert_eq!(ledger.sessions()[0].updates[2].turn_detection, None);
}

#[tokio::test(start_paused = true)]
async fn vad_turn_on_ulaw_follows_the_canonical_order() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(twilio_ga_update("Answer the phone."));
    h.until("session.updated").await;
    h.append(&silence_ulaw(1000));
    h.append(&tone_ulaw(800));
    h.append(&silence_ulaw(1000));
    let events = h.until("rate_limits.updated").await;
    assert_eq!(
        skeleton(&events),
        vec![
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
            "response.created",
            "response.output_item.added",
            "conversation.item.added",
            "response.content_part.added",
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
            "rate_limits.updated",
        ]
    );
    let item_id = events[0]["item_id"].as_str().unwrap().to_owned();
    assert!(item_id.starts_with("item_"));
    assert_eq!(events[0]["audio_start_ms"], 700);
    assert_eq!(events[1]["audio_end_ms"], 2300);
    assert_eq!(events[1]["item_id"], item_id.as_str());
    assert_eq!(events[2]["item_id"], item_id.as_str());
    assert_eq!(events[3]["item"]["content"][0]["type"], "input_audio");
    let audio: usize = events
        .iter()
        .filter(|e| e["type"] == "response.output_audio.delta")
        .map(|e| B64.decode(e["delta"].as_str().unwrap()).unwrap().len())
        .sum();
    assert_eq!(audio, 8000, "one second of µ-law");
    let done = events
        .iter()
        .find(|e| e["type"] == "response.done")
        .unwrap();
    assert_eq!(done["response"]["status"], "completed");
    assert!(
        done["response"]["id"]
            .as_str()
            .unwrap()
            .starts_with("resp_")
    );
    let transcript: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_audio_transcript.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(transcript, "Okay.");
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    assert_eq!(record.vad_turns.len(), 1);
    assert_eq!(record.vad_turns[0].speech_started_ms, 700);
    assert_eq!(record.vad_turns[0].speech_stopped_ms, Some(2300));
    assert_eq!(record.audio_received_ms, 2800);
    assert_eq!(record.audio_received.len(), 2800 * 8);
    let response = &record.responses[0];
    assert_eq!(response.trigger, "vad");
    assert_eq!(response.instructions, "Answer the phone.");
    assert_eq!(response.instructions_source, "session");
    assert_eq!(response.output_format, "audio/pcmu");
    assert_eq!(response.status, "completed");
    assert_eq!(response.audio_ms, 1000);
}

#[tokio::test(start_paused = true)]
async fn silence_alone_never_starts_a_turn() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(twilio_ga_update("x"));
    h.until("session.updated").await;
    h.append(&silence_ulaw(3000));
    h.send(json!({"type": "input_audio_buffer.clear"}));
    let events = h.until("input_audio_buffer.cleared").await;
    assert_eq!(types(&events), vec!["input_audio_buffer.cleared"]);
    let ledger = h.close().await;
    assert!(ledger.sessions()[0].vad_turns.is_empty());
}

#[tokio::test(start_paused = true)]
async fn manual_text_turn_with_a_per_response_override() {
    let script = Script {
        replies: vec![long_reply("Hello, thanks for calling.", 1500)],
        ..Script::default()
    };
    let mut h = start(script);
    h.event().await;
    h.send(manual_update());
    h.until("session.updated").await;
    h.send(user_text("Greet the caller."));
    let events = h.until("conversation.item.done").await;
    assert_eq!(
        types(&events),
        vec!["conversation.item.added", "conversation.item.done"]
    );
    assert_eq!(events[0]["previous_item_id"], Value::Null);
    h.send(json!({"type": "response.create", "response": {"instructions": "Say hello.", "metadata": {"purpose": "greeting"}}}));
    let events = h.until("response.done").await;
    assert_eq!(events[0]["type"], "response.created");
    assert_eq!(events[0]["response"]["metadata"]["purpose"], "greeting");
    let done = events.last().unwrap();
    assert_eq!(
        done["response"]["output"][0]["content"][0]["transcript"],
        "Hello, thanks for calling."
    );
    h.until("rate_limits.updated").await;
    h.send(json!({"type": "response.create"}));
    h.until("rate_limits.updated").await;
    let ledger = h.close().await;
    let responses = &ledger.sessions()[0].responses;
    assert_eq!(responses[0].instructions, "Say hello.");
    assert_eq!(responses[0].instructions_source, "response");
    assert_eq!(responses[0].trigger, "response.create");
    assert_eq!(responses[0].audio_ms, 1500);
    assert_eq!(responses[0].text, "Hello, thanks for calling.");
    assert_eq!(responses[1].instructions, DEFAULT_INSTRUCTIONS);
    assert_eq!(responses[1].instructions_source, "session");
    assert_eq!(responses[1].text, "Okay.");
}

#[tokio::test(start_paused = true)]
async fn manual_audio_commit_and_empty_commit() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(manual_update());
    h.until("session.updated").await;
    h.send(json!({"type": "input_audio_buffer.commit", "event_id": "c1"}));
    let error = h.error().await;
    assert_eq!(error["code"], "input_audio_buffer_commit_empty");
    assert_eq!(
        error["message"],
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has 0.00ms of audio."
    );
    assert_eq!(error["event_id"], "c1");
    h.append(&tone_ulaw(400));
    h.send(json!({"type": "input_audio_buffer.commit"}));
    let events = h.until("conversation.item.done").await;
    assert_eq!(
        types(&events),
        vec![
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done"
        ]
    );
    h.close().await;
}

#[tokio::test(start_paused = true)]
async fn text_only_response_uses_output_text_events() {
    let script = Script {
        replies: vec![Reply::spoken("Plain text answer.", ReplyAudio::None)],
        ..Script::default()
    };
    let mut h = start(script);
    h.event().await;
    h.send(json!({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}));
    h.until("session.updated").await;
    h.send(user_text("hi"));
    h.send(json!({"type": "response.create"}));
    let events = h.until("response.done").await;
    let ts = types(&events);
    assert!(ts.contains(&"response.output_text.delta"));
    assert!(ts.contains(&"response.output_text.done"));
    assert!(!ts.iter().any(|t| t.contains("audio")));
    let text_done = events
        .iter()
        .find(|e| e["type"] == "response.output_text.done")
        .unwrap();
    assert_eq!(text_done["text"], "Plain text answer.");
    assert_eq!(
        events.last().unwrap()["response"]["output_modalities"],
        json!(["text"])
    );
    h.close().await;
}

#[tokio::test(start_paused = true)]
async fn client_cancel_closes_open_parts_then_reports_cancelled() {
    let script = Script {
        replies: vec![long_reply("A long explanation of everything.", 10_000)],
        ..Script::default()
    };
    let mut config = config(script);
    config.audio_pace = 1.0;
    let mut h = start_with(config, Dialect::Ga, true);
    h.event().await;
    h.send(manual_update());
    h.until("session.updated").await;
    h.send(json!({"type": "response.create"}));
    h.until("response.output_audio.delta").await;
    h.send(json!({"type": "response.create"}));
    let error = h.error().await;
    assert_eq!(error["code"], "conversation_already_has_active_response");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Conversation already has an active response in progress: resp_")
    );
    h.send(json!({"type": "response.cancel"}));
    let events = h.until("response.done").await;
    assert_eq!(
        skeleton(&events),
        vec![
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ]
    );
    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "cancelled");
    assert_eq!(
        done["response"]["status_details"],
        json!({"type": "cancelled", "reason": "client_cancelled"})
    );
    assert_eq!(events[events.len() - 3]["item"]["status"], "incomplete");
    h.until("rate_limits.updated").await;
    h.send(json!({"type": "response.cancel"}));
    let error = h.error().await;
    assert_eq!(error["code"], "response_cancel_not_active");
    assert_eq!(
        error["message"],
        "Cancellation failed: no active response found"
    );
    let ledger = h.close().await;
    let response = &ledger.sessions()[0].responses[0];
    assert_eq!(response.status, "cancelled");
    assert_eq!(response.status_reason.as_deref(), Some("client_cancelled"));
    assert!(response.audio_ms < 10_000);
}

#[tokio::test(start_paused = true)]
async fn tool_call_then_function_output_and_follow_up() {
    let mut with_tool = Reply::spoken("Let me check.", ReplyAudio::Filler { ms: 300 });
    with_tool.tool_call = Some(ToolCall {
        name: "get_weather".to_owned(),
        arguments: r#"{"city":"Paris"}"#.to_owned(),
    });
    let script = Script {
        replies: vec![
            with_tool,
            Reply::spoken("It is sunny.", ReplyAudio::Filler { ms: 300 }),
        ],
        ..Script::default()
    };
    let mut h = start(script);
    h.event().await;
    h.send(manual_update());
    h.until("session.updated").await;
    h.send(user_text("Weather in Paris?"));
    h.send(json!({"type": "response.create", "response": {"tools": [{"type": "function", "name": "get_weather"}]}}));
    let events = h.until("response.done").await;
    let sk = skeleton(&events);
    assert_eq!(
        sk[sk.len() - 6..],
        vec![
            "response.output_item.added",
            "conversation.item.added",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ]
    );
    let args_done = events
        .iter()
        .find(|e| e["type"] == "response.function_call_arguments.done")
        .unwrap();
    assert_eq!(args_done["name"], "get_weather");
    assert_eq!(args_done["arguments"], r#"{"city":"Paris"}"#);
    assert_eq!(args_done["output_index"], 1);
    let call_id = args_done["call_id"].as_str().unwrap().to_owned();
    assert!(call_id.starts_with("call_"));
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.function_call_arguments.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, r#"{"city":"Paris"}"#);
    h.send(json!({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_nope", "output": "{}"}}));
    assert_eq!(h.error().await["param"], "item.call_id");
    h.send(json!({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call_id, "output": "{\"sky\":\"clear\"}"}}));
    h.until("conversation.item.done").await;
    h.send(json!({"type": "response.create"}));
    let events = h.until("response.done").await;
    assert_eq!(
        events.last().unwrap()["response"]["output"][0]["content"][0]["transcript"],
        "It is sunny."
    );
    let ledger = h.close().await;
    let responses = &ledger.sessions()[0].responses;
    assert_eq!(responses[0].tool_call.as_deref(), Some("get_weather"));
    assert_eq!(responses[0].tools, vec!["get_weather".to_owned()]);
    assert_eq!(responses[1].tool_call, None);
}

#[tokio::test(start_paused = true)]
async fn event_and_item_errors() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(json!({"type": "session.frobnicate", "event_id": "e1"}));
    let error = h.error().await;
    assert_eq!(error["code"], "invalid_value");
    assert_eq!(error["param"], "type");
    assert!(error["message"].as_str().unwrap().starts_with(
        "Invalid value: 'session.frobnicate'. Supported values are: 'session.update'"
    ));
    h.send(json!({"event_id": "e2"}));
    let error = h.error().await;
    assert_eq!(error["code"], "invalid_event");
    assert_eq!(error["event_id"], "e2");
    h.send(
        json!({"type": "conversation.item.create", "item": {"type": "input_text", "text": "hi"}}),
    );
    let error = h.error().await;
    assert_eq!(
        error["message"],
        "Invalid value: 'input_text'. Supported values are: 'message', 'function_call', 'function_call_output', and 'item_reference'."
    );
    assert_eq!(error["param"], "item.type");
    h.send(json!({"type": "conversation.item.create", "item": {"id": "item_user1", "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "hi"}]}}));
    h.until("conversation.item.done").await;
    h.send(json!({"type": "conversation.item.truncate", "item_id": "item_user1", "content_index": 0, "audio_end_ms": 10}));
    let error = h.error().await;
    assert_eq!(error["code"], "unsupported_content_type");
    assert_eq!(
        error["message"],
        "Only model output audio messages can be truncated"
    );
    h.send(json!({"type": "conversation.item.retrieve", "item_id": "item_user1"}));
    let retrieved = h.until("conversation.item.retrieved").await.pop().unwrap();
    assert_eq!(retrieved["item"]["id"], "item_user1");
    h.send(json!({"type": "conversation.item.delete", "item_id": "item_user1"}));
    let deleted = h.until("conversation.item.deleted").await.pop().unwrap();
    assert_eq!(deleted["item_id"], "item_user1");
    h.send(json!({"type": "conversation.item.delete", "item_id": "item_user1"}));
    assert_eq!(h.error().await["param"], "item_id");
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    assert_eq!(
        record.truncates[0].error.as_deref(),
        Some("Only model output audio messages can be truncated")
    );
    assert_eq!(record.client_events.get("session.frobnicate"), Some(&1));
    assert_eq!(
        record.errors_sent[0].client_event_type.as_deref(),
        Some("session.frobnicate")
    );
}

#[tokio::test(start_paused = true)]
async fn truncate_and_voice_lock_after_assistant_audio() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(manual_update());
    h.until("session.updated").await;
    h.send(json!({"type": "response.create"}));
    let events = h.until("response.done").await;
    let item_id = events.last().unwrap()["response"]["output"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.send(json!({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 5000}));
    let error = h.error().await;
    assert_eq!(
        error["message"],
        "Audio content of 1000ms is already shorter than 5000ms"
    );
    h.send(json!({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 400}));
    let truncated = h.until("conversation.item.truncated").await.pop().unwrap();
    assert_eq!(truncated["audio_end_ms"], 400);
    h.send(json!({"type": "session.update", "session": {"type": "realtime", "instructions": "New prompt",
        "audio": {"output": {"voice": "marin"}}}}));
    let error = h.error().await;
    assert_eq!(error["code"], "cannot_update_voice");
    assert_eq!(error["param"], Value::Null);
    h.send(json!({"type": "session.update", "session": {"type": "realtime", "instructions": "New prompt",
        "audio": {"output": {"voice": "alloy"}}}}));
    let updated = h.until("session.updated").await.pop().unwrap();
    assert_eq!(updated["session"]["instructions"], "New prompt");
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    assert_eq!(record.truncates.len(), 2);
    assert_eq!(record.truncates[0].item_audio_ms, Some(1000));
    assert!(record.truncates[1].error.is_none());
    assert!(!record.updates[1].accepted);
    assert_eq!(
        record.updates[1].effective_instructions,
        DEFAULT_INSTRUCTIONS
    );
}

/// Streams a one-second reply at `pace` from 500 ms into the session, truncates it and returns
/// how long after `response.create` the reply finished streaming, with the ledger.
async fn stream_one_second_at(pace: f64) -> (Duration, Ledger) {
    let mut config = config(Script {
        replies: vec![long_reply("One second of audio.", 1_000)],
        ..Script::default()
    });
    config.audio_pace = pace;
    let mut h = start_with(config, Dialect::Ga, true);
    h.event().await;
    h.send(manual_update());
    h.until("session.updated").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = tokio::time::Instant::now();
    h.send(json!({"type": "response.create"}));
    let events = h.until("response.done").await;
    let streamed = asked.elapsed();
    let deltas = types(&events)
        .into_iter()
        .filter(|t| *t == "response.output_audio.delta")
        .count();
    assert_eq!(deltas, 10, "ten 100 ms chunks");
    let item_id = events.last().unwrap()["response"]["output"][0]["id"].clone();
    h.send(json!({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 300}));
    h.until("conversation.item.truncated").await;
    (streamed, h.close().await)
}

#[tokio::test(start_paused = true)]
async fn audio_pace_sets_how_fast_a_reply_streams_and_truncates_know_when_its_audio_began() {
    // Real time: the tenth chunk leaves 900 ms after the first, one second of audio per second.
    let (streamed, ledger) = stream_one_second_at(1.0).await;
    assert_eq!(streamed, Duration::from_millis(900));
    let truncate = &ledger.sessions()[0].truncates[0];
    assert_eq!(truncate.item_audio_from_ms, Some(500));
    assert_eq!(truncate.item_audio_ms, Some(1_000));
    // The default pace is the burst: ten times real time.
    assert_eq!(
        MockConfig::new(SimClock::start_default(), IdGen::new(1)).audio_pace,
        10.0
    );
    let (streamed, _) = stream_one_second_at(10.0).await;
    assert_eq!(streamed, Duration::from_millis(90));
}

#[tokio::test(start_paused = true)]
async fn barge_in_cancels_a_generating_response() {
    let script = Script {
        replies: vec![long_reply("This will take a while to say.", 20_000)],
        ..Script::default()
    };
    let mut config = config(script);
    config.audio_pace = 1.0;
    let mut h = start_with(config, Dialect::Ga, true);
    h.event().await;
    h.send(twilio_ga_update("x"));
    h.until("session.updated").await;
    h.append(&tone_ulaw(600));
    h.append(&silence_ulaw(600));
    h.until("response.created").await;
    h.append(&tone_ulaw(300));
    let events = h.until("response.done").await;
    let sk = skeleton(&events);
    let started = sk
        .iter()
        .position(|t| *t == "input_audio_buffer.speech_started")
        .unwrap();
    assert_eq!(sk[started + 1..].last(), Some(&"response.done"));
    let done = events.last().unwrap();
    assert_eq!(
        done["response"]["status_details"],
        json!({"type": "cancelled", "reason": "turn_detected"})
    );
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    assert_eq!(
        record.responses[0].status_reason.as_deref(),
        Some("turn_detected")
    );
    assert_eq!(record.vad_turns.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn sixty_minute_session_expires_at_exactly_3600_s() {
    let mut h = start(Script::default());
    h.event().await;
    let error = h.error().await;
    assert_eq!(error["code"], "session_expired");
    assert_eq!(
        error["message"],
        "Your session hit the maximum duration of 60 minutes."
    );
    assert_eq!(
        h.next().await,
        SessionOutput::Close {
            code: 1001,
            reason: "Your session hit the maximum duration of 60 minutes.".to_owned()
        }
    );
    h.ended().await;
    let record = &h.ledger.sessions()[0];
    assert_eq!(record.closed_at_ms, Some(3_600_000));
    assert_eq!(record.close_code, Some(1001));
    assert_eq!(record.closed_by.as_deref(), Some("server_expired"));
}

#[tokio::test(start_paused = true)]
async fn short_sessions_word_the_expiry_in_seconds() {
    let mut config = config(Script::default());
    config.max_session = Duration::from_secs(90);
    let mut h = start_with(config, Dialect::Ga, true);
    h.event().await;
    assert_eq!(
        h.error().await["message"],
        "Your session hit the maximum duration of 90 seconds."
    );
    assert!(matches!(
        h.next().await,
        SessionOutput::Close { code: 1001, .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn beta_retired_and_bad_key_close_immediately() {
    let mut h = start_with(config(Script::default()), Dialect::Beta, true);
    let error = h.error().await;
    assert_eq!(error["code"], "beta_api_shape_disabled");
    assert_eq!(
        error["message"],
        "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
    );
    assert_eq!(
        h.next().await,
        SessionOutput::Close {
            code: 4000,
            reason: "invalid_request_error.beta_api_shape_disabled".to_owned()
        }
    );
    assert_eq!(
        h.ledger.sessions()[0].closed_by.as_deref(),
        Some("beta_retired")
    );

    let mut h = start_with(config(Script::default()), Dialect::Ga, false);
    assert_eq!(
        h.next().await,
        SessionOutput::Close {
            code: 3000,
            reason: "invalid_request_error.invalid_api_key".to_owned()
        }
    );
    h.ended().await;
    assert_eq!(h.ledger.sessions()[0].closed_by.as_deref(), Some("auth"));
}

#[tokio::test(start_paused = true)]
async fn beta_emulation_speaks_the_beta_dialect() {
    let mut config = config(Script::default());
    config.beta = BetaMode::Emulate;
    let mut h = start_with(config, Dialect::Beta, true);
    let created = h.event().await;
    assert_eq!(created["session"]["input_audio_format"], "pcm16");
    h.send(json!({"type": "session.update", "session": {"turn_detection": null, "input_audio_format": "g711_ulaw",
        "output_audio_format": "g711_ulaw", "voice": "alloy", "instructions": "Beta prompt.",
        "modalities": ["text", "audio"], "temperature": 0.8}}));
    let updated = h.until("session.updated").await.pop().unwrap();
    assert_eq!(updated["session"]["output_audio_format"], "g711_ulaw");
    assert_eq!(updated["session"]["instructions"], "Beta prompt.");
    h.send(user_text("hello"));
    h.send(json!({"type": "response.create"}));
    let events = h.until("response.done").await;
    let ts = types(&events);
    assert!(ts.contains(&"conversation.item.created"));
    assert!(ts.contains(&"response.audio.delta"));
    assert!(ts.contains(&"response.audio_transcript.done"));
    assert!(!ts.contains(&"conversation.item.done"));
    assert_eq!(
        events.last().unwrap()["response"]["output_audio_format"],
        "g711_ulaw"
    );
    let ledger = h.close().await;
    assert_eq!(ledger.sessions()[0].dialect, "beta");
    assert_eq!(
        ledger.sessions()[0].responses[0].instructions,
        "Beta prompt."
    );
}

#[tokio::test(start_paused = true)]
async fn scripted_faults_and_failures() {
    let mut failing = Reply::spoken("", ReplyAudio::None);
    failing.fail = Some(ResponseFailure {
        code: "server_error".to_owned(),
        message: "boom".to_owned(),
    });
    failing.error = Some(InjectedError {
        code: "rate_limit_exceeded".to_owned(),
        message: "slow down".to_owned(),
        error_type: "rate_limit_error".to_owned(),
    });
    let script = Script {
        replies: vec![failing],
        faults: vec![
            AiFault {
                session: 0,
                at: Duration::from_secs(5),
                kind: AiFaultKind::ErrorEvent {
                    code: "server_error".to_owned(),
                    message: "hiccup".to_owned(),
                    error_type: "server_error".to_owned(),
                },
            },
            AiFault {
                session: 0,
                at: Duration::from_secs(10),
                kind: AiFaultKind::DropSocket,
            },
            AiFault {
                session: 1,
                at: Duration::from_secs(1),
                kind: AiFaultKind::DropSocket,
            },
        ],
        ..Script::default()
    };
    let mut h = start(script);
    h.event().await;
    h.send(manual_update());
    h.until("session.updated").await;
    h.send(json!({"type": "response.create"}));
    let events = h.until("response.done").await;
    assert_eq!(
        types(&events),
        vec!["response.created", "error", "response.done"]
    );
    assert_eq!(events[1]["error"]["type"], "rate_limit_error");
    assert_eq!(events[2]["response"]["status"], "failed");
    assert_eq!(
        events[2]["response"]["status_details"]["error"]["code"],
        "server_error"
    );
    h.until("rate_limits.updated").await;
    let error = h.error().await;
    assert_eq!(error["message"], "hiccup");
    assert_eq!(h.next().await, SessionOutput::Drop);
    h.ended().await;
    let record = &h.ledger.sessions()[0];
    assert_eq!(record.closed_by.as_deref(), Some("fault"));
    assert_eq!(record.closed_at_ms, Some(10_000));
    assert_eq!(record.responses[0].status, "failed");
    assert_eq!(
        record.responses[0].status_reason.as_deref(),
        Some("server_error")
    );
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_triggers_a_response_in_audio_time() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(
        json!({"type": "session.update", "session": {"type": "realtime",
        "audio": {"input": {"format": {"type": "audio/pcmu"},
                            "turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}},
                  "output": {"format": {"type": "audio/pcmu"}}}}}),
    );
    h.until("session.updated").await;
    h.send(user_text("hi"));
    h.send(json!({"type": "response.create"}));
    h.until("rate_limits.updated").await;
    // The 1 s reply "plays" from audio time 0, so the timeout fires at 6 s of appended audio.
    h.append(&silence_ulaw(7000));
    let events = h.until("response.created").await;
    assert_eq!(
        types(&events),
        vec![
            "input_audio_buffer.timeout_triggered",
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
            "response.created"
        ]
    );
    assert_eq!(events[0]["audio_start_ms"], 1000);
    assert_eq!(events[0]["audio_end_ms"], 6000);
    h.until("rate_limits.updated").await;
    let ledger = h.close().await;
    assert_eq!(ledger.sessions()[0].responses[1].trigger, "idle_timeout");
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_event_stream() {
    async fn run_once() -> Vec<Value> {
        let mut h = start(Script::default());
        h.event().await;
        h.send(manual_update());
        h.send(user_text("hi"));
        h.send(json!({"type": "response.create"}));
        let events = h.until("rate_limits.updated").await;
        h.close().await;
        events
    }
    assert_eq!(run_once().await, run_once().await);
}

#[tokio::test(start_paused = true)]
async fn negative_integers_are_value_errors_that_say_what_was_expected() {
    let mut h = start(Script::default());
    h.event().await;
    h.send(
        json!({"type": "conversation.item.truncate", "event_id": "t1", "item_id": "item_x",
        "content_index": 0, "audio_end_ms": -5}),
    );
    let error = h.error().await;
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "integer_below_min_value");
    assert_eq!(error["param"], "audio_end_ms");
    assert_eq!(error["event_id"], "t1");
    assert_eq!(
        error["message"],
        "Invalid value for 'audio_end_ms': expected a non-negative integer, got -5"
    );
    h.send(
        json!({"type": "conversation.item.truncate", "item_id": "item_x",
        "content_index": -1, "audio_end_ms": 5}),
    );
    let error = h.error().await;
    assert_eq!(error["param"], "content_index");
    assert_eq!(
        error["message"],
        "Invalid value for 'content_index': expected a non-negative integer, got -1"
    );
    // A decimal is still a type error, worded with the type that arrived.
    h.send(
        json!({"type": "conversation.item.truncate", "item_id": "item_x",
        "content_index": 0, "audio_end_ms": 1.5}),
    );
    let error = h.error().await;
    assert_eq!(error["code"], "invalid_type");
    assert_eq!(
        error["message"],
        "Invalid type for 'audio_end_ms': expected an integer, but got a decimal instead."
    );
    h.send(json!({"type": "session.update", "session": {"type": "realtime",
        "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": -200}}}}}));
    let error = h.error().await;
    assert_eq!(error["code"], "integer_below_min_value");
    assert_eq!(
        error["param"],
        "session.audio.input.turn_detection.silence_duration_ms"
    );
    h.close().await;
}

#[tokio::test(start_paused = true)]
async fn an_oversized_message_gets_an_error_and_a_1009_close() {
    let mut config = config(Script::default());
    config.max_message_bytes = 1000;
    let mut h = start_with(config, Dialect::Ga, true);
    h.event().await;
    // Exactly at the limit is still read.
    let padding = "x".repeat(1000 - r#"{"type":"input_audio_buffer.clear","pad":""}"#.len());
    let at_limit = format!(r#"{{"type":"input_audio_buffer.clear","pad":"{padding}"}}"#);
    assert_eq!(at_limit.len(), 1000);
    h.tx.send(SessionInput::Text(at_limit)).unwrap();
    h.tx.send(SessionInput::Text(
        twilio_ga_update(&"y".repeat(2000)).to_string(),
    ))
    .unwrap();
    let error = h.error().await;
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "message_too_big");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .ends_with("the maximum is 1000 bytes."),
        "{error}"
    );
    match h.next().await {
        SessionOutput::Close { code, .. } => assert_eq!(code, 1009),
        other => panic!("expected a close frame, got {other:?}"),
    }
    h.ended().await;
    let record = &h.ledger.sessions()[0];
    assert_eq!(record.closed_by.as_deref(), Some("protocol_error"));
    assert_eq!(record.close_code, Some(1009));
    assert_eq!(record.errors_sent.len(), 1);
    assert_eq!(
        record.errors_sent[0].code.as_deref(),
        Some("message_too_big")
    );
    assert!(
        record.updates.is_empty(),
        "the oversized update is not applied"
    );
}

#[tokio::test(start_paused = true)]
async fn a_message_the_transport_refused_gets_an_error_and_a_1009_close() {
    let mut h = start(Script::default());
    h.event().await;
    h.tx.send(SessionInput::TooBig(100 * 1024 * 1024)).unwrap();
    let error = h.error().await;
    assert_eq!(error["code"], "message_too_big");
    assert!(matches!(
        h.next().await,
        SessionOutput::Close { code: 1009, .. }
    ));
    h.ended().await;
    assert_eq!(
        h.ledger.sessions()[0].closed_by.as_deref(),
        Some("protocol_error")
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_utf8_is_recorded_as_a_protocol_error() {
    let mut h = start(Script::default());
    h.event().await;
    h.tx.send(SessionInput::InvalidUtf8).unwrap();
    let error = h.error().await;
    assert_eq!(error["code"], "invalid_event");
    assert!(matches!(
        h.next().await,
        SessionOutput::Close { code: 1007, .. }
    ));
    h.ended().await;
    let record = &h.ledger.sessions()[0];
    assert_eq!(record.closed_by.as_deref(), Some("protocol_error"));
    assert_eq!(record.close_code, Some(1007));
    assert_eq!(record.errors_sent.len(), 1);
    assert!(record.errors_sent[0].message.contains("UTF-8"));
}

#[tokio::test(start_paused = true)]
async fn a_binary_frame_is_recorded_as_an_error_and_the_session_goes_on() {
    let mut h = start(Script::default());
    h.event().await;
    h.tx.send(SessionInput::Binary(vec![1, 2, 3])).unwrap();
    let error = h.error().await;
    assert_eq!(error["code"], "invalid_event");
    h.send(manual_update());
    h.until("session.updated").await;
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    assert_eq!(record.errors_sent.len(), 1);
    assert_eq!(
        record.errors_sent[0].message,
        "Binary frames are not supported; send JSON text frames."
    );
    assert_eq!(record.closed_by.as_deref(), Some("client"));
}

#[tokio::test(start_paused = true)]
async fn bounded_retention_caps_updates_and_compacts_at_close() {
    let mut config = config(Script::default());
    config.retention = Retention {
        max_records: Some(4),
        ..Retention::bounded()
    };
    let mut h = start_with(config, Dialect::Ga, true);
    h.event().await;
    for i in 0..10 {
        h.send(twilio_ga_update(&format!("prompt {i}")));
        h.until("session.updated").await;
    }
    h.append(&silence_ulaw(200));
    let ledger = h.close().await;
    let record = &ledger.sessions()[0];
    let kept: Vec<&str> = record
        .updates
        .iter()
        .map(|u| u.effective_instructions.as_str())
        .collect();
    assert_eq!(kept, vec!["prompt 6", "prompt 7", "prompt 8", "prompt 9"]);
    assert_eq!(record.records_dropped, 6);
    assert!(record.updates.iter().all(|u| u.instructions.is_none()));
    assert!(record.audio_received.is_empty());
    assert_eq!(record.audio_received_ms, 200, "the audio total survives");
}
