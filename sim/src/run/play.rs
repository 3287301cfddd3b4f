//! Playing a scenario against a started target: provisioning tenants, placing the calls at
//! their times, applying tenant edits, and waiting until every call has ended and the server has
//! let go of its AI sockets.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinHandle;

use super::artifacts::TenantRevision;
use super::error::HarnessError;
use super::target::{Endpoints, TenantSetup};
use super::wiring::inbound_spec;
use crate::net::HttpClient;
use crate::realtime::Ledger;
use crate::scenario::plan::{CallDirection, Plan, TenantPlan};
use crate::twilio::{self, TwilioEnv};

/// What playing produced besides the fakes' records: every tenant revision, and the time and
/// HTTP status of each tenant change.
pub(crate) type Played = (Vec<TenantRevision>, Vec<(u64, Option<u16>)>);

/// Plays the calls and tenant changes, waits for every call to end and for the server to let go
/// of its AI sockets.
pub(crate) async fn play(
    plan: &Plan,
    endpoints: &Endpoints,
    env: &TwilioEnv,
    http: &HttpClient,
    ledger: &Ledger,
) -> Result<Played, HarnessError> {
    if let (TenantSetup::Preprovisioned, Some(change)) =
        (endpoints.tenants, plan.tenant_changes.first())
    {
        return Err(HarnessError::Unsupported(format!(
            "the scenario edits tenant `{}` at {:?}, but the target's tenants are \
             pre-provisioned: a tenant edit needs callsim to provision tenants through the \
             fixture API (`fixtures:` in the target file, without `tenants: preprovisioned`)",
            change.tenant, change.at
        )));
    }
    provision_tenants(plan, endpoints, http).await?;
    let prompts = &endpoints.server_prompts;
    let mut revisions: Vec<TenantRevision> = plan
        .tenants
        .iter()
        .map(|(slug, t)| TenantRevision {
            tenant: slug.clone(),
            revision: 1,
            settings: prompts.settings_for(slug, t),
        })
        .collect();

    let start = tokio::time::Instant::now();
    let tasks = place_calls(plan, endpoints, env, http, start);
    let mut change_statuses = Vec::new();
    let mut next_revision: BTreeMap<String, u32> = BTreeMap::new();
    for change in &plan.tenant_changes {
        tokio::time::sleep_until(start + change.at).await;
        let status = provision(endpoints, http, &change.tenant, &change.after).await;
        let rev = next_revision.entry(change.tenant.clone()).or_insert(1);
        *rev += 1;
        revisions.push(TenantRevision {
            tenant: change.tenant.clone(),
            revision: *rev,
            settings: change.after.clone(),
        });
        match status {
            Ok(code) => change_statuses.push((env.clock.elapsed_ms(), Some(code))),
            Err(err) => {
                tracing::warn!("{err}");
                change_statuses.push((env.clock.elapsed_ms(), None));
            }
        }
    }
    let mut placed = Vec::new();
    for task in tasks {
        if let Ok(Some(name)) = task.await {
            placed.push(name);
        }
    }
    wait_until_calls_end(env, ledger, &placed).await;
    Ok((revisions, change_statuses))
}

/// Starts every call at its time: inbound calls through the fake Twilio, outbound calls by asking
/// the server to place them. Each task answers the name of the outbound call it got the server
/// to place, if any.
fn place_calls(
    plan: &Plan,
    endpoints: &Endpoints,
    env: &TwilioEnv,
    http: &HttpClient,
    start: tokio::time::Instant,
) -> Vec<JoinHandle<Option<String>>> {
    let mut tasks = Vec::new();
    for call in &plan.calls {
        let call = call.clone();
        let env = env.clone();
        let http = http.clone();
        let spec = inbound_spec(&call, endpoints);
        let place_url = format!("{}{}", endpoints.base_url, endpoints.place_call_path);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start + call.start).await;
            match call.direction {
                CallDirection::Inbound => {
                    twilio::play_call(&env, spec).await;
                    None
                }
                CallDirection::Outbound => {
                    let body = json!({"tenant": call.tenant, "to": call.to, "from": call.from});
                    match http.post(&place_url).json(&body).send().await {
                        Ok(resp) if resp.status().is_success() => Some(call.name),
                        Ok(resp) => {
                            tracing::warn!(
                                "outbound call `{}` refused by the server: HTTP {}",
                                call.name,
                                resp.status()
                            );
                            None
                        }
                        Err(err) => {
                            tracing::warn!("outbound call `{}` failed: {err}", call.name);
                            None
                        }
                    }
                }
            }
        }));
    }
    tasks
}

/// Outbound calls are played by the REST fake in tasks of its own: waits until every call the
/// server placed has reached the fake Twilio and every call has ended (a call the server refused
/// to place never will; the transcript reports it as `not-placed`), then gives the server a
/// moment to tear down its AI sockets, as it would after a real hang-up.
async fn wait_until_calls_end(env: &TwilioEnv, ledger: &Ledger, placed: &[String]) {
    loop {
        let records = env.recorder.records();
        let created = placed
            .iter()
            .all(|name| records.iter().any(|r| r.label == *name));
        if created && env.recorder.in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..50 {
        if ledger.open_sessions() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Provisions every tenant of `plan` that asks for it through the target's fixture API (what a
/// load test does once before its calls).
pub async fn provision_tenants(
    plan: &Plan,
    endpoints: &Endpoints,
    http: &HttpClient,
) -> Result<(), HarnessError> {
    for (slug, tenant) in plan.tenants.iter().filter(|(_, t)| t.provision) {
        provision(endpoints, http, slug, tenant).await?;
    }
    Ok(())
}

async fn provision(
    endpoints: &Endpoints,
    http: &HttpClient,
    slug: &str,
    tenant: &TenantPlan,
) -> Result<u16, HarnessError> {
    let (TenantSetup::Fixtures, Some(base)) = (endpoints.tenants, &endpoints.fixture_url) else {
        // Pre-provisioned tenants (the target file gives no fixture API, or says
        // `tenants: preprovisioned`): nothing to do, and no HTTP status to report.
        return Ok(0);
    };
    let url = format!("{base}/fixtures/tenants/{slug}");
    let mut body = json!({
        "business_name": tenant.business_name,
        "inbound_prompt": tenant.inbound_prompt,
        "outbound_prompt": tenant.outbound_prompt,
    });
    if let Some(g) = &tenant.greeting {
        body["greeting"] = json!(g);
    }
    if let Some(v) = &tenant.voice {
        body["voice"] = json!(v);
    }
    // Sent only when the scenario gives numbers, so a target without number support still
    // accepts every scenario that does not use them.
    if !tenant.numbers.is_empty() {
        body["numbers"] = json!(tenant.numbers);
    }
    let mut req = http.put(&url).json(&body);
    if let Some(token) = &endpoints.fixture_token {
        req = req.bearer_auth(token);
    }
    let fail = |reason: String| HarnessError::Provision {
        tenant: slug.to_string(),
        url: url.clone(),
        reason,
    };
    let resp = req.send().await.map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status())));
    }
    for (phone, notes) in &tenant.contacts {
        // `+` in a path is literal, but encoded it survives every router's decoding the same way.
        let contact_url = format!("{url}/contacts/{}", phone.replace('+', "%2B"));
        let mut req = http.put(&contact_url).json(&json!({ "notes": notes }));
        if let Some(token) = &endpoints.fixture_token {
            req = req.bearer_auth(token);
        }
        let answer = req.send().await.map_err(|e| fail(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(fail(format!("contact {phone}: HTTP {}", answer.status())));
        }
    }
    Ok(resp.status().as_u16())
}
