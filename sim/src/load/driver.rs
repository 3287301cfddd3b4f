//! One load call in real time: the signed voice webhook, the TwiML's `<Connect><Stream>`, the
//! signed Media Streams handshake, then the caller's frames every 20 ms from the monotonic clock
//! while the server's audio plays out in a real playout buffer that echoes marks when played.
//!
//! Lighter than the scenario call engine (no call record, no status callbacks), the wire is the
//! same: the same signing, TwiML parser, handshake and typed messages.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;

use super::metrics::{FailCause, Metric};
use super::plan::{CallTemplate, mix};
use super::recorder::Recorder;
use super::wire::{self, StreamIds};
use crate::run::Endpoints;
use crate::twilio::TwilioEnv;
use crate::twilio::http::{Signing, send_signed};
use crate::twilio::message::{ServerMessage, parse_server_message};
use crate::twilio::params::CallIdentity;
use crate::twilio::playout::{Played, PlayoutBuffer};
use crate::twilio::spec::{Direction, HttpMethod};
use crate::twilio::stream::{WsStream, open_stream};
use crate::twilio::twiml::{self, Verb};

/// One frame of caller audio.
pub const FRAME: Duration = Duration::from_millis(20);
/// Playout time of one µ-law byte.
const BYTE_TIME: Duration = Duration::from_micros(125);
/// AI audio that resumes within this long of running dry is a stutter (late server frames).
const STUTTER_GAP: Duration = Duration::from_millis(200);
/// Mean decoded level above which a frame is speech, not silence or comfort noise.
const LOUD: u32 = 300;
/// Longest wait for the server to close after `stop`.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What every call of a run shares.
#[derive(Debug)]
pub struct CallEnv {
    /// Signing, URL map, HTTP client.
    pub twilio: TwilioEnv,
    /// Where the target is.
    pub endpoints: Endpoints,
    /// Where the figures go.
    pub recorder: Arc<Recorder>,
    /// Seed of the call ids.
    pub seed: u64,
}

/// Plays call number `n` for `frames` frames (or until `stop`).
pub async fn drive(
    env: &CallEnv,
    template: &CallTemplate,
    n: u64,
    frames: u64,
    stop: watch::Receiver<bool>,
) -> Result<(), FailCause> {
    let t_call = Instant::now();
    let ids = StreamIds {
        account_sid: env.endpoints.account_sid.clone(),
        call_sid: format!("CA{:032x}", mix(env.seed ^ n)),
        stream_sid: format!("MZ{:032x}", mix(!env.seed ^ n)),
    };
    let stream = webhook(env, template, &ids, n).await?;
    let dial = Instant::now();
    let (ws, _) = open_stream(&env.twilio, &stream.url, true)
        .await
        .map_err(|_| FailCause::StreamRefused)?;
    env.recorder.record(Metric::StreamConnect, dial.elapsed());
    let mut call = Call {
        env,
        template,
        ws,
        ids,
        seq: 1,
        playout: PlayoutBuffer::new(Instant::now()),
        marks: VecDeque::new(),
        t_call,
        heard_any: false,
        turn_end: None,
        barge_start: None,
        audio_end: None,
    };
    call.send(wire::connected()).await?;
    let start = wire::start(&call.ids, &stream.parameters);
    call.send(start).await?;
    let outcome = call.play(frames, stop).await;
    call.hang_up().await;
    match outcome {
        Ok(Ended::Planned) if !call.heard_any => Err(FailCause::NoAiAudio),
        Ok(_) => Ok(()),
        Err(cause) => Err(cause),
    }
}

/// The `<Stream>` the webhook's TwiML connects to, with its parameters.
struct StreamTarget {
    url: String,
    parameters: std::collections::BTreeMap<String, String>,
}

