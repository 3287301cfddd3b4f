//! The call's status callbacks and its Media Stream's end tell one story: the callbacks come in
//! Twilio's order, `completed` comes last and ends everything for the call (no stream still
//! open, no AI session still open beyond a grace), and the server sends no `media` once Twilio
//! has sent `stop`.
//!
//! The order and the open stream are promises of the fake Twilio itself, checked here so that a
//! change to it cannot quietly make every other invariant's view of a call's end wrong; the AI
//! session and the `media` after `stop` are the server's part.

use super::context::{Context, ServedSession};
use super::{Finding, secs};
use crate::twilio::{CallRecord, CallbackRecord, EventDir, StreamRecord};

/// Status callbacks and the stream's end agree.
pub(super) const CALLBACKS_CONSISTENT: &str = "stream.callbacks-consistent";

/// How long after Twilio's `stop` a server's `media` may still arrive: what the server sent
/// before it read the `stop` is in flight for at most a network round trip, which a second
/// covers on any real link; the fake Twilio listens for two seconds (its closing handshake), so
/// a server that keeps streaming into the ended call is seen for the second after this grace.
const STOP_GRACE_MS: u64 = 1_000;

/// How long after the `completed` callback an AI session of the call may stay open. The server
/// has had `stop`, the stream's close and `completed` by then, and the fake Twilio itself waits
/// two seconds for a closing handshake; a model socket open longer is billed for a call nobody
/// is on. (`teardown.nothing-left-open` allows 5 s after the call's end for any socket; this
/// bound is the tighter one a server that reacts to the call's end meets.)
const COMPLETED_GRACE_MS: u64 = 2_000;

/// Twilio's call progress events in the order it sends them.
const CALL_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

pub(super) fn callbacks_consistent(ctx: &Context<'_>) -> Vec<Finding> {
    let served = ctx.served_sessions();
    let mut findings = Vec::new();
    for (i, record) in ctx.art.calls.iter().enumerate() {
        let Some(call) = ctx.plan.calls.iter().find(|c| c.name == record.label) else {
            continue;
        };
        let sessions: Vec<&ServedSession<'_>> = served
            .iter()
            .filter(|s| std::ptr::eq(s.record, &ctx.art.calls[i]))
            .collect();
        let mut problems: Vec<(u64, String)> = Vec::new();
        problems.extend(order_problem(&record.status_callbacks));
        problems.extend(open_at_completed(record, &sessions));
        for stream in &record.streams {
            problems.extend(media_after_stop(stream));
        }
        for (at_ms, problem) in problems {
            findings.push(Finding::new(
                CALLBACKS_CONSISTENT,
                Some(&call.name),
                at_ms,
                format!(
                    "{} call `{}` to {}: {problem}",
                    call.direction.as_str(),
                    call.name,
                    call.tenant
                ),
            ));
        }
    }
    findings.sort_by_key(|f| f.at_ms);
    findings
}

/// The first callback out of Twilio's order: call events initiated → ringing → answered →
/// completed, each at most once, nothing after `completed`, times that never go back; per
/// stream, `stream-started` after `answered` and before one `stream-stopped` or `stream-error`
/// (an error may come alone, for a stream that never connected).
fn order_problem(callbacks: &[CallbackRecord]) -> Option<(u64, String)> {
    let mut last: Option<&CallbackRecord> = None;
    let mut last_rank: Option<usize> = None;
    let mut completed: Option<&CallbackRecord> = None;
    let answered_at = callbacks.iter().position(|c| c.event == "answered");
    // Per stream SID: whether it started and whether it ended.
    let mut streams: Vec<(&str, bool, bool)> = Vec::new();
    for (n, cb) in callbacks.iter().enumerate() {
        let at = cb.at_ms;
        let problem = if let Some(prev) = last.filter(|p| p.at_ms > at) {
            Some(format!(
                "callback `{}` at {} is dated before the `{}` sent ahead of it at {}",
                cb.event,
                secs(at),
                prev.event,
                secs(prev.at_ms)
            ))
        } else if let Some(done) = completed {
            Some(format!(
                "callback `{}` at {} came after `completed` at {}",
                cb.event,
                secs(at),
                secs(done.at_ms)
            ))
        } else if let Some(rank) = CALL_EVENTS.iter().position(|e| *e == cb.event) {
            let before = last_rank.replace(rank);
            before.filter(|b| *b >= rank).map(|b| {
                format!(
                    "callback `{}` at {} came after `{}`, out of Twilio's order {}",
                    cb.event,
                    secs(at),
                    CALL_EVENTS[b],
                    CALL_EVENTS.join(" → ")
                )
            })
        } else {
            stream_order(cb, &mut streams, answered_at.is_some_and(|a| a > n))
        };
        if problem.is_some() {
            return problem.map(|p| (at, p));
        }
        if cb.event == "completed" {
            completed = Some(cb);
        }
        last = Some(cb);
    }
    None
}

