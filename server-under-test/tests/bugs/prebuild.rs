//! The pre-build's timing (`--prebuild`) and the bugs of a missing pre-build: the greeting as
//! instructions and the pre-build the stream never reads.

use std::time::Duration;

use server_under_test::media_session::PREBUILD_WAIT;
use server_under_test::prebuild::LATE_PREBUILD_DELAY;
use server_under_test::prompt_selection::STREAM_SIDE_BUILD_DELAY;
use server_under_test::{Bug, Prebuild};

use super::{
    ACME_GREETING, ACME_IN, ACME_OUT, BOBS_OUT, assert_prompt, on_paused_clock, place, zoo,
};

/// The fixed server gives every call its own prompt whenever the pre-build lands, and opens the
/// AI session as soon as it has the prompt: at once, or after waiting for a late pre-build.
#[test]
fn fixed_builds_the_right_prompt_when_the_prebuild_is_late_or_absent() {
    on_paused_clock(async {
        for (prebuild, opened_after) in [
            (Prebuild::Normal, Duration::ZERO),
            (Prebuild::Late, PREBUILD_WAIT),
            (Prebuild::Absent, Duration::ZERO),
        ] {
            let (app, mut ai) = zoo(&[], |config| config.prebuild = prebuild).await;
            let inbound = place(&app, &mut ai, "incoming", "acme", "CA01").await;
            assert_prompt(&inbound.instructions, ACME_IN);
            let outbound = place(&app, &mut ai, "outbound", "bobs", "CA02").await;
            assert_prompt(&outbound.instructions, BOBS_OUT);
            let acme_out = place(&app, &mut ai, "outbound", "acme", "CA03").await;
            assert_prompt(&acme_out.instructions, ACME_OUT);
            for seen in [&inbound, &outbound, &acme_out] {
                assert!(
                    seen.opened_after >= opened_after
                        && seen.opened_after < opened_after + Duration::from_millis(500),
                    "{prebuild:?}: {seen:?}"
                );
            }
            // A late pre-build that lands after its call ended leaves nothing behind.
            tokio::time::sleep(LATE_PREBUILD_DELAY * 2).await;
            let state = app.fixture_state().await;
            assert_eq!(state["registry_entries"], 0, "{prebuild:?}: {state}");
        }
    });
}

/// 2025-12-31: the pre-build is missing at stream start.
#[test]
fn greeting_as_instructions_replaces_the_prompt_when_the_prebuild_is_missing() {
    on_paused_clock(async {
        for prebuild in [Prebuild::Late, Prebuild::Absent] {
            let (app, mut ai) = zoo(&[], |config| config.prebuild = prebuild).await;
            let fixed = place(&app, &mut ai, "incoming", "acme", "CA01").await;
            assert_prompt(&fixed.instructions, ACME_IN);

            let (app, mut ai) = zoo(&[Bug::GreetingAsInstructions], |config| {
                config.prebuild = prebuild;
            })
            .await;
            let buggy = place(&app, &mut ai, "incoming", "acme", "CA01").await;
            assert_eq!(buggy.instructions, ACME_GREETING, "{prebuild:?}");
        }
        // With the pre-build on time, the bug never shows.
        let (app, mut ai) = zoo(&[Bug::GreetingAsInstructions], |_| {}).await;
        let on_time = place(&app, &mut ai, "incoming", "acme", "CA01").await;
        assert_prompt(&on_time.instructions, ACME_IN);
    });
}

/// 2026-01-28: the pre-build goes where the stream never reads it.
#[test]
fn prebuild_never_read_opens_the_ai_session_seconds_late() {
    on_paused_clock(async {
        let (app, mut ai) = zoo(&[], |_| {}).await;
        let fixed = place(&app, &mut ai, "incoming", "acme", "CA01").await;
        assert_prompt(&fixed.instructions, ACME_IN);
        assert!(fixed.opened_after < Duration::from_millis(500), "{fixed:?}");

        let (app, mut ai) = zoo(&[Bug::PrebuildNeverRead], |_| {}).await;
        let late = place(&app, &mut ai, "incoming", "acme", "CA01").await;
        assert_prompt(&late.instructions, ACME_IN);
        assert!(
            late.opened_after >= STREAM_SIDE_BUILD_DELAY
                && late.opened_after < STREAM_SIDE_BUILD_DELAY + Duration::from_millis(500),
            "{late:?}"
        );
    });
}
