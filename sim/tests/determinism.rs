//! Two runs of the same scenarios write byte-identical JSON reports, under both transports.
//!
//! This check lives in its own test binary: cargo runs test binaries one at a time, so no
//! sibling test competes for the CPU while the two runs happen (see ARCHITECTURE.md, "Virtual
//! time").

#[path = "common/callsim.rs"]
mod callsim_binary;

use std::path::PathBuf;

use callsim_binary::callsim;

const SCENARIOS: &[&str] = &[
    "scenarios/seed/inbound-empty-ai-prompt.yaml",
    "scenarios/seed/prebuilt-prompt-lock.yaml",
    "scenarios/concurrency/two-tenants-interleaved.yaml",
    "scenarios/barge-in/caller-interrupts.yaml",
    "scenarios/faults/ai-socket-drops.yaml",
];

#[test]
fn two_runs_write_identical_json_reports() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = ["a.json", "b.json"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    for path in &paths {
        let mut args = vec!["run", "--jobs", "1", "--json", path.to_str().unwrap()];
        args.extend_from_slice(SCENARIOS);
        let out = callsim().args(&args).output().expect("callsim runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let (a, b) = (
        std::fs::read(&paths[0]).unwrap(),
        std::fs::read(&paths[1]).unwrap(),
    );
    assert!(a.len() > 1000, "the report holds the transcripts");
    assert!(a == b, "the two JSON reports differ");
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
