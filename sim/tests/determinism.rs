//! Runs of the same scenarios write byte-identical JSON reports and captures, under both
//! transports.
//!
//! This check lives in its own test binary: cargo runs test binaries one at a time, so no
//! sibling test competes for the CPU while the two runs happen (see ARCHITECTURE.md, "Virtual
//! time").

#[path = "common/callsim.rs"]
mod callsim_binary;

use callsim_binary::callsim;

const SCENARIOS: &[&str] = &[
    "scenarios/seed/inbound-empty-ai-prompt.yaml",
    "scenarios/seed/prebuilt-prompt-lock.yaml",
    "scenarios/concurrency/two-tenants-interleaved.yaml",
    "scenarios/barge-in/caller-interrupts.yaml",
    "scenarios/faults/ai-socket-drops.yaml",
];

#[test]
fn three_runs_write_identical_json_reports_and_captures() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for n in 0..3 {
        let json = dir.path().join(format!("{n}.json"));
        let capture = dir.path().join(format!("{n}.jsonl"));
        let mut args = vec!["run", "--jobs", "1", "--json", json.to_str().unwrap()];
        args.extend_from_slice(&["--capture", capture.to_str().unwrap()]);
        args.extend_from_slice(SCENARIOS);
        let out = callsim().args(&args).output().expect("callsim runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        outputs.push((
            std::fs::read(&json).unwrap(),
            std::fs::read(&capture).unwrap(),
        ));
    }
    let (report, capture) = &outputs[0];
    assert!(report.len() > 1000, "the report holds the transcripts");
    // The capture holds every message of both sockets with its virtual time, so any frame
    // taken in another order (a reconnect racing the caller's audio) shows here even when the
    // transcript rounds it away.
    assert!(capture.len() > 100_000, "the capture holds every frame");
    for (n, (r, c)) in outputs.iter().enumerate().skip(1) {
        assert!(r == report, "run {n}'s JSON report differs from run 0's");
        assert!(c == capture, "run {n}'s capture differs from run 0's");
    }
}

/// The JSON report of one run of `scenario` over `transport`.
fn report_of(scenario: &str, transport: &str, dir: &std::path::Path, n: usize) -> Vec<u8> {
    let path = dir.join(format!("{transport}-{n}.json"));
    let out = callsim()
        .args(["-q", "run", "--transport", transport, "--json"])
        .arg(&path)
        .arg(scenario)
        .output()
        .expect("callsim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::read(&path).expect("report written")
}

/// 200 calls overlapping in time on one server: over memory pipes the clock can only jump when
/// nothing is in flight, so the reports are identical by construction; over loopback TCP the
/// runtime's yield before parking is what keeps them so.
#[test]
fn two_hundred_concurrent_calls_give_identical_reports_over_both_transports() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = "sim/tests/fixtures/determinism/200-calls.yaml";
    for transport in ["memory", "tcp"] {
        let first = report_of(scenario, transport, dir.path(), 1);
        let second = report_of(scenario, transport, dir.path(), 2);
        let report: serde_json::Value = serde_json::from_slice(&first).expect("JSON");
        let calls = report["scenarios"][0]["transcript"]["calls"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(calls, 200, "{transport}: every call is in the report");
        assert!(first == second, "{transport}: the two JSON reports differ");
    }
}
