//! Built-in invariants: what every call of every scenario must satisfy, checked without the
//! scenario's author asking, like a sanitizer. Each invariant has an id, and each violation is one
//! line naming the call, the time, the tenant and direction, and the offending text.
//!
//! A scenario may waive an invariant only with a reason (`waive: { id: "why" }`); the reason is
//! kept with the finding and printed.
//!
//! - `prompt`: the instructions behind every response are the call's own tenant's prompt for the
//!   call's own direction, never another tenant's or direction's text, never empty, default or
//!   greeting-only.
//! - `freshness`: a session configured after a prompt edit carries the edited prompt.
//! - `config`: one session configuration per AI session; every change is explained by an event.
//! - `live`: the same for the Live dialect: one `session.start` per connection, and an append
//!   that carries a tenant prompt follows a tenant edit.
//! - `audio`: the AI session's audio formats match the Twilio stream's, and what the model
//!   receives is the caller's audio.
//! - `teardown`: nothing is left open or held after the calls end.
//! - `timing`: the AI session opens promptly after the stream starts.
//! - `panic`: no task of the in-process server under test panicked.
//! - `stream`: status callbacks and the Media Stream's end agree; nothing outlives `completed`.
//! - `barge_in`: a truncate claims no more than the caller heard, and a barge-in is followed by
//!   a Twilio `clear` (Realtime only: under Live the model stops by itself and no `clear`
//!   exists to send).

mod audio;
mod barge_in;
mod config;
mod context;
mod freshness;
mod live;
mod panic;
mod prompt;
mod stream;
mod teardown;
mod timing;

use serde::{Deserialize, Serialize};

pub use context::Context;

/// Every built-in invariant: its id and what it demands.
pub const INVARIANTS: &[(&str, &str)] = &[
    (
        prompt::OWN_PROMPT,
        "the instructions behind every response carry the call's own tenant's prompt for its \
         direction, and no other tenant's or direction's text",
    ),
    (
        prompt::NOT_EMPTY,
        "no response is produced under empty, default or greeting-only instructions",
    ),
    (
        freshness::FRESH,
        "a session configured after a tenant edits its prompt (plus the target's declared \
         freshness, 1 s unless declared) carries the edited prompt",
    ),
    (
        config::ONE_CONFIG,
        "one session configuration per AI session; every change is explained by a tenant edit",
    ),
    (
        audio::FORMATS,
        "the AI session's audio formats match the Twilio stream's (µ-law 8 kHz both ways)",
    ),
    (
        audio::CALLER_AUDIO,
        "what the model receives decodes, in its declared input format, as the caller's audio \
         at the moments the caller spoke, and the caller's speech reaches it",
    ),
    (
        teardown::NO_SOCKET,
        "after the calls end no AI socket is open and the server holds no per-call state",
    ),
    (
        timing::SESSION_OPENS,
        "the AI session opens within the target's declared bound (3 s unless declared) of the \
         Twilio stream's start",
    ),
    (panic::NO_PANIC, "no task of the server under test panicked"),
    (
        stream::CALLBACKS_CONSISTENT,
        "status callbacks come in Twilio's order and `completed` ends everything: no stream \
         open, no AI session open 2 s later, no server `media` 1 s after Twilio's `stop`",
    ),
    (
        barge_in::TRUNCATE_WITHIN_HEARD,
        "every conversation.item.truncate claims no more of its item's audio than the caller \
         had heard (Twilio's playout), give or take 40 ms",
    ),
    (
        barge_in::CLEAR_FOLLOWS,
        "when the caller starts speaking over the AI's audio, the server sends Twilio clear \
         within 1 s (a reply that runs out by itself within that second needs none)",
    ),
];

/// Whether `id` names a built-in invariant.
pub fn is_known(id: &str) -> bool {
    INVARIANTS.iter().any(|(known, _)| *known == id)
}

/// One violation of a built-in invariant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    /// The invariant's id.
    pub invariant: String,
    /// The call concerned, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// When, in ms since the scenario start.
    pub at_ms: u64,
    /// The one-line message.
    pub message: String,
    /// The scenario's reason for waiving this invariant, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<String>,
}

impl Finding {
    fn new(invariant: &str, call: Option<&str>, at_ms: u64, message: String) -> Self {
        Finding {
            invariant: invariant.to_string(),
            call: call.map(str::to_string),
            at_ms,
            message,
            waived: None,
        }
    }
}

/// Checks every invariant; findings come in invariant order, then in time order, each marked
/// with the scenario's waiver reason when it has one.
pub fn check_all(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(prompt::own_prompt(ctx));
    findings.extend(prompt::not_empty(ctx));
    findings.extend(freshness::fresh(ctx));
    findings.extend(config::one_config(ctx));
    findings.extend(live::one_start_and_explained_appends(ctx));
    findings.extend(audio::formats(ctx));
    findings.extend(audio::caller_audio(ctx));
    findings.extend(teardown::no_socket(ctx));
    findings.extend(timing::session_opens(ctx));
    findings.extend(panic::no_panic(ctx));
    findings.extend(stream::callbacks_consistent(ctx));
    findings.extend(barge_in::truncate_within_heard(ctx));
    findings.extend(barge_in::clear_follows(ctx));
    for f in &mut findings {
        f.waived = ctx.plan.waivers.get(&f.invariant).cloned();
    }
    findings
}

/// A duration in ms as a person reads it in a message (`5.2s`).
fn secs(ms: u64) -> String {
    format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
}

/// At most `max` characters of `text`, quoted, with `…` when cut.
fn quote(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        format!("\"{flat}\"")
    } else {
        let head: String = flat.chars().take(max).collect();
        format!("\"{head}…\"")
    }
}

#[cfg(test)]
mod tests;
