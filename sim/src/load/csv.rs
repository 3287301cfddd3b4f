//! The interval table as CSV, one row per interval and shard, like SIPp's statistics file.

use std::fmt::Write as _;

use super::metrics::FailCause;
use super::report::LoadReport;

const CAUSES: [(FailCause, &str); 5] = [
    (FailCause::WebhookError, "failed_webhook_error"),
    (FailCause::StreamRefused, "failed_stream_refused"),
    (FailCause::StreamClosed, "failed_stream_closed"),
    (FailCause::NoAiAudio, "failed_no_ai_audio"),
    (FailCause::AssertionFailed, "failed_assertion"),
];

/// The CSV text.
pub fn render(report: &LoadReport) -> String {
    let mut out = String::from(
        "shard,t_s,active,started,completed,failed,frames_sent,frames_received,frames_late_from_server,turn_p50_ms,turn_p95_ms,webhook_p95_ms,lateness_p99_ms",
    );
    for (_, name) in CAUSES {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for r in &report.intervals {
        let c = &r.counts;
        let _ = write!(
            out,
            "{},{:.3},{},{},{},{},{},{},{},{:.3},{:.3},{:.3},{:.3}",
            r.shard,
            r.t_s,
            r.active,
            c.started,
            c.completed,
            c.failed_total(),
            c.frames_sent,
            c.frames_received,
            c.frames_late_from_server,
            r.turn_p50_ms,
            r.turn_p95_ms,
            r.webhook_p95_ms,
            r.lateness_p99_ms
        );
        for (cause, _) in CAUSES {
            let _ = write!(out, ",{}", c.failed.get(&cause).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    out
}
