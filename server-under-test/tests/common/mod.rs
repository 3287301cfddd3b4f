//! Helpers shared by the integration tests: start the server on port 0 and sign requests.

use std::net::SocketAddr;

use server_under_test::{AppState, Config, serve_with_state, signature};

/// Auth token every test server uses.
pub(crate) const TOKEN: &str = "test-auth-token";
/// Fixture API token every test server uses (unless disabled).
pub(crate) const FIXTURE_TOKEN: &str = "fixture-token";
/// Public URL every test server uses.
pub(crate) const PUBLIC_URL: &str = "https://callsim.test";

/// A running server.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
}

impl TestServer {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A test config pointing at `realtime_url`, with the fixture API enabled.
pub(crate) fn config(realtime_url: &str) -> Config {
    let mut config = Config::for_tests(PUBLIC_URL, TOKEN, realtime_url);
    config.fixture_token = Some(FIXTURE_TOKEN.to_owned());
    config
}

/// Starts a server with `config` on 127.0.0.1:0.
pub(crate) async fn spawn(config: Config) -> TestServer {
    let state = AppState::new(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with_state(listener, state, std::future::pending()));
    TestServer { addr }
}

/// The signature Twilio would send for a POST to `path` with `params`.
pub(crate) fn sign(path: &str, params: &[(String, String)]) -> String {
    signature::compute(TOKEN, &format!("{PUBLIC_URL}{path}"), params)
}

/// Owned form parameters.
pub(crate) fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// PUTs a tenant through the fixture API and returns the response JSON.
pub(crate) async fn put_tenant(
    server: &TestServer,
    slug: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let response = reqwest::Client::new()
        .put(server.url(&format!("/fixtures/tenants/{slug}")))
        .bearer_auth(FIXTURE_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
