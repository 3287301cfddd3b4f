//! Plays one scenario: starts the mock AI, the fake Twilio REST API and (in-process) the target,
//! provisions tenants, plays the calls concurrently, then collects what every part recorded.
//!
//! In-process runs happen on one current-thread tokio runtime whose clock is paused, so the
//! timers of the reference server, the mock AI and the fake Twilio advance together and a
//! two-hour call takes seconds of wall time. External targets run in real time.

use axum::serve::ListenerExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::inputs::{Endpoints, FAULTS_PUBLIC_URL, callee_for, inbound_spec, script_for};
use super::plan::{CallDirection, ClockMode, Plan, TenantPlan};
use super::target::{
    DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_FIXTURE_TOKEN, DEFAULT_OPENAI_KEY,
    IN_PROCESS_PUBLIC_URL, Target,
};
use super::transcript_builder::{RunArtifacts, TenantRevision};
use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::realtime::{self, Ledger, MockConfig};
use crate::twilio::{self, CallRecord, TwilioEnv, UrlMap};

/// Why a scenario could not be run (as opposed to: it ran and an assertion failed).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A listener could not be bound.
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        /// Which component.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The in-process reference server could not start.
    #[error("cannot start the reference server: {0}")]
    Server(String),
    /// The target refused or failed tenant provisioning.
    #[error("tenant provisioning failed for `{tenant}` at {url}: {reason}")]
    Provision {
        /// Tenant.
        tenant: String,
        /// URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The scenario exceeded its time budget.
    #[error("scenario did not finish within {0:?} (calls still in flight: {1})")]
    Timeout(Duration, usize),
}

