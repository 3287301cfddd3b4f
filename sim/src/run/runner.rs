//! Plays one scenario in four stages: start the fakes (the mock AI, the fake Twilio REST API and
//! the fault endpoint), start or reach the target, play the calls, collect what every part
//! recorded.
//!
//! In-process runs happen on one current-thread tokio runtime whose clock is paused, so the
//! timers of the reference server, the mock AI and the fake Twilio advance together and a
//! two-hour call takes seconds of wall time. External targets run in real time.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::artifacts::RunArtifacts;
use super::collect::{order_records, residual_state};
use super::error::HarnessError;
use super::fakes::{Shutdown, bind, loopback, start_fault_endpoint, start_mock_ai, start_rest_api};
use super::in_process::{FakePorts, start_reference_server};
use super::play::play;
use super::target::{Endpoints, Target};
use super::wiring::FAULTS_PUBLIC_URL;
use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::net::{HttpClient, Network};
use crate::realtime::Ledger;
use crate::scenario::plan::{ClockMode, Plan, Prebuild};
use crate::twilio::{TwilioEnv, UrlMap};

/// Runs one scenario to completion and returns what was recorded.
pub async fn run_plan(plan: &Plan, target: &Target) -> Result<RunArtifacts, HarnessError> {
    if plan.clock == ClockMode::Virtual && matches!(target, Target::External(_)) {
        // External servers cannot share our paused clock; the scenario runs in real time.
        tracing::debug!("external target: running `{}` in real time", plan.name);
    }
    let clock = SimClock::start_default();
    let ids = IdGen::new(plan.seed);
    let network = Network::new(target.transport());
    let (stop_tx, stop_rx) = watch::channel(false);
    let shutdown = Shutdown(stop_rx);
    let mut servers: Vec<JoinHandle<()>> = Vec::new();

    // Stage 1: the fakes.
    let (ai_addr, twilio_addr) = match target {
        Target::InProcess { .. } => (loopback(), loopback()),
        Target::External(t) => (t.ai_listen, t.twilio_listen),
    };
    let ai_listener = bind(&network, "the mock AI", ai_addr).await?;
    let ai_port = ai_listener.port();
    let ledger = Ledger::default();
    servers.push(start_mock_ai(
        plan,
        ai_listener,
        clock,
        &ids,
        &ledger,
        shutdown.clone(),
    ));
    let rest_listener = bind(&network, "the fake Twilio REST API", twilio_addr).await?;
    let rest_port = rest_listener.port();
    let fault_listener = bind(&network, "the fault endpoint", loopback()).await?;
    let fault_port = fault_listener.port();
    servers.push(start_fault_endpoint(fault_listener, shutdown.clone()));

    // Stage 2: the target.
    let (endpoints, target_task) = start_target(
        target,
        &network,
        plan.reference_server.prebuild,
        ai_port,
        rest_port,
        &shutdown,
    )
    .await?;
    servers.extend(target_task);
    let env = twilio_env(&endpoints, fault_port, clock, &ids).with_network(network.clone());
    servers.push(start_rest_api(plan, rest_listener, &env, shutdown.clone()));

    // Stage 3: play.
    let http = HttpClient::new(&network).with_timeout(Duration::from_secs(10));
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

    // Stage 4: collect.
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
        panics: Vec::new(),
        declared: target.declarations(),
    })
}

/// Starts the in-process reference server, or answers an external target's endpoints.
async fn start_target(
    target: &Target,
    network: &Network,
    prebuild: Prebuild,
    ai_port: u16,
    rest_port: u16,
    shutdown: &Shutdown,
) -> Result<(Endpoints, Option<JoinHandle<()>>), HarnessError> {
    match target {
        Target::InProcess {
            profile,
            validate_signatures,
            bugs,
            transport: _,
        } => {
            let (endpoints, task) = start_reference_server(
                network,
                *profile,
                *validate_signatures,
                bugs,
                prebuild,
                FakePorts {
                    ai: ai_port,
                    rest: rest_port,
                },
                shutdown.clone(),
            )
            .await?;
            Ok((endpoints, Some(task)))
        }
        Target::External(t) => Ok((t.endpoints.clone(), None)),
    }
}

/// The fake Twilio, signing with the target's credentials and dialling public URLs where the
/// target really listens.
fn twilio_env(endpoints: &Endpoints, fault_port: u16, clock: SimClock, ids: &IdGen) -> TwilioEnv {
    let mut url_map =
        UrlMap::new().with(FAULTS_PUBLIC_URL, &format!("http://127.0.0.1:{fault_port}"));
    for (from, to) in &endpoints.rewrites {
        url_map = url_map.with(from, to);
    }
    TwilioEnv::new(
        &endpoints.account_sid,
        &endpoints.auth_token,
        clock,
        ids.fork("twilio"),
    )
    .with_url_map(url_map)
}
