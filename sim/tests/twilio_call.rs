//! End-to-end calls through the fake Twilio against a tiny in-test call server on 127.0.0.1:0.

#[path = "common/twilio.rs"]
mod twilio_fake;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sim::audio;
use sim::capture::Capture;
use sim::clock::SimClock;
use sim::twilio::signature::validate;
use sim::twilio::{
    CallFaults, CallRecord, CallSpec, CallerScript, CallerStep, StreamEndedBy, play_call,
};

use twilio_fake::{
    ACCOUNT, PUBLIC, RestFake, TOKEN, answering_callee, every_call_event, twilio_env,
};

/// The id seed of every call in this file.
const SEED: u64 = 42;

#[derive(Default)]
struct Log {
    bad_signatures: Vec<String>,
    webhooks: Vec<(String, BTreeMap<String, String>)>,
    status: Vec<BTreeMap<String, String>>,
    media_frames: u32,
    dtmf: Vec<String>,
    echoes: Vec<String>,
    stops: u32,
    start: Option<Value>,
}

type Shared = Arc<Mutex<Log>>;

fn params_of(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Validates a request the way a server behind a proxy does: the signed URL is rebuilt from
/// the `Host` header (and the scheme Twilio uses), never from a configured public URL, so the
/// fake Twilio must send the public host although it dials 127.0.0.1.
fn check(
    log: &Shared,
    headers: &HeaderMap,
    scheme: &str,
    path: &str,
    params: &[(String, String)],
) -> bool {
    let sig = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let url = format!("{scheme}://{host}{path}");
    let ok = validate(TOKEN, &url, params, sig);
    if !ok {
        log.lock().unwrap().bad_signatures.push(url);
    }
    ok
}

fn xml(body: &str) -> Response {
    ([("content-type", "text/xml")], body.to_owned()).into_response()
}

async fn twiml(
    State(log): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let params = params_of(&body);
    if !check(&log, &headers, "https", &path, &params) {
        return StatusCode::FORBIDDEN.into_response();
    }
    assert_eq!(headers.get("user-agent").unwrap(), "TwilioProxy/1.1");
    assert_eq!(headers.get("x-home-region").unwrap(), "us1");
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert!(headers.get("i-twilio-idempotency-token").is_some());
    log.lock()
        .unwrap()
        .webhooks
        .push((path.clone(), params.into_iter().collect()));
    match path.as_str() {
        "/twiml/fail500" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/twiml/slow" => {
            tokio::time::sleep(Duration::from_secs(20)).await;
            xml("<Response><Hangup/></Response>")
        }
        "/twiml/fallback" => xml("<Response><Say>Sorry, try later.</Say><Hangup/></Response>"),
        _ => xml(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://callsim.test/ws/media"><Parameter name="tenant" value="acme"/></Stream></Connect><Say>unreachable after caller hangup</Say></Response>"#,
        ),
    }
}

async fn status(State(log): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let params = params_of(&body);
    if !check(&log, &headers, "https", "/status", &params) {
        return StatusCode::FORBIDDEN;
    }
    assert_eq!(headers.get("user-agent").unwrap(), "TwilioProxy/1.1");
    log.lock()
        .unwrap()
        .status
        .push(params.into_iter().collect());
    StatusCode::NO_CONTENT
}

async fn media(State(log): State<Shared>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if !check(&log, &headers, "wss", "/ws/media", &[]) {
        return StatusCode::FORBIDDEN.into_response();
    }
    assert_eq!(headers.get("user-agent").unwrap(), "Twilio.TmeWs/1.0");
    assert!(headers.get("sec-websocket-protocol").is_none());
    ws.on_upgrade(move |socket| media_session(socket, log))
}

