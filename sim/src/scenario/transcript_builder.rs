//! Turns what the fake Twilio and the mock AI recorded into a [`Transcript`]: which AI session
//! served which call, and which known prompt each set of instructions carries.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::plan::{CallDirection, Plan, TenantPlan};
use crate::realtime::{DEFAULT_INSTRUCTIONS, SessionRecord};
use crate::report::transcript::{
    AiSummary, CallSummary, ResponseSummary, ServerSummary, SessionSummary, StreamSummary,
    TenantChangeRecord, TenantState, Transcript, TruncateSummary, UpdateSummary, WebhookSummary,
};
use crate::twilio::CallRecord;

/// One revision of a tenant's settings (the provisioned settings are revision 1).
#[derive(Debug, Clone)]
pub struct TenantRevision {
    /// Tenant slug.
    pub tenant: String,
    /// Revision number.
    pub revision: u32,
    /// Settings.
    pub settings: TenantPlan,
}

/// Everything a run recorded, before it is condensed into a transcript.
#[derive(Debug, Clone)]
pub struct RunArtifacts {
    /// Twilio's call records, in scenario order.
    pub calls: Vec<CallRecord>,
    /// The mock AI's ledger.
    pub sessions: Vec<SessionRecord>,
    /// AI sessions still open at the end.
    pub open_sessions: usize,
    /// The server's residual state (`"none"` or what remained).
    pub residual: Value,
    /// Every tenant revision.
    pub revisions: Vec<TenantRevision>,
    /// (time, HTTP status) of each tenant change.
    pub change_statuses: Vec<(u64, Option<u16>)>,
    /// Simulated duration.
    pub simulated_ms: u64,
    /// Target description.
    pub target: String,
}

/// Known prompt texts, longest first so the most specific match wins.
struct PromptCatalog {
    entries: Vec<(String, String)>,
}

impl PromptCatalog {
    fn new(revisions: &[TenantRevision]) -> Self {
        let mut entries: Vec<(String, String)> = Vec::new();
        for rev in revisions {
            for (field, text) in [
                ("inbound_prompt", &rev.settings.inbound_prompt),
                ("outbound_prompt", &rev.settings.outbound_prompt),
            ] {
                if text.trim().is_empty() || entries.iter().any(|(_, t)| t == text) {
                    continue;
                }
                let label = if rev.revision == 1 {
                    format!("{}.{field}", rev.tenant)
                } else {
                    format!("{}.{field}@{}", rev.tenant, rev.revision)
                };
                entries.push((label, text.clone()));
            }
        }
        entries.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        PromptCatalog { entries }
    }

    /// Names the known text the instructions carry.
    fn classify(&self, instructions: &str) -> String {
        if instructions.is_empty() {
            return "empty".into();
        }
        if instructions == DEFAULT_INSTRUCTIONS {
            return "openai-default".into();
        }
        self.entries
            .iter()
            .find(|(_, text)| instructions.contains(text.as_str()))
            .map(|(label, _)| label.clone())
            .unwrap_or_else(|| "other".into())
    }
}

/// True when `source` names the other direction's prompt of the call's own tenant.
fn is_direction_mixup(source: &str, tenant: &str, direction: CallDirection) -> bool {
    let base = source.split('@').next().unwrap_or(source);
    let wrong_field = match direction {
        CallDirection::Inbound => "outbound_prompt",
        CallDirection::Outbound => "inbound_prompt",
    };
    base == format!("{tenant}.{wrong_field}")
}

fn is_silent_frame(frame: &[u8]) -> bool {
    frame.iter().all(|b| *b == 0xFF || *b == 0x7F)
}

