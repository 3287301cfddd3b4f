//! The webhook's background pre-build of the prompt (the seed's `_prebuild_prompts_async`), and
//! when it lands ([`Prebuild`], `--prebuild`).
//!
//! The webhook marks the call's pre-build pending, answers with its TwiML at once and builds the
//! prompt in a background task, which stores it in the stream registry under
//! `_prebuilt_full_prompt`. The media session waits briefly for a pending pre-build when `start`
//! arrives first ([`crate::media_session::PREBUILD_WAIT`]).
//!
//! `Late` delays the task past that wait, and `Absent` skips it, so that the stream-side builder
//! and the prompt cache are exercised on their own: that is where the seed's missing-pre-build
//! regressions (the greeting as instructions, the pre-build in another process) lived.

use std::time::Duration;

use crate::bugs::Prebuild;
use crate::direction::Direction;
use crate::state::AppState;
use crate::tenants::Tenant;

/// How long a `Late` pre-build waits before it builds: longer than the stream's wait for it.
pub const LATE_PREBUILD_DELAY: Duration = Duration::from_secs(5);

/// Starts the pre-build of `call_sid`'s prompt for `tenant` and `direction`, with the notes
/// about its caller, as `--prebuild` says.
pub fn start(
    state: &AppState,
    call_sid: &str,
    tenant: Tenant,
    direction: Direction,
    caller_notes: Option<String>,
) {
    let delay = match state.config().prebuild {
        Prebuild::Normal => Duration::ZERO,
        Prebuild::Late => LATE_PREBUILD_DELAY,
        Prebuild::Absent => {
            tracing::info!(%call_sid, "[PREBUILD] skipped (--prebuild absent)");
            return;
        }
    };
    state.registry().mark_prebuild_pending(call_sid);
    let task_state = state.clone();
    let call_sid = call_sid.to_owned();
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let built = task_state.prompt_cache().get_or_build(
            &tenant,
            direction,
            task_state.regressions(),
            caller_notes.as_deref(),
        );
        // A pre-build that outlived its call stores nothing, so it leaves no registry entry.
        let stored = task_state
            .registry()
            .store_prebuilt_if_present(&call_sid, &built);
        tracing::info!(
            %call_sid, %direction, stored, used_fallback = built.used_fallback, tenant_version = built.tenant_version,
            "[PREBUILD] _prebuilt_full_prompt"
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::media_session::PREBUILD_WAIT;
    use crate::tenants::TenantInput;

    fn state(prebuild: Prebuild) -> (AppState, Tenant) {
        let mut config = Config::in_process("https://h.test", "t", "ws://127.0.0.1:9");
        config.prebuild = prebuild;
        let state = AppState::new(config).expect("test config is valid");
        let input = TenantInput {
            business_name: "Acme".into(),
            inbound_prompt: Some("Answer for Acme.".into()),
            ..TenantInput::default()
        };
        let tenant = state.upsert_tenant("acme", &input).unwrap();
        (state, tenant)
    }

    #[test]
    fn a_late_prebuild_lands_after_the_stream_stopped_waiting() {
        assert!(LATE_PREBUILD_DELAY > PREBUILD_WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn normal_prebuild_is_stored_at_once() {
        let (state, tenant) = state(Prebuild::Normal);
        start(&state, "CA1", tenant, Direction::Inbound, None);
        let found = state
            .registry()
            .wait_prebuilt("CA1", Duration::from_millis(1))
            .await;
        assert!(found.is_some_and(|p| p.text.contains("Answer for Acme.")));
    }

    #[tokio::test(start_paused = true)]
    async fn late_prebuild_is_pending_until_the_delay_has_passed() {
        let (state, tenant) = state(Prebuild::Late);
        start(&state, "CA1", tenant, Direction::Inbound, None);
        let waited = state.registry().wait_prebuilt("CA1", PREBUILD_WAIT).await;
        assert_eq!(
            waited, None,
            "the stream gives up before the late pre-build"
        );
        tokio::time::sleep(LATE_PREBUILD_DELAY).await;
        assert!(state.registry().prebuilt("CA1").is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn late_prebuild_of_a_call_that_already_ended_leaves_nothing() {
        let (state, tenant) = state(Prebuild::Late);
        start(&state, "CA1", tenant, Direction::Inbound, None);
        state.registry().clear("CA1");
        tokio::time::sleep(LATE_PREBUILD_DELAY * 2).await;
        assert!(state.registry().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn absent_prebuild_leaves_nothing_to_wait_for() {
        let (state, tenant) = state(Prebuild::Absent);
        start(&state, "CA1", tenant, Direction::Inbound, None);
        tokio::time::sleep(LATE_PREBUILD_DELAY * 2).await;
        assert!(state.registry().is_empty());
        assert_eq!(state.prompt_cache().len(), 0, "nothing was built");
    }
}
