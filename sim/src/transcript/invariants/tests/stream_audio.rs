//! `stream.callbacks-consistent` and `audio.caller-audio-reaches-model` against runs that break
//! them and runs that do not, built with the helpers of the parent module.

use std::collections::BTreeMap;

use super::*;
use crate::realtime::{AudioFormat, InputEnvelope};
use crate::twilio::{CallbackRecord, EventDir, MediaAfterStop, StreamEvent};

fn callback(at_ms: u64, event: &str) -> CallbackRecord {
    let mut params = BTreeMap::new();
    if event.starts_with("stream-") {
        params.insert("StreamSid".to_string(), "MZ1".to_string());
    }
    CallbackRecord {
        at_ms,
        url: "https://x/status".into(),
        event: event.into(),
        params,
        http_status: Some(204),
        error: None,
    }
}

/// A run whose call sent `events` (`name@ms`) as status callbacks; the call and its session
/// end at 10 s.
fn with_callbacks(p: &Plan, events: &[(&str, u64)]) -> RunArtifacts {
    let mut art = artifacts(p, vec![session(IN)]);
    art.calls[0].status_callbacks = events.iter().map(|(e, at)| callback(*at, e)).collect();
    art
}

const TWILIO_ORDER: [(&str, u64); 6] = [
    ("initiated", 0),
    ("ringing", 0),
    ("answered", 0),
    ("stream-started", 0),
    ("stream-stopped", 10_000),
    ("completed", 10_000),
];

#[test]
fn callbacks_in_twilio_order_pass_and_any_other_order_is_named() {
    let p = plan("");
    let id = stream::CALLBACKS_CONSISTENT;
    assert_eq!(findings(&p, &with_callbacks(&p, &TWILIO_ORDER), id), []);

    let mut swapped = TWILIO_ORDER;
    swapped.swap(1, 2);
    let f = findings(&p, &with_callbacks(&p, &swapped), id);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.starts_with(
            "inbound call `caller` to acme: callback `ringing` at 0.0s came after `answered`"
        ),
        "{}",
        f[0].message
    );

    let mut late = TWILIO_ORDER.to_vec();
    late.push(("stream-stopped", 10_500));
    let f = findings(&p, &with_callbacks(&p, &late), id);
    assert!(
        f[0].message
            .contains("`stream-stopped` at 10.5s came after `completed` at 10.0s"),
        "{f:?}"
    );

    let early_stream = [("initiated", 0), ("stream-started", 0), ("answered", 0)];
    let f = findings(&p, &with_callbacks(&p, &early_stream), id);
    assert!(
        f[0].message
            .contains("started at 0.0s, before the call's `answered`"),
        "{f:?}"
    );
}

#[test]
fn completed_must_find_the_stream_ended_and_the_session_closing() {
    let p = plan("");
    let id = stream::CALLBACKS_CONSISTENT;
    let mut open_stream = with_callbacks(&p, &TWILIO_ORDER);
    open_stream.calls[0].streams[0].ended_at_ms = Some(12_000);
    let f = findings(&p, &open_stream, id);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains(
            "`completed` was sent at 10.0s while stream MZ1 was still open (ended at 12.0s)"
        ),
        "{}",
        f[0].message
    );

    // A session closing within two seconds of `completed` is a server reacting to the end.
    let mut closing = with_callbacks(&p, &TWILIO_ORDER);
    closing.sessions[0].closed_at_ms = Some(11_900);
    assert_eq!(findings(&p, &closing, id), []);
    closing.sessions[0].closed_at_ms = Some(12_500);
    let f = findings(&p, &closing, id);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].at_ms, 10_000);
    assert!(
        f[0].message.contains(
            "AI session 0 was still open 2.0s after `completed` at 10.0s (closed at 12.5s)"
        ),
        "{}",
        f[0].message
    );
}

#[test]
fn media_after_stop_is_flagged_beyond_the_grace() {
    let p = plan("");
    let id = stream::CALLBACKS_CONSISTENT;
    let run = |last_ms: u64| {
        let mut art = with_callbacks(&p, &TWILIO_ORDER);
        let stream = &mut art.calls[0].streams[0];
        stream.events.push(StreamEvent {
            at_ms: 10_000,
            dir: EventDir::Out,
            event: "stop".into(),
            detail: serde_json::json!({}),
        });
        stream.media_after_stop = Some(MediaAfterStop {
            count: 3,
            first_ms: 10_000,
            last_ms,
        });
        art
    };
    // Messages in flight when the server read `stop` are no fault.
    assert_eq!(findings(&p, &run(10_500), id), []);
    let f = findings(&p, &run(11_500), id);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("sent 3 `media` message(s) on stream MZ1 after Twilio's `stop` at 10.0s, the last at 11.5s"),
        "{}",
        f[0].message
    );
}

/// Four seconds of caller audio: a second of silence, two of speech and a second of silence.
fn caller_said() -> Vec<u8> {
    let mut audio = crate::audio::silence(1_000);
    audio.extend(crate::audio::speech_like(2_000, 3));
    audio.extend(crate::audio::silence(1_000));
    audio
}

/// A run whose caller said [`caller_said`] on a stream from 0 ms and whose AI session received
/// `frames` in `format`, frame k arriving `lag_ms` after Twilio sent caller frame k.
fn heard(p: &Plan, frames: &[Vec<u8>], format: AudioFormat, lag_ms: u64) -> RunArtifacts {
    let mut envelope = InputEnvelope::default();
    for (k, frame) in (1u64..).zip(frames) {
        envelope.push(frame, format, k * 20 + lag_ms, usize::MAX);
    }
    let mut s = session(IN);
    s.input_envelope = envelope;
    s.input_format = format.mime().into();
    let mut art = artifacts(p, vec![s]);
    art.calls[0].streams[0].sent = caller_said();
    art
}

