//! The fake Twilio against the reference call server (`server-under-test`, fixed profile) in
//! process: signed webhook → TwiML → media stream → 10 s of speech from a WAV file → stop →
//! completed callback; and an outbound call placed by the server through the REST fake.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use server_under_test::{AppState, Config, Profile, serve_with_state};
use sim::audio;
use sim::clock::SimClock;
use sim::ids::IdGen;
use sim::twilio::{
    CallEvent, CallFaults, CallSpec, CalleeAnswer, CalleeBehaviour, CallerScript, CallerStep,
    HttpMethod, RestState, StatusCallbackConfig, StreamEndedBy, TwilioEnv, UrlMap, play_call,
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "test-auth-token";
const FIXTURE_TOKEN: &str = "fixture-token";
const ACCOUNT: &str = "AC00000000000000000000000000000001";
const PUBLIC: &str = "https://callsim.test";

/// A minimal Realtime peer: `session.created` on connect, `session.updated` for every update.
async fn start_realtime_peer() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let created = json!({"type": "session.created", "event_id": "event_1", "session": {"id": "sess_1"}});
                if socket
                    .send(Message::text(created.to_string()))
                    .await
                    .is_err()
                {
                    return;
                }
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message {
                        let event: Value =
                            serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                        if event["type"] == "session.update" {
                            let updated = json!({"type": "session.updated", "event_id": "event_2", "session": event["session"]});
                            let _ = socket.send(Message::text(updated.to_string())).await;
                        }
                    }
                }
            });
        }
    });
    format!("ws://{addr}/v1/realtime?model=gpt-realtime")
}

async fn start_server(api_base: Option<String>) -> std::net::SocketAddr {
    let realtime = start_realtime_peer().await;
    let mut config = Config::in_process(PUBLIC, TOKEN, &realtime);
    config.profile = Profile::Fixed;
    config.fixture_token = Some(FIXTURE_TOKEN.to_owned());
    if let Some(base) = api_base {
        config.twilio_account_sid = Some(ACCOUNT.to_owned());
        config.twilio_api_base = base;
    }
    let state = AppState::new(config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with_state(listener, state, std::future::pending()));
    let response = reqwest::Client::new()
        .put(format!("http://{addr}/fixtures/tenants/acme"))
        .bearer_auth(FIXTURE_TOKEN)
        .json(&json!({"business_name": "Acme", "inbound_prompt": "Answer the phone.", "outbound_prompt": "Sell."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    addr
}

fn env_for(addr: std::net::SocketAddr) -> TwilioEnv {
    let map = UrlMap::new()
        .with(PUBLIC, &format!("http://{addr}"))
        .with("wss://callsim.test", &format!("ws://{addr}"));
    TwilioEnv::new(ACCOUNT, TOKEN, SimClock::start_default(), IdGen::new(9)).with_url_map(map)
}

/// Writes 10 s of speech-like audio as a 16 kHz stereo WAV and reads it back as µ-law.
fn speech_from_wav(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("caller.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for sample in audio::decode_all(&audio::speech_like(10_000, 3)) {
        // Upsample by repetition and duplicate into both channels.
        for _ in 0..4 {
            writer.write_sample(sample).unwrap();
        }
    }
    writer.finalize().unwrap();
    audio::read_wav_mulaw(&path).unwrap()
}

#[tokio::test(start_paused = true)]
async fn inbound_call_against_the_reference_server() {
    let addr = start_server(None).await;
    let env = env_for(addr);
    let dir = tempfile::tempdir().unwrap();
    let speech = speech_from_wav(dir.path());
    assert_eq!(speech.len(), 80_000);
    let script = CallerScript {
        steps: vec![CallerStep::Audio {
            mulaw: Arc::new(speech),
            label: "speech".into(),
        }],
        hangup_at: None,
    };
    let mut spec = CallSpec::inbound(
        "inbound",
        "+14155550100",
        "+15005550006",
        &format!("{PUBLIC}/twiml/incoming/acme"),
        script,
    );
    spec.status_callback = Some(StatusCallbackConfig {
        url: format!("{PUBLIC}/status/call"),
        method: HttpMethod::Post,
        events: vec![
            CallEvent::Initiated,
            CallEvent::Ringing,
            CallEvent::Answered,
            CallEvent::Completed,
        ],
    });
    let record = play_call(&env, spec).await;

    let hook = &record.webhooks[0];
    assert_eq!(hook.http_status, Some(200), "{:?}", hook.body);
    assert!(hook.signed && hook.error.is_none());
    assert_eq!(record.streams.len(), 1);
    let st = &record.streams[0];
    assert_eq!(st.handshake_status, Some(101), "{:?}", record.errors);
    assert_eq!(st.ended_by, Some(StreamEndedBy::Caller));
    assert_eq!(st.media_frames_sent, 500);
    assert!(st.events.iter().any(|e| e.event == "start"));
    assert!(st.events.iter().any(|e| e.event == "stop"));
    assert_eq!(record.status, "completed");
    assert!(record.errors.is_empty(), "{:?}", record.errors);
    // Every signed request was accepted: no callback was refused.
    assert!(!record.status_callbacks.is_empty());
    for cb in &record.status_callbacks {
        assert!(
            cb.http_status.is_some_and(|s| (200..300).contains(&s)),
            "{cb:?}"
        );
    }
    assert_eq!(
        record.status_callbacks.last().unwrap().params["CallStatus"],
        "completed"
    );
}

#[tokio::test(start_paused = true)]
async fn outbound_call_placed_by_the_server_through_the_rest_fake() {
    let rest_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest_addr = rest_listener.local_addr().unwrap();
    let addr = start_server(Some(format!("http://{rest_addr}"))).await;
    let env = env_for(addr);
    let callee = CalleeBehaviour {
        label: "callee".into(),
        ring: Duration::from_secs(2),
        answer: CalleeAnswer::Answer,
        script: CallerScript {
            steps: vec![CallerStep::Silence(Duration::from_secs(3))],
            hangup_at: None,
        },
        stream_connect_delay: Duration::ZERO,
        faults: CallFaults::default(),
    };
    let state = RestState {
        env: env.clone(),
        callees: BTreeMap::new(),
        default_callee: callee,
    };
    tokio::spawn(sim::twilio::serve(
        rest_listener,
        state,
        std::future::pending(),
    ));

    let response = reqwest::Client::new()
        .post(format!("http://{addr}/calls/outbound"))
        .json(&json!({"tenant": "acme", "to": "+14155551212", "from": "+15017122661"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let sid = body["call_sid"].as_str().unwrap().to_owned();
    env.recorder
        .wait_idle(Duration::from_secs(60))
        .await
        .unwrap();

    let record = env.recorder.record(&sid).unwrap();
    let hook = &record.webhooks[0];
    assert_eq!(hook.url, format!("{PUBLIC}/twiml/outbound/acme"));
    assert_eq!(hook.params["Direction"], "outbound-api");
    assert_eq!(hook.params["CallStatus"], "in-progress");
    assert_eq!(hook.http_status, Some(200), "{:?}", hook.body);
    assert_eq!(record.streams[0].handshake_status, Some(101));
    assert_eq!(record.status, "completed");
    for cb in &record.status_callbacks {
        assert!(
            cb.http_status.is_some_and(|s| (200..300).contains(&s)),
            "{cb:?}"
        );
    }
}
