//! Bugs of the call's sessions: the duplicate `session.update` and the per-call limit.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Uri};
use serde_json::json;
use server_under_test::Bug;
use server_under_test::media_session::PER_CALL_LIMIT;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::Instant;

use super::{ACME_IN, assert_prompt, on_paused_clock, place, zoo};

const ACCOUNT: &str = "AC00000000000000000000000000000001";
const CALL_SID: &str = "CA0123456789abcdef0123456789abcdef";

/// 2025-12-30: the session configuration goes out twice.
#[test]
fn duplicate_session_update_configures_each_ai_session_twice() {
    on_paused_clock(async {
        for (bugs, updates) in [(&[][..], 1), (&[Bug::DuplicateSessionUpdate][..], 2)] {
            let (app, mut ai) = zoo(bugs, |_| {}).await;
            let seen = place(&app, &mut ai, "incoming", "acme", "CA01").await;
            assert_prompt(&seen.instructions, ACME_IN);
            assert_eq!(seen.session_updates, updates, "{bugs:?}: {seen:?}");
        }
    });
}

/// A request the server made to the Twilio REST API.
#[derive(Debug)]
struct RestRequest {
    path: String,
    authorization: String,
    body: String,
    at: Instant,
}

/// A Twilio REST API on 127.0.0.1 that answers every request like a call update and records it.
async fn fake_twilio_rest() -> (String, UnboundedReceiver<RestRequest>) {
    let (requests, rx) = unbounded_channel();
    let router = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: String| {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let _ = requests.send(RestRequest {
            path: uri.path().to_owned(),
            authorization,
            body,
            at: Instant::now(),
        });
        async { axum::Json(json!({"sid": CALL_SID, "status": "completed"})) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), rx)
}

/// 2025-12-07: a 90 s limit after which the server hangs the call up through the REST API.
#[test]
fn per_call_limit_too_short_hangs_up_through_the_rest_api_after_90_s() {
    on_paused_clock(async {
        let (rest_base, mut rest) = fake_twilio_rest().await;
        let with_rest = |config: &mut server_under_test::Config| {
            config.twilio_account_sid = Some(ACCOUNT.to_owned());
            config.twilio_api_base = rest_base.clone();
        };

        // Fixed: a call twice as long as the buggy limit goes on until the caller hangs up.
        let (app, mut ai) = zoo(&[], with_rest).await;
        let call = app.place_answered_call("incoming", "acme", CALL_SID).await;
        ai.next_session_update().await;
        tokio::time::sleep(PER_CALL_LIMIT * 2).await;
        assert!(rest.try_recv().is_err(), "the fixed server never hangs up");
        assert_eq!(app.fixture_state().await["active_streams"], 1);
        call.hang_up().await;

        let (app, mut ai) = zoo(&[Bug::PerCallLimitTooShort], with_rest).await;
        let call = app.place_answered_call("incoming", "acme", CALL_SID).await;
        ai.next_session_update().await;
        let hang_up = tokio::time::timeout(Duration::from_secs(600), rest.recv())
            .await
            .expect("the server hangs up within 600 s")
            .expect("the fake REST API lives for the whole test");
        assert_eq!(
            hang_up.path,
            format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL_SID}.json")
        );
        assert_eq!(hang_up.body, "Status=completed");
        assert!(hang_up.authorization.starts_with("Basic "), "{hang_up:?}");
        let after = hang_up.at - call.started_at;
        assert!(
            after >= PER_CALL_LIMIT && after < PER_CALL_LIMIT + Duration::from_secs(1),
            "{after:?}"
        );
        // Twilio then ends the call, which stops its stream.
        call.hang_up().await;
        assert!(rest.try_recv().is_err(), "one hang-up per call");
    });
}
