//! The fake Twilio against the reference call server (`server-under-test`, fixed profile) in
//! process: signed webhook → TwiML → media stream → 10 s of speech from a WAV file → stop →
//! completed callback; and an outbound call placed by the server through the REST fake. The
//! server's model is the real mock Realtime endpoint (`sim::realtime`).

#[path = "common/realtime.rs"]
mod realtime_mock;
#[path = "common/twilio.rs"]
mod twilio_fake;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use server_under_test::{AppState, Config, Profile, serve_with_state};
use sim::audio;
use sim::clock::SimClock;
use sim::ids::IdGen;
use sim::realtime::{MockConfig, Reply, Script};
use sim::twilio::{CallSpec, CallerScript, CallerStep, StreamEndedBy, play_call};
use tokio::net::TcpListener;

use realtime_mock::RealtimeMock;
use twilio_fake::{
    ACCOUNT, PUBLIC, RestFake, TOKEN, answering_callee, every_call_event, twilio_env,
};

const FIXTURE_TOKEN: &str = "fixture-token";
/// The id seed of the fake Twilio and the mock model.
const SEED: u64 = 9;

/// The reference server (fixed profile) in process, with tenant `acme` loaded and the real mock
/// Realtime endpoint as its model.
struct ReferenceServer {
    addr: SocketAddr,
    realtime: RealtimeMock,
}

/// Starts the mock model and the reference server; `twilio_api_base` points the server's
/// outbound calls at a REST fake.
async fn spawn_reference_server(twilio_api_base: Option<&str>) -> ReferenceServer {
    // The model answers every turn with one second of speech-like audio saying "Okay.".
    let mut mock = MockConfig::new(SimClock::start_default(), IdGen::new(SEED));
    mock.script = Arc::new(Script {
        default_reply: Some(Reply::filler()),
        ..Script::default()
    });
    let realtime = RealtimeMock::start(mock).await;

    let mut config = Config::in_process(PUBLIC, TOKEN, &realtime.url);
    config.profile = Profile::Fixed;
    config.fixture_token = Some(FIXTURE_TOKEN.to_owned());
    if let Some(base) = twilio_api_base {
        config.twilio_account_sid = Some(ACCOUNT.to_owned());
        config.twilio_api_base = base.to_owned();
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
    ReferenceServer { addr, realtime }
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
    let server = spawn_reference_server(None).await;
    let env = twilio_env(server.addr, SEED);
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
    spec.status_callback = Some(every_call_event(&format!("{PUBLIC}/status/call")));
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
    // The stream was bridged to the model: one Realtime session.
    assert_eq!(server.realtime.ledger.sessions().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn outbound_call_placed_by_the_server_through_the_rest_fake() {
    let rest = RestFake::bind().await;
    let server = spawn_reference_server(Some(&rest.base_url)).await;
    let env = twilio_env(server.addr, SEED);
    rest.serve(
        &env,
        answering_callee(Duration::from_secs(2), Duration::from_secs(3)),
    );

    let response = reqwest::Client::new()
        .post(format!("http://{}/calls/outbound", server.addr))
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
    assert_eq!(server.realtime.ledger.sessions().len(), 1);
}
