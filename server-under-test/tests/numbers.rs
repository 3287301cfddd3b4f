//! Tenants found by number: the fixture's `numbers`, the slug-less webhooks `/twiml/incoming`
//! (by `To`) and `/twiml/outbound` (by `From`), and the refusal of a number no tenant has.

use serde_json::{Value, json};

use crate::common::{
    AiRecorder, StreamingCall, TestApp, config, on_paused_clock, params, spawn_app,
    spawn_with_recording_ai, stream_parameters,
};

const ACME_NUMBER: &str = "+15550001111";
const ACME_SECOND: &str = "+15550001112";
const BOBS_NUMBER: &str = "+15550002222";
const UNKNOWN_NUMBER: &str = "+15550009999";
const CALLER: &str = "+14155550100";

const ACME_IN: &str = "You are the front desk of Acme Dental.";
const ACME_OUT: &str = "You are calling Acme Dental patients about tomorrow.";
const BOBS_IN: &str = "You answer the phone at Bob's Bikes.";
const BOBS_OUT: &str = "You are calling Bob's Bikes customers whose repair is ready.";

fn acme(numbers: Value) -> Value {
    json!({"business_name": "Acme Dental", "inbound_prompt": ACME_IN,
           "outbound_prompt": ACME_OUT, "numbers": numbers})
}

fn bobs(numbers: Value) -> Value {
    json!({"business_name": "Bob's Bikes", "inbound_prompt": BOBS_IN,
           "outbound_prompt": BOBS_OUT, "numbers": numbers})
}

/// Stores Acme (two numbers) and Bob's (one number).
async fn two_tenants(app: &TestApp) {
    app.put_tenant("acme", acme(json!([ACME_NUMBER, ACME_SECOND])))
        .await;
    app.put_tenant("bobs", bobs(json!([BOBS_NUMBER]))).await;
}

/// The instructions of the next session the model is configured with; hangs `call` up.
async fn instructions(ai: &mut AiRecorder, call: StreamingCall) -> String {
    let update = ai.next_session_update().await;
    call.hang_up().await;
    update.instructions
}

#[tokio::test]
async fn the_fixture_stores_numbers_in_order_keeps_them_when_absent_and_clears_them_with_empty() {
    let app = spawn_app().await;
    let stored = app
        .put_tenant("acme", acme(json!([ACME_NUMBER, ACME_SECOND])))
        .await;
    assert_eq!(stored["numbers"], json!([ACME_NUMBER, ACME_SECOND]));
    assert_eq!(stored["business_name"], "Acme Dental");

    let edit = json!({"business_name": "Acme Dental", "inbound_prompt": "Edited."});
    let edited = app.put_tenant("acme", edit).await;
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["numbers"], json!([ACME_NUMBER, ACME_SECOND]));
    assert_eq!(
        app.fixture_get("acme").await.json()["numbers"],
        json!([ACME_NUMBER, ACME_SECOND])
    );

    let cleared = app.put_tenant("acme", acme(json!([]))).await;
    assert_eq!(cleared["numbers"], json!([]));
}

#[tokio::test]
async fn a_number_another_tenant_has_is_a_409_naming_both_and_nothing_is_stored() {
    let app = spawn_app().await;
    two_tenants(&app).await;
    let grab = json!({"business_name": "Bob's Renamed", "numbers": [BOBS_NUMBER, ACME_SECOND]});
    let answer = app.fixture_put("bobs", &grab).await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(
        answer.json()["error"],
        format!(
            "conflict: tenant \"bobs\" not stored: number {ACME_SECOND} already belongs to tenant \"acme\""
        )
    );
    let bobs = app.fixture_get("bobs").await.json();
    assert_eq!(bobs["business_name"], "Bob's Bikes");
    assert_eq!(bobs["version"], 1);
    assert_eq!(bobs["numbers"], json!([BOBS_NUMBER]));
    // A new tenant cannot take one either.
    let answer = app.fixture_put("carl", &bobs_like(ACME_NUMBER)).await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(app.fixture_get("carl").await.status, 404);
}

fn bobs_like(number: &str) -> Value {
    json!({"business_name": "Carl's", "numbers": [number]})
}