/// Assigns each AI session to the call it served: the call whose stream was live when the
/// session opened; among several, the one whose caller audio the session received (servers
/// forward Twilio's 160-byte frames verbatim), then the earliest.
fn associate(calls: &[CallRecord], sessions: &[SessionRecord]) -> Vec<Option<usize>> {
    let sent_frames: Vec<HashSet<&[u8]>> = calls
        .iter()
        .map(|c| {
            c.streams
                .iter()
                .flat_map(|s| s.sent.chunks(160))
                .filter(|f| f.len() == 160 && !is_silent_frame(f))
                .collect()
        })
        .collect();
    sessions
        .iter()
        .map(|s| {
            let candidates: Vec<usize> = calls
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.streams.iter().any(|st| {
                        st.connected_at_ms.is_some_and(|from| {
                            from <= s.opened_at_ms + 1
                                && st.ended_at_ms.is_none_or(|to| s.opened_at_ms <= to)
                        })
                    })
                })
                .map(|(i, _)| i)
                .collect();
            match candidates.as_slice() {
                [] => None,
                [only] => Some(*only),
                many => {
                    let frames: Vec<&[u8]> = s
                        .audio_received
                        .chunks(160)
                        .filter(|f| f.len() == 160 && !is_silent_frame(f))
                        .take(500)
                        .collect();
                    let mut best = many[0];
                    let mut best_score = 0usize;
                    for &i in many {
                        let score = frames
                            .iter()
                            .filter(|f| sent_frames[i].contains(*f))
                            .count();
                        if score > best_score {
                            best = i;
                            best_score = score;
                        }
                    }
                    Some(best)
                }
            }
        })
        .collect()
}

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
fn not_placed(call: &super::plan::CallPlan) -> CallSummary {
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
    let catalog = PromptCatalog::new(&art.revisions);
    let owner = associate(&art.calls, &art.sessions);
    let call_name = |i: Option<usize>| i.and_then(|i| art.calls.get(i)).map(|c| c.label.clone());

    let mut responses: Vec<ResponseSummary> = Vec::new();
    let sessions: Vec<SessionSummary> = art
        .sessions
        .iter()
        .zip(&owner)
        .map(|(s, who)| {
            let instructions = effective_instructions(s);
            for r in &s.responses {
                responses.push(ResponseSummary {
                    session: s.index,
                    call: call_name(*who),
                    at_ms: r.at_ms,
                    trigger: r.trigger.clone(),
                    prompt_source: catalog.classify(&r.instructions),
                    instructions: r.instructions.clone(),
                    status: r.status.clone(),
                    tool_call: r.tool_call.clone(),
                });
            }
            SessionSummary {
                index: s.index,
                call: call_name(*who),
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
            }
        })
        .collect();
    responses.sort_by_key(|r| (r.at_ms, r.session));

    let calls: Vec<CallSummary> = art
        .calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let plan_call = plan.calls.iter().find(|p| p.name == c.label);
            let tenant = plan_call.map(|p| p.tenant.clone()).unwrap_or_default();
            let direction = plan_call.map_or(CallDirection::Outbound, |p| p.direction);
            let my_sessions: Vec<usize> = owner
                .iter()
                .zip(&art.sessions)
                .filter(|(o, _)| **o == Some(i))
                .map(|(_, s)| s.index)
                .collect();
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
                direction_mixup: is_direction_mixup(&prompt_source, &tenant, direction),
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
        })
        .collect();

    // A scenario call with no Twilio record never happened: the server refused to place it.
    let mut calls: Vec<CallSummary> = calls;
    for (i, planned) in plan.calls.iter().enumerate() {
        if !calls.iter().any(|c| c.name == planned.name) {
            let at = calls.len().min(i);
            calls.insert(at, not_placed(planned));
        }
    }

    let mut rev_counter: BTreeMap<String, u32> = BTreeMap::new();
    let tenant_changes = plan
        .tenant_changes
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
        .collect();

    Transcript {
        scenario: plan.name.clone(),
        seed: plan.seed,
        target: art.target.clone(),
        tenants: plan
            .tenants
            .iter()
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
        tenant_changes,
        calls,
        ai: AiSummary {
            sessions,
            responses,
            open_sessions: art.open_sessions,
        },
        server: ServerSummary {
            residual_state: art.residual.clone(),
        },
        simulated_ms: art.simulated_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(tenant: &str, revision: u32, inbound: &str, outbound: &str) -> TenantRevision {
        TenantRevision {
            tenant: tenant.into(),
            revision,
            settings: TenantPlan {
                business_name: "Acme".into(),
                inbound_prompt: inbound.into(),
                outbound_prompt: outbound.into(),
                greeting: None,
                voice: None,
            },
        }
    }

    #[test]
    fn classifies_the_most_specific_known_prompt() {
        let cat = PromptCatalog::new(&[
            rev("acme", 1, "Answer calls.", "You are making a sales call."),
            rev(
                "acme",
                2,
                "Answer calls. Mention the Tuesday offer.",
                "You are making a sales call.",
            ),
        ]);
        assert_eq!(
            cat.classify("Business: Acme\n\nYou are making a sales call."),
            "acme.outbound_prompt"
        );
        assert_eq!(
            cat.classify("x Answer calls. Mention the Tuesday offer."),
            "acme.inbound_prompt@2"
        );
        assert_eq!(cat.classify("Answer calls."), "acme.inbound_prompt");
        assert_eq!(cat.classify(DEFAULT_INSTRUCTIONS), "openai-default");
        assert_eq!(cat.classify("You are the receptionist for Acme."), "other");
        assert_eq!(cat.classify(""), "empty");
    }

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
            change_statuses: Vec::new(),
            simulated_ms: 0,
            target: "test".into(),
        };
        let t = build_transcript(&plan, &art);
        assert_eq!(t.calls.len(), 1);
        assert_eq!(t.calls[0].name, "out");
        assert_eq!(t.calls[0].status, "not-placed");
        assert_eq!(t.calls[0].prompt_source, "none");
    }

    #[test]
    fn mixup_means_the_other_direction_of_the_same_tenant() {
        assert!(is_direction_mixup(
            "acme.outbound_prompt",
            "acme",
            CallDirection::Inbound
        ));
        assert!(is_direction_mixup(
            "acme.inbound_prompt@2",
            "acme",
            CallDirection::Outbound
        ));
        assert!(!is_direction_mixup(
            "acme.inbound_prompt",
            "acme",
            CallDirection::Inbound
        ));
        assert!(!is_direction_mixup("other", "acme", CallDirection::Inbound));
        assert!(!is_direction_mixup(
            "bob.outbound_prompt",
            "acme",
            CallDirection::Inbound
        ));
    }
}
