//! Two runs of the same scenarios write byte-identical JSON reports.
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
