//! The mock's Live endpoint over a real socket: OpenAI's path with a bearer key, Azure's path
//! with an `api-key` header, a refused upgrade without a key, and a session recorded in the
//! ledger as a Live one.

#[path = "common/realtime.rs"]
mod realtime_mock;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use realtime_mock::RealtimeMock;
use serde_json::{Value, json};
use sim::clock::SimClock;
use sim::ids::IdGen;
use sim::realtime::MockConfig;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

async fn mock() -> RealtimeMock {
    RealtimeMock::start(MockConfig::new(SimClock::start_default(), IdGen::new(3))).await
}

/// The mock's base (`ws://127.0.0.1:PORT`) joined with `path`.
fn url(mock: &RealtimeMock, path: &str) -> String {
    let base = mock.url.split("/v1/realtime").next().unwrap_or_default();
    format!("{base}{path}")
}

async fn connect(url: &str, header: Option<(&'static str, &str)>) -> Result<Ws, String> {
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some((name, value)) = header {
        request
            .headers_mut()
            .insert(name, value.parse().map_err(|_| "bad header".to_owned())?);
    }
    match tokio::time::timeout(WAIT, connect_async(request)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("an event in time")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

async fn start_session(ws: &mut Ws) -> Value {
    let start = json!({"type": "session.start", "event_id": "s1", "session": {
        "model": "gpt-live-1", "instructions": "You are Acme's receptionist.",
        "audio": {"format": {"type": "audio/pcmu", "rate": 8000}}}});
    ws.send(Message::Text(start.to_string().into()))
        .await
        .unwrap();
    next_event(ws).await
}

#[tokio::test]
async fn openai_path_with_a_bearer_key_starts_a_live_session() {
    let mock = mock().await;
    let mut ws = connect(
        &url(&mock, "/v1/live/sessions"),
        Some(("authorization", "Bearer sk-test")),
    )
    .await
    .unwrap();
    let started = start_session(&mut ws).await;
    assert_eq!(started["type"], "session.started");
    assert_eq!(started["client_event_id"], "s1");
    ws.send(Message::Text(
        json!({"type": "session.close"}).to_string().into(),
    ))
    .await
    .unwrap();
    let closed = next_event(&mut ws).await;
    assert_eq!(closed["type"], "session.closed");
    assert_eq!(closed["reason"], "close_requested");
    let sessions = mock.ledger.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].dialect, "live");
    assert_eq!(sessions[0].model, "gpt-live-1");
}

#[tokio::test]
async fn azure_path_with_an_api_key_header_starts_a_live_session() {
    let mock = mock().await;
    let mut ws = connect(
        &url(&mock, "/openai/v1/live/sessions"),
        Some(("api-key", "azure-key")),
    )
    .await
    .unwrap();
    assert_eq!(start_session(&mut ws).await["type"], "session.started");
}

#[tokio::test]
async fn a_live_upgrade_without_a_key_is_refused() {
    let mock = mock().await;
    let err = connect(&url(&mock, "/v1/live/sessions"), None)
        .await
        .expect_err("no key, no upgrade");
    assert!(err.contains("401"), "{err}");
}
