//! 2026-02-01: the caller's notes cached with the prompt for the next caller.

use server_under_test::{Bug, Prebuild};

use super::{ACME_IN, assert_prompt, observe, on_paused_clock, zoo};

const ALICE: &str = "+14155550101";
const ALICE_NOTES: &str = "Alice is nervous about her root canal on Friday.";
const BRUNO: &str = "+14155550202";
const BRUNO_NOTES: &str = "Bruno still owes 120 dollars.";

/// Alice then Bruno call Acme; answers the instructions each of them got.
async fn alice_then_bruno(bugs: &[Bug], prebuild: Prebuild) -> (String, String) {
    let (app, mut ai) = zoo(bugs, |config| config.prebuild = prebuild).await;
    app.put_contact("acme", ALICE, ALICE_NOTES).await;
    app.put_contact("acme", BRUNO, BRUNO_NOTES).await;
    let alice = app.place_call_with("incoming", "acme", "CA01", ALICE).await;
    let alice = observe(&app, &mut ai, alice).await;
    let bruno = app.place_call_with("incoming", "acme", "CA02", BRUNO).await;
    let bruno = observe(&app, &mut ai, bruno).await;
    (alice.instructions, bruno.instructions)
}

#[test]
fn caller_context_leak_gives_the_next_caller_the_previous_callers_notes() {
    on_paused_clock(async {
        // Pre-built by the webhook, or built on the stream side: the same notes either way.
        for prebuild in [Prebuild::Normal, Prebuild::Absent] {
            let (alice, bruno) = alice_then_bruno(&[], prebuild).await;
            assert_prompt(&alice, ACME_IN);
            assert!(alice.ends_with(ALICE_NOTES), "{prebuild:?}: {alice}");
            assert!(bruno.ends_with(BRUNO_NOTES), "{prebuild:?}: {bruno}");
            assert!(!bruno.contains(ALICE_NOTES), "{prebuild:?}: {bruno}");

            let (alice, bruno) = alice_then_bruno(&[Bug::CallerContextLeak], prebuild).await;
            assert!(alice.ends_with(ALICE_NOTES), "{prebuild:?}: {alice}");
            assert!(bruno.contains(ALICE_NOTES), "{prebuild:?}: {bruno}");
            assert!(!bruno.contains(BRUNO_NOTES), "{prebuild:?}: {bruno}");
        }
    });
}

/// An outbound call's person on the line is the one called (`To`).
#[test]
fn the_notes_of_an_outbound_call_are_about_the_person_called() {
    on_paused_clock(async {
        let (app, mut ai) = zoo(&[], |_| {}).await;
        app.put_contact("acme", BRUNO, BRUNO_NOTES).await;
        let call = app.place_call_with("outbound", "acme", "CA01", BRUNO).await;
        let seen = observe(&app, &mut ai, call).await;
        assert!(seen.instructions.ends_with(BRUNO_NOTES), "{seen:?}");
    });
}
