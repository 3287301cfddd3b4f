//! The bundled reference server, started in-process for one run on the run's runtime (and so on
//! its paused clock). This is the only file of `sim` that names `server_under_test`: everywhere
//! else the reference server is a target like any other, reached through its [`Endpoints`].

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::error::HarnessError;
use super::fakes::{Shutdown, bind, loopback};
use super::server_prompts::ServerPrompts;
use super::target::{
    DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_FIXTURE_TOKEN, DEFAULT_OPENAI_KEY, Endpoints,
    IN_PROCESS_PUBLIC_URL, Profile, TenantSetup,
};
use crate::net::{FaultyLink, Network};
use crate::scenario::plan::{AiDialect, Prebuild};

/// Where the fakes the reference server talks to listen.
#[derive(Debug, Clone)]
pub(crate) struct FakePorts {
    /// The mock AI.
    pub(crate) ai: u16,
    /// The fake Twilio REST API.
    pub(crate) rest: u16,
    /// The faults on the server's connections to the mock AI (its REST calls are spared).
    pub(crate) ai_link: Option<Arc<FaultyLink>>,
}

/// The reference server's outbound connections (to the mock AI and the fake Twilio REST API)
/// go over the run's network, so an in-process run over memory pipes never touches the kernel.
#[derive(Debug)]
struct NetworkDialer(Network);

impl server_under_test::Dialer for NetworkDialer {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> server_under_test::DialFuture<'a> {
        Box::pin(async move {
            let stream = self.0.connect(host, port).await?;
            Ok(Box::new(stream) as server_under_test::BoxedConnection)
        })
    }

    fn is_tcp(&self) -> bool {
        matches!(self.0, Network::Tcp)
    }
}

/// The reference server's profile for ours.
fn server_profile(profile: Profile) -> server_under_test::Profile {
    match profile {
        Profile::Legacy => server_under_test::Profile::Legacy,
        Profile::Fixed => server_under_test::Profile::Fixed,
    }
}

/// One historical regression the reference server can reproduce (`call-server --list-bugs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceBug {
    /// Its name, as `--inject-bug` takes it.
    pub name: &'static str,
    /// The history row it reproduces.
    pub history: &'static str,
    /// What a caller experiences.
    pub symptom: &'static str,
}

/// Every regression the reference server can reproduce.
pub fn reference_bugs() -> Vec<ReferenceBug> {
    server_under_test::Bug::ALL
        .iter()
        .map(|b| ReferenceBug {
            name: b.name(),
            history: b.history(),
            symptom: b.symptom(),
        })
        .collect()
}

fn server_prebuild(prebuild: Prebuild) -> server_under_test::Prebuild {
    match prebuild {
        Prebuild::Normal => server_under_test::Prebuild::Normal,
        Prebuild::Late => server_under_test::Prebuild::Late,
        Prebuild::Absent => server_under_test::Prebuild::Absent,
    }
}

/// Starts the reference server against the mock AI on `ai_port` and the fake Twilio REST API on
/// `rest_port`; answers its endpoints and its task. Bug names were checked against
/// [`reference_bugs`] by whoever built the target; an unknown one is a harness error.
pub(crate) async fn start_reference_server(
    network: &Network,
    profile: Profile,
    validate_signatures: bool,
    bugs: &[String],
    (prebuild, dialect): (Prebuild, AiDialect),
    fakes: FakePorts,
    shutdown: Shutdown,
) -> Result<(Endpoints, JoinHandle<()>), HarnessError> {
    let FakePorts {
        ai: ai_port,
        rest: rest_port,
        ai_link,
    } = fakes;
    // The server dials through a handle that carries the AI link's faults, if any; the runner
    // checked that the transport can carry them.
    let dial_network = ai_link
        .and_then(|link| network.with_link(ai_port, &link))
        .unwrap_or_else(|| network.clone());
    let listener = bind(network, "the reference server", loopback()).await?;
    let port = listener.port();
    let mut config = server_under_test::Config::in_process(
        IN_PROCESS_PUBLIC_URL,
        DEFAULT_AUTH_TOKEN,
        &format!("ws://127.0.0.1:{ai_port}/v1/realtime?model=gpt-realtime"),
    );
    config.profile = server_profile(profile);
    config.twilio_account_sid = Some(DEFAULT_ACCOUNT_SID.to_string());
    config.twilio_api_base = format!("http://127.0.0.1:{rest_port}");
    config.openai_api_key = Some(DEFAULT_OPENAI_KEY.to_string());
    config.fixture_token = Some(DEFAULT_FIXTURE_TOKEN.to_string());
    config.insecure_skip_signature_validation = !validate_signatures;
    config.prebuild = server_prebuild(prebuild);
    config.ai_dialect = match dialect {
        AiDialect::Realtime => server_under_test::AiDialect::Realtime,
        AiDialect::Live => server_under_test::AiDialect::Live,
    };
    for name in bugs {
        let bug = server_under_test::Bug::from_name(name)
            .ok_or_else(|| HarnessError::Server(format!("unknown bug `{name}`")))?;
        config.bugs.insert(bug);
    }
    let state =
        server_under_test::AppState::with_dialer(config, Arc::new(NetworkDialer(dial_network)))
            .map_err(|e| HarnessError::Server(e.to_string()))?;
    let task = tokio::spawn(async move {
        if let Err(err) = server_under_test::serve_on(listener, state, shutdown.wait()).await {
            tracing::error!("reference server stopped: {err}");
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let endpoints = Endpoints {
        base_url: base.clone(),
        public_url: IN_PROCESS_PUBLIC_URL.to_string(),
        incoming_path: "/twiml/incoming/{tenant}".into(),
        incoming_by_number_path: "/twiml/incoming".into(),
        outbound_path: "/twiml/outbound/{tenant}".into(),
        place_call_path: "/calls/outbound".into(),
        // The reference server has a status route and asks for every call's callbacks.
        status_callback_path: Some("/status/call".into()),
        tenants: TenantSetup::Fixtures,
        server_prompts: ServerPrompts::default(),
        fixture_url: Some(base.clone()),
        fixture_token: Some(DEFAULT_FIXTURE_TOKEN.into()),
        account_sid: DEFAULT_ACCOUNT_SID.into(),
        auth_token: DEFAULT_AUTH_TOKEN.into(),
        rewrites: vec![
            (IN_PROCESS_PUBLIC_URL.into(), base),
            (
                "wss://callsim.test".into(),
                format!("ws://127.0.0.1:{port}"),
            ),
        ],
    };
    Ok((endpoints, task))
}

/// Starts the reference server (fixed profile, signatures validated) on a real loopback TCP
/// listener against the mock AI on `ai_port`, for a load test; it stops when `stop` turns true.
/// Its REST calls go to port 9 (discard), since a load test places no outbound calls.
pub async fn start_reference_over_tcp(
    ai_port: u16,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(Endpoints, JoinHandle<()>), HarnessError> {
    let fakes = FakePorts {
        ai: ai_port,
        rest: 9,
        ai_link: None,
    };
    start_reference_server(
        &Network::Tcp,
        Profile::Fixed,
        true,
        &[],
        (Prebuild::Normal, AiDialect::Realtime),
        fakes,
        Shutdown(stop),
    )
    .await
}
