//! Bugs that change which prompt a call gets: the cache key, the default tenant, the stale
//! cache, the inferred direction and the three root causes of the RCA.

use std::time::Duration;

use serde_json::{Value, json};
use server_under_test::Bug;

use super::{
    ACME_GREETING, ACME_IN, ACME_OUT, assert_prompt, observe, on_paused_clock, place, zoo,
};
use crate::common::{TestApp, stream_parameters};

const EDITED_IN: &str = "You are the front desk of Acme Dental. We are now also open on Saturdays.";

/// Acme with its inbound prompt replaced by [`EDITED_IN`].
async fn edit_acme(app: &TestApp) {
    app.put_tenant(
        "acme",
        json!({"business_name": "Acme Dental", "inbound_prompt": EDITED_IN,
               "outbound_prompt": ACME_OUT, "greeting": ACME_GREETING}),
    )
    .await;
}

/// 2025-12-10: an outbound call, then an inbound call to the same tenant within the cache TTL.
#[test]
fn cache_key_without_direction_serves_the_outbound_prompt_to_the_next_inbound_call() {
    on_paused_clock(async {
        for (bugs, inbound_gets) in [
            (&[][..], ACME_IN),
            (&[Bug::CacheKeyWithoutDirection][..], ACME_OUT),
        ] {
            let (app, mut ai) = zoo(bugs, |_| {}).await;
            let outbound = place(&app, &mut ai, "outbound", "acme", "CA01").await;
            assert_prompt(&outbound.instructions, ACME_OUT);
            let inbound = place(&app, &mut ai, "incoming", "acme", "CA02").await;
            assert_prompt(&inbound.instructions, inbound_gets);
        }
    });
}

/// 2025-12-12: a call to a tenant nobody stored.
#[test]
fn default_tenant_on_unknown_answers_an_unknown_tenant_with_the_first_tenants_prompt() {
    on_paused_clock(async {
        let (app, mut ai) = zoo(&[], |_| {}).await;
        let refused = app.answer_call("incoming", "nobody", "CA01").await;
        assert_eq!(refused.status, 404, "{}", refused.text);
        // Nor does a stream naming the unknown tenant reach the model.
        let params = json!({"tenant": "nobody", "direction": "inbound", "call_sid": "CA02"});
        let mut stream = app.start_stream("CA02", params).await;
        assert!(stream.closed_by_server().await);
        assert!(ai.drain().is_empty(), "no AI session for an unknown tenant");

        let (app, mut ai) = zoo(&[Bug::DefaultTenantOnUnknown], |_| {}).await;
        let leaked = place(&app, &mut ai, "incoming", "nobody", "CA01").await;
        assert_prompt(&leaked.instructions, ACME_IN);
    });
}

/// 2025-12-12, reached by number: a call to a number no tenant has.
#[test]
fn default_tenant_on_unknown_answers_an_unknown_number_with_the_first_tenants_prompt() {
    on_paused_clock(async {
        const UNKNOWN: &str = "+15550009999";
        let (app, mut ai) = zoo(&[], |_| {}).await;
        let refused = app
            .answer_by_number("incoming", "CA01", "+14155550100", UNKNOWN)
            .await;
        assert_eq!(refused.status, 200, "{}", refused.text);
        assert!(refused.text.contains("<Reject/>"), "{}", refused.text);
        assert!(ai.drain().is_empty(), "no AI session for an unknown number");

        let (app, mut ai) = zoo(&[Bug::DefaultTenantOnUnknown], |_| {}).await;
        let leaked = app
            .place_by_number("incoming", "CA01", "+14155550100", UNKNOWN)
            .await;
        let seen = observe(&app, &mut ai, leaked).await;
        assert_prompt(&seen.instructions, ACME_IN);
    });
}

/// 2026-01-08/09: a tenant edit between two calls.
#[test]
fn stale_cache_after_edit_keeps_the_old_prompt_until_the_ttl() {
    on_paused_clock(async {
        let ttl = Duration::from_secs(60);
        for (bugs, stale) in [(&[][..], false), (&[Bug::StaleCacheAfterEdit][..], true)] {
            let (app, mut ai) = zoo(bugs, |config| config.prompt_cache_ttl = ttl).await;
            let before = place(&app, &mut ai, "incoming", "acme", "CA01").await;
            assert_prompt(&before.instructions, ACME_IN);
            edit_acme(&app).await;
            let after = place(&app, &mut ai, "incoming", "acme", "CA02").await;
            assert_prompt(&after.instructions, if stale { ACME_IN } else { EDITED_IN });
            // Once the TTL has passed, every server serves the edit.
            tokio::time::sleep(ttl + Duration::from_secs(1)).await;
            let later = place(&app, &mut ai, "incoming", "acme", "CA03").await;
            assert_prompt(&later.instructions, EDITED_IN);
        }
    });
}

