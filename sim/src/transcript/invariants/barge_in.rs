//! Barge-in: when the caller talks over the AI, the server stops the audio the caller hears
//! (Twilio `clear`) and tells the model how much of its reply was heard
//! (`conversation.item.truncate`), so that the model's context holds what the caller heard and
//! nothing the caller never heard.
//!
//! What the caller heard comes from the fake Twilio's playout ([`PlayoutSpan`]: the runs of
//! continuous playout, at 8000 bytes per second), not from what the server says or sends.

use super::context::{Context, ServedSession};
use super::{Finding, secs};
use crate::twilio::{CallRecord, PlayoutSpan, StreamRecord};

/// A truncate claims no more of its item's audio than the caller had heard.
pub(super) const TRUNCATE_WITHIN_HEARD: &str = "barge-in.truncate-within-heard";

/// Every barge-in is followed by a Twilio `clear` on the call's stream.
pub(super) const CLEAR_FOLLOWS: &str = "barge-in.clear-follows";

/// How much more audio than the caller heard a truncate may claim: one 20 ms frame plus one of
/// jitter. A server measures playback with Twilio's media timestamps, which advance in 20 ms
/// frames; it starts an item's clock at the timestamp of the latest frame it has read when the
/// item's first audio arrives, and that frame may be one older than the frame Twilio has just
/// sent, so an honest estimate can run a frame ahead of the playout. The second frame absorbs
/// the order in which a socket hop and a caller frame land within one tick (in virtual time a
/// hop may wait for the next 20 ms tick). The reference server claims 0 to 20 ms less than the
/// playout; a server that truncates at the audio it received claims up to one of the mock's
/// 100 ms chunks more at real-time pace (60 and 80 ms in `barge-in/slow-pace-*`) and seconds
/// more with the mock's default burst.
const HEARD_TOLERANCE_MS: u64 = 40;

/// How soon after the caller starts speaking over the AI the server must send `clear`.
const CLEAR_WITHIN_MS: u64 = 1_000;

/// How much of [`CLEAR_WITHIN_MS`] the AI's audio may leave unplayed and still count as having
/// talked over the caller for the whole bound: a reply streamed at real time reaches Twilio in
/// 100 ms chunks, and a chunk that arrives a little late leaves a short gap in the playout.
const PLAYOUT_GAP_ALLOWANCE_MS: u64 = 100;

/// Every `conversation.item.truncate` claims (`audio_end_ms`) no more of the item's audio than
/// the caller had heard when the truncate reached the model, give or take
/// [`HEARD_TOLERANCE_MS`]. What the caller heard of the item is bounded by the audio played on
/// the call's streams between the model's first audio delta of the item and the truncate (audio
/// played then may still belong to an earlier item, which only makes the bound looser).
pub(super) fn truncate_within_heard(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        for truncate in &served.session.truncates {
            // An item the model never sent audio for has nothing heard to compare with; the
            // model rejects such a truncate itself and the transcript shows the error.
            let Some(from_ms) = truncate.item_audio_from_ms else {
                continue;
            };
            let heard_ms = heard_within(served.record, from_ms, truncate.at_ms);
            if truncate.audio_end_ms <= heard_ms + HEARD_TOLERANCE_MS {
                continue;
            }
            findings.push(Finding::new(
                TRUNCATE_WITHIN_HEARD,
                Some(&served.call.name),
                truncate.at_ms,
                format!(
                    "{}: at {} the server truncated item {} at audio_end_ms {} ms, but the \
                     caller had heard at most {heard_ms} ms of it (tolerance \
                     {HEARD_TOLERANCE_MS} ms)",
                    who(&served),
                    secs(truncate.at_ms),
                    truncate.item_id,
                    truncate.audio_end_ms
                ),
            ));
        }
    }
    findings
}

/// Every barge-in (the model's `input_audio_buffer.speech_started` while the AI's audio is
/// playing on the call's stream) is followed by a `clear` on that stream within
/// [`CLEAR_WITHIN_MS`]. A barge-in whose reply runs out by itself within the bound needs no
/// `clear`: the server cannot know that in advance, but nothing is left to stop, so only a
/// reply that kept playing over the caller for the whole bound (less
/// [`PLAYOUT_GAP_ALLOWANCE_MS`]) without a `clear` is a finding.
pub(super) fn clear_follows(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for served in ctx.served_sessions() {
        // Live defines barge-in as the model stopping by itself: its continuous track carries
        // silence from then on, and the protocol has nothing for the server to cut.
        if served.session.dialect == "live" {
            continue;
        }
        for turn in &served.session.vad_turns {
            let started = turn.at_ms;
            let deadline = started.saturating_add(CLEAR_WITHIN_MS);
            for stream in &served.record.streams {
                if !playing_at(stream, started) {
                    continue;
                }
                let cleared = stream
                    .clears
                    .iter()
                    .any(|&c| (started..=deadline).contains(&c));
                let heard_ms = stream_heard_within(stream, started, deadline);
                if cleared || heard_ms + PLAYOUT_GAP_ALLOWANCE_MS < CLEAR_WITHIN_MS {
                    continue;
                }
                findings.push(Finding::new(
                    CLEAR_FOLLOWS,
                    Some(&served.call.name),
                    started,
                    format!(
                        "{}: the caller started speaking at {} over the AI's audio on stream \
                         {}, but no clear followed within {} (the caller heard {heard_ms} ms \
                         more of the AI over their speech)",
                        who(&served),
                        secs(started),
                        stream.stream_sid,
                        secs(CLEAR_WITHIN_MS)
                    ),
                ));
            }
        }
    }
    findings
}

/// The call a finding is about: direction, name and tenant, with the AI session.
fn who(served: &ServedSession<'_>) -> String {
    format!(
        "AI session {} of {} call `{}` to {}",
        served.session.index,
        served.call.direction.as_str(),
        served.call.name,
        served.call.tenant
    )
}

/// Whether AI audio was playing on `stream` at `at_ms`.
fn playing_at(stream: &StreamRecord, at_ms: u64) -> bool {
    stream
        .playout
        .iter()
        .any(|span| span.from_ms <= at_ms && at_ms < span.to_ms)
}

/// Milliseconds of AI audio played on `stream` within `[from_ms, to_ms]`.
fn stream_heard_within(stream: &StreamRecord, from_ms: u64, to_ms: u64) -> u64 {
    stream
        .playout
        .iter()
        .map(|span: &PlayoutSpan| span.heard_within(from_ms, to_ms))
        .sum()
}

/// Milliseconds of AI audio played on any of the call's streams within `[from_ms, to_ms]`.
fn heard_within(record: &CallRecord, from_ms: u64, to_ms: u64) -> u64 {
    record
        .streams
        .iter()
        .map(|stream| stream_heard_within(stream, from_ms, to_ms))
        .sum()
}
