//! Starting the fakes a run needs: the mock AI, the fake Twilio REST API and callsim's fault
//! endpoint, each a server on its own listener that stops on the run's shutdown signal.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::error::HarnessError;
use super::wiring::{callee_for, script_for};
use crate::capture::Capture;
use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::net::{NetListener, Network};
use crate::realtime::{self, Ledger, MockConfig};
use crate::scenario::plan::{CallDirection, Plan};
use crate::twilio::{self, TwilioEnv};

/// The shutdown signal shared by every server a run starts.
#[derive(Clone)]
pub(crate) struct Shutdown(pub(crate) watch::Receiver<bool>);

impl Shutdown {
    pub(crate) async fn wait(mut self) {
        // A closed channel also means shutdown: the run is over either way.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

pub(crate) async fn bind(
    network: &Network,
    what: &'static str,
    addr: SocketAddr,
) -> Result<NetListener, HarnessError> {
    network
        .bind(addr)
        .await
        .map_err(|source| HarnessError::Bind { what, addr, source })
}

pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Starts the mock AI on `listener`, recording into `ledger`.
pub(crate) fn start_mock_ai(
    plan: &Plan,
    listener: NetListener,
    clock: SimClock,
    ids: &IdGen,
    ledger: &Ledger,
    shutdown: Shutdown,
    capture: &Capture,
) -> JoinHandle<()> {
    let mut mock = MockConfig::new(clock, ids.fork("ai"));
    mock.ledger = ledger.clone();
    mock.capture = capture.clone();
    mock.script = Arc::new(script_for(plan));
    mock.max_session = plan.ai.max_session;
    if let Some(pace) = plan.ai.audio_pace {
        mock.audio_pace = pace;
    }
    tokio::spawn(async move {
        if let Err(err) = realtime::run(listener, mock, shutdown.wait()).await {
            tracing::error!("mock AI stopped: {err}");
        }
    })
}

/// Starts callsim's fault endpoint, which answers an error status or never answers.
pub(crate) fn start_fault_endpoint(listener: NetListener, shutdown: Shutdown) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, fault_router())
            .with_graceful_shutdown(shutdown.wait())
            .await;
    })
}

/// Starts the fake Twilio REST API, which plays outbound calls with the callee each scenario
/// call describes.
pub(crate) fn start_rest_api(
    plan: &Plan,
    listener: NetListener,
    env: &TwilioEnv,
    shutdown: Shutdown,
) -> JoinHandle<()> {
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
            script: twilio::CallerScript {
                steps: Vec::new(),
                hangup_at: Some(Duration::from_secs(5)),
            },
            stream_connect_delay: Duration::ZERO,
            faults: twilio::CallFaults::default(),
        },
    };
    tokio::spawn(async move {
        if let Err(err) = twilio::rest::serve(listener, rest_state, shutdown.wait()).await {
            tracing::error!("fake Twilio REST API stopped: {err}");
        }
    })
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