/// The shutdown signal shared by every server a run starts.
#[derive(Clone)]
struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    async fn wait(mut self) {
        // A closed channel also means shutdown: the run is over either way.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, HarnessError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HarnessError::Bind { what, addr, source })
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Runs one scenario to completion and returns what was recorded.
pub async fn run_plan(plan: &Plan, target: &Target) -> Result<RunArtifacts, HarnessError> {
    if plan.clock == ClockMode::Virtual && matches!(target, Target::External(_)) {
        // External servers cannot share our paused clock; the scenario runs in real time.
        tracing::debug!("external target: running `{}` in real time", plan.name);
    }
    let clock = SimClock::start_default();
    let ids = IdGen::new(plan.seed);
    let (stop_tx, stop_rx) = watch::channel(false);
    let shutdown = Shutdown(stop_rx);
    let mut servers: Vec<JoinHandle<()>> = Vec::new();

    // The mock AI.
    let (ai_addr, twilio_addr) = match target {
        Target::InProcess { .. } => (loopback(), loopback()),
        Target::External(t) => (t.ai_listen, t.twilio_listen),
    };
    let ai_listener = bind("the mock AI", ai_addr).await?;
    let ai_port = ai_listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_default();
    let ledger = Ledger::default();
    let mut mock = MockConfig::new(clock, ids.fork("ai"));
    mock.ledger = ledger.clone();
    mock.script = Arc::new(script_for(plan));
    mock.max_session = plan.ai.max_session;
    {
        let sd = shutdown.clone();
        servers.push(tokio::spawn(async move {
            if let Err(err) = realtime::run(ai_listener, mock, sd.wait()).await {
                tracing::error!("mock AI stopped: {err}");
            }
        }));
    }

    // The fake Twilio REST API.
    let rest_listener = bind("the fake Twilio REST API", twilio_addr).await?;
    let rest_port = rest_listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_default();

    // callsim's fault endpoint for webhook faults.
    let fault_listener = bind("the fault endpoint", loopback()).await?;
    let fault_port = fault_listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_default();
    {
        let sd = shutdown.clone();
        servers.push(tokio::spawn(async move {
            let _ = axum::serve(
                fault_listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                }),
                fault_router(),
            )
            .with_graceful_shutdown(sd.wait())
            .await;
        }));
    }

    // The target.
    let endpoints = match target {
        Target::InProcess {
            profile,
            validate_signatures,
        } => {
            let listener = bind("the reference server", loopback()).await?;
            let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
            let mut config = server_under_test::Config::for_tests(
                IN_PROCESS_PUBLIC_URL,
                DEFAULT_AUTH_TOKEN,
                &format!("ws://127.0.0.1:{ai_port}/v1/realtime?model=gpt-realtime"),
            );
            config.profile = *profile;
            config.twilio_account_sid = Some(DEFAULT_ACCOUNT_SID.to_string());
            config.twilio_api_base = format!("http://127.0.0.1:{rest_port}");
            config.openai_api_key = Some(DEFAULT_OPENAI_KEY.to_string());
            config.fixture_token = Some(DEFAULT_FIXTURE_TOKEN.to_string());
            config.insecure_skip_signature_validation = !validate_signatures;
            let state = server_under_test::AppState::new(config)
                .map_err(|e| HarnessError::Server(e.to_string()))?;
            let sd = shutdown.clone();
            servers.push(tokio::spawn(async move {
                if let Err(err) =
                    server_under_test::serve_with_state(listener, state, sd.wait()).await
                {
                    tracing::error!("reference server stopped: {err}");
                }
            }));
            let base = format!("http://127.0.0.1:{port}");
            Endpoints {
                base_url: base.clone(),
                public_url: IN_PROCESS_PUBLIC_URL.to_string(),
                incoming_path: "/twiml/incoming/{tenant}".into(),
                place_call_path: "/calls/outbound".into(),
                status_callback_path: "/status/call".into(),
                fixture_url: Some(base.clone()),
                fixture_token: Some(DEFAULT_FIXTURE_TOKEN.into()),
                account_sid: DEFAULT_ACCOUNT_SID.into(),
                auth_token: DEFAULT_AUTH_TOKEN.into(),
                rewrites: vec![
                    (IN_PROCESS_PUBLIC_URL.into(), base.clone()),
                    (
                        "wss://callsim.test".into(),
                        format!("ws://127.0.0.1:{port}"),
                    ),
                ],
            }
        }
        Target::External(t) => Endpoints {
            base_url: t.base_url.clone(),
            public_url: t.public_url.clone(),
            incoming_path: t.incoming_path.clone(),
            place_call_path: t.place_call_path.clone(),
            status_callback_path: t.status_callback_path.clone(),
            fixture_url: t.fixture_url.clone(),
            fixture_token: t.fixture_token.clone(),
            account_sid: t.twilio_account_sid.clone(),
            auth_token: t.twilio_auth_token.clone(),
            rewrites: t.rewrites.clone(),
        },
    };

    let mut url_map =
        UrlMap::new().with(FAULTS_PUBLIC_URL, &format!("http://127.0.0.1:{fault_port}"));
    for (from, to) in &endpoints.rewrites {
        url_map = url_map.with(from, to);
    }
    let env = TwilioEnv::new(
        &endpoints.account_sid,
        &endpoints.auth_token,
        clock,
        ids.fork("twilio"),
    )
    .with_url_map(url_map);

    // The REST fake plays outbound calls with the callee each scenario call describes.
    let mut callees = BTreeMap::new();
    for call in plan
        .calls
        .iter()
        .filter(|c| c.direction == CallDirection::Outbound)
    {
        callees.insert(call.to.clone(), callee_for(call));
    }
    let rest_state = twilio::RestState {
        env: env.clone(),
        callees,
        default_callee: twilio::CalleeBehaviour {
            label: "unexpected-outbound-call".into(),
            ring: Duration::from_secs(1),
            answer: twilio::CalleeAnswer::Answer,
            caller: twilio::CallerScript {
                steps: Vec::new(),
                hangup_at: Some(Duration::from_secs(5)),
            },
            stream_connect_delay: Duration::ZERO,
            faults: twilio::CallFaults::default(),
        },
    };
    {
        let sd = shutdown.clone();
        servers.push(tokio::spawn(async move {
            if let Err(err) = twilio::rest::serve(rest_listener, rest_state, sd.wait()).await {
                tracing::error!("fake Twilio REST API stopped: {err}");
            }
        }));
    }

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();

    let budget = match target {
        Target::External(t) => t.scenario_timeout.unwrap_or(plan.timeout),
        Target::InProcess { .. } => plan.timeout,
    };
    let played = tokio::time::timeout(budget, play(plan, &endpoints, &env, &http, &ledger)).await;

    let outcome = match played {
        Ok(result) => result,
        Err(_) => Err(HarnessError::Timeout(budget, env.recorder.in_flight())),
    };
    let (revisions, change_statuses) = match outcome {
        Ok(v) => v,
        Err(e) => {
            let _ = stop_tx.send(true);
            return Err(e);
        }
    };

    let residual = residual_state(&endpoints, &http, &ledger).await;
    let simulated_ms = clock.elapsed_ms();
    let _ = stop_tx.send(true);
    for server in servers {
        // Servers stop on the signal; a stuck one must not hold the run.
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    }

    Ok(RunArtifacts {
        calls: order_records(plan, env.recorder.records()),
        sessions: ledger.sessions(),
        open_sessions: ledger.open_sessions(),
        residual,
        revisions,
        change_statuses,
        simulated_ms,
        target: target.describe(),
    })
}

