//! HTTP surface: signature enforcement on webhooks, callbacks and the WebSocket upgrade, the
//! fixture API's authorization, and input validation (unknown fixture fields, tenant slugs,
//! expiry of pre-built prompts no stream claimed).

mod common;
#[path = "common/requests.rs"]
mod requests;

use std::time::Duration;

use common::{FIXTURE_TOKEN, TestServer, config, params, put_tenant, sign, spawn};
use futures_util::{SinkExt, StreamExt};
use requests::{
    fixture_get, fixture_put, fixture_state, open_media_stream, paused_runtime, place_call,
    post_signed, spawn_with_hanging_ai,
};
use serde_json::json;
use server_under_test::slug;
use server_under_test::stream_registry::DEFAULT_UNCLAIMED_TTL;
use tokio_tungstenite::tungstenite;

async fn server_with_acme() -> TestServer {
    let server = spawn(config("ws://127.0.0.1:9/v1/realtime")).await;
    put_tenant(
        &server,
        "acme",
        json!({"business_name": "Acme", "inbound_prompt": "Hi", "outbound_prompt": null}),
    )
    .await;
    server
}

fn webhook_params() -> Vec<(String, String)> {
    params(&[
        ("CallSid", "CA0001"),
        ("From", "+14155551234"),
        ("To", "+15005550006"),
        ("Direction", "inbound"),
    ])
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_webhook_is_403() {
    let server = server_with_acme().await;
    let client = reqwest::Client::new();
    let unsigned = client
        .post(server.url("/twiml/incoming/acme"))
        .form(&webhook_params())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    let wrong = client
        .post(server.url("/twiml/incoming/acme"))
        .header(
            "X-Twilio-Signature",
            sign("/twiml/outbound/acme", &webhook_params()),
        )
        .form(&webhook_params())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    // Tampering with a parameter breaks the signature too.
    let mut tampered = webhook_params();
    tampered[1].1 = "+19999999999".to_owned();
    let response = client
        .post(server.url("/twiml/incoming/acme"))
        .header(
            "X-Twilio-Signature",
            sign("/twiml/incoming/acme", &webhook_params()),
        )
        .form(&tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn signed_incoming_webhook_returns_connect_stream_twiml() {
    let server = server_with_acme().await;
    let response = reqwest::Client::new()
        .post(server.url("/twiml/incoming/acme"))
        .header(
            "X-Twilio-Signature",
            sign("/twiml/incoming/acme", &webhook_params()),
        )
        .form(&webhook_params())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/xml");
    let body = response.text().await.unwrap();
    assert!(body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://callsim.test/ws/media""#), "{body}");
    assert!(body.contains("<Connect><Stream"));
    assert!(body.contains(r#"<Parameter name="tenant" value="acme"/>"#));
    assert!(body.contains(r#"<Parameter name="call_sid" value="CA0001"/>"#));
}

#[tokio::test]
async fn websocket_upgrade_requires_a_signature_over_the_wss_url() {
    let server = server_with_acme().await;
    let url = format!("ws://{}/ws/media", server.addr);
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403 handshake failure, got {other:?}"),
    }
    // A signature over the https:// form of the URL is wrong (twilio-aspnet#162).
    let mut request =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    let https_sig =
        server_under_test::signature::compute(common::TOKEN, "https://callsim.test/ws/media", &[]);
    request
        .headers_mut()
        .insert("X-Twilio-Signature", https_sig.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403 handshake failure, got {other:?}"),
    }
    // The correct signature upgrades.
    let mut request =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    let wss_sig =
        server_under_test::signature::compute(common::TOKEN, "wss://callsim.test/ws/media", &[]);
    request
        .headers_mut()
        .insert("X-Twilio-Signature", wss_sig.parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    drop(socket);
}

#[tokio::test]
async fn fixture_api_requires_the_bearer_token() {
    let server = server_with_acme().await;
    let client = reqwest::Client::new();
    let missing = client
        .get(server.url("/fixtures/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let wrong = client
        .get(server.url("/fixtures/tenants/acme"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let wrong_put = client
        .put(server.url("/fixtures/tenants/acme"))
        .bearer_auth("nope")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_put.status(),
        401,
        "authorization is checked before the body"
    );
    let ok = client
        .get(server.url("/fixtures/tenants/acme"))
        .bearer_auth(FIXTURE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let tenant: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(tenant["business_name"], "Acme");
    assert_eq!(tenant["version"], 1);
    let unknown = client
        .get(server.url("/fixtures/tenants/nobody"))
        .bearer_auth(FIXTURE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let bad = client
        .put(server.url("/fixtures/tenants/acme"))
        .bearer_auth(FIXTURE_TOKEN)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let state: serde_json::Value = client
        .get(server.url("/fixtures/state"))
        .bearer_auth(FIXTURE_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        state,
        json!({"registry_entries": 0, "active_streams": 0, "active_ai_sockets": 0, "prompt_cache_entries": 0})
    );
}

#[tokio::test]
async fn put_tenant_bumps_the_version() {
    let server = server_with_acme().await;
    let stored = put_tenant(&server, "acme", json!({"business_name": "Acme", "inbound_prompt": "", "outbound_prompt": "Sell", "voice": "marin"})).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["inbound_prompt"], "");
    assert_eq!(stored["voice"], "marin");
}

#[tokio::test]
async fn fixture_api_is_404_when_disabled() {
    let mut config = config("ws://127.0.0.1:9/v1/realtime");
    config.fixture_token = None;
    let server = spawn(config).await;
    let client = reqwest::Client::new();
    for path in [
        "/fixtures/state",
        "/fixtures/tenants/acme",
        "/fixtures/status-callbacks",
        "/fixtures/anything",
    ] {
        let response = client
            .get(server.url(path))
            .bearer_auth(FIXTURE_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let put = client
        .put(server.url("/fixtures/tenants/acme"))
        .bearer_auth(FIXTURE_TOKEN)
        .json(&json!({"business_name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 404);
}

#[tokio::test]
async fn status_callbacks_are_signed_and_recorded() {
    let server = server_with_acme().await;
    let client = reqwest::Client::new();
    let call = params(&[
        ("CallSid", "CA0001"),
        ("CallStatus", "completed"),
        ("SequenceNumber", "3"),
    ]);
    let unsigned = client
        .post(server.url("/status/call"))
        .form(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    let signed = client
        .post(server.url("/status/call"))
        .header("X-Twilio-Signature", sign("/status/call", &call))
        .form(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 204);
    let stream = params(&[
        ("CallSid", "CA0001"),
        ("StreamSid", "MZ1"),
        ("StreamEvent", "stream-started"),
    ]);
    let signed = client
        .post(server.url("/status/stream"))
        .header("X-Twilio-Signature", sign("/status/stream", &stream))
        .form(&stream)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 204);
    let recorded: serde_json::Value = client
        .get(server.url("/fixtures/status-callbacks"))
        .bearer_auth(FIXTURE_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        recorded,
        json!([
            {"kind": "call", "params": {"CallSid": "CA0001", "CallStatus": "completed", "SequenceNumber": "3"}},
            {"kind": "stream", "params": {"CallSid": "CA0001", "StreamEvent": "stream-started", "StreamSid": "MZ1"}}
        ])
    );
}

#[tokio::test]
async fn insecure_mode_accepts_unsigned_webhooks() {
    let mut config = config("ws://127.0.0.1:9/v1/realtime");
    config.insecure_skip_signature_validation = true;
    let server = spawn(config).await;
    put_tenant(&server, "acme", json!({"business_name": "Acme"})).await;
    let response = reqwest::Client::new()
        .post(server.url("/twiml/incoming/acme"))
        .form(&webhook_params())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn completed_callback_clears_a_call_whose_stream_never_connected() {
    let server = server_with_acme().await;
    let client = reqwest::Client::new();
    let state = |client: reqwest::Client, url: String| async move {
        let v: serde_json::Value = client
            .get(url)
            .bearer_auth(FIXTURE_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["registry_entries"].as_u64().unwrap()
    };
    let webhook = params(&[
        ("CallSid", "CA0042"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ]);
    let answered = client
        .post(server.url("/twiml/incoming/acme"))
        .header("X-Twilio-Signature", sign("/twiml/incoming/acme", &webhook))
        .form(&webhook)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    // The pre-build runs in the background; give it a moment to store its prompt.
    let mut entries = 0;
    for _ in 0..50 {
        entries = state(client.clone(), server.url("/fixtures/state")).await;
        if entries == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(entries, 1, "the webhook pre-builds into the registry");
    let done = params(&[("CallSid", "CA0042"), ("CallStatus", "completed")]);
    let signed = client
        .post(server.url("/status/call"))
        .header("X-Twilio-Signature", sign("/status/call", &done))
        .form(&done)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 204);
    assert_eq!(
        state(client.clone(), server.url("/fixtures/state")).await,
        0
    );
}

/// Slugs that break the rule, as they are written in a URL path, with what is wrong with them.
fn bad_slugs() -> Vec<(&'static str, String)> {
    vec![
        ("NUL", "ac%00me".to_owned()),
        ("dot-dot-slash", "..%2F..".to_owned()),
        ("RTL override", "acme%E2%80%AE".to_owned()),
        ("not UTF-8", "acme%FF".to_owned()),
        ("65 characters", "a".repeat(65)),
        ("empty", String::new()),
    ]
}

fn call_params(call_sid: &str) -> Vec<(String, String)> {
    params(&[
        ("CallSid", call_sid),
        ("From", "+14155551234"),
        ("To", "+15005550006"),
    ])
}

fn start_message(call_sid: &str, tenant: &str) -> tungstenite::Message {
    let start = json!({
        "event": "start",
        "streamSid": "MZ0001",
        "start": {
            "callSid": call_sid,
            "customParameters": {"tenant": tenant, "direction": "inbound", "call_sid": call_sid},
        },
    });
    tungstenite::Message::Text(start.to_string().into())
}

#[tokio::test]
async fn fixture_body_with_an_unknown_field_is_refused_naming_the_field() {
    let server = server_with_acme().await;
    let typo = json!({"business_name": "Acme", "inbound_promt": "Answer for Acme.", "outbound_prompt": "Sell"});
    let refused = fixture_put(&server, "acme", &typo).await;
    assert_eq!(refused.status, 400);
    let error = refused.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains("unknown field `inbound_promt`"), "{error}");
    assert!(error.contains("`inbound_prompt`"), "{error}");
    // Nothing was stored: the tenant keeps its inbound prompt, and a new tenant is not created.
    let acme = fixture_get(&server, "acme").await.json();
    assert_eq!(acme["inbound_prompt"], "Hi");
    assert_eq!(acme["version"], 1);
    assert_eq!(fixture_put(&server, "bobs", &typo).await.status, 400);
    assert_eq!(fixture_get(&server, "bobs").await.status, 404);
}

#[tokio::test]
async fn fixture_routes_refuse_bad_slugs_with_a_json_400() {
    let server = server_with_acme().await;
    let body = json!({"business_name": "Evil"});
    for (what, slug) in bad_slugs() {
        for answer in [
            fixture_put(&server, &slug, &body).await,
            fixture_get(&server, &slug).await,
        ] {
            assert_eq!(answer.status, 400, "{what}: {}", answer.text);
            let error = answer.json()["error"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(error.contains(slug::RULE), "{what}: {error}");
        }
    }
    // The token is checked before the slug, so a caller without it learns nothing.
    let unauthorized = reqwest::Client::new()
        .get(server.url("/fixtures/tenants/..%2F.."))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
}

#[tokio::test]
async fn webhook_routes_refuse_bad_slugs_with_a_plain_400() {
    let server = server_with_acme().await;
    for (what, slug) in bad_slugs() {
        for route in ["incoming", "outbound"] {
            let path = format!("/twiml/{route}/{slug}");
            let answer = post_signed(&server, &path, &call_params("CA0001")).await;
            assert_eq!(answer.status, 400, "{what} on {route}: {}", answer.text);
            assert!(
                answer.content_type.starts_with("text/plain"),
                "{what} on {route}: {}",
                answer.content_type
            );
            assert!(answer.text.contains(slug::RULE), "{what}: {}", answer.text);
        }
    }
    // A refused webhook pre-builds nothing.
    assert_eq!(fixture_state(&server).await["registry_entries"], 0);
    // The signature is checked before the slug.
    let unsigned = reqwest::Client::new()
        .post(server.url("/twiml/incoming/..%2F.."))
        .form(&call_params("CA0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
}

#[tokio::test]
async fn a_slug_with_dash_and_underscore_works_everywhere() {
    let server = server_with_acme().await;
    let slug = "Acme-Dental_2";
    let stored = fixture_put(&server, slug, &json!({"business_name": "Acme Dental"})).await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(stored.json()["slug"], slug);
    assert_eq!(fixture_get(&server, slug).await.json()["slug"], slug);
    let path = format!("/twiml/incoming/{slug}");
    let answered = post_signed(&server, &path, &call_params("CA0001")).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert!(
        answered
            .text
            .contains(r#"<Parameter name="tenant" value="Acme-Dental_2"/>"#),
        "{}",
        answered.text
    );
}

#[tokio::test]
async fn outbound_call_with_a_bad_tenant_slug_is_a_json_400() {
    let server = server_with_acme().await;
    let answer = place_call(
        &server,
        &json!({"tenant": "../acme", "to": "+14155551212", "from": "+15017122661"}),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    let error = answer.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains(slug::RULE), "{error}");
}

#[tokio::test]
async fn media_stream_with_a_bad_tenant_parameter_is_ended() {
    let server = server_with_acme().await;
    let answered = post_signed(&server, "/twiml/incoming/acme", &call_params("CA0007")).await;
    assert_eq!(answered.status, 200);
    let mut stream = open_media_stream(&server).await;
    stream
        .send(start_message("CA0007", "acme\u{202e}"))
        .await
        .unwrap();
    // The server ends the stream instead of looking the tenant up; nothing else arrives first.
    let next = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("the server ends the stream");
    assert!(
        matches!(next, None | Some(Ok(tungstenite::Message::Close(_)))),
        "{next:?}"
    );
    // The session's cleanup clears the call's registry entry once it has returned.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while fixture_state(&server).await["registry_entries"] != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "registry never cleared"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs on a paused clock: the registry's TTL is minutes long, and virtual time skips it.
#[test]
fn unclaimed_registry_entry_expires_after_the_ttl_and_a_streamed_one_stays() {
    paused_runtime().block_on(async {
        let (server, mut ai_attempts) =
            spawn_with_hanging_ai(config("ws://127.0.0.1:9/v1/realtime")).await;
        put_tenant(
            &server,
            "acme",
            json!({"business_name": "Acme", "inbound_prompt": "Hi"}),
        )
        .await;
        for call_sid in ["CAabandoned", "CAstreamed"] {
            let answered =
                post_signed(&server, "/twiml/incoming/acme", &call_params(call_sid)).await;
            assert_eq!(answered.status, 200, "{}", answered.text);
        }
        let mut stream = open_media_stream(&server).await;
        stream
            .send(start_message("CAstreamed", "acme"))
            .await
            .unwrap();
        // The session connects to the model only after it has claimed its entry and chosen the
        // prompt; the connection then hangs, so the stream stays open.
        ai_attempts
            .recv()
            .await
            .expect("the session reaches the model");
        assert_eq!(fixture_state(&server).await["registry_entries"], 2);

        tokio::time::advance(DEFAULT_UNCLAIMED_TTL).await;
        let state = fixture_state(&server).await;
        assert_eq!(state["registry_entries"], 1, "{state}");
        assert_eq!(state["active_streams"], 1, "{state}");
        drop(stream);
    });
}