/// Each caller frame through `f`.
fn frames_of(f: impl FnMut(&[u8]) -> Vec<u8>) -> Vec<Vec<u8>> {
    caller_said().chunks(160).map(f).collect()
}

/// µ-law decoded and upsampled to 24 kHz by linear interpolation, in `to_bytes` order.
fn pcm24k(frame: &[u8], to_bytes: fn(i16) -> [u8; 2]) -> Vec<u8> {
    let samples: Vec<i32> = frame
        .iter()
        .map(|&b| i32::from(crate::audio::decode(b)))
        .collect();
    let mut out = Vec::with_capacity(samples.len() * 6);
    for (i, &s) in samples.iter().enumerate() {
        let next = samples.get(i + 1).copied().unwrap_or(s);
        for step in 0..3 {
            let v = s + (next - s) * step / 3;
            out.extend(to_bytes(i16::try_from(v).unwrap_or(0)));
        }
    }
    out
}

#[test]
fn the_callers_audio_passes_through_or_honestly_re_encoded() {
    let p = plan("");
    let id = audio::CALLER_AUDIO;
    let passthrough = frames_of(<[u8]>::to_vec);
    assert_eq!(
        findings(&p, &heard(&p, &passthrough, AudioFormat::Pcmu, 20), id),
        []
    );
    let reencoded = frames_of(|f| pcm24k(f, i16::to_le_bytes));
    assert_eq!(
        findings(&p, &heard(&p, &reencoded, AudioFormat::Pcm24k, 40), id),
        []
    );
    // A session that opened late gets the first 1.5 s in a burst: the lag shrinks, the audio is
    // the caller's.
    let mut burst = heard(&p, &passthrough, AudioFormat::Pcmu, 20);
    let mut envelope = InputEnvelope::default();
    for (k, frame) in (1u64..).zip(&passthrough) {
        envelope.push(frame, AudioFormat::Pcmu, (k * 20).max(1_500), usize::MAX);
    }
    burst.sessions[0].input_envelope = envelope;
    assert_eq!(findings(&p, &burst, id), []);
}

#[test]
fn noise_wrong_byte_order_another_caller_and_silence_are_named() {
    let p = plan("");
    let id = audio::CALLER_AUDIO;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let noise = frames_of(|f| {
        f.iter()
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect()
    });
    // Every speech frame of the caller is judged; none survives noise or swapped bytes.
    let wrong = |f: &[Finding], input: &str| {
        let expected = format!(
            "inbound call `caller` to acme: AI session 0 (input {input}) heard only 0 of 87 \
             frames of the caller's speech as the caller said them"
        );
        assert!(
            f.first().is_some_and(|f| f.message.starts_with(&expected)),
            "{f:?}"
        );
    };
    wrong(
        &findings(&p, &heard(&p, &noise, AudioFormat::Pcmu, 20), id),
        "audio/pcmu",
    );
    let swapped = frames_of(|f| pcm24k(f, i16::to_be_bytes));
    wrong(
        &findings(&p, &heard(&p, &swapped, AudioFormat::Pcm24k, 20), id),
        "audio/pcm",
    );

    // Another caller's speech, at other moments: about half of its frames happen to agree
    // (silence against silence), and the caller's own speech goes missing.
    let mut other = crate::audio::silence(500);
    other.extend(crate::audio::speech_like(2_000, 99));
    other.extend(crate::audio::silence(1_500));
    let others: Vec<Vec<u8>> = other.chunks(160).map(<[u8]>::to_vec).collect();
    let f = findings(&p, &heard(&p, &others, AudioFormat::Pcmu, 20), id);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f[0].message.contains("as the caller said them"),
        "{}",
        f[0].message
    );
    assert!(
        f[1].message.contains("reached the model"),
        "{}",
        f[1].message
    );

    // The caller's speech with a hum filling the caller's silences.
    let hum = crate::audio::tone(3_000.0, 20, 0.02);
    let hummed = frames_of(|f| {
        if f.iter().all(|&b| b == 0xFF) {
            hum.clone()
        } else {
            f.to_vec()
        }
    });
    let f = findings(&p, &heard(&p, &hummed, AudioFormat::Pcmu, 20), id);
    assert!(
        f.first()
            .is_some_and(|f| f.message.contains("frames where the caller was silent")),
        "{f:?}"
    );

    // Audio that reached the model 200 ms before the caller said it is not the caller's.
    let mut early = heard(&p, &frames_of(<[u8]>::to_vec), AudioFormat::Pcmu, 0);
    let mut envelope = InputEnvelope::default();
    for (k, frame) in (1u64..).zip(frames_of(<[u8]>::to_vec)) {
        envelope.push(
            &frame,
            AudioFormat::Pcmu,
            (k * 20).saturating_sub(200),
            usize::MAX,
        );
    }
    early.sessions[0].input_envelope = envelope;
    let f = findings(&p, &early, id);
    assert!(
        f.first()
            .is_some_and(|f| f.message.contains("frames before the caller had said them")),
        "{f:?}"
    );

    let f = findings(&p, &heard(&p, &[], AudioFormat::Pcmu, 20), id);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("only 0 of") && f[0].message.contains("reached the model"),
        "{}",
        f[0].message
    );
}
