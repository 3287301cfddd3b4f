//! Each invariant against a run that violates it and one that does not. The runs are built by
//! hand: a plan from YAML, one call record and one AI session whose instructions, updates and
//! timings each test sets.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::realtime::{ResponseRecord, SessionRecord, UpdateRecord};
use crate::run::{PanicRecord, RunArtifacts, TenantRevision};
use crate::scenario::plan::Plan;
use crate::twilio::{CallRecord, Direction, StreamRecord};

const IN: &str = "You are the front desk of Acme Dental.";
const OUT: &str = "You are calling Acme patients about tomorrow.";
const GLOBEX: &str = "You answer for Globex Insurance.";

fn plan(extra: &str) -> Plan {
    let text = format!(
        "title: t\ntenants:\n  acme: {{ business_name: Acme, inbound_prompt: \"{IN}\", outbound_prompt: \"{OUT}\", greeting: \"Hello from Acme!\" }}\n  globex: {{ business_name: Globex, inbound_prompt: \"{GLOBEX}\", outbound_prompt: \"\" }}\ncalls:\n  - name: caller\n    tenant: acme\n    direction: inbound\n    timeline:\n      - speech: 2s\n{extra}"
    );
    let loaded =
        crate::scenario::load::parse_str(std::path::Path::new("t.yaml"), text).expect("parses");
    crate::scenario::validate::build_plan(&loaded, "t").expect("valid")
}

fn call(connected: u64, ended: u64) -> CallRecord {
    CallRecord {
        label: "caller".into(),
        call_sid: "CA1".into(),
        direction: Direction::Inbound,
        from: "+1".into(),
        to: "+2".into(),
        started_at_ms: 0,
        ended_at_ms: Some(ended),
        answered_at_ms: Some(0),
        status: "completed".into(),
        duration_secs: Some(ended / 1000),
        webhooks: Vec::new(),
        twiml: Vec::new(),
        streams: vec![StreamRecord {
            handshake_status: Some(101),
            connected_at_ms: Some(connected),
            ended_at_ms: Some(ended),
            ..StreamRecord::new("MZ1", "wss://x/media", None, BTreeMap::new())
        }],
        status_callbacks: Vec::new(),
        errors: Vec::new(),
    }
}

fn update(at_ms: u64, instructions: &str) -> UpdateRecord {
    UpdateRecord {
        at_ms,
        accepted: true,
        error: None,
        instructions: Some(instructions.into()),
        effective_instructions: instructions.into(),
        input_format: "audio/pcmu".into(),
        output_format: "audio/pcmu".into(),
        voice: "alloy".into(),
        turn_detection: None,
    }
}

fn response(at_ms: u64, instructions: &str) -> ResponseRecord {
    ResponseRecord {
        response_id: "resp_1".into(),
        at_ms,
        trigger: "vad".into(),
        instructions: instructions.into(),
        instructions_source: "session".into(),
        voice: "alloy".into(),
        output_format: "audio/pcmu".into(),
        input_format: "audio/pcmu".into(),
        tools: Vec::new(),
        conversation: "auto".into(),
        status: "completed".into(),
        status_reason: None,
        audio_ms: 1000,
        text: "Okay.".into(),
        tool_call: None,
        ended_at_ms: Some(at_ms + 1000),
    }
}

/// A session opened at 100 ms, configured and answered with `instructions`, closed at the end.
fn session(instructions: &str) -> SessionRecord {
    SessionRecord {
        index: 0,
        opened_at_ms: 100,
        closed_at_ms: Some(10_000),
        closed_by: Some("client".into()),
        updates: vec![update(100, instructions)],
        responses: vec![response(3_000, instructions)],
        input_format: "audio/pcmu".into(),
        output_format: "audio/pcmu".into(),
        ..SessionRecord::default()
    }
}

fn artifacts(plan: &Plan, sessions: Vec<SessionRecord>) -> RunArtifacts {
    let mut revisions: Vec<TenantRevision> = plan
        .tenants
        .iter()
        .map(|(slug, t)| TenantRevision {
            tenant: slug.clone(),
            revision: 1,
            settings: t.clone(),
        })
        .collect();
    for (i, change) in plan.tenant_changes.iter().enumerate() {
        revisions.push(TenantRevision {
            tenant: change.tenant.clone(),
            revision: u32::try_from(i).unwrap_or(0) + 2,
            settings: change.after.clone(),
        });
    }
    RunArtifacts {
        calls: vec![call(0, 10_000)],
        sessions,
        open_sessions: 0,
        residual: json!("none"),
        revisions,
        prompt_names: Vec::new(),
        change_statuses: Vec::new(),
        simulated_ms: 10_000,
        target: "test".into(),
        panics: Vec::new(),
        declared: crate::run::Declarations::REFERENCE,
    }
}

