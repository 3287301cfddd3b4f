//! The seed scenario over real sockets: an inbound call to a tenant whose inbound prompt is empty
//! and whose outbound prompt is a sales pitch. Legacy sends the sales prompt to the model; fixed
//! sends the receptionist default. Afterwards no per-call state may remain.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use server_under_test::Profile;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use crate::common::{config, params, spawn_app_with};

const SALES: &str = "You are calling the customer for a sales pitch. Be persuasive.";
const WAIT: Duration = Duration::from_secs(5);

/// What the test realtime peer observed.
#[derive(Debug, PartialEq)]
enum PeerEvent {
    Connected {
        authorization: Option<String>,
        beta_header: bool,
    },
    Instructions(String),
    Append,
    Closed,
}

/// A tiny Realtime peer: sends `session.created`, answers `session.update` with `session.updated`.
async fn start_realtime_peer() -> (String, UnboundedReceiver<PeerEvent>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (events, rx) = unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_peer(stream, events.clone()));
        }
    });
    (format!("ws://{addr}/v1/realtime?model=gpt-realtime"), rx)
}

#[expect(
    clippy::result_large_err,
    reason = "tungstenite's accept callback signature fixes the error type"
)]
async fn serve_peer(stream: tokio::net::TcpStream, events: UnboundedSender<PeerEvent>) {
    let headers_events = events.clone();
    let callback = move |request: &Request, response: Response| {
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let beta_header = request.headers().contains_key("openai-beta");
        let _ = headers_events.send(PeerEvent::Connected {
            authorization,
            beta_header,
        });
        Ok(response)
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let created =
        json!({"type": "session.created", "event_id": "event_1", "session": {"id": "sess_1"}});
    if socket
        .send(Message::Text(created.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(text) => {
                let event: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                match event["type"].as_str() {
                    Some("session.update") => {
                        let instructions = event["session"]["instructions"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        let _ = events.send(PeerEvent::Instructions(instructions));
                        let updated = json!({"type": "session.updated", "event_id": "event_2", "session": event["session"]});
                        let _ = socket.send(Message::Text(updated.to_string().into())).await;
                    }
                    Some("input_audio_buffer.append") => {
                        let _ = events.send(PeerEvent::Append);
                    }
                    _ => {}
                }
            }
            Message::Close(_) => {
                let _ = events.send(PeerEvent::Closed);
                break;
            }
            _ => {}
        }
    }
}

/// The value of `<Parameter name="{name}" value="…"/>` in TwiML.
fn twiml_parameter(twiml: &str, name: &str) -> String {
    let marker = format!(r#"<Parameter name="{name}" value=""#);
    let start = twiml.find(&marker).unwrap() + marker.len();
    let end = twiml[start..].find('"').unwrap() + start;
    twiml[start..end].to_owned()
}

/// Plays one inbound call and returns the instructions the model received.
async fn inbound_call(profile: Profile) -> String {
    let (realtime_url, mut peer) = start_realtime_peer().await;
    let mut config = config();
    config.realtime_url = realtime_url;
    config.profile = profile;
    // A zero TTL keeps the shared prompt cache empty, so "no residual state" covers it too.
    config.prompt_cache_ttl = Duration::ZERO;
    let app = spawn_app_with(config).await;
    app.put_tenant(
        "acme",
        json!({"business_name": "Acme", "inbound_prompt": "", "outbound_prompt": SALES}),
    )
    .await;

    let call_sid = "CA0123456789abcdef0123456789abcdef";
    let form = params(&[
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+14155551234"),
    ]);
    let twiml = app.post_signed("/twiml/incoming/acme", &form).await.text;
    assert!(
        twiml.contains(r#"<Stream url="wss://callsim.test/ws/media""#),
        "{twiml}"
    );

    let mut twilio = timeout(WAIT, app.open_media_stream()).await.unwrap();
    let custom_parameters = json!({
        "tenant": twiml_parameter(&twiml, "tenant"),
        "direction": twiml_parameter(&twiml, "direction"),
        "call_sid": twiml_parameter(&twiml, "call_sid"),
    });
    let stream_sid = "MZ0123456789abcdef0123456789abcdef";
    let mut messages = vec![
        json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
        json!({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
            "start": {"accountSid": "AC1", "streamSid": stream_sid, "callSid": call_sid, "tracks": ["inbound"],
                      "customParameters": custom_parameters,
                      "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}),
    ];
    for i in 0..5u32 {
        messages.push(json!({"event": "media", "sequenceNumber": (i + 2).to_string(), "streamSid": stream_sid,
            "media": {"track": "inbound", "chunk": (i + 1).to_string(), "timestamp": (i * 20).to_string(),
                      "payload": "//////////8="}}));
    }
    for message in messages {
        twilio
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    let mut instructions = None;
    let mut appends = 0;
    while instructions.is_none() || appends < 5 {
        match timeout(WAIT, peer.recv()).await.unwrap().unwrap() {
            PeerEvent::Connected {
                authorization,
                beta_header,
            } => {
                assert_eq!(authorization.as_deref(), Some("Bearer sk-test"));
                assert!(!beta_header, "GA connections carry no OpenAI-Beta header");
            }
            PeerEvent::Instructions(text) => instructions = Some(text),
            PeerEvent::Append => appends += 1,
            PeerEvent::Closed => panic!("AI socket closed mid-call"),
        }
    }
    let during = app.fixture_state().await;
    assert_eq!(during["active_streams"], 1);
    assert_eq!(during["active_ai_sockets"], 1);
    assert_eq!(during["registry_entries"], 1);

    let stop = json!({"event": "stop", "sequenceNumber": "7", "streamSid": stream_sid,
        "stop": {"accountSid": "AC1", "callSid": call_sid}});
    twilio
        .send(Message::Text(stop.to_string().into()))
        .await
        .unwrap();
    // The server closes the Twilio socket once the call is torn down.
    timeout(WAIT, async {
        while let Some(Ok(_)) = twilio.next().await {}
    })
    .await
    .unwrap();
    assert_eq!(
        timeout(WAIT, peer.recv()).await.unwrap(),
        Some(PeerEvent::Closed),
        "the AI socket gets a close frame"
    );

    let zero = json!({"registry_entries": 0, "active_streams": 0, "active_ai_sockets": 0, "prompt_cache_entries": 0});
    let settled = app.wait_for_state(|state| *state == zero).await;
    assert_eq!(settled, zero, "no state may remain after the call");
    instructions.unwrap()
}

#[tokio::test]
async fn legacy_inbound_call_receives_the_outbound_sales_prompt() {
    let instructions = inbound_call(Profile::Legacy).await;
    assert!(instructions.contains(SALES), "{instructions}");
}

#[tokio::test]
async fn fixed_inbound_call_receives_the_receptionist_prompt() {
    let instructions = inbound_call(Profile::Fixed).await;
    assert!(
        instructions.contains("receptionist for Acme"),
        "{instructions}"
    );
    assert!(!instructions.contains("sales"), "{instructions}");
}
