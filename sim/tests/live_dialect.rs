//! The seed pack under the Live dialect, through the `callsim` binary: with `--ai-dialect live`
//! the in-process reference server speaks Live to the Live mock, and the legacy profile fails
//! exactly the scenarios marked `fails_under: [legacy]`, naming the wrong prompt, while the
//! fixed profile passes them all; the Live certification profile certifies the fixed server
//! and not the legacy one.

#[path = "common/callsim.rs"]
mod callsim;

use std::collections::BTreeSet;
use std::process::Output;

use callsim::{callsim, repo};

fn run(args: &[&str]) -> Output {
    callsim().args(args).output().expect("callsim runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The seed scenarios whose file says they fail under legacy, by scenario name.
fn marked_legacy_failures() -> BTreeSet<String> {
    let dir = repo().join("scenarios/seed");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("scenarios/seed is readable") {
        let path = entry.expect("a directory entry").path();
        let body = std::fs::read_to_string(&path).expect("a scenario file");
        if body.lines().any(|l| l.trim() == "fails_under: [legacy]") {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a file name");
            names.insert(format!("seed/{stem}"));
        }
    }
    names
}

/// Scenario names on the result lines that start with `prefix` (`PASS  ` or `FAIL  `).
fn results(out: &str, prefix: &str) -> BTreeSet<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn legacy_under_live_fails_exactly_the_marked_seed_scenarios_naming_the_wrong_prompt() {
    let out = run(&[
        "run",
        "--ai-dialect",
        "live",
        "--profile",
        "legacy",
        "scenarios/seed",
    ]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let expected = marked_legacy_failures();
    assert_eq!(expected.len(), 5, "the seed pack marks five scenarios");
    assert_eq!(results(&text, "FAIL  "), expected, "{text}");
    assert!(text.contains("received the OUTBOUND prompt"), "{text}");
    assert!(text.contains("acme.outbound_prompt"), "{text}");
}

#[test]
fn fixed_under_live_passes_the_seed_pack() {
    let out = run(&[
        "run",
        "--ai-dialect",
        "live",
        "--profile",
        "fixed",
        "scenarios/seed",
    ]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(results(&text, "PASS  ").len(), 6, "{text}");
    assert_eq!(text.lines().last(), Some("6 passed, 0 failed"), "{text}");
}

#[test]
fn the_dialect_flag_is_refused_for_an_external_target() {
    let out = run(&[
        "run",
        "--ai-dialect",
        "live",
        "--target",
        "http://127.0.0.1:9",
        "scenarios/seed/prebuilt-prompt-lock.yaml",
    ]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--ai-dialect applies to the in-process"),
        "{text}"
    );
}

fn certify(profile: &str) -> Output {
    run(&[
        "-q",
        "certify",
        "--profile-id",
        "twilio-media-streams-live/v1",
        "--ai-dialect",
        "live",
        "--profile",
        profile,
    ])
}

#[test]
fn the_live_profile_certifies_the_fixed_server_and_not_the_legacy_one() {
    let fixed = certify("fixed");
    let said = text(&fixed);
    assert_eq!(fixed.status.code(), Some(0), "{said}");
    assert!(
        said.contains("CERTIFIED: twilio-media-streams-live/v1"),
        "{said}"
    );
    let legacy = certify("legacy");
    let said = text(&legacy);
    assert_eq!(legacy.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "NOT CERTIFIED: failed mandatory requirement(s): prompt.no-cross-direction-fallback"
        ),
        "{said}"
    );
}