/// The findings of one invariant on a run.
fn findings(plan: &Plan, art: &RunArtifacts, id: &str) -> Vec<Finding> {
    let owner = vec![Some(0); art.sessions.len()];
    let ctx = Context {
        plan,
        art,
        owner: &owner,
    };
    check_all(&ctx)
        .into_iter()
        .filter(|f| f.invariant == id)
        .collect()
}

fn with_business(prompt: &str) -> String {
    format!("Business: Acme\n\n{prompt}")
}

#[test]
fn own_prompt_holds_for_the_right_prompt_and_names_a_foreign_one() {
    let p = plan("");
    let good = artifacts(&p, vec![session(&with_business(IN))]);
    assert_eq!(findings(&p, &good, prompt::OWN_PROMPT), []);

    let mixed = artifacts(&p, vec![session(&with_business(OUT))]);
    let f = findings(&p, &mixed, prompt::OWN_PROMPT);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("inbound call `caller` to acme"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].message.contains("its own OUTBOUND prompt"),
        "{}",
        f[0].message
    );
    assert!(f[0].message.contains("at 3.0s"), "{}", f[0].message);

    let leak = artifacts(&p, vec![session(&format!("{IN}\n{GLOBEX}"))]);
    let f = findings(&p, &leak, prompt::OWN_PROMPT);
    assert!(
        f[0].message.contains("tenant globex's inbound prompt"),
        "{f:?}"
    );
}

#[test]
fn not_empty_flags_empty_default_and_greeting_only_instructions() {
    let p = plan("");
    let good = artifacts(&p, vec![session(IN)]);
    assert_eq!(findings(&p, &good, prompt::NOT_EMPTY), []);
    for (instructions, expected) in [
        ("", "empty instructions"),
        (
            crate::realtime::DEFAULT_INSTRUCTIONS,
            "default instructions",
        ),
        ("Hello from Acme!", "the greeting alone"),
    ] {
        let art = artifacts(&p, vec![session(instructions)]);
        let f = findings(&p, &art, prompt::NOT_EMPTY);
        assert_eq!(f.len(), 1, "{instructions:?}");
        assert!(f[0].message.contains(expected), "{}", f[0].message);
    }
}

#[test]
fn freshness_flags_a_session_configured_with_a_revision_older_than_an_edit() {
    let edited = "You are the front desk of Acme Dental, now open on Saturdays.";
    let p = plan(&format!(
        "tenant_changes:\n  - at: 1s\n    tenant: acme\n    inbound_prompt: \"{edited}\"\n"
    ));
    let mut fresh = session(edited);
    fresh.updates[0].at_ms = 5_000;
    assert_eq!(
        findings(&p, &artifacts(&p, vec![fresh]), freshness::FRESH),
        []
    );

    let mut stale = session(IN);
    stale.updates[0].at_ms = 5_000;
    let f = findings(&p, &artifacts(&p, vec![stale]), freshness::FRESH);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains(
            "revision 1 of its inbound prompt, although revision 2 was provisioned at 1.0s"
        ),
        "{}",
        f[0].message
    );
}

#[test]
fn one_config_flags_a_repeat_and_an_unexplained_change_but_not_an_edit() {
    let p = plan("");
    let mut repeated = session(IN);
    repeated.updates.push(update(2_000, IN));
    let f = findings(&p, &artifacts(&p, vec![repeated]), config::ONE_CONFIG);
    assert!(
        f[0].message
            .contains("sent the same session configuration again"),
        "{f:?}"
    );

    let mut changed = session(IN);
    changed
        .updates
        .push(update(2_000, &format!("{IN} Be brief.")));
    let f = findings(
        &p,
        &artifacts(&p, vec![changed.clone()]),
        config::ONE_CONFIG,
    );
    assert!(
        f[0].message.contains("no tenant edit to explain it"),
        "{f:?}"
    );

    let edit = plan("tenant_changes:\n  - at: 1s\n    tenant: acme\n    business_name: Acme Two\n");
    assert_eq!(
        findings(&edit, &artifacts(&edit, vec![changed]), config::ONE_CONFIG),
        []
    );
    assert_eq!(
        findings(&p, &artifacts(&p, vec![session(IN)]), config::ONE_CONFIG),
        []
    );
}