async fn webhook(
    env: &CallEnv,
    template: &CallTemplate,
    ids: &StreamIds,
    n: u64,
) -> Result<StreamTarget, FailCause> {
    let identity = CallIdentity {
        account_sid: ids.account_sid.clone(),
        call_sid: ids.call_sid.clone(),
        direction: Direction::Inbound,
        from: template.from.clone(),
        to: template.to.clone(),
        call_token: format!("{:016x}", mix(env.seed.rotate_left(7) ^ n)),
    };
    let url = format!("{}{}", env.endpoints.public_url, template.webhook_path);
    let params = identity.voice_params("ringing");
    let token = format!("{:032x}", u128::from(mix(n)) << 64 | u128::from(mix(!n)));
    let sent = Instant::now();
    let reply = send_signed(
        &env.twilio,
        &url,
        HttpMethod::Post,
        &params,
        Signing::Valid,
        &token,
    )
    .await
    .map_err(|_| FailCause::WebhookError)?;
    env.recorder.record(Metric::Webhook, sent.elapsed());
    let xml = reply
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.contains("xml"));
    if !(200..300).contains(&reply.status) || !xml {
        return Err(FailCause::WebhookError);
    }
    let doc = twiml::parse(&reply.body).map_err(|_| FailCause::WebhookError)?;
    doc.verbs
        .into_iter()
        .find_map(|v| match v {
            Verb::Connect { stream, .. } => Some(StreamTarget {
                url: stream.url,
                parameters: stream.parameters,
            }),
            _ => None,
        })
        .ok_or(FailCause::StreamRefused)
}

/// How the media loop ended without a failure.
enum Ended {
    /// The caller's time was up.
    Planned,
    /// The run told the call to stop (end of the test, Ctrl-C).
    Stopped,
}

struct Call<'a> {
    env: &'a CallEnv,
    template: &'a CallTemplate,
    ws: WsStream,
    ids: StreamIds,
    seq: u64,
    playout: PlayoutBuffer,
    /// Marks received and not yet echoed, with their arrival.
    marks: VecDeque<(String, Instant)>,
    t_call: Instant,
    heard_any: bool,
    /// When the caller last stopped speaking, until the reply is heard.
    turn_end: Option<Instant>,
    /// When the caller started speaking over AI audio, until `clear`.
    barge_start: Option<Instant>,
    /// When the AI audio queued so far finishes playing.
    audio_end: Option<Instant>,
}

