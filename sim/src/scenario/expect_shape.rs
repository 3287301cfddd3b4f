//! Which expectation paths can exist in a transcript, checked when the plan is built: a path
//! that no run could ever produce (a typo'd field, a call the scenario does not place) is an input
//! error before anything runs, not a failed assertion after it.
//!
//! The shape is a sample transcript with every optional field present and every list holding one
//! element, so a field added to the transcript cannot be forgotten here: the sample is a struct
//! literal and stops compiling.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::path::Segment;
use crate::transcript::model::{
    AiSummary, AppendSummary, CallSummary, Finding, ResponseSummary, ServerSummary, SessionSummary,
    StreamSummary, TenantChangeRecord, TenantState, Transcript, TruncateSummary, UpdateSummary,
    WebhookSummary,
};

/// A map key in the sample that stands for any key.
const ANY_KEY: &str = "*";
/// A map key in the sample that stands for any value below it, however deep.
const ANY_TREE: &str = "**";

/// What the plan knows that the shape does not: which calls and tenants exist.
pub(crate) struct Names<'a> {
    /// Call names in file order.
    pub calls: &'a [String],
    /// Tenant slugs.
    pub tenants: &'a [String],
}

/// Checks that `segments` can select something in a transcript of this plan.
pub(crate) fn check_path(segments: &[Segment], names: &Names<'_>) -> Result<(), String> {
    let sample = sample();
    let mut here = &sample;
    let mut shown = String::new();
    for segment in segments {
        if here.get(ANY_TREE).is_some() {
            return Ok(());
        }
        let parent = shown.clone();
        here = match (segment, here) {
            (Segment::Key(key), Value::Object(map)) => {
                shown = join(&shown, key);
                check_known_name(&parent, key, names)?;
                match map.get(key).or_else(|| map.get(ANY_KEY)) {
                    Some(v) => v,
                    None => return Err(unknown_key(&shown, map)),
                }
            }
            (Segment::Key(key), Value::Array(items)) => {
                shown = join(&shown, key);
                if parent != "calls" {
                    return Err(format!(
                        "`{shown}`: `{parent}` is a list whose elements have no names; \
                         use `{parent}[N]` or `{parent}[*]`"
                    ));
                }
                check_known_name(&parent, key, names)?;
                &items[0]
            }
            (Segment::Index(n), Value::Array(items)) => {
                shown = format!("{shown}[{n}]");
                if parent == "calls" && *n >= names.calls.len() {
                    return Err(format!(
                        "`{shown}` cannot exist: the scenario places {} call(s)",
                        names.calls.len()
                    ));
                }
                &items[0]
            }
            (Segment::All, Value::Array(items)) => {
                shown = format!("{shown}[*]");
                &items[0]
            }
            (segment, _) => {
                let what = match segment {
                    Segment::Key(k) => format!("no field `{k}`"),
                    Segment::Index(_) | Segment::All => "no elements".to_string(),
                };
                let kind = if here.is_array() {
                    "a list"
                } else {
                    "a single value"
                };
                return Err(format!("`{parent}` is {kind}, so it has {what}"));
            }
        };
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn unknown_key(shown: &str, map: &serde_json::Map<String, Value>) -> String {
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    format!(
        "`{shown}` cannot exist in a transcript (available here: {})",
        keys.join(", ")
    )
}

/// `calls.NAME` and `tenants.SLUG` must name a call or tenant the scenario declares.
fn check_known_name(parent: &str, key: &str, names: &Names<'_>) -> Result<(), String> {
    let (known, what) = match parent {
        "calls" => (names.calls, "call"),
        "tenants" => (names.tenants, "tenant"),
        _ => return Ok(()),
    };
    if known.iter().any(|k| k == key) {
        Ok(())
    } else {
        Err(format!(
            "`{parent}.{key}`: the scenario has no {what} named `{key}` ({what}s: {})",
            known.join(", ")
        ))
    }
}

fn sample() -> Value {
    let transcript = Transcript {
        scenario: String::new(),
        seed: 0,
        target: String::new(),
        tenants: BTreeMap::from([(ANY_KEY.to_string(), sample_tenant())]),
        tenant_changes: vec![TenantChangeRecord {
            at_ms: 0,
            tenant: String::new(),
            revision: 1,
            http_status: Some(200),
        }],
        calls: vec![sample_call()],
        ai: AiSummary {
            sessions: vec![sample_session()],
            responses: vec![ResponseSummary {
                session: 0,
                call: Some(String::new()),
                at_ms: 0,
                trigger: String::new(),
                instructions: String::new(),
                prompt_source: String::new(),
                status: String::new(),
                tool_call: Some(String::new()),
            }],
            open_sessions: 0,
        },
        server: ServerSummary {
            residual_state: json!({ ANY_TREE: true }),
        },
        simulated_ms: 0,
        invariants: vec![Finding {
            invariant: String::new(),
            call: Some(String::new()),
            at_ms: 0,
            message: String::new(),
            waived: Some(String::new()),
        }],
    };
    serde_json::to_value(transcript).unwrap_or(Value::Null)
}

fn sample_tenant() -> TenantState {
    TenantState {
        business_name: String::new(),
        inbound_prompt: String::new(),
        outbound_prompt: String::new(),
        greeting: Some(String::new()),
    }
}

fn sample_call() -> CallSummary {
    CallSummary {
        name: ANY_KEY.to_string(),
        tenant: String::new(),
        direction: String::new(),
        call_sid: String::new(),
        status: String::new(),
        duration_secs: Some(0),
        started_at_ms: 0,
        ended_at_ms: Some(0),
        webhooks: vec![WebhookSummary {
            at_ms: 0,
            url: String::new(),
            fallback: false,
            signed: true,
            http_status: Some(200),
            error_code: Some(0),
        }],
        stream: Some(StreamSummary {
            stream_sid: String::new(),
            url: String::new(),
            custom_parameters: BTreeMap::from([(ANY_KEY.to_string(), String::new())]),
            handshake_status: Some(101),
            connected_at_ms: Some(0),
            ended_at_ms: Some(0),
            ended_by: Some(String::new()),
            marks_sent: 0,
            marks_echoed: 0,
            clears_at_ms: vec![0],
            audio_heard_ms: 0,
            warnings: vec![0],
        }),
        status_callbacks: vec![String::new()],
        errors: vec![0],
        ai_sessions: vec![0],
        instructions: Some(String::new()),
        prompt_source: String::new(),
        direction_mixup: false,
    }
}

fn sample_session() -> SessionSummary {
    SessionSummary {
        index: 0,
        call: Some(String::new()),
        opened_at_ms: 0,
        closed_at_ms: Some(0),
        lifetime_ms: Some(0),
        closed_by: Some(String::new()),
        close_code: Some(0),
        instructions: String::new(),
        prompt_source: String::new(),
        updates: vec![UpdateSummary {
            at_ms: 0,
            accepted: true,
            error: Some(String::new()),
            prompt_source: String::new(),
            input_format: String::new(),
            output_format: String::new(),
        }],
        responses: 0,
        truncates: vec![TruncateSummary {
            at_ms: 0,
            audio_end_ms: 0,
            item_audio_ms: Some(0),
            error: Some(String::new()),
        }],
        errors_sent: vec![String::new()],
        audio_received_s: 0,
        dialect: Some(String::new()),
        appends: vec![AppendSummary {
            at_ms: 0,
            source: String::new(),
            prompt_source: String::new(),
            injected_at_ms: Some(0),
        }],
        // Raw JSON as the server sent it: any path below it can exist.
        config: Some(json!({ ANY_TREE: null })),
    }
}

#[cfg(test)]
mod tests {
    use super::super::path::parse_path;
    use super::*;

    fn check(path: &str) -> Result<(), String> {
        let calls = ["caller".to_string(), "callee".to_string()];
        let tenants = ["acme".to_string()];
        let names = Names {
            calls: &calls,
            tenants: &tenants,
        };
        check_path(&parse_path(path).unwrap(), &names)
    }

    #[test]
    fn paths_the_bundled_scenarios_use_can_exist() {
        for path in [
            "calls.caller.status",
            "calls[*].webhooks[0].http_status",
            "calls[1].stream",
            "calls.callee.stream.custom_parameters.tenant",
            "ai.sessions[*].updates[*].accepted",
            "ai.sessions[0].truncates[0].error",
            "ai.responses[1].tool_call",
            "ai.open_sessions",
            "server.residual_state",
            "server.residual_state.streams.count",
            "tenants.acme.inbound_prompt",
        ] {
            assert_eq!(check(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn paths_that_cannot_exist_say_why() {
        let cases = [
            ("calls.caller.stauts", "`calls.caller.stauts` cannot exist"),
            (
                "calls.calller.status",
                "no call named `calller` (calls: caller, callee)",
            ),
            ("calls[2].status", "places 2 call(s)"),
            ("ai.sessions.first", "elements have no names"),
            (
                "ai.open_sessions.count",
                "is a single value, so it has no field `count`",
            ),
            (
                "calls.caller.status[0]",
                "is a single value, so it has no elements",
            ),
            ("tenants.globex.inbound_prompt", "no tenant named `globex`"),
        ];
        for (path, expected) in cases {
            let err = check(path).unwrap_err();
            assert!(err.contains(expected), "{path}: {err}");
        }
    }
}
