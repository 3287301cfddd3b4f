//! What a snapshot pins: the typed view of a transcript that a scenario's `snapshot:` selects.
//!
//! Responses repeat their session's instructions, so the view keeps each response's prompt
//! source and the full text once per session; everything else is the transcript as it is.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{
    CallSummary, Finding, ResponseSummary, ServerSummary, SessionSummary, TenantChangeRecord,
    TenantState, Transcript,
};
use crate::scenario::plan::{Plan, SnapshotPart};

/// The snapshot of one run.
#[derive(Debug, Serialize)]
pub struct SnapshotView<'a> {
    scenario: &'a str,
    target: &'a str,
    seed: u64,
    simulated_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenants: Option<&'a BTreeMap<String, TenantState>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_changes: Option<&'a [TenantChangeRecord]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ai: Option<AiView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    calls: Option<&'a [CallSummary]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a ServerSummary>,
    #[serde(skip_serializing_if = "<[Finding]>::is_empty")]
    invariants: &'a [Finding],
}

/// The prompt ledger without the per-response copies of the instructions.
#[derive(Debug, Serialize)]
struct AiView<'a> {
    sessions: Vec<SessionSummary>,
    responses: Vec<ResponseView<'a>>,
    open_sessions: usize,
}

/// A response as pinned: everything but its instructions (its session holds them).
///
/// The key order is the one the pinned snapshots have always had: the instructions' place is
/// taken by the last key (`tool_call` when there is one, else `status`), then come the rest.
/// Keeping it keeps every reviewed snapshot byte-identical.
#[derive(Debug)]
struct ResponseView<'a> {
    session: usize,
    call: &'a Option<String>,
    at_ms: u64,
    trigger: &'a str,
    prompt_source: &'a str,
    status: &'a str,
    tool_call: &'a Option<String>,
}

impl Serialize for ResponseView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let len = if self.tool_call.is_some() { 7 } else { 6 };
        let mut out = serializer.serialize_struct("ResponseView", len)?;
        out.serialize_field("session", &self.session)?;
        out.serialize_field("call", self.call)?;
        out.serialize_field("at_ms", &self.at_ms)?;
        out.serialize_field("trigger", self.trigger)?;
        match self.tool_call {
            Some(tool_call) => {
                out.serialize_field("tool_call", tool_call)?;
                out.serialize_field("prompt_source", self.prompt_source)?;
                out.serialize_field("status", self.status)?;
            }
            None => {
                out.serialize_field("status", self.status)?;
                out.serialize_field("prompt_source", self.prompt_source)?;
            }
        }
        out.end()
    }
}

impl<'a> From<&'a ResponseSummary> for ResponseView<'a> {
    fn from(r: &'a ResponseSummary) -> Self {
        ResponseView {
            session: r.session,
            call: &r.call,
            at_ms: r.at_ms,
            trigger: &r.trigger,
            prompt_source: &r.prompt_source,
            status: &r.status,
            tool_call: &r.tool_call,
        }
    }
}

/// The parts of `transcript` that `plan`'s `snapshot:` selects.
pub fn snapshot_view<'a>(plan: &Plan, transcript: &'a Transcript) -> SnapshotView<'a> {
    let wants = |part| plan.snapshot.contains(&part);
    let prompts = wants(SnapshotPart::Prompts);
    SnapshotView {
        scenario: &transcript.scenario,
        target: &transcript.target,
        seed: transcript.seed,
        simulated_ms: transcript.simulated_ms,
        tenants: prompts.then_some(&transcript.tenants),
        tenant_changes: (prompts && !transcript.tenant_changes.is_empty())
            .then_some(transcript.tenant_changes.as_slice()),
        ai: prompts.then(|| AiView {
            // The raw configuration is for assertions and reports; the pinned snapshots predate
            // it and stay byte-identical without it.
            sessions: transcript
                .ai
                .sessions
                .iter()
                .map(|s| SessionSummary {
                    config: None,
                    ..s.clone()
                })
                .collect(),
            responses: transcript
                .ai
                .responses
                .iter()
                .map(ResponseView::from)
                .collect(),
            open_sessions: transcript.ai.open_sessions,
        }),
        calls: wants(SnapshotPart::Calls).then_some(transcript.calls.as_slice()),
        server: wants(SnapshotPart::Server).then_some(&transcript.server),
        invariants: &transcript.invariants,
    }
}
