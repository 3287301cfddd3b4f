//! Plays one scenario in four stages: start the fakes (the mock AI, the fake Twilio REST API and
//! the fault endpoint), start or reach the target, play the calls, collect what every part
//! recorded.
//!
//! In-process runs happen on one current-thread tokio runtime whose clock is paused, so the
//! timers of the reference server, the mock AI and the fake Twilio advance together and a
//! two-hour call takes seconds of wall time. External targets run in real time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::artifacts::RunArtifacts;
use super::collect::{order_records, residual_state};
use super::error::HarnessError;
use super::fakes::{Shutdown, bind, loopback, start_fault_endpoint, start_mock_ai, start_rest_api};
use super::in_process::{FakePorts, start_reference_server};
use super::play::{Played, play};
use super::target::{Endpoints, Target};
use super::wiring::FAULTS_PUBLIC_URL;
use crate::capture::Capture;
use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::net::{FaultyLink, HttpClient, LinkFaults, NetListener, Network};
use crate::realtime::Ledger;
use crate::scenario::plan::{AiDialect, ClockMode, LinkFaultPlan, Plan, Prebuild};
use crate::twilio::{TwilioEnv, UrlMap};

/// Runs one scenario to completion and returns what was recorded.
pub async fn run_plan(
    plan: &Plan,
    target: &Target,
    capture: &Capture,
) -> Result<RunArtifacts, HarnessError> {
    if plan.clock == ClockMode::Virtual && matches!(target, Target::External(_)) {
        // External servers cannot share our paused clock; the scenario runs in real time.
        tracing::debug!("external target: running `{}` in real time", plan.name);
    }
    let clock = SimClock::start_default();
    let capture = capture.scoped(&plan.name, clock);
    let ids = IdGen::new(plan.seed);
    let network = Network::new(target.transport());
    let links = FaultyLinks::new(plan, target, clock, &ids)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let shutdown = Shutdown(stop_rx);
    let mut servers: Vec<JoinHandle<()>> = Vec::new();

    // Stage 1: the fakes.
    let StartedFakes {
        ledger,
        ai_port,
        rest_listener,
        rest_port,
        fault_port,
        tasks,
    } = start_fakes(plan, target, &network, clock, &ids, &shutdown, &capture).await?;
    servers.extend(tasks);

    // Stage 2: the target.
    let fakes = FakePorts {
        ai: ai_port,
        rest: rest_port,
        ai_link: links.ai.clone(),
    };
    let (endpoints, target_task) = start_target(
        target,
        &network,
        (plan.reference_server.prebuild, plan.ai.dialect),
        fakes,
        &shutdown,
    )
    .await?;
    servers.extend(target_task);
    let twilio_network = links.twilio_network(&network, &endpoints)?;
    let env = twilio_env(&endpoints, fault_port, clock, &ids)
        .with_network(twilio_network)
        .with_capture(capture);
    servers.push(start_rest_api(plan, rest_listener, &env, shutdown.clone()));

    // Stage 3: play.
    let http = HttpClient::new(&network).with_timeout(Duration::from_secs(10));
    let outcome = play_within_budget(plan, target, &endpoints, &env, &http, &ledger).await;
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
    stop(&stop_tx, servers).await;
    Ok(RunArtifacts {
        calls: order_records(plan, env.recorder.records()),
        sessions: ledger.sessions(),
        open_sessions: ledger.open_sessions(),
        residual,
        revisions,
        prompt_names: endpoints.server_prompts.names(),
        change_statuses,
        simulated_ms,
        target: target.describe(),
        panics: Vec::new(),
        declared: target.declarations(),
    })
}

/// Signals every server of the run to stop and waits for each, boundedly: a stuck one must not
/// hold the run.
async fn stop(stop_tx: &watch::Sender<bool>, servers: Vec<JoinHandle<()>>) {
    let _ = stop_tx.send(true);
    for server in servers {
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    }
}

/// Plays the scenario within its time budget: the target file's `scenario_timeout` for a server
/// at a URL, the scenario's own otherwise.
async fn play_within_budget(
    plan: &Plan,
    target: &Target,
    endpoints: &Endpoints,
    env: &TwilioEnv,
    http: &HttpClient,
    ledger: &Ledger,
) -> Result<Played, HarnessError> {
    let budget = match target {
        Target::External(t) => t.scenario_timeout.unwrap_or(plan.timeout),
        Target::InProcess { .. } => plan.timeout,
    };
    match tokio::time::timeout(budget, play(plan, endpoints, env, http, ledger)).await {
        Ok(result) => result,
        Err(_) => Err(HarnessError::Timeout(budget, env.recorder.in_flight())),
    }
}

/// What stage 1 started: the mock AI, the fault endpoint, and the REST fake's listener (the REST
/// fake starts once the fake Twilio it plays calls with exists).
struct StartedFakes {
    ledger: Ledger,
    ai_port: u16,
    rest_listener: NetListener,
    rest_port: u16,
    fault_port: u16,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds the fakes' listeners (where an external target's file says, else any port) and starts