#[test]
fn formats_flag_a_session_that_does_not_speak_mulaw() {
    let p = plan("");
    assert_eq!(
        findings(&p, &artifacts(&p, vec![session(IN)]), audio::FORMATS),
        []
    );
    let mut pcm = session(IN);
    pcm.responses[0].output_format = "audio/pcm".into();
    let f = findings(&p, &artifacts(&p, vec![pcm]), audio::FORMATS);
    assert!(f[0].message.contains("output audio/pcm"), "{f:?}");
}

#[test]
fn teardown_flags_a_session_left_open_and_residual_state() {
    let p = plan("");
    assert_eq!(
        findings(&p, &artifacts(&p, vec![session(IN)]), teardown::NO_SOCKET),
        []
    );
    let mut open = session(IN);
    open.closed_at_ms = None;
    let mut art = artifacts(&p, vec![open]);
    art.residual = json!({ "registry_entries": 1 });
    let f = findings(&p, &art, teardown::NO_SOCKET);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f[0].message
            .contains("stayed open after the call ended at 10.0s (closed never)")
    );
    assert!(
        f[1].message.contains("registry_entries"),
        "{}",
        f[1].message
    );
}

#[test]
fn timing_flags_a_late_or_missing_session() {
    let p = plan("");
    assert_eq!(
        findings(&p, &artifacts(&p, vec![session(IN)]), timing::SESSION_OPENS),
        []
    );
    let mut late = session(IN);
    late.opened_at_ms = 4_000;
    let f = findings(&p, &artifacts(&p, vec![late]), timing::SESSION_OPENS);
    assert!(f[0].message.contains("opened at 4.0s"), "{f:?}");
    let f = findings(&p, &artifacts(&p, Vec::new()), timing::SESSION_OPENS);
    assert!(f[0].message.contains("opened never"), "{f:?}");
}

#[test]
fn a_panic_is_a_finding_and_a_waiver_keeps_its_reason() {
    let p = plan("waive:\n  server.no-panic: \"this scenario provokes one on purpose\"\n");
    let mut art = artifacts(&p, vec![session(IN)]);
    assert_eq!(findings(&p, &art, panic::NO_PANIC), []);
    art.panics.push(PanicRecord {
        at_ms: 1_500,
        message: "polled MapErr after completion".into(),
    });
    let f = findings(&p, &art, panic::NO_PANIC);
    assert!(
        f[0].message.contains("polled MapErr after completion"),
        "{f:?}"
    );
    assert_eq!(
        f[0].waived.as_deref(),
        Some("this scenario provokes one on purpose")
    );
}

#[test]
fn every_invariant_id_is_known_and_unique() {
    let mut ids: Vec<&str> = INVARIANTS.iter().map(|(id, _)| *id).collect();
    assert!(ids.iter().all(|id| is_known(id)));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), INVARIANTS.len());
    assert!(!is_known("prompt.made-up"));
}

#[test]
fn declared_bounds_set_the_timing_and_freshness_limits() {
    let p = plan("");
    let mut late = session(IN);
    late.opened_at_ms = 4_000;
    let mut patient = artifacts(&p, vec![late]);
    patient.declared.session_open_within = std::time::Duration::from_secs(5);
    assert_eq!(findings(&p, &patient, timing::SESSION_OPENS), []);
    patient.declared.session_open_within = std::time::Duration::from_secs(2);
    let f = findings(&p, &patient, timing::SESSION_OPENS);
    assert!(f[0].message.contains("the target promises 2.0s"), "{f:?}");

    let edited = "You are the front desk of Acme Dental, now open on Saturdays.";
    let p = plan(&format!(
        "tenant_changes:\n  - at: 1s\n    tenant: acme\n    inbound_prompt: \"{edited}\"\n"
    ));
    let mut stale = session(IN);
    stale.updates[0].at_ms = 5_000;
    let mut slow = artifacts(&p, vec![stale]);
    slow.declared.prompt_freshness = std::time::Duration::from_secs(8);
    assert_eq!(findings(&p, &slow, freshness::FRESH), []);
    slow.declared.prompt_freshness = std::time::Duration::from_secs(3);
    assert_eq!(findings(&p, &slow, freshness::FRESH).len(), 1);
}

