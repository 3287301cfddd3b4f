//! Turns what the fake Twilio and the mock AI recorded into a [`Transcript`]: the calls, the AI
//! sessions and responses with the known prompt each set of instructions carries.

use std::collections::BTreeMap;

use super::associate::associate;
use super::classify::PromptCatalog;
use super::invariants::{Context, check_all};
use super::model::{
    AiSummary, AppendSummary, CallSummary, ResponseSummary, ServerSummary, SessionSummary,
    StreamSummary, TenantChangeRecord, TenantState, Transcript, TruncateSummary, UpdateSummary,
    WebhookSummary,
};
use crate::realtime::SessionRecord;
use crate::run::RunArtifacts;
use crate::scenario::plan::{CallDirection, Plan};
use crate::twilio::CallRecord;

fn effective_instructions(s: &SessionRecord) -> String {
    s.updates
        .iter()
        .rev()
        .find(|u| u.accepted)
        .map(|u| u.effective_instructions.clone())
        .unwrap_or_else(|| s.initial_instructions.clone())
}

fn stream_summary(c: &CallRecord) -> Option<StreamSummary> {
    let s = c.streams.first()?;
    Some(StreamSummary {
        stream_sid: s.stream_sid.clone(),
        url: s.url.clone(),
        custom_parameters: s.custom_parameters.clone(),
        handshake_status: s.handshake_status,
        connected_at_ms: s.connected_at_ms,
        ended_at_ms: s.ended_at_ms,
        ended_by: s.ended_by.map(|e| {
            serde_json::to_value(e)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }),
        marks_sent: s.marks_sent_by_server,
        marks_echoed: s.marks_echoed,
        clears_at_ms: s.clears.clone(),
        audio_heard_ms: s.audio_heard_ms,
        warnings: s.warnings.iter().map(|w| w.code).collect(),
    })
}

/// The summary of a scenario call that never reached Twilio (an outbound call the server
/// refused to place).
fn not_placed(call: &crate::scenario::plan::CallPlan) -> CallSummary {
    CallSummary {
        name: call.name.clone(),
        tenant: call.tenant.clone(),
        direction: call.direction.as_str().to_string(),
        call_sid: String::new(),
        status: "not-placed".into(),
        duration_secs: None,
        started_at_ms: u64::try_from(call.start.as_millis()).unwrap_or(u64::MAX),
        ended_at_ms: None,
        webhooks: Vec::new(),
        stream: None,
        status_callbacks: Vec::new(),
        errors: Vec::new(),
        ai_sessions: Vec::new(),
        instructions: None,
        prompt_source: "none".into(),
        direction_mixup: false,
    }
}

/// Builds the transcript of a run.
pub fn build_transcript(plan: &Plan, art: &RunArtifacts) -> Transcript {
    let catalog = PromptCatalog::new(&art.revisions, &art.prompt_names);
    let owner = associate(&art.calls, &art.sessions);
    let (sessions, responses) = sessions_and_responses(art, &owner, &catalog);
    let invariants = check_all(&Context {
        plan,
        art,
        owner: &owner,
    });
    Transcript {
        scenario: plan.name.clone(),
        seed: plan.seed,
        target: art.target.clone(),
        // The tenants as the run judged them: the scenario's settings, or, for a server that
        // declares its own prompts, those prompts.
        tenants: art
            .revisions
            .iter()
            .filter(|r| r.revision == 1)
            .map(|r| (&r.tenant, &r.settings))
            .map(|(slug, t)| {
                (
                    slug.clone(),
                    TenantState {
                        business_name: t.business_name.clone(),
                        inbound_prompt: t.inbound_prompt.clone(),
                        outbound_prompt: t.outbound_prompt.clone(),
                        greeting: t.greeting.clone(),
                    },
                )
            })
            .collect(),
        tenant_changes: tenant_changes(plan, art),
        calls: calls(plan, art, &owner, &catalog),
        ai: AiSummary {
            sessions,
            responses,
            open_sessions: art.open_sessions,
        },
        server: ServerSummary {
            residual_state: art.residual.clone(),
        },
        simulated_ms: art.simulated_ms,
        invariants,
    }
}

