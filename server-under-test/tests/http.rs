//! HTTP surface: signature enforcement on webhooks, callbacks and the WebSocket upgrade, the
//! fixture API's authorization, and input validation (unknown fixture fields, tenant slugs,
//! expiry of pre-built prompts no stream claimed).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use server_under_test::stream_registry::DEFAULT_UNCLAIMED_TTL;
use server_under_test::{signature, slug};
use tokio_tungstenite::tungstenite;

use crate::common::{
    FIXTURE_TOKEN, TOKEN, TestApp, config, params, paused_runtime, sign, spawn_app, spawn_app_with,
    spawn_with_hanging_ai,
};

async fn app_with_acme() -> TestApp {
    let app = spawn_app().await;
    app.put_tenant(
        "acme",
        json!({"business_name": "Acme", "inbound_prompt": "Hi", "outbound_prompt": null}),
    )
    .await;
    app
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
    let app = app_with_acme().await;
    let path = "/twiml/incoming/acme";
    let unsigned = app.post_unsigned(path, &webhook_params()).await;
    assert_eq!(unsigned.status, 403);
    let for_another_path = sign("/twiml/outbound/acme", &webhook_params());
    let wrong = app
        .post_form(path, &webhook_params(), Some(&for_another_path))
        .await;
    assert_eq!(wrong.status, 403);
    // Tampering with a parameter breaks the signature too.
    let mut tampered = webhook_params();
    tampered[1].1 = "+19999999999".to_owned();
    let before_tampering = sign(path, &webhook_params());
    let response = app
        .post_form(path, &tampered, Some(&before_tampering))
        .await;
    assert_eq!(response.status, 403);
}