/// Plays 1 s of audio and a mark at once, then at 2 s queues 2 s more and clears it at 2.5 s.
async fn media_session(mut socket: WebSocket, log: Shared) {
    let mut sid = String::new();
    let mut frames = 0u32;
    while let Some(Ok(msg)) = socket.recv().await {
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(text.as_str()).unwrap();
        match v["event"].as_str().unwrap() {
            "start" => {
                sid = v["streamSid"].as_str().unwrap().to_owned();
                log.lock().unwrap().start = Some(v.clone());
                let payload = STANDARD.encode(audio::tone(440.0, 1000, 0.3));
                let out = json!({"event":"media","streamSid":sid,"media":{"payload":payload}});
                socket.send(Message::text(out.to_string())).await.unwrap();
                let mark = json!({"event":"mark","streamSid":sid,"mark":{"name":"greeting"}});
                socket.send(Message::text(mark.to_string())).await.unwrap();
            }
            "media" => {
                frames += 1;
                log.lock().unwrap().media_frames += 1;
                if frames == 100 {
                    let payload = STANDARD.encode(audio::tone(330.0, 2000, 0.3));
                    let out = json!({"event":"media","streamSid":sid,"media":{"payload":payload}});
                    socket.send(Message::text(out.to_string())).await.unwrap();
                    let mark = json!({"event":"mark","streamSid":sid,"mark":{"name":"second"}});
                    socket.send(Message::text(mark.to_string())).await.unwrap();
                }
                if frames == 125 {
                    let clear = json!({"event":"clear","streamSid":sid});
                    socket.send(Message::text(clear.to_string())).await.unwrap();
                }
            }
            "dtmf" => log
                .lock()
                .unwrap()
                .dtmf
                .push(v["dtmf"]["digit"].as_str().unwrap().to_owned()),
            "mark" => log
                .lock()
                .unwrap()
                .echoes
                .push(v["mark"]["name"].as_str().unwrap().to_owned()),
            "stop" => log.lock().unwrap().stops += 1,
            _ => {}
        }
    }
}

async fn start_server() -> (SocketAddr, Shared) {
    let log = Shared::default();
    let app = Router::new()
        .route("/twiml/{name}", post(twiml))
        .route("/status", post(status))
        .route("/ws/media", any(media))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, log)
}

/// The TwiML verbs the call executed, in order.
fn twiml_verbs(record: &CallRecord) -> Vec<&str> {
    record.twiml.iter().map(|s| s.verb.as_str()).collect()
}

