//! Measured detection power: `callsim detect` runs the bundled pack once per historical
//! regression of the reference server. Every bug must be killed, and the line that says how must
//! name the call it hurt.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_bundled_pack_kills_every_bug_of_the_zoo_and_names_the_call() {
    let list = Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args(["detect", "--list"])
        .current_dir(repo())
        .output()
        .expect("callsim runs");
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    let bugs: Vec<&str> = listed
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(bugs.len() >= 10, "the zoo lists every bug: {listed}");

    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("detect.json");
    let out = Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args(["-q", "detect", "--json"])
        .arg(&json)
        .current_dir(repo())
        .env("CI", "true")
        .output()
        .expect("callsim runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    for bug in &bugs {
        assert!(
            text.contains(&format!("KILLED   {bug}")),
            "{bug} survived:\n{text}"
        );
    }
    assert!(!text.contains("SURVIVED"), "{text}");
    for line in text.lines().filter(|l| l.trim_start().starts_with("by ")) {
        assert!(
            line.contains("call `") || line.contains("calls."),
            "the first failure names the call it hurt: {line}"
        );
    }
    assert!(
        text.contains(&format!(
            "kill rate: {0}/{0} bugs killed (100%)",
            bugs.len()
        )),
        "{text}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("JSON written")).expect("JSON");
    assert_eq!(report["killed"], report["total"], "{report}");
}

#[test]
fn certification_v2_kills_at_least_nine_in_ten_bugs_and_says_which_requirement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("detect-v2.json");
    let out = Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args([
            "-q",
            "detect",
            "--certify",
            "twilio-media-streams-realtime/v2",
            "--min-kill-rate",
            "90",
            "--json",
        ])
        .arg(&json)
        .current_dir(repo())
        .env("CI", "true")
        .output()
        .expect("callsim runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("JSON written")).expect("JSON");
    let killed = report["killed"].as_u64().expect("killed");
    let total = report["total"].as_u64().expect("total");
    assert!(total >= 10 && killed * 10 >= total * 9, "{report}");
    for bug in report["bugs"].as_array().expect("bugs") {
        if bug["killed"] == true {
            let by = bug["killed_by"].as_str().expect("a requirement killed it");
            let line = bug["first_failure"].as_str().expect("with a failure line");
            assert!(
                !by.is_empty() && (line.contains("call `") || line.contains("calls.")),
                "{bug}"
            );
        }
    }
    // The v1 profile, frozen before the invariants, is measurably weaker: that is why v2 exists.
    let v1 = Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args([
            "-q",
            "detect",
            "--certify",
            "twilio-media-streams-realtime/v1",
        ])
        .args(["--bug", "cache-key-without-direction"])
        .current_dir(repo())
        .output()
        .expect("callsim runs");
    let v1_text = String::from_utf8_lossy(&v1.stdout).into_owned();
    assert_eq!(v1.status.code(), Some(1), "{v1_text}");
    assert!(
        v1_text.contains("SURVIVED cache-key-without-direction"),
        "{v1_text}"
    );
}
