//! The bundled reference server, started in-process for one run on the run's runtime (and so on
//! its paused clock). This is the only file of `sim` that names `server_under_test`: everywhere
//! else the reference server is a target like any other, reached through its [`Endpoints`].

use tokio::task::JoinHandle;

use super::error::HarnessError;
use super::fakes::{Shutdown, bind, loopback, port_of};
use super::target::{
    DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_FIXTURE_TOKEN, DEFAULT_OPENAI_KEY, Endpoints,
    IN_PROCESS_PUBLIC_URL, Profile,
};

/// The reference server's profile for ours.
fn server_profile(profile: Profile) -> server_under_test::Profile {
    match profile {
        Profile::Legacy => server_under_test::Profile::Legacy,
        Profile::Fixed => server_under_test::Profile::Fixed,
    }
}

/// Starts the reference server against the mock AI on `ai_port` and the fake Twilio REST API on
/// `rest_port`; answers its endpoints and its task.
pub(crate) async fn start_reference_server(
    profile: Profile,
    validate_signatures: bool,
    ai_port: u16,
    rest_port: u16,
    shutdown: Shutdown,
) -> Result<(Endpoints, JoinHandle<()>), HarnessError> {
    let listener = bind("the reference server", loopback()).await?;
    let port = port_of(&listener);
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
    let state = server_under_test::AppState::new(config)
        .map_err(|e| HarnessError::Server(e.to_string()))?;
    let task = tokio::spawn(async move {
        if let Err(err) =
            server_under_test::serve_with_state(listener, state, shutdown.wait()).await
        {
            tracing::error!("reference server stopped: {err}");
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let endpoints = Endpoints {
        base_url: base.clone(),
        public_url: IN_PROCESS_PUBLIC_URL.to_string(),
        incoming_path: "/twiml/incoming/{tenant}".into(),
        outbound_path: "/twiml/outbound/{tenant}".into(),
        place_call_path: "/calls/outbound".into(),
        status_callback_path: "/status/call".into(),
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
