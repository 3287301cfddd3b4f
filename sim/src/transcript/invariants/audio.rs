//! The AI session's audio formats agree with the Twilio stream's `mediaFormat`: Twilio sends and
//! plays µ-law at 8 kHz, so the model must take `audio/pcmu` in and give `audio/pcmu` out, or the
//! caller hears noise and the model hears nothing it can understand.
//!
//! And the audio the model received is the caller's: the same speech at the same moments,
//! whatever encoding the session declared (see [`caller_audio`] for the rule).

use super::context::{Context, ServedSession};
use super::{Finding, secs};
use crate::audio::{FRAME_BYTES, FRAME_MS};
use crate::realtime::{AudioFormat, FrameSummary, ReceivedFrame};
use crate::twilio::CallRecord;

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

/// What the model received is the caller's audio.
pub(super) const CALLER_AUDIO: &str = "audio.caller-audio-reaches-model";

/// A frame below this level (about -50 dBFS) is silence: µ-law's quiet codes and line hiss stay
/// under it, and every syllable of speech is far above it.
const SILENCE_DB: u8 = 40;
/// How far a model frame's level may stray from the caller frame it came from. An honest
/// re-encoding (µ-law to PCM16, 8 to 24 kHz) moves it by a dB or two; noise and bytes in the
/// wrong order move it by more than this, or turn silence loud.
const LEVEL_TOLERANCE_DB: u8 = 6;
/// Zero crossings per frame may differ by this many, or by a quarter of the larger count: a
/// resampler's filter adds or removes a few near silence, while noise has hundreds where a
/// voice has tens.
const CROSSINGS_SLACK: u8 = 6;
/// Model frames aligned together: one second, so a server that drops or delays some audio is
/// realigned within a second and a silent second cannot pull the alignment away.
const BLOCK_FRAMES: usize = 50;
/// The most the model's input may lag the caller: a minute, far beyond any buffering before the
/// session opens (the timing invariant allows 3 s unless a target declares more) or across a
/// reconnect.
const MAX_LAG_FRAMES: usize = 3_000;
/// Realignment searches per session; a session whose audio matches nothing stops searching
/// after this many, so a two-hour session of noise costs no more than a short one.
const MAX_SEARCHES: usize = 100;
/// The share of frames, in percent, that must agree.
const MIN_AGREEMENT_PERCENT: u64 = 90;
/// Fewer frames than this (half a second) are too few to judge.
const MIN_JUDGED_FRAMES: u64 = 25;
/// Caller speech within this long of a session's opening or closing need not reach it: it
/// may be in flight to a socket that is going away, or buffered until the session is ready.
const COVERAGE_GRACE_MS: u64 = 1_000;
/// A frame reaches the mock in the same millisecond Twilio sends it at best; one frame of slack
/// absorbs the rounding of both times to whole milliseconds.
const CAUSAL_SLACK_MS: u64 = FRAME_MS;

/// One caller frame as Twilio sent it, in 8 bytes (a two-hour call has 360,000 of them).
struct CallerFrame {
    /// When Twilio sent it, in ms since the scenario start (saturating at about 49 days).
    sent_ms: u32,
    summary: FrameSummary,
}

/// What one session's input looked like against the caller's audio.
#[derive(Default)]
struct Tally {
    /// Model frames aligned with caller speech, and how many of them agree with it.
    voiced: u64,
    voiced_ok: u64,
    /// Model frames aligned with caller silence, and how many are silent too.
    silent: u64,
    silent_ok: u64,
    /// Model frames that arrived before the caller could have said them.
    unplaced: u64,
    /// When the first disagreeing frame arrived.
    first_bad_ms: Option<u64>,
}

