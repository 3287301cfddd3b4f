//! The AI session's audio formats agree with the Twilio stream's `mediaFormat`: Twilio sends and
//! plays µ-law at 8 kHz, so the model must take `audio/pcmu` in and give `audio/pcmu` out, or the
//! caller hears noise and the model hears nothing it can understand.

use super::context::Context;
use super::{Finding, secs};

/// Audio formats match the stream.
pub(super) const FORMATS: &str = "audio.formats-match-stream";

/// The Realtime format matching Twilio's `audio/x-mulaw` at 8000 Hz.
const TWILIO_FORMAT: &str = "audio/pcmu";

pub(super) fn formats(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        let call = served.call;
        for r in &served.session.responses {
            let wrong: Vec<String> = [("input", &r.input_format), ("output", &r.output_format)]
                .into_iter()
                .filter(|(_, f)| f.as_str() != TWILIO_FORMAT)
                .map(|(side, f)| format!("{side} {f}"))
                .collect();
            if !wrong.is_empty() {
                findings.push(Finding::new(
                    FORMATS,
                    Some(&call.name),
                    r.at_ms,
                    format!(
                        "{} call `{}` to {}: the response at {} used {} while the Twilio \
                         stream carries audio/x-mulaw at 8000 Hz",
                        call.direction.as_str(),
                        call.name,
                        call.tenant,
                        secs(r.at_ms),
                        wrong.join(" and ")
                    ),
                ));
                break;
            }
        }
    }
    findings
}