/// The name of the call at index `i` of the records, if any.
fn call_name(art: &RunArtifacts, i: Option<usize>) -> Option<String> {
    i.and_then(|i| art.calls.get(i)).map(|c| c.label.clone())
}

/// Every AI session, and every response of every session in time order.
fn sessions_and_responses(
    art: &RunArtifacts,
    owner: &[Option<usize>],
    catalog: &PromptCatalog,
) -> (Vec<SessionSummary>, Vec<ResponseSummary>) {
    let mut responses: Vec<ResponseSummary> = Vec::new();
    let sessions = art
        .sessions
        .iter()
        .zip(owner)
        .map(|(s, who)| {
            for r in &s.responses {
                responses.push(ResponseSummary {
                    session: s.index,
                    call: call_name(art, *who),
                    at_ms: r.at_ms,
                    trigger: r.trigger.clone(),
                    prompt_source: catalog.classify(&r.instructions),
                    instructions: r.instructions.clone(),
                    status: r.status.clone(),
                    tool_call: r.tool_call.clone(),
                });
            }
            session_summary(s, call_name(art, *who), catalog)
        })
        .collect();
    responses.sort_by_key(|r| (r.at_ms, r.session));
    (sessions, responses)
}

fn session_summary(
    s: &SessionRecord,
    call: Option<String>,
    catalog: &PromptCatalog,
) -> SessionSummary {
    let instructions = effective_instructions(s);
    SessionSummary {
        index: s.index,
        call,
        opened_at_ms: s.opened_at_ms,
        closed_at_ms: s.closed_at_ms,
        lifetime_ms: s.closed_at_ms.map(|c| c.saturating_sub(s.opened_at_ms)),
        closed_by: s.closed_by.clone(),
        close_code: s.close_code,
        prompt_source: catalog.classify(&instructions),
        instructions,
        updates: s
            .updates
            .iter()
            .map(|u| UpdateSummary {
                at_ms: u.at_ms,
                accepted: u.accepted,
                error: u.error.as_ref().and_then(|e| e.code.clone()),
                prompt_source: catalog.classify(&u.effective_instructions),
                input_format: u.input_format.clone(),
                output_format: u.output_format.clone(),
            })
            .collect(),
        responses: s.responses.len(),
        truncates: s
            .truncates
            .iter()
            .map(|t| TruncateSummary {
                at_ms: t.at_ms,
                audio_end_ms: t.audio_end_ms,
                item_audio_ms: t.item_audio_ms,
                error: t.error.clone(),
            })
            .collect(),
        errors_sent: s
            .errors_sent
            .iter()
            .map(|e| e.code.clone().unwrap_or_else(|| e.message.clone()))
            .collect(),
        audio_received_s: (s.audio_received_ms + 500) / 1000,
        dialect: (s.dialect == "live").then(|| s.dialect.clone()),
        appends: s
            .appends
            .iter()
            .map(|a| AppendSummary {
                at_ms: a.at_ms,
                source: a.source.clone(),
                prompt_source: catalog.classify(&a.content),
                injected_at_ms: a.injected_at_ms,
            })
            .collect(),
        config: s.first_config.clone(),
    }
}

/// Every call in scenario order; a scenario call with no Twilio record never happened (the
/// server refused to place it) and is reported as `not-placed` in its place.
fn calls(
    plan: &Plan,
    art: &RunArtifacts,
    owner: &[Option<usize>],
    catalog: &PromptCatalog,
) -> Vec<CallSummary> {
    let mut calls: Vec<CallSummary> = art
        .calls
        .iter()
        .enumerate()
        .map(|(i, c)| call_summary(plan, art, i, c, owner, catalog))
        .collect();
    for (i, planned) in plan.calls.iter().enumerate() {
        if !calls.iter().any(|c| c.name == planned.name) {
            let at = calls.len().min(i);
            calls.insert(at, not_placed(planned));
        }
    }
    calls
}

