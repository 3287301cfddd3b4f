//! Request helpers for the input-validation tests: fixture calls and signed webhooks that return
//! the status and body instead of asserting success, a media stream opened with a valid
//! signature, and a server whose Realtime connections never complete.
//!
//! This file is a module of its own (included with `#[path]`) rather than part of `mod.rs`,
//! because every test binary compiles `mod.rs` and helpers a binary does not use would be dead
//! code there.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use server_under_test::realtime::ConnectFuture;
use server_under_test::{AiConnector, AppState, Config, serve_with_state, signature};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{FIXTURE_TOKEN, PUBLIC_URL, TOKEN, TestServer, sign};

/// A response's status, content type and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) text: String,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap();
        Answer {
            status,
            content_type,
            text,
        }
    }

    /// The body as JSON; panics (failing the test) when it is not JSON.
    pub(crate) fn json(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "expected a JSON body, got {:?}: {}",
            self.content_type,
            self.text
        );
        serde_json::from_str(&self.text).unwrap()
    }
}

/// `PUT /fixtures/tenants/{raw_slug}` with `body`; `raw_slug` goes into the URL as written, so
/// percent-escapes reach the server unchanged.
pub(crate) async fn fixture_put(server: &TestServer, raw_slug: &str, body: &Value) -> Answer {
    let response = reqwest::Client::new()
        .put(server.url(&format!("/fixtures/tenants/{raw_slug}")))
        .bearer_auth(FIXTURE_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    Answer::read(response).await
}

/// `GET /fixtures/tenants/{raw_slug}`.
pub(crate) async fn fixture_get(server: &TestServer, raw_slug: &str) -> Answer {
    let response = reqwest::Client::new()
        .get(server.url(&format!("/fixtures/tenants/{raw_slug}")))
        .bearer_auth(FIXTURE_TOKEN)
        .send()
        .await
        .unwrap();
    Answer::read(response).await
}

/// `GET /fixtures/state` as JSON.
pub(crate) async fn fixture_state(server: &TestServer) -> Value {
    reqwest::Client::new()
        .get(server.url("/fixtures/state"))
        .bearer_auth(FIXTURE_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A POST to `path` with `params`, signed the way Twilio signs it (over the path as written).
pub(crate) async fn post_signed(
    server: &TestServer,
    path: &str,
    params: &[(String, String)],
) -> Answer {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .header("X-Twilio-Signature", sign(path, params))
        .form(params)
        .send()
        .await
        .unwrap();
    Answer::read(response).await
}

/// `POST /calls/outbound` with a JSON body.
pub(crate) async fn place_call(server: &TestServer, body: &Value) -> Answer {
    let response = reqwest::Client::new()
        .post(server.url("/calls/outbound"))
        .json(body)
        .send()
        .await
        .unwrap();
    Answer::read(response).await
}

/// A media stream WebSocket opened with a valid signature.
pub(crate) async fn open_media_stream(
    server: &TestServer,
) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
    let url = format!("ws://{}/ws/media", server.addr);
    let mut request = url.as_str().into_client_request().unwrap();
    let wss = PUBLIC_URL.replacen("https://", "wss://", 1);
    let sig = signature::compute(TOKEN, &format!("{wss}/ws/media"), &[]);
    request
        .headers_mut()
        .insert("X-Twilio-Signature", sig.parse().unwrap());
    let (socket, _response) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
}

/// A Realtime connector whose connections never complete; it reports every attempt, which tells
/// a test that a media session got past its `start` and prompt selection.
struct PendingConnector {
    attempts: UnboundedSender<()>,
}

impl AiConnector for PendingConnector {
    fn connect(&self) -> ConnectFuture<'_> {
        let _ = self.attempts.send(());
        Box::pin(std::future::pending())
    }
}

/// Starts a server with `config` whose Realtime connections hang; the receiver gets one message
/// per connection attempt.
pub(crate) async fn spawn_with_hanging_ai(config: Config) -> (TestServer, UnboundedReceiver<()>) {
    let (attempts, rx) = unbounded_channel();
    let state = AppState::with_connector(config, Arc::new(PendingConnector { attempts })).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with_state(listener, state, std::future::pending()));
    (TestServer { addr }, rx)
}

/// A current-thread runtime on a paused clock, set up like the scenario runner's: just before it
/// parks (and the clock jumps to the next timer) it yields, so loopback data still in flight in
/// the kernel lands first.
pub(crate) fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .on_thread_park(std::thread::yield_now)
        .build()
        .unwrap()
}
