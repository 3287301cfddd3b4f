//! The Media Streams client: the session logic (generic over any `Sink`/`Stream` of WebSocket
//! messages, so it is unit-tested with channels) and the WebSocket handshake.
//!
//! Numbering: `start` has sequenceNumber "1" and every later message (media, dtmf, mark echo,
//! stop) adds one. Media frame k (chunk "k", from 1) carries the caller audio of
//! [(k-1)·20, k·20) ms after the stream start, is sent at k·20 ms and has timestamp "(k-1)·20".
//! Server audio is played out at 8000 bytes/s by a [`PlayoutBuffer`]; marks are echoed when
//! playout reaches them, and `clear` echoes every pending mark at once.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::audio::FRAME_MS;
use crate::clock::SimClock;
use crate::net::WakeGated;

use super::call_record::{EventDir, PlayoutSpan, StreamEvent, StreamRecord, TwilioError};
use super::call_store::{CallHandle, ControlCmd};
use super::caller_cursor::CallerCursor;
use super::media_frame::MediaFrameWriter;
use super::message::{
    DtmfPayload, MarkPayload, MediaFormat, MessageError, ServerMessage, StartPayload, StopPayload,
    TwilioMessage, parse_server_message,
};
use super::playout::{Played, PlayoutBuffer};
pub use super::stream_socket::{AfterStop, HandshakeError, WsStream, finish_close, open_stream};

/// Twilio's WebSocket client User-Agent.
pub const STREAM_USER_AGENT: &str = "Twilio.TmeWs/1.0";
/// How long the client waits for the server's close frame after sending its own.
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Warnings kept per stream (the count keeps going).
const MAX_WARNINGS: usize = 50;

/// Everything the session needs to know about its stream.
#[derive(Debug, Clone)]
pub struct StreamSetup {
    /// `AC…`.
    pub account_sid: String,
    /// `CA…`.
    pub call_sid: String,
    /// `MZ…`.
    pub stream_sid: String,
    /// `<Parameter>` values for `start.customParameters`.
    pub custom_parameters: BTreeMap<String, String>,
    /// Drop the connection abruptly this long after the start.
    pub drop_at: Option<Duration>,
    /// Index of this stream in `CallRecord::streams`.
    pub index: usize,
}

/// Why a stream session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The caller hung up; `stop` and a close frame were sent.
    Caller,
    /// The server closed the socket (or it broke).
    Server,
    /// An injected fault dropped the connection (no `stop`, no close frame).
    Drop,
    /// A REST update arrived; `stop` and a close frame were sent.
    Rest(ControlCmd),
}

struct Session<'a> {
    setup: &'a StreamSetup,
    clock: SimClock,
    record: &'a CallHandle,
    seq: u64,
    chunk: u64,
    start: Instant,
    start_pos: u64,
    playout: PlayoutBuffer,
    media: MediaFrameWriter,
}