/// A run whose caller heard AI audio from 0 to 2,040 ms, when a `clear` cut it, and whose
/// session truncated an item whose audio started at `item_from_ms` at `audio_end_ms`, at
/// 2,040 ms.
fn truncated_run(p: &Plan, audio_end_ms: u64, item_from_ms: u64) -> RunArtifacts {
    let mut s = session(IN);
    s.truncates.push(crate::realtime::TruncateRecord {
        at_ms: 2_040,
        item_id: "item_1".into(),
        audio_end_ms,
        item_audio_ms: Some(8_000),
        item_audio_from_ms: Some(item_from_ms),
        error: None,
    });
    with_playout(artifacts(p, vec![s]), 2_040, true)
}

/// `art` with its stream playing AI audio from 0 to `to_ms` (cleared there when `cleared`).
fn with_playout(mut art: RunArtifacts, to_ms: u64, cleared: bool) -> RunArtifacts {
    let stream = &mut art.calls[0].streams[0];
    stream.playout.push(crate::twilio::PlayoutSpan {
        from_ms: 0,
        to_ms,
        bytes: to_ms * 8,
        cleared,
    });
    if cleared {
        stream.clears.push(to_ms);
    }
    art
}

#[test]
fn truncate_within_heard_flags_a_claim_beyond_the_playout() {
    let p = plan("");
    let id = barge_in::TRUNCATE_WITHIN_HEARD;
    assert_eq!(findings(&p, &truncated_run(&p, 2_020, 0), id), []);
    // Two frames over what was heard are within the tolerance; one millisecond more is not.
    assert_eq!(findings(&p, &truncated_run(&p, 2_080, 0), id), []);
    assert_eq!(findings(&p, &truncated_run(&p, 2_081, 0), id).len(), 1);

    let f = findings(&p, &truncated_run(&p, 8_000, 0), id);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].at_ms, 2_040);
    for part in [
        "inbound call `caller` to acme",
        "at 2.0s",
        "item item_1 at audio_end_ms 8000 ms",
        "heard at most 2040 ms",
    ] {
        assert!(f[0].message.contains(part), "{part}: {}", f[0].message);
    }

    // Audio played before the item's first delta is not audio of the item.
    let f = findings(&p, &truncated_run(&p, 2_020, 1_000), id);
    assert!(f[0].message.contains("heard at most 1040 ms"), "{f:?}");
}

/// A run in which the caller started speaking at 2,000 ms while the AI's audio played from 0
/// to `to_ms` (cut there by a `clear` when `cleared`).
fn interrupted_run(p: &Plan, to_ms: u64, cleared: bool) -> RunArtifacts {
    let mut s = session(IN);
    s.vad_turns.push(crate::realtime::VadTurn {
        speech_started_ms: 2_000,
        speech_stopped_ms: Some(3_000),
        at_ms: 2_000,
    });
    with_playout(artifacts(p, vec![s]), to_ms, cleared)
}

#[test]
fn clear_follows_flags_a_reply_that_keeps_playing_over_the_caller() {
    let p = plan("");
    let id = barge_in::CLEAR_FOLLOWS;
    assert_eq!(findings(&p, &interrupted_run(&p, 2_040, true), id), []);
    // A reply that runs out by itself soon after the caller starts needs no clear.
    assert_eq!(findings(&p, &interrupted_run(&p, 2_500, false), id), []);
    // Speech while nothing plays is no barge-in.
    assert_eq!(findings(&p, &interrupted_run(&p, 1_500, false), id), []);

    let f = findings(&p, &interrupted_run(&p, 8_000, false), id);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].at_ms, 2_000);
    for part in [
        "inbound call `caller` to acme",
        "started speaking at 2.0s",
        "on stream MZ1",
        "no clear followed within 1.0s",
        "heard 1000 ms more",
    ] {
        assert!(f[0].message.contains(part), "{part}: {}", f[0].message);
    }

    // A clear that comes after the bound does not count.
    let mut late = interrupted_run(&p, 8_000, false);
    late.calls[0].streams[0].clears.push(3_500);
    assert_eq!(findings(&p, &late, id).len(), 1);
}

mod stream_audio;
