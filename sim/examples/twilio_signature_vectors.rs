//! Prints signature vectors produced by the fake Twilio's signer as JSON, for
//! `scripts/check_twilio_signatures.py` to check against the official `twilio` package.

use sim::twilio::Direction;
use sim::twilio::http::with_query;
use sim::twilio::params::CallIdentity;
use sim::twilio::signature::sign;

const TOKEN: &str = "12345";

fn vector(name: &str, url: &str, params: &[(String, String)]) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "url": url,
        "params": params.iter().map(|(k, v)| [k, v]).collect::<Vec<_>>(),
        "signature": sign(TOKEN, url, params),
    })
}

fn main() {
    let identity = CallIdentity {
        account_sid: "AC0123456789abcdef0123456789abcdef".into(),
        call_sid: "CAfedcba9876543210fedcba9876543210".into(),
        direction: Direction::Inbound,
        from: "+14155551234".into(),
        to: "+15005550006".into(),
        call_token: r#"{"parentCallInfoToken":"abc","identityHeaderTokens":[]}"#.into(),
    };
    let inbound = identity.voice_params("ringing");
    let mut status = identity.params("completed");
    status.extend([
        (
            "CallbackSource".to_owned(),
            "call-progress-events".to_owned(),
        ),
        ("SequenceNumber".to_owned(), "3".to_owned()),
        (
            "Timestamp".to_owned(),
            "Thu, 01 Jan 2026 00:00:10 +0000".to_owned(),
        ),
        ("CallDuration".to_owned(), "10".to_owned()),
        ("Duration".to_owned(), "1".to_owned()),
    ]);
    let gather = vec![
        ("Digits".to_owned(), "1234".to_owned()),
        ("Caller".to_owned(), "+14158675309".to_owned()),
        ("Note".to_owned(), "ünïcode & spaces = fine".to_owned()),
    ];
    let vectors = vec![
        vector(
            "inbound voice webhook POST",
            "https://callsim.test/twiml/incoming/acme",
            &inbound,
        ),
        vector(
            "POST with a query string in the URL",
            "https://callsim.test/twiml?tenant=acme&x=1",
            &gather,
        ),
        vector(
            "GET webhook (params in the query)",
            &with_query("https://callsim.test/twiml/incoming/acme", &inbound),
            &[],
        ),
        vector(
            "media stream upgrade (wss, empty params)",
            "wss://callsim.test/ws/media",
            &[],
        ),
        vector(
            "call status callback",
            "https://callsim.test/twilio/status",
            &status,
        ),
        vector(
            "explicit port",
            "https://callsim.test:8443/twiml/incoming",
            &gather,
        ),
    ];
    println!(
        "{}",
        serde_json::json!({"auth_token": TOKEN, "vectors": vectors})
    );
}