/// the mock AI and the fault endpoint.
async fn start_fakes(
    plan: &Plan,
    target: &Target,
    network: &Network,
    clock: SimClock,
    ids: &IdGen,
    shutdown: &Shutdown,
    capture: &Capture,
) -> Result<StartedFakes, HarnessError> {
    let (ai_addr, twilio_addr) = match target {
        Target::InProcess { .. } => (loopback(), loopback()),
        Target::External(t) => (t.ai_listen, t.twilio_listen),
    };
    let ai_listener = bind(network, "the mock AI", ai_addr).await?;
    let ai_port = ai_listener.port();
    let ledger = Ledger::default();
    let mut tasks = vec![start_mock_ai(
        plan,
        ai_listener,
        clock,
        ids,
        &ledger,
        shutdown.clone(),
        capture,
    )];
    let rest_listener = bind(network, "the fake Twilio REST API", twilio_addr).await?;
    let rest_port = rest_listener.port();
    let fault_listener = bind(network, "the fault endpoint", loopback()).await?;
    let fault_port = fault_listener.port();
    tasks.push(start_fault_endpoint(fault_listener, shutdown.clone()));
    Ok(StartedFakes {
        ledger,
        ai_port,
        rest_listener,
        rest_port,
        fault_port,
        tasks,
    })
}

/// Starts the in-process reference server, or answers an external target's endpoints.
async fn start_target(
    target: &Target,
    network: &Network,
    (prebuild, dialect): (Prebuild, AiDialect),
    fakes: FakePorts,
    shutdown: &Shutdown,
) -> Result<(Endpoints, Option<JoinHandle<()>>), HarnessError> {
    match target {
        Target::InProcess {
            profile,
            validate_signatures,
            bugs,
            transport: _,
            ai_dialect,
        } => {
            let (endpoints, task) = start_reference_server(
                network,
                *profile,
                *validate_signatures,
                bugs,
                (prebuild, ai_dialect.unwrap_or(dialect)),
                fakes,
                shutdown.clone(),
            )
            .await?;
            Ok((endpoints, Some(task)))
        }
        Target::External(t) => Ok((t.endpoints.clone(), None)),
    }
}

/// The run's faulty links (`ai_link` and `twilio_link` faults), on the memory network only.
struct FaultyLinks {
    ai: Option<Arc<FaultyLink>>,
    twilio: Option<Arc<FaultyLink>>,
}

impl FaultyLinks {
    /// The plan's links, timed from the scenario start and seeded from its seed; an error when
    /// the run's transport is TCP, whose connections callsim cannot delay or cut.
    fn new(
        plan: &Plan,
        target: &Target,
        clock: SimClock,
        ids: &IdGen,
    ) -> Result<FaultyLinks, HarnessError> {
        if plan.links.any() && !matches!(target.transport(), crate::net::Transport::Memory) {
            let how = match target {
                Target::External(_) => {
                    "an external target is always driven over TCP; run the scenario in-process"
                }
                Target::InProcess { .. } => "run without --transport tcp",
            };
            return Err(HarnessError::Unsupported(format!(
                "network faults (ai_link, twilio_link) need the memory transport; {how}"
            )));
        }
        let link = |faults: Option<LinkFaultPlan>, label: &str| {
            faults.map(|f| {
                let faults = LinkFaults {
                    latency: f.latency,
                    jitter: f.jitter,
                    stall: f.stall,
                    drop_at: f.drop_at,
                };
                FaultyLink::new(faults, clock.start(), ids.fork(label))
            })
        };
        Ok(FaultyLinks {
            ai: link(plan.links.ai, "net.ai_link"),
            twilio: link(plan.links.twilio, "net.twilio_link"),
        })
    }

    /// The network the fake Twilio plays calls on: its connections to the server go through the
    /// Twilio link when there is one; those to callsim's own fault endpoint never do.
    fn twilio_network(
        &self,
        network: &Network,
        endpoints: &Endpoints,
    ) -> Result<Network, HarnessError> {
        let Some(link) = &self.twilio else {
            return Ok(network.clone());
        };
        let port = endpoints
            .base_url
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|uri| uri.port_u16());
        port.and_then(|port| network.with_link(port, link))
            .ok_or_else(|| {
                HarnessError::Unsupported(format!(
                    "cannot put the twilio_link faults on the connections to {}",
                    endpoints.base_url
                ))
            })
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::net::Transport;
    use crate::run::target::Profile;
    use crate::scenario::load::parse_str;
    use crate::scenario::validate::build_plan;

    fn in_process(transport: Transport) -> Target {
        Target::InProcess {
            profile: Profile::Fixed,
            validate_signatures: true,
            bugs: Vec::new(),
            transport,
            ai_dialect: None,
        }
    }

    #[tokio::test]
    async fn link_faults_need_the_memory_transport_and_say_so() {
        let text = "title: t\ntenants:\n  acme: { business_name: Acme }\ncalls:\n  - { tenant: acme, \
                    direction: inbound }\nfaults:\n  - twilio_link: { stall_at: 1s, for: 1s }\n";
        let loaded = parse_str(Path::new("s.yaml"), text.to_string()).unwrap();
        let plan = build_plan(&loaded, "s").unwrap();
        let (clock, ids) = (SimClock::start_default(), IdGen::new(1));
        let err = FaultyLinks::new(&plan, &in_process(Transport::Tcp), clock, &ids)
            .err()
            .expect("refused over TCP");
        assert_eq!(
            err.to_string(),
            "network faults (ai_link, twilio_link) need the memory transport; run without \
             --transport tcp"
        );
        let links = FaultyLinks::new(&plan, &in_process(Transport::Memory), clock, &ids).unwrap();
        assert!(links.ai.is_none() && links.twilio.is_some());
    }
}