/// Runs one bidirectional stream until the caller hangs up, the server closes, the connection
/// is dropped or a REST command arrives. Never panics; every wait is bounded.
///
/// After `stop` the client sends its close frame but does not wait for the server's: the
/// transport owner finishes the closing handshake with [`finish_close`] off the call's path
/// (under a paused clock a bounded wait here would jump virtual time forward).
pub async fn drive_stream<W, R, E>(
    tx: &mut W,
    rx: &mut R,
    setup: &StreamSetup,
    clock: SimClock,
    caller: &mut CallerCursor,
    control: &mut UnboundedReceiver<ControlCmd>,
    record: &CallHandle,
) -> StreamEnd
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let start = Instant::now();
    let mut rx = WakeGated::new(rx);
    let mut s = Session {
        setup,
        clock,
        record,
        seq: 0,
        chunk: 0,
        start,
        start_pos: caller.position(),
        playout: PlayoutBuffer::new(start),
        media: MediaFrameWriter::new(&setup.stream_sid),
    };
    s.update(|st| st.connected_at_ms = Some(clock.ms_at(start)));
    if s.open(tx).await.is_err() {
        return StreamEnd::Server;
    }

    let frame = Duration::from_millis(FRAME_MS);
    let mut next_tick = start + frame;
    let drop_deadline = setup.drop_at.map(|d| start + d);
    loop {
        let mark_due = s.playout.next_mark_due();
        tokio::select! {
            biased;
            Some(cmd) = control.recv() => {
                s.stop_and_close(tx).await;
                s.finish();
                return StreamEnd::Rest(cmd);
            }
            () = sleep_until(drop_deadline.unwrap_or(next_tick)), if drop_deadline.is_some() => {
                s.finish();
                return StreamEnd::Drop;
            }
            incoming = rx.next() => {
                if let Some(end) = s.on_incoming(tx, incoming).await {
                    return end;
                }
            }
            () = sleep_until(mark_due.unwrap_or(next_tick)), if mark_due.is_some() => {
                let played = s.playout.advance(Instant::now());
                if s.apply(tx, played).await.is_err() {
                    s.finish();
                    return StreamEnd::Server;
                }
            }
            () = sleep_until(next_tick) => {
                if let Some(end) = s.on_tick(tx, caller).await {
                    return end;
                }
                next_tick += frame;
                if caller.should_hang_up() {
                    s.stop_and_close(tx).await;
                    s.finish();
                    return StreamEnd::Caller;
                }
            }
        }
    }
}

async fn send<W: Sink<Message> + Unpin>(tx: &mut W, msg: &TwilioMessage) -> Result<(), ()> {
    let text = serde_json::to_string(msg).map_err(|_| ())?;
    tx.send(Message::text(text)).await.map_err(|_| ())
}

