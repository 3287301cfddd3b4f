//! Outbound call placement through a wiremock Twilio REST API, then the answered leg's webhook.

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TOKEN, TestApp, config, params, spawn_app_with};

const ACCOUNT: &str = "AC00000000000000000000000000000001";

async fn app_with_twilio(twilio: &MockServer) -> TestApp {
    app_with_api_base(twilio.uri()).await
}

async fn app_with_api_base(api_base: String) -> TestApp {
    let mut config = config();
    config.twilio_account_sid = Some(ACCOUNT.to_owned());
    config.twilio_api_base = api_base;
    let app = spawn_app_with(config).await;
    app.put_tenant(
        "acme",
        json!({"business_name": "Acme", "inbound_prompt": "", "outbound_prompt": "Sell."}),
    )
    .await;
    app
}

/// The body of `POST /calls/outbound` from the tenant's Twilio number to `to`.
fn placed_for(tenant: &str, to: &str) -> serde_json::Value {
    json!({"tenant": tenant, "to": to, "from": "+15017122661"})
}

fn basic_auth() -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"));
    format!("Basic {encoded}")
}

#[tokio::test]
async fn places_the_call_with_basic_auth_and_the_expected_form() {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{ACCOUNT}/Calls.json")))
        .and(header("authorization", basic_auth().as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sid": "CA11111111111111111111111111111111", "status": "queued", "direction": "outbound-api"
        })))
        .expect(1)
        .mount(&twilio)
        .await;
    let app = app_with_twilio(&twilio).await;
    let answer = app.place_call(&placed_for("acme", "+14155551212")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        json!({"call_sid": "CA11111111111111111111111111111111", "status": "queued"})
    );

    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form: Vec<(String, String)> = form_urlencoded::parse(&requests[0].body)
        .into_owned()
        .collect();
    let expected = params(&[
        ("To", "+14155551212"),
        ("From", "+15017122661"),
        ("Url", "https://callsim.test/twiml/outbound/acme"),
        ("StatusCallback", "https://callsim.test/status/call"),
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
    ]);
    assert_eq!(form, expected);

    // When the callee answers, Twilio fetches that Url: the answer locks the outbound direction.
    let answered = params(&[
        ("CallSid", "CA11111111111111111111111111111111"),
        ("Direction", "outbound-api"),
    ]);
    let twiml = app
        .post_signed("/twiml/outbound/acme", &answered)
        .await
        .text;
    assert!(
        twiml.contains(r#"<Parameter name="direction" value="outbound"/>"#),
        "{twiml}"
    );
}

#[tokio::test]
async fn twilio_errors_are_passed_through_as_502() {
    let twilio = MockServer::start().await;
    let error = json!({"code": 21211, "message": "The 'To' number is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400});
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(error.clone()))
        .mount(&twilio)
        .await;
    let app = app_with_twilio(&twilio).await;
    let answer = app.place_call(&placed_for("acme", "nope")).await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.json(), error);
}

#[tokio::test]
async fn unknown_tenant_is_404_without_calling_twilio() {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&twilio)
        .await;
    let app = app_with_twilio(&twilio).await;
    let answer = app.place_call(&placed_for("nobody", "+14155551212")).await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn unreachable_twilio_is_502() {
    // A port that was just free: nothing listens there, so the connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = app_with_api_base(format!("http://{closed}")).await;
    let answer = app.place_call(&placed_for("acme", "+14155551212")).await;
    assert_eq!(answer.status, 502);
    let body = answer.json();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Twilio REST request failed"),
        "{body}"
    );
}

/// The `Url` of the one `Calls.json` request `twilio` received.
async fn placed_url(twilio: &MockServer) -> String {
    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    form_urlencoded::parse(&requests[0].body)
        .find(|(name, _)| name == "Url")
        .map(|(_, url)| url.into_owned())
        .unwrap_or_default()
}

/// Twilio accepting every call.
async fn accepting_twilio() -> MockServer {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sid": "CA22222222222222222222222222222222", "status": "queued"
        })))
        .mount(&twilio)
        .await;
    twilio
}

#[tokio::test]
async fn a_call_from_the_tenants_own_number_is_answered_on_the_slug_less_webhook() {
    let twilio = accepting_twilio().await;
    let app = app_with_twilio(&twilio).await;
    app.put_tenant(
        "acme",
        json!({"business_name": "Acme", "outbound_prompt": "Sell.", "numbers": ["+15017122661"]}),
    )
    .await;
    let answer = app.place_call(&placed_for("acme", "+14155551212")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        placed_url(&twilio).await,
        "https://callsim.test/twiml/outbound"
    );
}

#[tokio::test]
async fn a_call_from_another_tenants_number_is_refused_without_calling_twilio() {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&twilio)
        .await;
    let app = app_with_twilio(&twilio).await;
    app.put_tenant(
        "bobs",
        json!({"business_name": "Bob's", "numbers": ["+15017122661"]}),
    )
    .await;
    let answer = app.place_call(&placed_for("acme", "+14155551212")).await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(
        answer.json()["error"],
        "conflict: caller ID +15017122661 belongs to tenant \"bobs\", not \"acme\""
    );
}