#[tokio::test]
async fn numbers_must_be_a_list_of_e164_strings() {
    let app = spawn_app().await;
    for bad in ["5550001111", "+1 555 000", "+1234567890123456", "+", ""] {
        let answer = app.fixture_put("acme", &bobs_like(bad)).await;
        assert_eq!(answer.status, 400, "{bad:?}: {}", answer.text);
        assert!(
            answer.json()["error"]
                .as_str()
                .unwrap_or_default()
                .contains("is not E.164"),
            "{bad:?}: {}",
            answer.text
        );
    }
    let answer = app
        .fixture_put(
            "acme",
            &json!({"business_name": "A", "numbers": ACME_NUMBER}),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    let answer = app
        .fixture_put(
            "acme",
            &json!({"business_name": "A", "number": [ACME_NUMBER]}),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(
        answer.text.contains("unknown field `number`"),
        "{}",
        answer.text
    );
    assert_eq!(app.fixture_get("acme").await.status, 404);
}

#[test]
fn an_inbound_call_reaches_the_prompt_of_the_tenant_whose_number_was_called() {
    on_paused_clock(async {
        let (app, mut ai) = spawn_with_recording_ai(config()).await;
        two_tenants(&app).await;
        for (call_sid, to, tenant, prompt) in [
            ("CA01", BOBS_NUMBER, "bobs", BOBS_IN),
            ("CA02", ACME_SECOND, "acme", ACME_IN),
            ("CA03", ACME_NUMBER, "acme", ACME_IN),
        ] {
            let answer = app.answer_by_number("incoming", call_sid, CALLER, to).await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            let parameters = stream_parameters(&answer.text);
            assert_eq!(parameters["tenant"], tenant, "{}", answer.text);
            assert_eq!(parameters["direction"], "inbound", "{}", answer.text);
            let call = app.start_stream(call_sid, parameters).await;
            let seen = instructions(&mut ai, call).await;
            assert!(seen.contains(prompt), "{to}: {seen}");
            for other in [ACME_IN, ACME_OUT, BOBS_IN, BOBS_OUT] {
                assert!(other == prompt || !seen.contains(other), "{to}: {seen}");
            }
        }
    });
}

#[test]
fn an_outbound_leg_reaches_the_outbound_prompt_of_the_tenant_that_called_from_its_number() {
    on_paused_clock(async {
        let (app, mut ai) = spawn_with_recording_ai(config()).await;
        two_tenants(&app).await;
        let call = app
            .place_by_number("outbound", "CA01", BOBS_NUMBER, CALLER)
            .await;
        let seen = instructions(&mut ai, call).await;
        assert!(seen.contains(BOBS_OUT), "{seen}");
        assert!(
            !seen.contains(BOBS_IN) && !seen.contains(ACME_OUT),
            "{seen}"
        );
    });
}

#[tokio::test]
async fn a_number_no_tenant_has_is_rejected_inbound_and_hung_up_outbound() {
    let app = spawn_app().await;
    two_tenants(&app).await;
    let reject = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Reject/></Response>"#;
    let hangup = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#;
    // The number called decides inbound; the caller's number being a tenant's changes nothing.
    for (route, from, to, expected) in [
        ("incoming", CALLER, UNKNOWN_NUMBER, reject),
        ("incoming", ACME_NUMBER, UNKNOWN_NUMBER, reject),
        ("outbound", UNKNOWN_NUMBER, CALLER, hangup),
        ("outbound", UNKNOWN_NUMBER, ACME_NUMBER, hangup),
    ] {
        let answer = app.answer_by_number(route, "CA01", from, to).await;
        assert_eq!(answer.status, 200, "{route} {to}: {}", answer.text);
        assert_eq!(answer.content_type, "text/xml");
        assert_eq!(answer.text, expected, "{route} from {from} to {to}");
    }
    // Without the number at all, the same.
    let answer = app
        .post_signed("/twiml/incoming", &params(&[("CallSid", "CA02")]))
        .await;
    assert_eq!(answer.text, reject);
    // Nothing was pre-built or registered for the refused calls.
    assert_eq!(app.fixture_state().await["registry_entries"], 0);
}

#[tokio::test]
async fn the_slug_less_webhooks_need_a_valid_signature() {
    let app = spawn_app().await;
    two_tenants(&app).await;
    for path in ["/twiml/incoming", "/twiml/outbound"] {
        let form = params(&[
            ("CallSid", "CA01"),
            ("From", BOBS_NUMBER),
            ("To", ACME_NUMBER),
        ]);
        let answer = app.post_unsigned(path, &form).await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.text);
        let answer = app.post_form(path, &form, Some("d3Jvbmc=")).await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.text);
    }
}
