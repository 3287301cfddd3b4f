//! The bug zoo: each historical regression `--inject-bug` switches on, shown on the wire.
//!
//! Every test plays the same calls twice: against the fixed profile, which behaves correctly,
//! and against the fixed profile with one bug injected, which flips exactly the behaviour that
//! bug names. What is compared is what a harness sees: the instructions the model receives, how
//! many `session.update`s it gets, when the AI session opens and how the call ends. The tests run
//! on a paused clock, so the seconds and minutes they wait are virtual.

mod caller;
mod prebuild;
mod prompts;
mod session;

use std::time::Duration;

use serde_json::json;
use server_under_test::realtime_event::ClientEvent;
use server_under_test::{Bug, Config};

use crate::common::on_paused_clock;
use crate::common::{AiRecorder, StreamingCall, TestApp, config, spawn_with_recording_ai};

const ACME_IN: &str = "You are the front desk of Acme Dental. We are open Monday to Friday.";
const ACME_OUT: &str = "You are calling Acme Dental patients to confirm tomorrow's appointment.";
const ACME_GREETING: &str = "Thanks for calling Acme Dental!";
const BOBS_IN: &str = "You answer the phone at Bob's Bikes. Repairs take two days.";
const BOBS_OUT: &str = "You are calling Bob's Bikes customers whose repair is ready.";

/// A fixed server with `bugs` injected, adjusted by `adjust`, with the tenants `acme` (stored
/// first) and `bobs`.
async fn zoo(bugs: &[Bug], adjust: impl FnOnce(&mut Config)) -> (TestApp, AiRecorder) {
    let mut config = config();
    config.bugs = bugs.iter().copied().collect();
    adjust(&mut config);
    let (app, ai) = spawn_with_recording_ai(config).await;
    app.put_tenant(
        "acme",
        json!({"business_name": "Acme Dental", "inbound_prompt": ACME_IN,
               "outbound_prompt": ACME_OUT, "greeting": ACME_GREETING}),
    )
    .await;
    app.put_tenant(
        "bobs",
        json!({"business_name": "Bob's Bikes", "inbound_prompt": BOBS_IN, "outbound_prompt": BOBS_OUT}),
    )
    .await;
    (app, ai)
}

/// What one call showed the model.
#[derive(Debug)]
struct Seen {
    /// The instructions of the call's first `session.update`.
    instructions: String,
    /// From the stream's `start` to that `session.update`.
    opened_after: Duration,
    /// How many `session.update`s that AI session received.
    session_updates: usize,
}

/// Places a call on the webhook `route` of `tenant`, hangs up once the model is configured and
/// reports what the model saw.
async fn place(
    app: &TestApp,
    ai: &mut AiRecorder,
    route: &str,
    tenant: &str,
    call_sid: &str,
) -> Seen {
    let call = app.place_answered_call(route, tenant, call_sid).await;
    observe(app, ai, call).await
}

/// What the model saw of `call`, which has been placed; hangs it up.
async fn observe(app: &TestApp, ai: &mut AiRecorder, call: StreamingCall) -> Seen {
    let started_at = call.started_at;
    let first = ai.next_session_update().await;
    call.hang_up().await;
    let idle = app
        .wait_for_state(|state| state["active_streams"] == 0)
        .await;
    assert_eq!(idle["active_streams"], 0, "{idle}");
    let later_updates = ai
        .drain()
        .into_iter()
        .filter(|recorded| {
            recorded.connection == first.connection
                && matches!(recorded.event, ClientEvent::SessionUpdate { .. })
        })
        .count();
    Seen {
        instructions: first.instructions,
        opened_after: first.at - started_at,
        session_updates: 1 + later_updates,
    }
}

/// Asserts that `instructions` carry `expected` and none of the other tenant prompts.
#[track_caller]
fn assert_prompt(instructions: &str, expected: &str) {
    assert!(
        instructions.contains(expected),
        "expected {expected:?} in {instructions:?}"
    );
    for other in [ACME_IN, ACME_OUT, BOBS_IN, BOBS_OUT] {
        if other != expected {
            assert!(
                !instructions.contains(other),
                "unexpected {other:?} in {instructions:?}"
            );
        }
    }
}