impl Call<'_> {
    async fn send(&mut self, text: String) -> Result<(), FailCause> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|_| FailCause::StreamClosed)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    async fn play(
        &mut self,
        frames: u64,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Ended, FailCause> {
        let mut due = Instant::now();
        let mut k = 0u64;
        // One timer for the whole call, moved on after each frame (cheaper than a new one per
        // wait with thousands of calls).
        let timer = sleep_until(due);
        tokio::pin!(timer);
        // Stopped before the first frame: the value was set before this call subscribed, which
        // `changed()` does not report.
        if *stop.borrow() {
            return Ok(Ended::Stopped);
        }
        // One wait for the hang-up for the whole call too: a new `changed()` per loop would join
        // and leave the channel's waiter list every frame. It reports any change since the call
        // subscribed, so it misses none made between two polls.
        let hung_up = stop.changed();
        tokio::pin!(hung_up);
        while k < frames {
            let mark_due = self.playout.next_mark_due();
            tokio::select! {
                biased;
                _ = &mut hung_up => return Ok(Ended::Stopped),
                () = &mut timer => {
                    self.send_frame(k, due).await?;
                    k += 1;
                    due += FRAME;
                    timer.as_mut().reset(due);
                }
                () = sleep_opt(mark_due) => {
                    let played = self.playout.advance(Instant::now());
                    self.echo(played).await?;
                }
                message = self.ws.next() => match message {
                    Some(Ok(Message::Text(text))) => self.on_text(text.as_str()).await?,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        return Err(FailCause::StreamClosed);
                    }
                    Some(Ok(_)) => {}
                },
            }
        }
        Ok(Ended::Planned)
    }

    async fn send_frame(&mut self, k: u64, due: Instant) -> Result<(), FailCause> {
        let frame = self.template.frame(k);
        if frame.speech_end {
            self.turn_end = Some(due);
        }
        if frame.speech_start {
            self.turn_end = None;
            if self.audio_end.is_some_and(|end| end > due) {
                self.barge_start = Some(due);
            }
        }
        for digit in frame.digits.clone() {
            let seq = self.next_seq();
            let text = wire::dtmf(&self.ids, seq, digit);
            self.send(text).await?;
        }
        let seq = self.next_seq();
        let text = wire::media(&self.ids, seq, k + 1, &frame.payload);
        self.env.recorder.frame_sent(Instant::now() - due);
        self.send(text).await
    }

    async fn on_text(&mut self, text: &str) -> Result<(), FailCause> {
        let message = parse_server_message(text, &self.ids.stream_sid)
            .map_err(|_| FailCause::AssertionFailed)?;
        let now = Instant::now();
        let played = match message {
            ServerMessage::Media { media, .. } => {
                let bytes = B64
                    .decode(media.payload.as_bytes())
                    .map_err(|_| FailCause::AssertionFailed)?;
                self.on_audio(now, &bytes);
                self.playout.push_audio(now, bytes)
            }
            ServerMessage::Mark { mark, .. } => {
                self.marks.push_back((mark.name.clone(), now));
                self.playout.push_mark(now, mark.name)
            }
            ServerMessage::Clear { .. } => {
                if let Some(start) = self.barge_start.take() {
                    self.env.recorder.record(Metric::BargeIn, now - start);
                }
                self.audio_end = Some(now);
                self.playout.clear(now)
            }
        };
        self.echo(played).await
    }

    /// Bookkeeping for audio the caller will hear once what is queued before it has played.
    fn on_audio(&mut self, now: Instant, bytes: &[u8]) {
        let length = BYTE_TIME * u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let queued_until = self.audio_end.filter(|end| *end > now);
        let heard_at = queued_until.unwrap_or(now);
        let recorder = &self.env.recorder;
        recorder.count(|c| c.frames_received += 1);
        if loud(bytes) {
            if queued_until.is_none()
                && let Some(end) = self.audio_end
                && now - end < STUTTER_GAP
                && self.heard_any
                && self.turn_end.is_none()
            {
                recorder.count(|c| c.frames_late_from_server += 1);
            }
            if !self.heard_any {
                self.heard_any = true;
                recorder.record(Metric::FirstAudio, heard_at - self.t_call);
            }
            if let Some(end) = self.turn_end.take() {
                recorder.record(Metric::TurnLatency, heard_at.saturating_duration_since(end));
            }
        }
        self.audio_end = Some(heard_at + length);
    }

    async fn echo(&mut self, played: Vec<Played>) -> Result<(), FailCause> {
        for p in played {
            if let Played::Mark(name) = p {
                if let Some(i) = self.marks.iter().position(|(n, _)| *n == name)
                    && let Some((_, at)) = self.marks.remove(i)
                {
                    self.env
                        .recorder
                        .record(Metric::MarkRoundTrip, at.elapsed());
                }
                let seq = self.next_seq();
                let text = wire::mark(&self.ids, seq, &name);
                self.send(text).await?;
            }
        }
        Ok(())
    }

    /// Sends `stop` and closes, waiting a bounded time for the server's close.
    async fn hang_up(&mut self) {
        let seq = self.next_seq();
        let text = wire::stop(&self.ids, seq);
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            let _ = self.ws.send(Message::text(text)).await;
            let _ = self.ws.close(None).await;
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

/// Whether a µ-law frame carries sound rather than silence.
fn loud(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let sum: u32 = bytes
        .iter()
        .map(|b| u32::from(crate::audio::decode(*b).unsigned_abs()))
        .sum();
    sum / u32::try_from(bytes.len()).unwrap_or(u32::MAX) > LOUD
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_quiet_and_speech_is_loud() {
        assert!(!loud(&[0xFF; 160]));
        assert!(!loud(&[]));
        let tone: Vec<u8> = (0..160)
            .map(|i| crate::audio::encode(if i % 2 == 0 { 8000 } else { -8000 }))
            .collect();
        assert!(loud(&tone));
    }
}