impl Session<'_> {
    /// Opens the stream as Twilio does: `connected`, then `start` with the call's identity, its
    /// custom parameters and the media format.
    async fn open<W: Sink<Message> + Unpin>(&mut self, tx: &mut W) -> Result<(), ()> {
        let connected = TwilioMessage::Connected {
            protocol: "Call".into(),
            version: "1.0.0".into(),
        };
        send(tx, &connected).await?;
        self.event(EventDir::Out, "connected", json!({}));
        self.seq = 1;
        let start_msg = TwilioMessage::Start {
            sequence_number: "1".into(),
            start: StartPayload {
                account_sid: self.setup.account_sid.clone(),
                stream_sid: self.setup.stream_sid.clone(),
                call_sid: self.setup.call_sid.clone(),
                tracks: vec!["inbound".into()],
                custom_parameters: self.setup.custom_parameters.clone(),
                media_format: MediaFormat::mulaw_8k_mono(),
            },
            stream_sid: self.setup.stream_sid.clone(),
        };
        send(tx, &start_msg).await?;
        self.event(
            EventDir::Out,
            "start",
            json!({"sequenceNumber": "1", "customParameters": self.setup.custom_parameters}),
        );
        Ok(())
    }

    /// One message from the server, or the end of its side. Answers how the stream ended, if
    /// it did.
    async fn on_incoming<W: Sink<Message> + Unpin, E>(
        &mut self,
        tx: &mut W,
        incoming: Option<Result<Message, E>>,
    ) -> Option<StreamEnd> {
        let keep_going = match incoming {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => false,
            Some(Ok(Message::Text(text))) => self.on_text(tx, text.as_str()).await,
            Some(Ok(Message::Binary(_))) => {
                self.warn(31950, "Malformed Message: binary frame from the server");
                true
            }
            Some(Ok(_)) => true,
        };
        if keep_going {
            return None;
        }
        // Complete the closing handshake (tungstenite queued the reply) without waiting long.
        let _ = timeout(CLOSE_WAIT, tx.close()).await;
        self.finish();
        Some(StreamEnd::Server)
    }

    /// One 20 ms tick: plays out what the caller heard, then hangs up if it is time, or sends
    /// the caller's next frame. Answers how the stream ended, if it did.
    async fn on_tick<W: Sink<Message> + Unpin>(
        &mut self,
        tx: &mut W,
        caller: &mut CallerCursor,
    ) -> Option<StreamEnd> {
        let played = self.playout.advance(Instant::now());
        if self.apply(tx, played).await.is_err() {
            self.finish();
            return Some(StreamEnd::Server);
        }
        if caller.should_hang_up() {
            self.stop_and_close(tx).await;
            self.finish();
            return Some(StreamEnd::Caller);
        }
        if self.send_caller_tick(tx, caller).await.is_err() {
            self.finish();
            return Some(StreamEnd::Server);
        }
        None
    }

    fn now_ms(&self) -> u64 {
        self.clock.elapsed_ms()
    }

    fn update(&self, f: impl FnOnce(&mut StreamRecord)) {
        let index = self.setup.index;
        self.record.update(|r| {
            if let Some(stream) = r.streams.get_mut(index) {
                f(stream);
            }
        });
    }

    fn event(&self, dir: EventDir, event: &str, detail: serde_json::Value) {
        let e = StreamEvent {
            at_ms: self.now_ms(),
            dir,
            event: event.to_owned(),
            detail,
        };
        self.update(|st| st.events.push(e));
    }

    fn warn(&self, code: u32, message: &str) {
        let w = TwilioError {
            at_ms: self.now_ms(),
            code,
            message: message.to_owned(),
        };
        self.update(|st| {
            st.warning_count += 1;
            if st.warnings.len() < MAX_WARNINGS {
                st.warnings.push(w);
            }
        });
    }

    fn next_seq(&mut self) -> String {
        self.seq += 1;
        self.seq.to_string()
    }

    /// Handles one text frame; false when the socket is unusable.
    async fn on_text<W: Sink<Message> + Unpin>(&mut self, tx: &mut W, text: &str) -> bool {
        let message = match parse_server_message(text, &self.setup.stream_sid) {
            Ok(m) => m,
            Err(e) => {
                self.warn(31951, &format!("Stream - Protocol - Invalid Message: {e}"));
                return true;
            }
        };
        let now = Instant::now();
        let played = match message {
            ServerMessage::Media { media, .. } => match STANDARD.decode(media.payload.as_bytes()) {
                Ok(bytes) => self.playout.push_audio(now, bytes),
                Err(_) => {
                    self.warn(
                        31951,
                        &format!(
                            "Stream - Protocol - Invalid Message: {}",
                            MessageError::BadPayload
                        ),
                    );
                    return true;
                }
            },
            ServerMessage::Mark { mark, .. } => {
                self.update(|st| st.marks_sent_by_server += 1);
                self.event(EventDir::In, "mark", json!({"name": mark.name}));
                self.playout.push_mark(now, mark.name)
            }
            ServerMessage::Clear { .. } => {
                let at = self.now_ms();
                self.update(|st| st.clears.push(at));
                self.event(
                    EventDir::In,
                    "clear",
                    json!({"buffered_bytes": self.playout.buffered_bytes()}),
                );
                self.playout.clear(now)
            }
        };
        self.apply(tx, played).await.is_ok()
    }

    /// Records one run of continuous playout, as a `media` event and as a [`PlayoutSpan`].
    fn segment(&self, start: Instant, end: Instant, bytes: u64, cleared: bool) {
        let span = PlayoutSpan {
            from_ms: self.clock.ms_at(start),
            to_ms: self.clock.ms_at(end),
            bytes,
            cleared,
        };
        let e = StreamEvent {
            at_ms: span.from_ms,
            dir: EventDir::In,
            event: "media".into(),
            detail: json!({
                "from_ms": span.from_ms,
                "to_ms": span.to_ms,
                "bytes": bytes,
                "cleared": cleared,
            }),
        };
        self.update(|st| {
            st.events.push(e);
            st.playout.push(span);
        });
    }

    /// Records played audio and segments, and echoes reached marks.
    async fn apply<W: Sink<Message> + Unpin>(
        &mut self,
        tx: &mut W,
        played: Vec<Played>,
    ) -> Result<(), ()> {
        for p in played {
            match p {
                Played::Audio(bytes) => self.update(|st| {
                    st.heard.extend_from_slice(&bytes);
                    st.audio_heard_ms = crate::audio::mulaw_ms(st.heard.len());
                }),
                Played::Segment {
                    start,
                    end,
                    bytes,
                    cleared,
                } => self.segment(start, end, bytes, cleared),
                Played::Mark(name) => {
                    let seq = self.next_seq();
                    let echo = TwilioMessage::Mark {
                        sequence_number: seq.clone(),
                        stream_sid: self.setup.stream_sid.clone(),
                        mark: MarkPayload { name: name.clone() },
                    };
                    send(tx, &echo).await?;
                    self.update(|st| st.marks_echoed += 1);
                    self.event(
                        EventDir::Out,
                        "mark",
                        json!({"name": name, "sequenceNumber": seq}),
                    );
                }
            }
        }
        Ok(())
    }

    async fn send_caller_tick<W: Sink<Message> + Unpin>(
        &mut self,
        tx: &mut W,
        caller: &mut CallerCursor,
    ) -> Result<(), ()> {
        let tick = caller.next_tick();
        for digit in tick.digits {
            let seq = self.next_seq();
            let msg = TwilioMessage::Dtmf {
                stream_sid: self.setup.stream_sid.clone(),
                sequence_number: seq.clone(),
                dtmf: DtmfPayload {
                    track: "inbound_track".into(),
                    digit: digit.to_string(),
                },
            };
            send(tx, &msg).await?;
            self.event(
                EventDir::Out,
                "dtmf",
                json!({"digit": digit.to_string(), "sequenceNumber": seq}),
            );
        }
        self.chunk += 1;
        self.seq += 1;
        let text = self.media.text(self.seq, self.chunk, &tick.frame);
        tx.send(Message::text(text)).await.map_err(|_| ())?;
        let start_ms = self.clock.ms_at(self.start);
        let start_pos = self.start_pos;
        let spans: Vec<StreamEvent> = tick
            .finished_audio
            .into_iter()
            .map(|span| {
                let from_ms = start_ms + span.from_byte.saturating_sub(start_pos) / 8;
                let to_ms = start_ms + span.to_byte.saturating_sub(start_pos) / 8;
                StreamEvent {
                    at_ms: from_ms,
                    dir: EventDir::Out,
                    event: "media".into(),
                    detail: json!({"label": span.label, "from_ms": from_ms, "to_ms": to_ms}),
                }
            })
            .collect();
        self.update(|st| {
            st.media_frames_sent += 1;
            st.sent.extend_from_slice(&tick.frame);
            st.events.extend(spans);
        });
        Ok(())
    }

    async fn stop_and_close<W: Sink<Message> + Unpin>(&mut self, tx: &mut W) {
        let seq = self.next_seq();
        let stop = TwilioMessage::Stop {
            sequence_number: seq.clone(),
            stream_sid: self.setup.stream_sid.clone(),
            stop: StopPayload {
                account_sid: self.setup.account_sid.clone(),
                call_sid: self.setup.call_sid.clone(),
            },
        };
        if send(tx, &stop).await.is_ok() {
            self.event(EventDir::Out, "stop", json!({"sequenceNumber": seq}));
        }
        let _ = tx.send(Message::Close(None)).await;
    }

    fn finish(&mut self) {
        // Audio still buffered when the stream ends is never heard.
        let played = self.playout.clear(Instant::now());
        for p in played {
            if let Played::Segment {
                start, end, bytes, ..
            } = p
            {
                // The stream's end, not a `clear`, cut this run short.
                self.segment(start, end, bytes, false);
            } else if let Played::Audio(bytes) = p {
                self.update(|st| {
                    st.heard.extend_from_slice(&bytes);
                    st.audio_heard_ms = crate::audio::mulaw_ms(st.heard.len());
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
