//! The mock Realtime endpoint over a real socket: auth, dialect retirement, a full session with
//! the ledger checked afterwards, expiry and a dropped-socket fault.

#[path = "common/realtime.rs"]
mod realtime_mock;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sim::clock::SimClock;
use sim::ids::IdGen;
use sim::realtime::{AiFault, AiFaultKind, Ledger, MockConfig, Script, SessionRecord};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderName;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use realtime_mock::RealtimeMock;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

/// The mock in real time with audio generated 1000 times faster, configured by `adjust`.
async fn start(adjust: impl FnOnce(&mut MockConfig)) -> RealtimeMock {
    let mut config = MockConfig::new(SimClock::start_default(), IdGen::new(9));
    config.audio_pace = 1000.0;
    adjust(&mut config);
    RealtimeMock::start(config).await
}

/// The mock's URL with the extra query parameters a client may add.
fn client_url(mock: &RealtimeMock) -> String {
    format!("{}&temperature=0.8&voice=alloy", mock.url)
}

async fn connect(mock: &RealtimeMock, headers: &[(&str, &str)]) -> Result<Ws, WsError> {
    let mut request = client_url(mock).into_client_request().unwrap();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    tokio::time::timeout(WAIT, connect_async(request))
        .await
        .unwrap()
        .map(|(ws, _)| ws)
}

async fn next_message(ws: &mut Ws) -> Option<Result<Message, WsError>> {
    tokio::time::timeout(WAIT, ws.next()).await.unwrap()
}

