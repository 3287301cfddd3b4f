//! `callsim load`: a short load against the reference server completes every call and writes
//! reports of the documented shape; shard reports merge to exact sums and percentiles.
//!
//! Nothing here asserts a latency bound: under CPU contention calls get slower, not wrong.

#[path = "common/callsim.rs"]
mod callsim;

use std::time::Duration;

use callsim::callsim;
use sim::load::LoadReport;
use sim::load::capacity::CapacityRule;
use sim::load::health::HealthBounds;
use sim::load::metrics::{Metric, Metrics};
use sim::load::report::{ConfigEcho, StepReport};

fn read_report(path: &std::path::Path) -> LoadReport {
    let text = std::fs::read_to_string(path).expect("the JSON report was written");
    serde_json::from_str(&text).expect("the JSON report parses as a load report")
}

#[test]
fn fifty_calls_against_the_reference_server_all_complete_with_caller_latencies() {
    let dir = tempfile::tempdir().unwrap();
    let (json, csv, html) = (
        dir.path().join("load.json"),
        dir.path().join("load.csv"),
        dir.path().join("load.html"),
    );
    let output = callsim()
        .args(["-q", "load", "scenarios/seed/both-prompts-set.yaml"])
        // 50 calls, 25 at a time: half the load of 50 at once, so that a debug build under
        // two CPU hogs still hears every reply within the call.
        .args(["--calls", "25", "--max-calls", "50", "--duration", "60s"])
        .args(["--rate", "25", "--hold", "12s"])
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");

    let report = read_report(&json);
    assert_eq!(report.format, "callsim-load/1");
    assert_eq!(report.mode, "calls");
    assert_eq!(report.steps.len(), 1);
    let total = &report.total;
    assert_eq!(total.counts.started, 50);
    assert_eq!(
        total.counts.completed, 50,
        "failed: {:?}",
        total.counts.failed
    );
    assert!(total.counts.failed.is_empty());
    // Twelve seconds of 20 ms frames per call.
    assert_eq!(total.counts.frames_sent, 50 * 600);
    assert!(total.counts.frames_received > 0);
    for metric in ["webhook", "stream_connect", "first_audio", "frame_lateness"] {
        assert_eq!(
            total.latency_ms.get(metric).map(|s| s.count),
            Some(if metric == "frame_lateness" {
                50 * 600
            } else {
                50
            }),
            "{metric}"
        );
    }
    let turn = total
        .latency_ms
        .get("turn_latency")
        .expect("turns measured");
    assert!(turn.count >= 25, "{turn:?}");
    // The mock AI thinks 350–450 ms before it speaks: no reply can be heard sooner.
    assert!(turn.p50 >= 350.0, "{turn:?}");
    assert_eq!(total.generator.len(), 1);
    assert!(report.capacity.is_none(), "a fixed run gives no verdict");
    assert!(!report.intervals.is_empty());

    let csv_text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv_text.lines().collect();
    assert!(lines[0].starts_with("shard,t_s,active,started,completed,failed,"));
    assert_eq!(lines.len(), report.intervals.len() + 1);
    let started: u64 = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(3).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(started, 50, "the interval rows account for every call");

    let html_text = std::fs::read_to_string(&html).unwrap();
    assert!(html_text.contains(r#"<svg id="latency-over-time""#));
    assert!(html_text.contains(r#"<svg id="turn-latency-histogram""#));
    assert!(html_text.contains("<rect"), "the histogram has bars");
    assert!(!html_text.contains("<script"), "self-contained, no scripts");
}

#[test]
fn two_calibration_shards_merge_into_one_report_with_summed_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for shard in ["1/2", "2/2"] {
        let path = dir.path().join(format!("shard-{}.json", &shard[..1]));
        let output = callsim()
            .args(["-q", "load", "--calibrate", "--calls", "10", "--rate", "50"])
            .args(["--hold", "1s", "--shard", shard, "--json"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        paths.push(path);
    }
    let merged_path = dir.path().join("merged.json");
    let output = callsim()
        .args(["merge-reports"])
        .args(&paths)
        .arg("--json")
        .arg(&merged_path)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shards: Vec<LoadReport> = paths.iter().map(|p| read_report(p)).collect();
    let merged = read_report(&merged_path);
    assert_eq!(merged.config.shards, 2);
    assert_eq!(merged.total.counts.started, 10, "5 calls per shard");
    assert_eq!(
        merged.total.counts.frames_sent,
        shards
            .iter()
            .map(|s| s.total.counts.frames_sent)
            .sum::<u64>()
    );
    assert_eq!(
        merged.total.generator.len(),
        2,
        "each shard's health is kept"
    );
}

/// A one-step report of `samples` (milliseconds of turn latency), as a shard writes it.
fn shard_report(samples: &[u64], started: u64) -> LoadReport {
    let mut m = Metrics::new();
    for ms in samples {
        m.record(Metric::TurnLatency, Duration::from_millis(*ms));
    }
    m.counts.started = started;
    m.counts.completed = started;
    let step = StepReport::new("step 1 (10 calls)".into(), 10, 5.0, &m, Vec::new());
    LoadReport {
        format: "callsim-load/1".into(),
        target: "test".into(),
        mode: "calls".into(),
        scenarios: Vec::new(),
        config: ConfigEcho {
            shape: "ladder 10 x 5s".into(),
            rate: 10.0,
            hold_s: None,
            interval_s: 1.0,
            seed: 0,
            shards: 2,
            rule: CapacityRule::default(),
            health: HealthBounds::default(),
        },
        interrupted: false,
        steps: vec![step.clone()],
        total: StepReport {
            label: "total".into(),
            ..step
        },
        intervals: Vec::new(),
        capacity: None,
        warnings: Vec::new(),
    }
}

#[test]
fn merged_percentiles_are_those_of_every_shards_samples_together() {
    // Two shards with different distributions: a merge of percentiles would be wrong, a merge
    // of histograms is exact.
    let a: Vec<u64> = (0..1000).map(|i| 300 + (i * 7919) % 400).collect();
    let b: Vec<u64> = (0..250).map(|i| 900 + (i * 104_729) % 2000).collect();
    let merged = sim::load::merge::merge(&[shard_report(&a, 6), shard_report(&b, 4)]).unwrap();

    let mut together = Metrics::new();
    for ms in a.iter().chain(&b) {
        together.record(Metric::TurnLatency, Duration::from_millis(*ms));
    }
    let expected = together.summary(Metric::TurnLatency);
    let got = merged.total.latency_ms["turn_latency"];
    assert_eq!(got, expected);
    assert_eq!(got.count, 1250);
    assert_eq!(merged.total.counts.started, 10);
    assert_eq!(merged.steps[0].target_calls, 20, "the shards' calls add up");
    let verdict = merged.capacity.expect("a ladder gets a verdict");
    assert_eq!(verdict.capacity_calls, Some(20));
}