/// Checks that the audio each AI session received is its caller's, decoded in the session's
/// declared input format, and that the caller's speech reached the model.
///
/// The rule: every 20 ms frame, on both sides, is summarised by its level and zero crossings
/// ([`FrameSummary`]). The model's frames are aligned with the caller's one second at a time,
/// at the offset (within a minute, never before the caller said it) where most frames agree;
/// two frames agree when both are silent, or both are voiced within 6 dB and with similar
/// crossings. A session fails when more than 5% of its frames arrived before the caller could
/// have said them, when fewer than 90% of the frames aligned with caller speech agree (the
/// model heard noise, bytes in the wrong order or someone else), or when fewer than 90% of
/// those aligned with caller silence are silent (the model heard noise where the caller was
/// quiet); half a second of frames is the least judged. A call fails when less than 90% of the
/// caller's speech frames sent while one of its sessions was open (a second after opening to a
/// second before closing) reached a session.
///
/// Memory: the model's side is the session's envelope (8 bytes a frame, bounded by the
/// ledger); the caller's side is summarised here from the audio the fake Twilio already keeps,
/// and alignment searches are bounded per session, so a two-hour call costs a few MB and a
/// fraction of a second.
pub(super) fn caller_audio(ctx: &Context<'_>) -> Vec<Finding> {
    let served = ctx.served_sessions();
    let mut findings = Vec::new();
    for record in &ctx.art.calls {
        let sessions: Vec<&ServedSession<'_>> = served
            .iter()
            .filter(|s| std::ptr::eq(s.record, record))
            .collect();
        let Some(first) = sessions.first() else {
            continue;
        };
        let call = first.call;
        let caller = caller_frames(record);
        let mut covered = vec![false; caller.len()];
        for served in &sessions {
            let tally = judge(
                &caller,
                served.session.input_envelope.frames(),
                &mut covered,
            );
            if let Some(problem) = tally.problem() {
                let at_ms = tally.first_bad_ms.unwrap_or(served.session.opened_at_ms);
                findings.push(Finding::new(
                    CALLER_AUDIO,
                    Some(&call.name),
                    at_ms,
                    format!(
                        "{} call `{}` to {}: AI session {} (input {}) {problem}, from {}",
                        call.direction.as_str(),
                        call.name,
                        call.tenant,
                        served.session.index,
                        served.session.input_format,
                        secs(at_ms)
                    ),
                ));
            }
        }
        findings.extend(coverage(&caller, &covered, &sessions));
    }
    findings.sort_by_key(|f| f.at_ms);
    findings
}

/// Every caller frame of every stream of the call, in order, with when Twilio sent it: frame k
/// (from 0) of a stream leaves (k + 1)·20 ms after the stream connected.
fn caller_frames(record: &CallRecord) -> Vec<CallerFrame> {
    let mut frames = Vec::new();
    for stream in &record.streams {
        let Some(connected) = stream.connected_at_ms else {
            continue;
        };
        let mut sent_ms = connected;
        for chunk in stream.sent.chunks_exact(FRAME_BYTES) {
            sent_ms += FRAME_MS;
            frames.push(CallerFrame {
                sent_ms: u32::try_from(sent_ms).unwrap_or(u32::MAX),
                summary: FrameSummary::of(chunk, AudioFormat::Pcmu),
            });
        }
    }
    frames
}

/// Aligns a session's frames with the caller's block by block and counts the agreements;
/// marks the caller frames the session received in `covered`.
fn judge(caller: &[CallerFrame], model: &[ReceivedFrame], covered: &mut [bool]) -> Tally {
    let mut tally = Tally::default();
    let mut offset: Option<i64> = None;
    let mut searches = 0;
    // How many caller frames had been sent when each model frame arrived; arrivals only grow.
    let mut sent = 0usize;
    for (b, block) in model.chunks(BLOCK_FRAMES).enumerate() {
        let j0 = b * BLOCK_FRAMES;
        let mut hi = i64::MAX;
        for (i, frame) in block.iter().enumerate() {
            let arrived = u64::from(frame.at_ms) + CAUSAL_SLACK_MS;
            while sent < caller.len() && u64::from(caller[sent].sent_ms) <= arrived {
                sent += 1;
            }
            hi = hi.min(to_i64(sent) - 1 - to_i64(j0 + i));
        }
        let lo = (hi - to_i64(MAX_LAG_FRAMES)).max(-to_i64(j0));
        if hi < lo {
            tally.unplaced += to_u64(block.len());
            note_bad(&mut tally, block[0].at_ms);
            continue;
        }
        let current = offset.filter(|d| (lo..=hi).contains(d));
        let good = current.is_some_and(|d| {
            agreeing(caller, block, j0, d) * 100 >= to_u64(block.len()) * MIN_AGREEMENT_PERCENT
        });
        let d = if good || searches >= MAX_SEARCHES {
            current.unwrap_or(hi)
        } else {
            searches += 1;
            best_offset(caller, block, j0, lo, hi)
        };
        offset = Some(d);
        count(&mut tally, caller, block, j0, d, covered);
    }
    tally
}

/// The offset in `lo..=hi` at which most of `block` agrees with the caller; among equals, the
/// shortest lag.
fn best_offset(
    caller: &[CallerFrame],
    block: &[ReceivedFrame],
    j0: usize,
    lo: i64,
    hi: i64,
) -> i64 {
    let mut best = (hi, 0);
    for d in (lo..=hi).rev() {
        let score = agreeing(caller, block, j0, d);
        if score > best.1 {
            best = (d, score);
            if score == to_u64(block.len()) {
                break;
            }
        }
    }
    best.0
}

/// How many frames of `block` (model frames from `j0`) agree with the caller at offset `d`.
fn agreeing(caller: &[CallerFrame], block: &[ReceivedFrame], j0: usize, d: i64) -> u64 {
    let mut n = 0;
    for (i, frame) in block.iter().enumerate() {
        if let Some(c) = source(caller, j0 + i, d)
            && agree(frame.summary, c.summary)
        {
            n += 1;
        }
    }
    n
}