async fn next_event(ws: &mut Ws) -> Value {
    loop {
        match next_message(ws).await {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn until(ws: &mut Ws, ty: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let event = next_event(ws).await;
        let done = event["type"] == ty;
        out.push(event);
        if done {
            return out;
        }
    }
}

/// Connects with an API key and reads `session.created`.
async fn open_session(mock: &RealtimeMock) -> Ws {
    let mut ws = connect(mock, &[("authorization", "Bearer sk-test")])
        .await
        .unwrap();
    assert_eq!(next_event(&mut ws).await["type"], "session.created");
    ws
}

async fn expect_close(ws: &mut Ws) -> (u16, String) {
    match next_message(ws).await {
        Some(Ok(Message::Close(Some(frame)))) => (u16::from(frame.code), frame.reason.to_string()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

async fn send(ws: &mut Ws, event: Value) {
    ws.send(Message::Text(event.to_string().into()))
        .await
        .unwrap();
}

async fn wait_closed(ledger: &Ledger) {
    wait_open_sessions(ledger, 0).await;
}

/// Waits until at most `open` sessions are still open.
async fn wait_open_sessions(ledger: &Ledger, open: usize) {
    tokio::time::timeout(WAIT, async {
        while ledger.open_sessions() > open {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn upgrade_without_auth_is_401() {
    let mock = start(|_| {}).await;
    match connect(&mock, &[]).await {
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 401),
        other => panic!("expected HTTP 401, got {other:?}"),
    }
    assert!(mock.ledger.sessions().is_empty());
}

#[tokio::test]
async fn beta_header_gets_beta_api_shape_disabled_and_4000() {
    let mock = start(|_| {}).await;
    let mut ws = connect(
        &mock,
        &[
            ("authorization", "Bearer sk-test"),
            ("openai-beta", "realtime=v1"),
        ],
    )
    .await
    .unwrap();
    let event = next_event(&mut ws).await;
    assert_eq!(event["type"], "error");
    assert_eq!(event["error"]["code"], "beta_api_shape_disabled");
    assert_eq!(
        event["error"]["message"],
        "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
    );
    assert_eq!(
        expect_close(&mut ws).await,
        (
            4000,
            "invalid_request_error.beta_api_shape_disabled".to_owned()
        )
    );
    wait_closed(&mock.ledger).await;
    let record = &mock.ledger.sessions()[0];
    assert_eq!(record.dialect, "beta");
    assert_eq!(record.closed_by.as_deref(), Some("beta_retired"));
    assert_eq!(record.close_code, Some(4000));
}

#[tokio::test]
async fn wrong_key_is_closed_with_3000() {
    let mock = start(|c| c.api_keys = Some(vec!["sk-good".to_owned()])).await;
    let mut ws = connect(&mock, &[("authorization", "Bearer sk-bad")])
        .await
        .unwrap();
    assert_eq!(
        expect_close(&mut ws).await,
        (3000, "invalid_request_error.invalid_api_key".to_owned())
    );
    let mut ok = connect(&mock, &[("authorization", "Bearer sk-good")])
        .await
        .unwrap();
    assert_eq!(next_event(&mut ok).await["type"], "session.created");
}

#[tokio::test]
async fn browser_subprotocols_authenticate_and_echo_realtime() {
    let mock = start(|_| {}).await;
    let mut request = client_url(&mock).into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "realtime, openai-insecure-api-key.sk-test".parse().unwrap(),
    );
    let (mut ws, response) = tokio::time::timeout(WAIT, connect_async(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "realtime");
    assert_eq!(next_event(&mut ws).await["type"], "session.created");
}

#[tokio::test]
async fn full_session_is_recorded_in_the_ledger() {
    let mock = start(|_| {}).await;
    let mut ws = connect(&mock, &[("authorization", "Bearer sk-test")])
        .await
        .unwrap();
    let created = next_event(&mut ws).await;
    assert_eq!(created["type"], "session.created");
    assert_eq!(created["session"]["model"], "gpt-realtime");
    send(&mut ws, json!({"type": "session.update", "session": {"type": "realtime", "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": {"type": "server_vad"}},
                  "output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"}},
        "instructions": "You are the front desk of a small hotel."}}))
    .await;
    let updated = until(&mut ws, "session.updated").await.pop().unwrap();
    assert_eq!(
        updated["session"]["instructions"],
        "You are the front desk of a small hotel."
    );
    let mut audio = vec![0xFFu8; 8 * 500];
    audio.extend((0..8 * 700).map(|i| if (i / 9) % 2 == 0 { 0x20u8 } else { 0xA0u8 }));
    audio.extend(vec![0xFFu8; 8 * 800]);
    for frame in audio.chunks(160) {
        send(
            &mut ws,
            json!({"type": "input_audio_buffer.append", "audio": B64.encode(frame)}),
        )
        .await;
    }
    let events = until(&mut ws, "response.done").await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types[0], "input_audio_buffer.speech_started");
    assert!(types.contains(&"response.output_audio.delta"));
    let item_id = events.last().unwrap()["response"]["output"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&mut ws, json!({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 300})).await;
    until(&mut ws, "conversation.item.truncated").await;
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    wait_closed(&mock.ledger).await;
    let record = &mock.ledger.sessions()[0];
    assert_eq!(record.dialect, "ga");
    assert_eq!(record.closed_by.as_deref(), Some("client"));
    assert_eq!(record.close_code, Some(1000));
    assert_eq!(record.updates.len(), 1);
    assert!(record.updates[0].accepted);
    assert_eq!(record.audio_received_ms, 2000);
    assert_eq!(record.vad_turns[0].speech_started_ms, 200);
    assert_eq!(record.vad_turns[0].speech_stopped_ms, Some(1700));
    let response = &record.responses[0];
    assert_eq!(response.trigger, "vad");
    assert_eq!(
        response.instructions,
        "You are the front desk of a small hotel."
    );
    assert_eq!(response.output_format, "audio/pcmu");
    assert_eq!(response.status, "completed");
    assert_eq!(record.truncates[0].audio_end_ms, 300);
    assert_eq!(
        record.client_events.get("input_audio_buffer.append"),
        Some(&100)
    );
    assert_eq!(record.input_format, "audio/pcmu");
}

#[tokio::test]
async fn short_session_expires_with_1001() {
    let mock = start(|c| c.max_session = Duration::from_secs(1)).await;
    let mut ws = open_session(&mock).await;
    let error = next_event(&mut ws).await;
    assert_eq!(error["error"]["code"], "session_expired");
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, u16::from(CloseCode::Away));
    assert_eq!(reason, "Your session hit the maximum duration of 1 second.");
    wait_closed(&mock.ledger).await;
    assert_eq!(
        mock.ledger.sessions()[0].closed_by.as_deref(),
        Some("server_expired")
    );
}

#[tokio::test]
async fn drop_socket_fault_ends_without_a_close_frame() {
    let script = Script {
        faults: vec![AiFault {
            session: 1,
            at: Duration::from_millis(50),
            kind: AiFaultKind::DropSocket,
        }],
        ..Script::default()
    };
    let mock = start(|c| c.script = Arc::new(script)).await;
    let mut first = connect(&mock, &[("authorization", "Bearer sk-test")])
        .await
        .unwrap();
    let mut second = connect(&mock, &[("authorization", "Bearer sk-test")])
        .await
        .unwrap();
    assert_eq!(next_event(&mut first).await["type"], "session.created");
    assert_eq!(next_event(&mut second).await["type"], "session.created");
    match next_message(&mut second).await {
        None | Some(Err(_)) => {}
        other => panic!("expected the connection to drop, got {other:?}"),
    }
    wait_open_sessions(&mock.ledger, 1).await;
    let sessions = mock.ledger.sessions();
    assert_eq!(sessions[1].closed_by.as_deref(), Some("fault"));
    assert_eq!(sessions[0].closed_at_ms, None);
}

/// Expects the server to close the only session with `code` and checks that the ledger records
/// the close as a protocol error; returns that session's record.
async fn closed_for_protocol_error(ws: &mut Ws, mock: &RealtimeMock, code: u16) -> SessionRecord {
    assert_eq!(expect_close(ws).await.0, code);
    wait_closed(&mock.ledger).await;
    let session = mock.ledger.sessions().remove(0);
    assert_eq!(session.closed_by.as_deref(), Some("protocol_error"));
    assert_eq!(session.close_code, Some(code));
    session
}

/// Reads up to the first `error` event and returns its `error` object.
async fn next_error(ws: &mut Ws) -> Value {
    until(ws, "error").await.pop().unwrap()["error"].clone()
}

#[tokio::test]
async fn message_over_the_limit_gets_an_error_event_and_close_1009() {
    let mock = start(|c| c.max_message_bytes = 4096).await;
    let mut ws = open_session(&mock).await;
    let update = json!({"type": "session.update",
        "session": {"type": "realtime", "instructions": "x".repeat(6000)}});
    send(&mut ws, update).await;
    let error = next_error(&mut ws).await;
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "message_too_big");
    let session = closed_for_protocol_error(&mut ws, &mock, 1009).await;
    assert!(session.updates.is_empty());
}

// A frame far over the limit is refused by the WebSocket layer from its header alone; the client
// must still learn why instead of seeing the TCP connection drop.
#[tokio::test]
async fn frame_far_over_the_limit_gets_an_error_event_and_close_1009() {
    let mock = start(|c| c.max_message_bytes = 4096).await;
    let mut ws = open_session(&mock).await;
    let huge = json!({"type": "input_audio_buffer.append", "audio": "A".repeat(200 * 1024)});
    send(&mut ws, huge).await;
    let error = next_error(&mut ws).await;
    assert_eq!(error["code"], "message_too_big");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .ends_with("the maximum is 4096 bytes."),
        "{error}"
    );
    closed_for_protocol_error(&mut ws, &mock, 1009).await;
}

#[tokio::test]
async fn invalid_utf8_text_frame_is_a_protocol_error_in_the_ledger() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

    let mock = start(|_| {}).await;
    let mut ws = open_session(&mock).await;
    // The client API only builds valid text, so the frame is assembled by hand.
    let bad = Frame::message(vec![b'{', 0xC3, 0x28, b'}'], OpCode::Data(Data::Text), true);
    ws.send(Message::Frame(bad)).await.unwrap();
    let error = next_error(&mut ws).await;
    assert_eq!(error["code"], "invalid_event");
    let session = closed_for_protocol_error(&mut ws, &mock, 1007).await;
    assert_eq!(session.errors_sent.len(), 1);
}

#[tokio::test]
async fn binary_frame_is_recorded_as_an_error() {
    let mock = start(|_| {}).await;
    let mut ws = open_session(&mock).await;
    ws.send(Message::Binary(vec![0u8; 16].into()))
        .await
        .unwrap();
    assert_eq!(next_error(&mut ws).await["code"], "invalid_event");
    ws.close(None).await.unwrap();
    wait_closed(&mock.ledger).await;
    let session = &mock.ledger.sessions()[0];
    assert_eq!(session.errors_sent.len(), 1);
    assert!(session.errors_sent[0].message.starts_with("Binary frames"));
}