/// Checks one stream callback against what its stream has seen so far.
fn stream_order<'a>(
    cb: &'a CallbackRecord,
    streams: &mut Vec<(&'a str, bool, bool)>,
    before_answered: bool,
) -> Option<String> {
    let sid = cb.params.get("StreamSid").map_or("", String::as_str);
    let at = secs(cb.at_ms);
    let index = match streams.iter().position(|(s, _, _)| *s == sid) {
        Some(index) => index,
        None => {
            streams.push((sid, false, false));
            streams.len() - 1
        }
    };
    let (_, started, ended) = &mut streams[index];
    match cb.event.as_str() {
        _ if *ended => Some(format!(
            "stream {sid}'s `{}` at {at} came after the stream's end",
            cb.event
        )),
        "stream-started" if before_answered => Some(format!(
            "stream {sid} started at {at}, before the call's `answered`"
        )),
        "stream-started" if *started => Some(format!("stream {sid} started twice, at {at}")),
        "stream-started" => {
            *started = true;
            None
        }
        "stream-stopped" if !*started => Some(format!(
            "stream {sid} stopped at {at} without having started"
        )),
        "stream-stopped" | "stream-error" => {
            *ended = true;
            None
        }
        _ => None,
    }
}

/// What was still open when Twilio sent `completed`: a stream of the call, or (beyond
/// [`COMPLETED_GRACE_MS`]) an AI session that served it.
fn open_at_completed(record: &CallRecord, sessions: &[&ServedSession<'_>]) -> Vec<(u64, String)> {
    let Some(done) = record
        .status_callbacks
        .iter()
        .find(|c| c.event == "completed")
        .map(|c| c.at_ms)
    else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for stream in &record.streams {
        let open = stream.connected_at_ms.is_some() && stream.ended_at_ms.is_none_or(|e| e > done);
        if open {
            problems.push((
                done,
                format!(
                    "`completed` was sent at {} while stream {} was still open (ended {})",
                    secs(done),
                    stream.stream_sid,
                    when(stream.ended_at_ms)
                ),
            ));
        }
    }
    for served in sessions {
        let s = served.session;
        let late =
            s.opened_at_ms <= done && s.closed_at_ms.is_none_or(|c| c > done + COMPLETED_GRACE_MS);
        if late {
            problems.push((
                done,
                format!(
                    "AI session {} was still open {} after `completed` at {} (closed {})",
                    s.index,
                    secs(COMPLETED_GRACE_MS),
                    secs(done),
                    when(s.closed_at_ms)
                ),
            ));
        }
    }
    problems
}

/// `media` the server sent after Twilio's `stop` (beyond [`STOP_GRACE_MS`]), or anything it
/// sent that was recorded after the stream ended.
fn media_after_stop(stream: &StreamRecord) -> Option<(u64, String)> {
    let stop = stream
        .events
        .iter()
        .find(|e| e.dir == EventDir::Out && e.event == "stop")
        .map(|e| e.at_ms)
        .or(stream.ended_at_ms);
    if let (Some(stop), Some(after)) = (stop, stream.media_after_stop)
        && after.last_ms > stop + STOP_GRACE_MS
    {
        return Some((
            after.last_ms,
            format!(
                "the server sent {} `media` message(s) on stream {} after Twilio's `stop` at {}, \
                 the last at {}",
                after.count,
                stream.stream_sid,
                secs(stop),
                secs(after.last_ms)
            ),
        ));
    }
    let ended = stream.ended_at_ms?;
    let late = stream
        .events
        .iter()
        .find(|e| e.dir == EventDir::In && e.at_ms > ended)?;
    Some((
        late.at_ms,
        format!(
            "the server's `{}` on stream {} was recorded at {}, after the stream ended at {}",
            late.event,
            stream.stream_sid,
            secs(late.at_ms),
            secs(ended)
        ),
    ))
}

fn when(ms: Option<u64>) -> String {
    ms.map_or_else(|| "never".to_string(), |m| format!("at {}", secs(m)))
}
