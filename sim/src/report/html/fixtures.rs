//! Test fixtures shared by the report's unit tests: a legacy-server run whose inbound call got
//! the tenant's outbound prompt.

use std::collections::BTreeMap;

use crate::report::run_report::{Outcome, RunReport, ScenarioReport};
use crate::scenario::expect::AssertionResult;
use crate::transcript::model::{
    AiSummary, CallSummary, ResponseSummary, ServerSummary, SessionSummary, StreamSummary,
    TenantState, Transcript, TruncateSummary, UpdateSummary, WebhookSummary,
};

pub(super) const OUTBOUND: &str =
    "You are calling the customer for a <sales> pitch & \"be persuasive\".";

pub(super) fn session(
    index: usize,
    call: &str,
    instructions: &str,
    source: &str,
) -> SessionSummary {
    SessionSummary {
        index,
        call: Some(call.to_owned()),
        opened_at_ms: 1_200,
        closed_at_ms: Some(61_000),
        lifetime_ms: Some(59_800),
        closed_by: Some("server".into()),
        close_code: Some(1000),
        instructions: instructions.to_owned(),
        prompt_source: source.to_owned(),
        updates: vec![UpdateSummary {
            at_ms: 1_250,
            accepted: true,
            error: None,
            prompt_source: source.to_owned(),
            input_format: "audio/pcmu".into(),
            output_format: "audio/pcmu".into(),
        }],
        responses: 1,
        truncates: vec![TruncateSummary {
            at_ms: 20_000,
            audio_end_ms: 640,
            item_audio_ms: Some(2_000),
            error: None,
        }],
        errors_sent: vec![],
        audio_received_s: 58,
        dialect: None,
        appends: Vec::new(),
        config: None,
    }
}

pub(super) fn call(name: &str, source: &str, mixup: bool, instructions: &str) -> CallSummary {
    CallSummary {
        name: name.to_owned(),
        tenant: "acme".into(),
        direction: "inbound".into(),
        call_sid: "CA0123456789abcdef0123456789abcdef".into(),
        status: "completed".into(),
        duration_secs: Some(60),
        started_at_ms: 0,
        ended_at_ms: Some(61_000),
        webhooks: vec![WebhookSummary {
            at_ms: 5,
            url: "https://server.test/twiml/incoming/acme?x=1&y=2".into(),
            fallback: false,
            signed: true,
            http_status: Some(200),
            error_code: None,
        }],
        stream: Some(StreamSummary {
            stream_sid: "MZ01".into(),
            url: "wss://server.test/media".into(),
            custom_parameters: BTreeMap::from([("tenant".to_owned(), "acme".to_owned())]),
            handshake_status: Some(101),
            connected_at_ms: Some(900),
            ended_at_ms: Some(61_000),
            ended_by: Some("twilio".into()),
            marks_sent: 3,
            marks_echoed: 3,
            clears_at_ms: vec![30_000],
            audio_heard_ms: 4_000,
            warnings: vec![],
        }),
        status_callbacks: vec![
            "initiated@0".into(),
            "ringing@2".into(),
            "completed@61000".into(),
        ],
        errors: vec![],
        ai_sessions: vec![0],
        instructions: Some(instructions.to_owned()),
        prompt_source: source.to_owned(),
        direction_mixup: mixup,
    }
}

pub(super) fn transcript(calls: Vec<CallSummary>, sessions: Vec<SessionSummary>) -> Transcript {
    let responses = sessions
        .iter()
        .map(|s| ResponseSummary {
            session: s.index,
            call: s.call.clone(),
            at_ms: 3_000,
            trigger: "vad".into(),
            instructions: s.instructions.clone(),
            prompt_source: s.prompt_source.clone(),
            status: "completed".into(),
            tool_call: None,
        })
        .collect();
    Transcript {
        scenario: "seed/inbound-empty-ai-prompt".into(),
        seed: 7,
        target: "legacy".into(),
        tenants: BTreeMap::from([(
            "acme".to_owned(),
            TenantState {
                business_name: "Acme".into(),
                inbound_prompt: String::new(),
                outbound_prompt: OUTBOUND.into(),
                greeting: None,
            },
        )]),
        tenant_changes: vec![],
        calls,
        ai: AiSummary {
            sessions,
            responses,
            open_sessions: 0,
        },
        server: ServerSummary {
            residual_state: serde_json::json!("none"),
        },
        simulated_ms: 61_000,
        invariants: Vec::new(),
    }
}

pub(super) fn legacy_report() -> RunReport {
    let t = transcript(
        vec![call("caller", "acme.outbound_prompt", true, OUTBOUND)],
        vec![session(0, "caller", OUTBOUND, "acme.outbound_prompt")],
    );
    RunReport {
        callsim_version: "0.1.0".into(),
        target: "legacy <server>".into(),
        scenarios: vec![
            ScenarioReport {
                name: "seed/inbound-empty-ai-prompt".into(),
                file: "scenarios/seed/inbound-empty-ai-prompt.yaml".into(),
                title: "Inbound call, empty inbound prompt".into(),
                tags: vec!["seed".into()],
                outcome: Outcome::Failed,
                assertions: vec![AssertionResult {
                    path: "calls.caller.prompt_source".into(),
                    passed: false,
                    expected: "equals acme.inbound_prompt".into(),
                    message: "got `acme.outbound_prompt`".into(),
                }],
                error: None,
                runs: 1,
                passed_runs: 0,
                transcript: Some(t),
                causes: Vec::new(),
                warnings: Vec::new(),
            },
            ScenarioReport {
                name: "seed/broken".into(),
                file: "scenarios/seed/broken.yaml".into(),
                title: "Broken".into(),
                tags: vec![],
                outcome: Outcome::Error,
                assertions: vec![],
                error: Some("server did not start: <timeout>".into()),
                runs: 1,
                passed_runs: 0,
                transcript: None,
                causes: Vec::new(),
                warnings: Vec::new(),
            },
        ],
    }
}
