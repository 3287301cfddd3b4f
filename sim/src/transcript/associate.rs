//! Which AI session served which call: the mock AI does not know the calls, so the transcript
//! matches sessions to calls by time and by the caller audio each session received.

use std::collections::HashSet;

use crate::realtime::SessionRecord;
use crate::twilio::CallRecord;

fn is_silent_frame(frame: &[u8]) -> bool {
    // One pass without an early exit, which the compiler vectorizes; a two-hour call has
    // 360,000 frames.
    !frame
        .iter()
        .fold(false, |loud, &b| loud | ((b != 0xFF) & (b != 0x7F)))
}

/// The caller's non-silent frames of `call`, as sent.
fn sent_frames(call: &CallRecord) -> HashSet<&[u8]> {
    call.streams
        .iter()
        .flat_map(|s| s.sent.chunks(160))
        .filter(|f| f.len() == 160 && !is_silent_frame(f))
        .collect()
}

/// Assigns each AI session to the call it served: the call whose stream was live when the
/// session opened; among several, the one whose caller audio the session received (servers
/// forward Twilio's 160-byte frames verbatim), then the earliest.
pub(crate) fn associate(calls: &[CallRecord], sessions: &[SessionRecord]) -> Vec<Option<usize>> {
    // A call's frames are collected only when a session has more than one candidate call.
    let mut sent: Vec<Option<HashSet<&[u8]>>> = vec![None; calls.len()];
    let mut served = Vec::with_capacity(sessions.len());
    for s in sessions {
        let candidates: Vec<usize> = calls
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.streams.iter().any(|st| {
                    st.connected_at_ms.is_some_and(|from| {
                        from <= s.opened_at_ms + 1
                            && st.ended_at_ms.is_none_or(|to| s.opened_at_ms <= to)
                    })
                })
            })
            .map(|(i, _)| i)
            .collect();
        let call = match candidates.as_slice() {
            [] => None,
            [only] => Some(*only),
            many => {
                let frames: Vec<&[u8]> = s
                    .audio_received
                    .chunks(160)
                    .filter(|f| f.len() == 160 && !is_silent_frame(f))
                    .take(500)
                    .collect();
                let mut best = many[0];
                let mut best_score = 0usize;
                for &i in many {
                    let set = sent[i].get_or_insert_with(|| sent_frames(&calls[i]));
                    let score = frames.iter().filter(|f| set.contains(*f)).count();
                    if score > best_score {
                        best = i;
                        best_score = score;
                    }
                }
                Some(best)
            }
        };
        served.push(call);
    }
    served
}
