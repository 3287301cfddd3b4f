//! Every scenario of the bundled pack passes under both transports: the memory pipes of the
//! default in-process run and loopback TCP. The snapshots pin the memory transport's
//! transcripts; this test holds the TCP transport to the same verdicts.

#[path = "common/callsim.rs"]
mod callsim_binary;

use callsim_binary::callsim;

#[test]
fn the_bundled_pack_passes_over_loopback_tcp_too() {
    // Only verdicts are compared here, not transcripts byte for byte, so two scenarios may run
    // at once even though competing runtimes make loopback delivery less punctual
    // (see ARCHITECTURE.md).
    let out = callsim()
        .args(["run", "--transport", "tcp", "--jobs", "2", "--timings"])
        .output()
        .expect("callsim runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // Scenarios with network faults (`ai_link`, `twilio_link`) need the memory transport: over
    // TCP each one is skipped with that reason, never run without its faults nor passed.
    let reason = "skipped: network faults (ai_link, twilio_link) need the memory transport; run \
                  without --transport tcp";
    let skipped = text.matches(reason).count();
    assert!(
        skipped >= 3,
        "the network-fault scenarios are skipped: {text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("SKIP ")).count(),
        skipped,
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("timings (tcp transport)"), "{text}");
    let summary = text.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with(&format!(" passed, 0 failed, {skipped} skipped")),
        "{summary}"
    );
    let passed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 30, "the whole pack ran: {summary}");
}