/// The in-test server lags the client in virtual time (see the heard-audio note below), so wait
/// (bounded) until it has processed the stream's `stop`.
async fn server_caught_up(log: &Shared, stops: u32) {
    for _ in 0..500 {
        if log.lock().unwrap().stops >= stops {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the test server never saw stop #{stops}");
}

fn ten_second_script() -> CallerScript {
    CallerScript {
        steps: vec![
            CallerStep::Audio {
                mulaw: Arc::new(audio::speech_like(3000, 1)),
                label: "hello".into(),
            },
            CallerStep::Silence(Duration::from_secs(2)),
            CallerStep::Dtmf("5".into()),
            CallerStep::Audio {
                mulaw: Arc::new(audio::speech_like(4900, 2)),
                label: "question".into(),
            },
        ],
        hangup_at: None,
    }
}

fn inbound(label: &str, path: &str, script: CallerScript) -> CallSpec {
    let mut spec = CallSpec::inbound(
        label,
        "+14155550100",
        "+15005550006",
        &format!("{PUBLIC}{path}"),
        script,
    );
    spec.status_callback = Some(every_call_event(&format!("{PUBLIC}/status")));
    spec
}

#[tokio::test(start_paused = true)]
async fn inbound_call_streams_ten_seconds_and_completes() {
    let (addr, log) = start_server().await;
    let env = twilio_env(addr, SEED);
    let record = play_call(
        &env,
        inbound("caller-1", "/twiml/incoming", ten_second_script()),
    )
    .await;

    assert_eq!(record.status, "completed");
    assert_eq!(record.webhooks.len(), 1);
    let hook = &record.webhooks[0];
    assert_eq!(
        (hook.http_status, hook.signed, hook.error.is_none()),
        (Some(200), true, true)
    );
    assert_eq!(hook.params["CallStatus"], "ringing");
    assert_eq!(hook.params["Direction"], "inbound");
    assert_eq!(hook.params.len(), 27);

    assert_eq!(record.streams.len(), 1);
    let st = &record.streams[0];
    assert_eq!(st.handshake_status, Some(101));
    assert_eq!(st.ended_by, Some(StreamEndedBy::Caller));
    assert_eq!(st.media_frames_sent, 500);
    assert_eq!(st.sent.len(), 500 * 160);
    assert_eq!(st.marks_sent_by_server, 2);
    assert_eq!(st.marks_echoed, 2);
    assert_eq!(st.clears.len(), 1);
    // 1 s of greeting, then part of the second prompt before the clear cut it. The exact split
    // depends on when the server's messages arrive: under a paused clock tokio advances time
    // whenever it parks, even when a socket is about to become readable, so the in-test server
    // lags the client by a few frames.
    assert!(
        (1000..3000).contains(&st.audio_heard_ms),
        "{}",
        st.audio_heard_ms
    );
    assert_eq!(st.heard.len() as u64, st.audio_heard_ms * 8);
    assert!(st.warnings.is_empty());
    let events: Vec<&str> = st.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events.first(), Some(&"connected"));
    assert!(events.contains(&"start") && events.contains(&"dtmf"));
    assert_eq!(events.iter().filter(|e| **e == "stop").count(), 1);
    let stop = st.events.iter().find(|e| e.event == "stop").unwrap();
    assert_eq!(stop.at_ms - st.connected_at_ms.unwrap(), 10_000);
    assert_eq!(record.duration_secs, Some(10));
    assert_eq!(twiml_verbs(&record), ["Connect"]);

    let events: Vec<String> = record
        .status_callbacks
        .iter()
        .map(|c| c.event.clone())
        .collect();
    assert_eq!(events, ["initiated", "ringing", "answered", "completed"]);
    let done = &record.status_callbacks[3];
    assert_eq!(done.http_status, Some(204));
    assert_eq!(done.params["CallStatus"], "completed");
    assert_eq!(done.params["CallDuration"], "10");
    assert_eq!(done.params["SequenceNumber"], "3");
    assert_eq!(done.params["CallbackSource"], "call-progress-events");

    server_caught_up(&log, 1).await;
    let log = log.lock().unwrap();
    assert!(log.bad_signatures.is_empty(), "{:?}", log.bad_signatures);
    assert_eq!(log.media_frames, 500);
    assert_eq!(log.dtmf, ["5"]);
    assert_eq!(log.echoes, ["greeting", "second"]);
    assert_eq!(log.stops, 1);
    assert_eq!(log.status.len(), 4);
    let start = log.start.as_ref().unwrap();
    assert_eq!(start["start"]["customParameters"]["tenant"], "acme");
    assert_eq!(start["start"]["callSid"], record.call_sid.as_str());
    assert_eq!(env.recorder.in_flight(), 0);
    assert_eq!(env.recorder.records().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_capture_holds_every_request_upgrade_and_frame_as_sent() {
    let (addr, log) = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.jsonl");
    let (capture, writer) = Capture::to_file(&path).unwrap();
    let env =
        twilio_env(addr, SEED).with_capture(capture.scoped("one-call", SimClock::start_default()));
    let record = play_call(
        &env,
        inbound("caller-1", "/twiml/incoming", ten_second_script()),
    )
    .await;
    assert_eq!(record.status, "completed");
    server_caught_up(&log, 1).await;
    drop(env);
    writer.finish().unwrap();

    let lines: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_kind = |kind: &'static str| lines.iter().filter(move |l| l["kind"] == kind);
    let header = |line: &Value, name: &str| -> String {
        line["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
            .map(|h| h[1].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    // One webhook and four status callbacks, each signed over the URL it names, with the public
    // host in `Host` and the parameters in the order sent.
    let requests: Vec<&Value> = of_kind("http_request").collect();
    assert_eq!(requests.len(), 5);
    for request in &requests {
        let url = request["url"].as_str().unwrap();
        let params: Vec<(String, String)> =
            serde_json::from_value(request["params"].clone()).unwrap();
        assert!(
            validate(TOKEN, url, &params, &header(request, "X-Twilio-Signature")),
            "{url}"
        );
        assert_eq!(header(request, "Host"), "callsim.test");
        assert_eq!(header(request, "X-Home-Region"), "us1");
        assert_eq!(request["scenario"], "one-call");
        assert!(
            request["sent_to"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
    }
    assert_eq!(requests[0]["params"][0], json!(["AccountSid", ACCOUNT]));
    let upgrades: Vec<&Value> = of_kind("ws_upgrade").collect();
    assert_eq!(upgrades.len(), 1);
    assert_eq!(upgrades[0]["url"], "wss://callsim.test/ws/media");
    assert!(validate(
        TOKEN,
        "wss://callsim.test/ws/media",
        &[],
        &header(upgrades[0], "X-Twilio-Signature")
    ));
    assert_eq!(header(upgrades[0], "User-Agent"), "Twilio.TmeWs/1.0");
    // Every caller frame went out; the server's marks came back.
    let sent_media = of_kind("ws_message")
        .filter(|l| {
            l["direction"] == "to_server"
                && l["text"].as_str().unwrap().contains("\"event\":\"media\"")
        })
        .count();
    assert_eq!(sent_media, 500);
    assert!(
        of_kind("ws_message").any(|l| l["direction"] == "from_server"
            && l["socket"] == "twilio"
            && l["text"].as_str().unwrap().contains("\"mark\""))
    );
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_record() {
    let (addr, _log) = start_server().await;
    let a = play_call(
        &twilio_env(addr, SEED),
        inbound("same", "/twiml/incoming", ten_second_script()),
    )
    .await;
    let b = play_call(
        &twilio_env(addr, SEED),
        inbound("same", "/twiml/incoming", ten_second_script()),
    )
    .await;
    assert_eq!(a.call_sid, b.call_sid);
    assert_eq!(a.streams[0].stream_sid, b.streams[0].stream_sid);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[tokio::test(start_paused = true)]
async fn webhook_500_falls_back_with_error_code() {
    let (addr, log) = start_server().await;
    let mut spec = inbound("fallback", "/twiml/fail500", CallerScript::default());
    spec.fallback_url = Some(format!("{PUBLIC}/twiml/fallback"));
    let record = play_call(&twilio_env(addr, SEED), spec).await;
    assert_eq!(record.webhooks.len(), 2);
    assert_eq!(record.webhooks[0].http_status, Some(500));
    assert_eq!(record.webhooks[0].error.as_ref().unwrap().code, 11200);
    let fb = &record.webhooks[1];
    assert!(fb.fallback);
    assert_eq!(fb.http_status, Some(200));
    assert_eq!(fb.params["ErrorCode"], "11200");
    assert_eq!(fb.params["ErrorUrl"], format!("{PUBLIC}/twiml/fail500"));
    assert_eq!(twiml_verbs(&record), ["Say", "Hangup"]);
    assert_eq!(record.status, "completed");
    assert_eq!(
        record.errors.iter().map(|e| e.code).collect::<Vec<_>>(),
        [11200]
    );
    assert!(log.lock().unwrap().bad_signatures.is_empty());
}

#[tokio::test(start_paused = true)]
async fn webhook_timeout_is_11205_then_fallback() {
    let (addr, _log) = start_server().await;
    let env = twilio_env(addr, SEED);
    let mut spec = inbound("slow", "/twiml/slow", CallerScript::default());
    spec.fallback_url = Some(format!("{PUBLIC}/twiml/fallback"));
    let started = tokio::time::Instant::now();
    let record = play_call(&env, spec).await;
    let err = record.webhooks[0].error.as_ref().unwrap();
    assert_eq!(err.code, 11205);
    assert_eq!(record.webhooks[0].http_status, None);
    assert_eq!(record.webhooks[1].at_ms - record.webhooks[0].at_ms, 15_000);
    assert_eq!(record.webhooks[1].params["ErrorCode"], "11205");
    assert_eq!(record.status, "completed");
    assert!(started.elapsed() >= Duration::from_secs(15));
}

#[tokio::test(start_paused = true)]
async fn unsigned_webhook_is_refused_and_the_call_fails() {
    let (addr, log) = start_server().await;
    let mut spec = inbound("unsigned", "/twiml/incoming", ten_second_script());
    spec.faults = CallFaults {
        unsigned_webhook: true,
        ..CallFaults::default()
    };
    let record = play_call(&twilio_env(addr, SEED), spec).await;
    assert_eq!(record.webhooks.len(), 1);
    assert!(!record.webhooks[0].signed);
    assert_eq!(record.webhooks[0].http_status, Some(403));
    assert_eq!(record.errors[0].code, 11200);
    assert_eq!(record.status, "failed");
    assert!(record.streams.is_empty());
    let last = record.status_callbacks.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.params["CallStatus"].as_str()),
        ("completed", "failed")
    );
    assert_eq!(log.lock().unwrap().bad_signatures.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn unsigned_stream_is_a_31920_handshake_error() {
    let (addr, _log) = start_server().await;
    let mut spec = inbound("unsigned-ws", "/twiml/incoming", ten_second_script());
    spec.faults.unsigned_stream = true;
    let record = play_call(&twilio_env(addr, SEED), spec).await;
    assert_eq!(record.streams[0].handshake_status, Some(403));
    assert!(
        record
            .errors
            .iter()
            .any(|e| e.code == 31920 && e.message.contains("403"))
    );
    // The document continues after </Connect>: the Say runs, then the call hangs up.
    assert_eq!(twiml_verbs(&record), ["Connect", "Say"]);
    assert_eq!(record.status, "completed");
}

async fn rest_post(
    client: &reqwest::Client,
    url: &str,
    auth: bool,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = client.post(url).form(form);
    if auth {
        req = req.basic_auth(ACCOUNT, Some(TOKEN));
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// An authenticated GET: the status code and the JSON body.
async fn rest_get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let resp = client
        .get(url)
        .basic_auth(ACCOUNT, Some(TOKEN))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test(start_paused = true)]
async fn rest_fake_creates_fetches_and_updates_outbound_calls() {
    let (addr, log) = start_server().await;
    let env = twilio_env(addr, SEED);
    let rest = RestFake::bind().await;
    let api = rest.base_url.clone();
    rest.serve(
        &env,
        answering_callee(Duration::from_secs(3), Duration::from_secs(60)),
    );
    let client = reqwest::Client::new();
    let calls = format!("{api}/2010-04-01/Accounts/{ACCOUNT}/Calls.json");
    let form = [
        ("To", "+14155550123"),
        ("From", "+15005550006"),
        ("Url", "https://callsim.test/twiml/outbound"),
        ("StatusCallback", "https://callsim.test/status"),
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "answered"),
    ];

    let (code, body) = rest_post(&client, &calls, false, &form).await;
    assert_eq!(code, 401);
    assert_eq!(
        body,
        json!({"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})
    );
    let (code, body) = rest_post(
        &client,
        &calls,
        true,
        &[("From", "+15005550006"), ("Url", "https://x/y")],
    )
    .await;
    assert_eq!((code, body["code"].as_u64()), (400, Some(21201)));
    let (code, body) = rest_post(&client, &calls, true, &[("To", "+1"), ("From", "+2")]).await;
    assert_eq!((code, body["code"].as_u64()), (400, Some(21205)));

    let (code, call) = rest_post(&client, &calls, true, &form).await;
    assert_eq!(code, 201);
    assert_eq!(call["status"], "queued");
    assert_eq!(call["direction"], "outbound-api");
    assert_eq!(call["to_formatted"], "(415) 555-0123");
    assert_eq!(call["api_version"], "2010-04-01");
    assert_eq!(call["date_created"], "Thu, 01 Jan 2026 00:00:00 +0000");
    let sid = call["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("CA") && sid.len() == 34);
    assert_eq!(
        call["uri"],
        format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json")
    );
    assert_eq!(
        call["subresource_uris"]["streams"],
        format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}/Streams.json")
    );
    for key in [
        "start_time",
        "end_time",
        "duration",
        "price",
        "parent_call_sid",
        "answered_by",
    ] {
        assert!(call[key].is_null(), "{key}");
    }

    // Let the callee answer and the stream run for a while.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let call_url = format!("{api}/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json");
    let (code, fetched) = rest_get(&client, &call_url).await;
    assert_eq!(code, 200);
    assert_eq!(fetched["status"], "in-progress");
    assert!(fetched["start_time"].is_string());

    let (code, updated) = rest_post(&client, &call_url, true, &[("Status", "completed")]).await;
    assert_eq!((code, updated["sid"].as_str()), (200, Some(sid.as_str())));
    env.recorder
        .wait_idle(Duration::from_secs(30))
        .await
        .unwrap();

    let record = env.recorder.record(&sid).unwrap();
    assert_eq!(record.status, "completed");
    assert_eq!(record.streams[0].ended_by, Some(StreamEndedBy::Rest));
    let hook = &record.webhooks[0];
    assert_eq!(hook.params["Direction"], "outbound-api");
    assert_eq!(hook.params["CallStatus"], "in-progress");
    assert!(!hook.params.contains_key("CallToken"));
    let events: Vec<&str> = record
        .status_callbacks
        .iter()
        .map(|c| c.event.as_str())
        .collect();
    assert_eq!(events, ["initiated", "answered", "completed"]);
    assert_eq!(record.answered_at_ms.unwrap() - record.started_at_ms, 3000);

    let (code, body) = rest_post(&client, &call_url, true, &[("Status", "completed")]).await;
    assert_eq!((code, body["code"].as_u64()), (400, Some(21220)));
    let (code, fetched) = rest_get(&client, &call_url).await;
    assert_eq!(code, 200);
    assert_eq!(fetched["status"], "completed");
    let missing = format!("{api}/2010-04-01/Accounts/{ACCOUNT}/Calls/CAnope.json");
    let resp = client
        .get(&missing)
        .basic_auth(ACCOUNT, Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);

    server_caught_up(&log, 1).await;
    let log = log.lock().unwrap();
    assert!(log.bad_signatures.is_empty());
    assert_eq!(log.stops, 1);
    assert_eq!(log.webhooks[0].1["Direction"], "outbound-api");
}