/// 2026-01-31: the direction the TwiML carries is ignored.
#[test]
fn direction_inferred_gives_an_outbound_call_the_inbound_prompt() {
    on_paused_clock(async {
        for (bugs, outbound_gets) in [
            (&[][..], ACME_OUT),
            (&[Bug::DirectionInferred][..], ACME_IN),
        ] {
            let (app, mut ai) = zoo(bugs, |_| {}).await;
            let outbound = place(&app, &mut ai, "outbound", "acme", "CA01").await;
            assert_prompt(&outbound.instructions, outbound_gets);
        }
    });
}

/// 2026-01-31, the other half: a stream whose parameters carry no direction at all.
#[test]
fn direction_inferred_admits_a_stream_without_a_direction_as_inbound() {
    on_paused_clock(async {
        let without_direction = |twiml: &str| {
            let mut params = stream_parameters(twiml);
            if let Value::Object(map) = &mut params {
                map.remove("direction");
            }
            params
        };
        let (app, mut ai) = zoo(&[], |_| {}).await;
        let answer = app.answer_call("outbound", "acme", "CA01").await;
        let mut stream = app
            .start_stream("CA01", without_direction(&answer.text))
            .await;
        assert!(
            stream.closed_by_server().await,
            "the fixed server refuses it"
        );
        assert!(ai.drain().is_empty());

        let (app, mut ai) = zoo(&[Bug::DirectionInferred], |_| {}).await;
        let answer = app.answer_call("outbound", "acme", "CA01").await;
        let stream = app
            .start_stream("CA01", without_direction(&answer.text))
            .await;
        assert_prompt(&ai.next_session_update().await.instructions, ACME_IN);
        stream.hang_up().await;
    });
}

/// RCA root cause #1 alone: an inbound call to a tenant whose inbound prompt is empty.
#[test]
fn cross_direction_fallback_gives_an_empty_inbound_prompt_the_outbound_one() {
    on_paused_clock(async {
        for (bugs, falls_back) in [(&[][..], false), (&[Bug::CrossDirectionFallback][..], true)] {
            let (app, mut ai) = zoo(bugs, |_| {}).await;
            app.put_tenant(
                "acme",
                json!({"business_name": "Acme Dental", "inbound_prompt": "", "outbound_prompt": ACME_OUT}),
            )
            .await;
            let seen = place(&app, &mut ai, "incoming", "acme", "CA01").await;
            if falls_back {
                assert_prompt(&seen.instructions, ACME_OUT);
            } else {
                assert!(
                    seen.instructions.contains("receptionist for Acme Dental"),
                    "{seen:?}"
                );
                assert!(!seen.instructions.contains(ACME_OUT), "{seen:?}");
            }
        }
    });
}

/// The tenant is edited after the webhook has pre-built its prompt and before the stream starts
/// (the seed pack's `prebuilt-prompt-lock`); answers the instructions the call got.
async fn edit_between_webhook_and_stream(bugs: &[Bug]) -> String {
    let (app, mut ai) = zoo(bugs, |_| {}).await;
    let answer = app.answer_call("incoming", "acme", "CA01").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // The background pre-build runs as soon as the webhook has answered.
    tokio::time::sleep(Duration::from_millis(500)).await;
    edit_acme(&app).await;
    let call = app
        .start_stream("CA01", stream_parameters(&answer.text))
        .await;
    let instructions = ai.next_session_update().await.instructions;
    call.hang_up().await;
    instructions
}

/// RCA root cause #2 alone: the stale pre-built prompt is used without validation.
#[test]
fn prebuilt_prompt_unvalidated_keeps_the_prompt_built_before_the_edit() {
    on_paused_clock(async {
        assert_prompt(&edit_between_webhook_and_stream(&[]).await, EDITED_IN);
        let buggy = edit_between_webhook_and_stream(&[Bug::PrebuiltPromptUnvalidated]).await;
        assert_prompt(&buggy, ACME_IN);
    });
}

/// RCA root cause #3 alone: the stale pre-built prompt is found, logged and kept.
#[test]
fn mismatch_only_logged_keeps_the_prompt_built_before_the_edit() {
    on_paused_clock(async {
        assert_prompt(&edit_between_webhook_and_stream(&[]).await, EDITED_IN);
        let buggy = edit_between_webhook_and_stream(&[Bug::MismatchOnlyLogged]).await;
        assert_prompt(&buggy, ACME_IN);
    });
}