/// Plays the calls and tenant changes, waits for every call to end and for the server to let go
/// of its AI sockets.
async fn play(
    plan: &Plan,
    endpoints: &Endpoints,
    env: &TwilioEnv,
    http: &reqwest::Client,
    ledger: &Ledger,
) -> Result<(Vec<TenantRevision>, Vec<(u64, Option<u16>)>), HarnessError> {
    for (slug, tenant) in &plan.tenants {
        provision(endpoints, http, slug, tenant).await?;
    }
    let mut revisions: Vec<TenantRevision> = plan
        .tenants
        .iter()
        .map(|(slug, t)| TenantRevision {
            tenant: slug.clone(),
            revision: 1,
            settings: t.clone(),
        })
        .collect();

    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for call in &plan.calls {
        let call = call.clone();
        let env = env.clone();
        let http = http.clone();
        let spec = inbound_spec(&call, endpoints);
        let place_url = format!("{}{}", endpoints.base_url, endpoints.place_call_path);
        // Each task answers the name of the outbound call it got the server to place, if any.
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
    // Outbound calls are played by the REST fake in tasks of its own: wait until every call the
    // server placed has reached the fake Twilio and every call has ended. A call the server
    // refused to place never will; the transcript reports it as `not-placed`.
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
    // Give the server a moment to tear down its AI sockets, as it would after a real hang-up.
    for _ in 0..50 {
        if ledger.open_sessions() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((revisions, change_statuses))
}

async fn provision(
    endpoints: &Endpoints,
    http: &reqwest::Client,
    slug: &str,
    tenant: &TenantPlan,
) -> Result<u16, HarnessError> {
    let Some(base) = &endpoints.fixture_url else {
        // Pre-provisioned tenants (a vendor's target file lists no fixture API): nothing to do,
        // and no HTTP status to report.
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
    Ok(resp.status().as_u16())
}

async fn residual_state(endpoints: &Endpoints, http: &reqwest::Client, ledger: &Ledger) -> Value {
    let mut leftovers = serde_json::Map::new();
    if let Some(base) = &endpoints.fixture_url {
        let mut req = http.get(format!("{base}/fixtures/state"));
        if let Some(token) = &endpoints.fixture_token {
            req = req.bearer_auth(token);
        }
        if let Ok(resp) = req.send().await
            && resp.status().is_success()
            && let Ok(Value::Object(state)) = resp.json::<Value>().await
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

fn fault_router() -> axum::Router {
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::any;
    axum::Router::new()
        .route(
            "/status/{code}",
            any(|Path(code): Path<u16>| async move {
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }),
        )
        .route(
            "/hang",
            any(|| async {
                // Longer than Twilio's 15 s webhook timeout: the request never gets an answer.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                StatusCode::OK
            }),
        )
}

/// Records in scenario order (calls the scenario never saw, e.g. unexpected outbound calls,
/// come last in label order).
fn order_records(plan: &Plan, mut records: Vec<CallRecord>) -> Vec<CallRecord> {
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