fn call_summary(
    plan: &Plan,
    art: &RunArtifacts,
    i: usize,
    c: &CallRecord,
    owner: &[Option<usize>],
    catalog: &PromptCatalog,
) -> CallSummary {
    let plan_call = plan.calls.iter().find(|p| p.name == c.label);
    let tenant = plan_call.map(|p| p.tenant.clone()).unwrap_or_default();
    let direction = plan_call.map_or(CallDirection::Outbound, |p| p.direction);
    let my_sessions: Vec<usize> = owner
        .iter()
        .zip(&art.sessions)
        .filter(|(o, _)| **o == Some(i))
        .map(|(_, s)| s.index)
        .collect();
    // The prompt the caller talked to: the first response's instructions, else the first
    // session's effective instructions.
    let instructions = art
        .sessions
        .iter()
        .filter(|s| my_sessions.contains(&s.index))
        .find_map(|s| s.responses.first().map(|r| r.instructions.clone()))
        .or_else(|| {
            art.sessions
                .iter()
                .find(|s| my_sessions.contains(&s.index))
                .map(effective_instructions)
        });
    let prompt_source = instructions
        .as_deref()
        .map_or_else(|| "none".to_string(), |t| catalog.classify(t));
    CallSummary {
        name: c.label.clone(),
        direction: direction.as_str().to_string(),
        direction_mixup: catalog.is_direction_mixup(&prompt_source, &tenant, direction),
        tenant,
        call_sid: c.call_sid.clone(),
        status: c.status.clone(),
        duration_secs: c.duration_secs,
        started_at_ms: c.started_at_ms,
        ended_at_ms: c.ended_at_ms,
        webhooks: c
            .webhooks
            .iter()
            .map(|w| WebhookSummary {
                at_ms: w.at_ms,
                url: w.url.clone(),
                fallback: w.fallback,
                signed: w.signed,
                http_status: w.http_status,
                error_code: w.error.as_ref().map(|e| e.code),
            })
            .collect(),
        stream: stream_summary(c),
        status_callbacks: c
            .status_callbacks
            .iter()
            .map(|cb| format!("{}@{}", cb.event, cb.at_ms))
            .collect(),
        errors: c.errors.iter().map(|e| e.code).collect(),
        ai_sessions: my_sessions,
        instructions,
        prompt_source,
    }
}

/// Each tenant edit with the revision it created and the fixture API's answer.
fn tenant_changes(plan: &Plan, art: &RunArtifacts) -> Vec<TenantChangeRecord> {
    let mut rev_counter: BTreeMap<String, u32> = BTreeMap::new();
    plan.tenant_changes
        .iter()
        .zip(&art.change_statuses)
        .map(|(c, (at_ms, status))| {
            let rev = rev_counter.entry(c.tenant.clone()).or_insert(1);
            *rev += 1;
            TenantChangeRecord {
                at_ms: *at_ms,
                tenant: c.tenant.clone(),
                revision: *rev,
                http_status: *status,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_twilio_never_saw_is_reported_as_not_placed() {
        let text = "title: t\ntenants:\n  acme:\n    business_name: Acme\ncalls:\n  - name: out\n    tenant: acme\n    direction: outbound\n";
        let loaded =
            crate::scenario::load::parse_str(std::path::Path::new("t.yaml"), text.into()).unwrap();
        let plan = crate::scenario::validate::build_plan(&loaded, "t").unwrap();
        let art = RunArtifacts {
            calls: Vec::new(),
            sessions: Vec::new(),
            open_sessions: 0,
            residual: serde_json::json!("none"),
            revisions: Vec::new(),
            prompt_names: Vec::new(),
            change_statuses: Vec::new(),
            simulated_ms: 0,
            target: "test".into(),
            panics: Vec::new(),
            declared: crate::run::Declarations::REFERENCE,
        };
        let t = build_transcript(&plan, &art);
        assert_eq!(t.calls.len(), 1);
        assert_eq!(t.calls[0].name, "out");
        assert_eq!(t.calls[0].status, "not-placed");
        assert_eq!(t.calls[0].prompt_source, "none");
    }
}
