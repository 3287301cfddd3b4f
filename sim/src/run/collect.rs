//! Collecting what a run left: the server's residual state and the call records in scenario
//! order.

use serde_json::{Value, json};

use super::target::Endpoints;
use crate::net::HttpClient;
use crate::realtime::Ledger;
use crate::scenario::plan::Plan;
use crate::twilio::CallRecord;

pub(crate) async fn residual_state(
    endpoints: &Endpoints,
    http: &HttpClient,
    ledger: &Ledger,
) -> Value {
    let mut leftovers = serde_json::Map::new();
    if let Some(base) = &endpoints.fixture_url {
        let mut req = http.get(format!("{base}/fixtures/state"));
        if let Some(token) = &endpoints.fixture_token {
            req = req.bearer_auth(token);
        }
        if let Ok(resp) = req.send().await
            && resp.status().is_success()
            && let Ok(Value::Object(state)) = resp.json::<Value>()
        {
            for (k, v) in state {
                // The prompt cache is meant to outlive calls; everything else is per call.
                if k != "prompt_cache_entries" && v.as_u64().is_some_and(|n| n > 0) {
                    leftovers.insert(k, v);
                }
            }
        }
    }
    let open = ledger.open_sessions();
    if open > 0 {
        leftovers.insert("ai_sockets_open".into(), json!(open));
    }
    if leftovers.is_empty() {
        json!("none")
    } else {
        Value::Object(leftovers)
    }
}

/// Records in scenario order (calls the scenario never saw, e.g. unexpected outbound calls,
/// come last in label order).
pub(crate) fn order_records(plan: &Plan, mut records: Vec<CallRecord>) -> Vec<CallRecord> {
    let pos = |label: &str| {
        plan.calls
            .iter()
            .position(|c| c.name == label)
            .unwrap_or(usize::MAX)
    };
    records.sort_by(|a, b| {
        (pos(&a.label), &a.label, a.started_at_ms).cmp(&(pos(&b.label), &b.label, b.started_at_ms))
    });
    records
}
