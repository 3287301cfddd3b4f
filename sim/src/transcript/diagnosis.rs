//! The root cause of each failed call, in words and with Twilio's error code, so a
//! misconfigured target (a wrong webhook path, a server that is down, a stream URL that cannot be
//! dialled, a server pointed at the wrong mock AI) reads as one line instead of a screen of
//! downstream assertions (`instructions … null`, `handshake_status: null`).
//!
//! A call has at most one root cause: the first stage of the call that went wrong (the webhook,
//! then the stream, then the AI connection, then the stream's end).

use super::model::Transcript;
use crate::run::RunArtifacts;
use crate::twilio::{CallRecord, StreamEndedBy};

/// Webhook error codes: 11200 (HTTP retrieval failure), 11205 (connection failure), 12100
/// (document parse failure), 12300 (invalid content type).
const WEBHOOK_CODES: [u32; 4] = [11200, 11205, 12100, 12300];
/// Twilio's Media Streams handshake error.
const STREAM_HANDSHAKE: u32 = 31920;

/// One line per call that went wrong, in scenario order. `realtime_url` is the URL the server
/// should be configured with to reach the mock AI, when the target is a server at a URL.
pub fn diagnose(
    artifacts: &RunArtifacts,
    transcript: &Transcript,
    realtime_url: Option<&str>,
) -> Vec<String> {
    artifacts
        .calls
        .iter()
        .filter_map(|record| {
            let served = transcript
                .calls
                .iter()
                .find(|c| c.name == record.label)
                .is_some_and(|c| !c.ai_sessions.is_empty());
            cause(record, served, realtime_url)
                .map(|cause| format!("call `{}`: {cause}", record.label))
        })
        .collect()
}

/// One warning per call whose status callbacks failed. Twilio logs 11200 (an error status) or
/// 11205 (no answer) for each and the call goes on, so nothing fails; but a server whose status
/// route is missing or wrong should hear of it.
pub fn callback_warnings(artifacts: &RunArtifacts) -> Vec<String> {
    artifacts
        .calls
        .iter()
        .filter_map(|record| {
            let mut failed = record
                .status_callbacks
                .iter()
                .filter_map(|c| c.error.as_ref().map(|e| (c, e)));
            let (first, error) = failed.next()?;
            let others = failed.count();
            let more = match others {
                0 => String::new(),
                n => format!(" (and {n} more of its status callbacks)"),
            };
            Some(format!(
                "call `{}`: status callback `{}` to {}: {} (Twilio {}){more}; Twilio logs \
                 it and the call goes on; is `paths.status_callback` in the target file the \
                 server's status route?",
                record.label, first.event, first.url, error.message, error.code
            ))
        })
        .collect()
}

/// The root cause of one call, if it went wrong.
fn cause(record: &CallRecord, served_by_ai: bool, realtime_url: Option<&str>) -> Option<String> {
    if let Some(err) = record
        .errors
        .iter()
        .find(|e| WEBHOOK_CODES.contains(&e.code))
    {
        let hint = match err.code {
            11200 if err.message.ends_with(" 404") || err.message.ends_with(" 405") => {
                "; is `paths.incoming` in the target file the server's webhook route?"
            }
            11205 => "; is the server running there, and is `--target` its address?",
            12300 => "; the webhook must answer with Content-Type text/xml or application/xml",
            _ => "",
        };
        return Some(format!("{} (Twilio {}){hint}", err.message, err.code));
    }
    if let Some(err) = record.errors.iter().find(|e| e.code == STREAM_HANDSHAKE) {
        let hint = if err.message.contains("answered") {
            "; does the <Stream url> name the server's WebSocket route, and does the server accept \
             the signed upgrade?"
        } else {
            "; callsim dials a wss:// URL on the public host or the target's host at the target; \
             any other host needs a `rewrite:` entry in the target file"
        };
        return Some(format!(
            "the media stream could not be opened: {} (Twilio {}){hint}",
            err.message, err.code
        ));
    }
    if let Some(err) = record.errors.first() {
        return Some(format!("{} (Twilio {})", err.message, err.code));
    }
    let stream = record.streams.first()?;
    if stream.handshake_status == Some(101) && !served_by_ai {
        return Some(match realtime_url {
            Some(url) => format!(
                "the server never connected to the mock AI at {}; is its realtime URL set to \
                 {url}?",
                url.split('?').next().unwrap_or(url)
            ),
            None => "the server never connected to the mock AI".to_owned(),
        });
    }
    if stream.ended_by == Some(StreamEndedBy::Server) {
        let after = match (stream.connected_at_ms, stream.ended_at_ms) {
            (Some(from), Some(to)) => format!(" {} ms after it opened", to.saturating_sub(from)),
            _ => String::new(),
        };
        return Some(format!(
            "the server closed the media stream{after}, before the caller hung up (Twilio 31921)"
        ));
    }
    None
}