/// Adds `block` at offset `d` to the tally.
fn count(
    tally: &mut Tally,
    caller: &[CallerFrame],
    block: &[ReceivedFrame],
    j0: usize,
    d: i64,
    covered: &mut [bool],
) {
    for (i, frame) in block.iter().enumerate() {
        let Some(k) = usize::try_from(to_i64(j0 + i) + d)
            .ok()
            .filter(|k| *k < caller.len())
        else {
            tally.unplaced += 1;
            note_bad(tally, frame.at_ms);
            continue;
        };
        covered[k] = true;
        let c = caller[k].summary;
        let ok = agree(frame.summary, c);
        if voiced(c) {
            tally.voiced += 1;
            tally.voiced_ok += u64::from(ok);
        } else {
            tally.silent += 1;
            tally.silent_ok += u64::from(ok);
        }
        if !ok {
            note_bad(tally, frame.at_ms);
        }
    }
}

fn note_bad(tally: &mut Tally, at_ms: u32) {
    tally.first_bad_ms.get_or_insert(u64::from(at_ms));
}

/// The caller frame that model frame `j` came from at offset `d`, if there is one.
fn source(caller: &[CallerFrame], j: usize, d: i64) -> Option<&CallerFrame> {
    usize::try_from(to_i64(j) + d)
        .ok()
        .and_then(|k| caller.get(k))
}

fn voiced(s: FrameSummary) -> bool {
    s.level_db >= SILENCE_DB
}

/// Whether a model frame sounds like the caller frame it is aligned with.
fn agree(model: FrameSummary, caller: FrameSummary) -> bool {
    match (voiced(model), voiced(caller)) {
        (false, false) => true,
        (true, true) => {
            let most = model.crossings.max(caller.crossings);
            model.level_db.abs_diff(caller.level_db) <= LEVEL_TOLERANCE_DB
                && model.crossings.abs_diff(caller.crossings) <= CROSSINGS_SLACK.max(most / 4)
        }
        _ => false,
    }
}

impl Tally {
    /// What is wrong with the session's input, if anything.
    fn problem(&self) -> Option<String> {
        let total = self.voiced + self.silent + self.unplaced;
        if self.unplaced >= MIN_JUDGED_FRAMES && self.unplaced * 20 > total {
            return Some(format!(
                "received {} of {} frames before the caller had said them",
                self.unplaced, total
            ));
        }
        if self.voiced >= MIN_JUDGED_FRAMES
            && self.voiced_ok * 100 < self.voiced * MIN_AGREEMENT_PERCENT
        {
            return Some(format!(
                "heard only {} of {} frames of the caller's speech as the caller said them \
                 (noise, bytes in the wrong order or another caller's audio)",
                self.voiced_ok, self.voiced
            ));
        }
        if self.silent >= MIN_JUDGED_FRAMES
            && self.silent_ok * 100 < self.silent * MIN_AGREEMENT_PERCENT
        {
            return Some(format!(
                "heard sound in {} of {} frames where the caller was silent",
                self.silent - self.silent_ok,
                self.silent
            ));
        }
        None
    }
}

/// A finding when too little of the caller's speech, sent while a session of the call was
/// open, reached any session.
fn coverage(
    caller: &[CallerFrame],
    covered: &[bool],
    sessions: &[&ServedSession<'_>],
) -> Option<Finding> {
    let open = |ms: u64| {
        sessions.iter().any(|s| {
            let from = s.session.opened_at_ms + COVERAGE_GRACE_MS;
            let to = s
                .session
                .closed_at_ms
                .map_or(u64::MAX, |c| c.saturating_sub(COVERAGE_GRACE_MS));
            from <= ms && ms <= to
        })
    };
    let mut spoken = 0u64;
    let mut reached = 0u64;
    let mut first_missed = None;
    for (frame, got) in caller.iter().zip(covered) {
        if !voiced(frame.summary) || !open(u64::from(frame.sent_ms)) {
            continue;
        }
        spoken += 1;
        if *got {
            reached += 1;
        } else {
            first_missed.get_or_insert(u64::from(frame.sent_ms));
        }
    }
    if spoken < MIN_JUDGED_FRAMES || reached * 100 >= spoken * MIN_AGREEMENT_PERCENT {
        return None;
    }
    let call = sessions.first()?.call;
    let at_ms = first_missed.unwrap_or(0);
    Some(Finding::new(
        CALLER_AUDIO,
        Some(&call.name),
        at_ms,
        format!(
            "{} call `{}` to {}: only {reached} of {spoken} frames of the caller's speech sent \
             while an AI session was open reached the model; the first missing one was sent at {}",
            call.direction.as_str(),
            call.name,
            call.tenant,
            secs(at_ms)
        ),
    ))
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