#[tokio::test]
async fn signed_incoming_webhook_returns_connect_stream_twiml() {
    let app = app_with_acme().await;
    let answer = app
        .post_signed("/twiml/incoming/acme", &webhook_params())
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "text/xml");
    let body = answer.text;
    assert!(body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://callsim.test/ws/media""#), "{body}");
    assert!(body.contains("<Connect><Stream"));
    assert!(body.contains(r#"<Parameter name="tenant" value="acme"/>"#));
    assert!(body.contains(r#"<Parameter name="call_sid" value="CA0001"/>"#));
}

#[tokio::test]
async fn websocket_upgrade_requires_a_signature_over_the_wss_url() {
    let app = app_with_acme().await;
    let refused_with_403 = |result| match result {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403 handshake failure, got {other:?}"),
    };
    refused_with_403(app.connect_media_stream(None).await);
    // A signature over the https:// form of the URL is wrong (twilio-aspnet#162).
    let https_sig = signature::compute(TOKEN, "https://callsim.test/ws/media", &[]);
    refused_with_403(app.connect_media_stream(Some(&https_sig)).await);
    // The correct signature upgrades.
    let wss_sig = signature::compute(TOKEN, "wss://callsim.test/ws/media", &[]);
    let (socket, response) = app.connect_media_stream(Some(&wss_sig)).await.unwrap();
    assert_eq!(response.status(), 101);
    drop(socket);
}

#[tokio::test]
async fn fixture_api_requires_the_bearer_token() {
    let app = app_with_acme().await;
    assert_eq!(app.get("/fixtures/state", None).await.status, 401);
    let wrong = app.get("/fixtures/tenants/acme", Some("nope")).await;
    assert_eq!(wrong.status, 401);
    let wrong_put = app
        .put_raw("/fixtures/tenants/acme", "nope", "not json")
        .await;
    assert_eq!(
        wrong_put.status, 401,
        "authorization is checked before the body"
    );
    let ok = app.fixture_get("acme").await;
    assert_eq!(ok.status, 200);
    let tenant = ok.json();
    assert_eq!(tenant["business_name"], "Acme");
    assert_eq!(tenant["version"], 1);
    assert_eq!(app.fixture_get("nobody").await.status, 404);
    let bad = app
        .put_raw("/fixtures/tenants/acme", FIXTURE_TOKEN, "{")
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        app.fixture_state().await,
        json!({"registry_entries": 0, "active_streams": 0, "active_ai_sockets": 0, "prompt_cache_entries": 0})
    );
}

#[tokio::test]
async fn put_tenant_bumps_the_version() {
    let app = app_with_acme().await;
    let stored = app.put_tenant("acme", json!({"business_name": "Acme", "inbound_prompt": "", "outbound_prompt": "Sell", "voice": "marin"})).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["inbound_prompt"], "");
    assert_eq!(stored["voice"], "marin");
}

#[tokio::test]
async fn fixture_api_is_404_when_disabled() {
    let mut config = config();
    config.fixture_token = None;
    let app = spawn_app_with(config).await;
    for path in [
        "/fixtures/state",
        "/fixtures/tenants/acme",
        "/fixtures/status-callbacks",
        "/fixtures/anything",
    ] {
        assert_eq!(
            app.get(path, Some(FIXTURE_TOKEN)).await.status,
            404,
            "{path}"
        );
    }
    let put = app
        .fixture_put("acme", &json!({"business_name": "Acme"}))
        .await;
    assert_eq!(put.status, 404);
}

#[tokio::test]
async fn status_callbacks_are_signed_and_recorded() {
    let app = app_with_acme().await;
    let call = params(&[
        ("CallSid", "CA0001"),
        ("CallStatus", "completed"),
        ("SequenceNumber", "3"),
    ]);
    assert_eq!(app.post_unsigned("/status/call", &call).await.status, 403);
    assert_eq!(app.post_signed("/status/call", &call).await.status, 204);
    let stream = params(&[
        ("CallSid", "CA0001"),
        ("StreamSid", "MZ1"),
        ("StreamEvent", "stream-started"),
    ]);
    assert_eq!(app.post_signed("/status/stream", &stream).await.status, 204);
    assert_eq!(
        app.status_callbacks().await,
        json!([
            {"kind": "call", "params": {"CallSid": "CA0001", "CallStatus": "completed", "SequenceNumber": "3"}},
            {"kind": "stream", "params": {"CallSid": "CA0001", "StreamEvent": "stream-started", "StreamSid": "MZ1"}}
        ])
    );
}

#[tokio::test]
async fn insecure_mode_accepts_unsigned_webhooks() {
    let mut config = config();
    config.insecure_skip_signature_validation = true;
    let app = spawn_app_with(config).await;
    app.put_tenant("acme", json!({"business_name": "Acme"}))
        .await;
    let answer = app
        .post_unsigned("/twiml/incoming/acme", &webhook_params())
        .await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn completed_callback_clears_a_call_whose_stream_never_connected() {
    let app = app_with_acme().await;
    let webhook = params(&[
        ("CallSid", "CA0042"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ]);
    let answered = app.post_signed("/twiml/incoming/acme", &webhook).await;
    assert_eq!(answered.status, 200);
    // The pre-build runs in the background; give it a moment to store its prompt.
    let state = app
        .wait_for_state(|state| state["registry_entries"] == 1)
        .await;
    assert_eq!(
        state["registry_entries"], 1,
        "the webhook pre-builds into the registry"
    );
    let done = params(&[("CallSid", "CA0042"), ("CallStatus", "completed")]);
    assert_eq!(app.post_signed("/status/call", &done).await.status, 204);
    assert_eq!(app.fixture_state().await["registry_entries"], 0);
}

#[tokio::test]
async fn contact_fixture_needs_the_token_a_known_tenant_an_e164_phone_and_only_notes() {
    let app = app_with_acme().await;
    let notes = json!({"notes": "Prefers mornings."});
    let stored = app
        .fixture_put_contact("acme", "+14155551234", &notes)
        .await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(
        stored.json(),
        json!({"tenant": "acme", "phone": "+14155551234", "notes": "Prefers mornings."})
    );
    // A percent-encoded plus is the same number.
    let encoded = app
        .fixture_put_contact("acme", "%2B14155551234", &notes)
        .await;
    assert_eq!(encoded.status, 200, "{}", encoded.text);
    assert_eq!(
        app.fixture_put_contact("nobody", "+14155551234", &notes)
            .await
            .status,
        404
    );
    for bad_phone in ["14155551234", "+1415555123456789", "+1..%2F", "%2B"] {
        let refused = app.fixture_put_contact("acme", bad_phone, &notes).await;
        assert_eq!(refused.status, 400, "{bad_phone}: {}", refused.text);
        assert!(
            refused.json()["error"]
                .as_str()
                .unwrap_or_default()
                .contains("E.164")
        );
    }
    let typo = app
        .fixture_put_contact("acme", "+14155551234", &json!({"note": "x"}))
        .await;
    assert_eq!(typo.status, 400);
    assert!(
        typo.json()["error"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown field `note`")
    );
    let unauthorized = app
        .put_raw("/fixtures/tenants/acme/contacts/+14155551234", "nope", "{}")
        .await;
    assert_eq!(unauthorized.status, 401);
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
    let app = app_with_acme().await;
    let typo = json!({"business_name": "Acme", "inbound_promt": "Answer for Acme.", "outbound_prompt": "Sell"});
    let refused = app.fixture_put("acme", &typo).await;
    assert_eq!(refused.status, 400);
    let error = refused.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains("unknown field `inbound_promt`"), "{error}");
    assert!(error.contains("`inbound_prompt`"), "{error}");
    // Nothing was stored: the tenant keeps its inbound prompt, and a new tenant is not created.
    let acme = app.fixture_get("acme").await.json();
    assert_eq!(acme["inbound_prompt"], "Hi");
    assert_eq!(acme["version"], 1);
    assert_eq!(app.fixture_put("bobs", &typo).await.status, 400);
    assert_eq!(app.fixture_get("bobs").await.status, 404);
}

#[tokio::test]
async fn fixture_routes_refuse_bad_slugs_with_a_json_400() {
    let app = app_with_acme().await;
    let body = json!({"business_name": "Evil"});
    for (what, slug) in bad_slugs() {
        for answer in [
            app.fixture_put(&slug, &body).await,
            app.fixture_get(&slug).await,
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
    let unauthorized = app.get("/fixtures/tenants/..%2F..", None).await;
    assert_eq!(unauthorized.status, 401);
}

#[tokio::test]
async fn webhook_routes_refuse_bad_slugs_with_a_plain_400() {
    let app = app_with_acme().await;
    for (what, slug) in bad_slugs() {
        for route in ["incoming", "outbound"] {
            let path = format!("/twiml/{route}/{slug}");
            let answer = app.post_signed(&path, &call_params("CA0001")).await;
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
    assert_eq!(app.fixture_state().await["registry_entries"], 0);
    // The signature is checked before the slug.
    let unsigned = app
        .post_unsigned("/twiml/incoming/..%2F..", &call_params("CA0001"))
        .await;
    assert_eq!(unsigned.status, 403);
}

#[tokio::test]
async fn a_slug_with_dash_and_underscore_works_everywhere() {
    let app = app_with_acme().await;
    let slug = "Acme-Dental_2";
    let stored = app
        .fixture_put(slug, &json!({"business_name": "Acme Dental"}))
        .await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(stored.json()["slug"], slug);
    assert_eq!(app.fixture_get(slug).await.json()["slug"], slug);
    let path = format!("/twiml/incoming/{slug}");
    let answered = app.post_signed(&path, &call_params("CA0001")).await;
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
    let app = app_with_acme().await;
    let answer = app
        .place_call(&json!({"tenant": "../acme", "to": "+14155551212", "from": "+15017122661"}))
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
    let app = app_with_acme().await;
    let answered = app
        .post_signed("/twiml/incoming/acme", &call_params("CA0007"))
        .await;
    assert_eq!(answered.status, 200);
    let mut stream = app.open_media_stream().await;
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
    let state = app
        .wait_for_state(|state| state["registry_entries"] == 0)
        .await;
    assert_eq!(state["registry_entries"], 0, "registry never cleared");
}

/// Runs on a paused clock: the registry's TTL is minutes long, and virtual time skips it.
#[test]
fn unclaimed_registry_entry_expires_after_the_ttl_and_a_streamed_one_stays() {
    paused_runtime().block_on(async {
        let (app, mut ai_attempts) = spawn_with_hanging_ai(config()).await;
        app.put_tenant(
            "acme",
            json!({"business_name": "Acme", "inbound_prompt": "Hi"}),
        )
        .await;
        for call_sid in ["CAabandoned", "CAstreamed"] {
            let answered = app
                .post_signed("/twiml/incoming/acme", &call_params(call_sid))
                .await;
            assert_eq!(answered.status, 200, "{}", answered.text);
        }
        let mut stream = app.open_media_stream().await;
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
        assert_eq!(app.fixture_state().await["registry_entries"], 2);

        tokio::time::advance(DEFAULT_UNCLAIMED_TTL).await;
        let state = app.fixture_state().await;
        assert_eq!(state["registry_entries"], 1, "{state}");
        assert_eq!(state["active_streams"], 1, "{state}");
        drop(stream);
    });
}
