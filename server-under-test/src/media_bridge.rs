//! Playback side of the media bridge: forwarding assistant audio to Twilio and barge-in.
//!
//! Assistant audio deltas are buffered to at least 20 ms per Twilio `media` message, the rest is
//! flushed when the item's audio is done and followed by one `mark` per response. For barge-in
//! the bridge tracks, per assistant item, the bytes received, the Twilio media timestamp of its
//! first delta and the outstanding marks. When the caller starts speaking while the item may
//! still be heard (audio still streaming, or marks not yet echoed), the item is truncated at
//! `min(twilio clock elapsed, audio received)`, which avoids the "audio content is already
//! shorter than" error, and Twilio's buffer is cleared.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{Sink, SinkExt};

use crate::realtime::AiConnection;
use crate::realtime_event::{ClientEvent, ErrorDetail, ServerEvent};
use crate::twilio_message::{MarkPayload, OutboundMedia, TwilioOutbound};

/// Minimum µ-law bytes per Twilio media message (20 ms at 8 kHz).
pub const MIN_MEDIA_BYTES: usize = 160;
/// µ-law at 8 kHz: bytes per millisecond.
const BYTES_PER_MS: u64 = 8;

/// Playback tracking of the current assistant item.
#[derive(Debug, Clone)]
pub(crate) struct ItemTrack {
    item_id: String,
    bytes_received: u64,
    first_delta_ts: u64,
    audio_done: bool,
}

/// Outcome of handling one Realtime event.
pub(crate) enum AiAction {
    Continue,
    Reconnect,
    TwilioGone,
}

/// The Twilio side of one call's bridge: the socket towards Twilio and what playback needs.
///
/// The media session tells the bridge what the caller sent ([`Bridge::note_caller_media`],
/// [`Bridge::mark_echoed`]) and hands it every Realtime event ([`Bridge::on_ai_event`]); only
/// the bridge changes its own state.
pub(crate) struct Bridge<TS> {
    twilio_tx: TS,
    stream_sid: String,
    /// The Twilio media timestamp of the caller's latest frame: Twilio's playback clock.
    latest_media_ts: u64,
    /// Assistant audio not yet sent, because it is shorter than [`MIN_MEDIA_BYTES`].
    out_buf: Vec<u8>,
    item: Option<ItemTrack>,
    /// Marks sent after a response's audio and not yet echoed by Twilio.
    outstanding_marks: BTreeSet<String>,
    responses: u64,
    truncations: u32,
}

impl<TS> Bridge<TS>
where
    TS: Sink<TwilioOutbound> + Unpin,
    TS::Error: std::fmt::Display,
{
    /// A bridge for the stream `stream_sid`, which Twilio's `start` message named.
    pub(crate) fn new(twilio_tx: TS, stream_sid: String) -> Bridge<TS> {
        Bridge {
            twilio_tx,
            stream_sid,
            latest_media_ts: 0,
            out_buf: Vec::new(),
            item: None,
            outstanding_marks: BTreeSet::new(),
            responses: 0,
            truncations: 0,
        }
    }

    /// Records the Twilio timestamp of a caller `media` frame; one that is not a number is ignored.
    pub(crate) fn note_caller_media(&mut self, timestamp: Option<&str>) {
        if let Some(ts) = timestamp.and_then(|t| t.parse::<u64>().ok()) {
            self.latest_media_ts = ts;
        }
    }

    /// Twilio echoed the mark `name`: the caller has heard everything sent before it.
    pub(crate) fn mark_echoed(&mut self, name: &str) {
        self.outstanding_marks.remove(name);
    }

    /// How many times barge-in truncated the assistant.
    pub(crate) fn truncations(&self) -> u32 {
        self.truncations
    }

    /// Closes the socket towards Twilio, waiting at most a second for the close to go out.
    pub(crate) async fn close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.twilio_tx.close()).await;
    }

    async fn send_twilio(&mut self, message: TwilioOutbound) -> bool {
        match self.twilio_tx.send(message).await {
            Ok(()) => true,
            Err(err) => {
                tracing::info!(error = %err, "twilio socket gone");
                false
            }
        }
    }

    async fn flush_audio(&mut self) -> bool {
        if self.out_buf.is_empty() {
            return true;
        }
        let payload = STANDARD.encode(std::mem::take(&mut self.out_buf));
        let media = TwilioOutbound::Media {
            stream_sid: self.stream_sid.clone(),
            media: OutboundMedia { payload },
        };
        self.send_twilio(media).await
    }

    /// True while the caller may still be hearing the current assistant item.
    fn assistant_playing(&self) -> bool {
        self.item.as_ref().is_some_and(|item| {
            item.bytes_received > 0 && (!item.audio_done || !self.outstanding_marks.is_empty())
        })
    }

    /// Handles one Realtime event: plays audio, sends marks, truncates on barge-in.
    ///
    /// Session events are only logged here; the media session's connection to the Realtime API
    /// reacts to them.
    pub(crate) async fn on_ai_event(
        &mut self,
        event: ServerEvent,
        ai: &mut AiConnection,
    ) -> AiAction {
        match event {
            ServerEvent::SessionCreated => tracing::debug!("realtime session created"),
            ServerEvent::SessionUpdated => tracing::debug!("realtime session updated"),
            ServerEvent::OutputAudioDelta { item_id, delta } => {
                return self.on_audio_delta(item_id, &delta).await;
            }
            ServerEvent::OutputAudioDone { .. } => return self.on_audio_done().await,
            ServerEvent::SpeechStarted => return self.on_speech_started(ai).await,
            ServerEvent::Error { error } => return on_error(&error),
            ServerEvent::Other => {}
        }
        AiAction::Continue
    }

    /// Buffers assistant audio and sends it once there is at least [`MIN_MEDIA_BYTES`].
    async fn on_audio_delta(&mut self, item_id: String, delta: &str) -> AiAction {
        let Ok(bytes) = STANDARD.decode(delta.as_bytes()) else {
            tracing::warn!(%item_id, "audio delta is not base64; ignored");
            return AiAction::Continue;
        };
        if self
            .item
            .as_ref()
            .is_none_or(|item| item.item_id != item_id)
        {
            // A new assistant item: its playback clock starts now.
            self.item = Some(ItemTrack {
                item_id,
                bytes_received: 0,
                first_delta_ts: self.latest_media_ts,
                audio_done: false,
            });
        }
        if let Some(item) = self.item.as_mut() {
            item.bytes_received += bytes.len() as u64;
        }
        self.out_buf.extend_from_slice(&bytes);
        if self.out_buf.len() >= MIN_MEDIA_BYTES && !self.flush_audio().await {
            return AiAction::TwilioGone;
        }
        AiAction::Continue
    }

    /// Flushes the rest of the item's audio and, when it had any, sends the response's mark.
    async fn on_audio_done(&mut self) -> AiAction {
        if !self.flush_audio().await {
            return AiAction::TwilioGone;
        }
        let had_audio = match self.item.as_mut() {
            Some(item) if !item.audio_done && item.bytes_received > 0 => {
                item.audio_done = true;
                true
            }
            _ => false,
        };
        if had_audio {
            self.responses += 1;
            let name = format!("resp-{}", self.responses);
            self.outstanding_marks.insert(name.clone());
            let mark = TwilioOutbound::Mark {
                stream_sid: self.stream_sid.clone(),
                mark: MarkPayload { name },
            };
            if !self.send_twilio(mark).await {
                return AiAction::TwilioGone;
            }
        }
        AiAction::Continue
    }

    /// Barge-in: while the caller may still hear the assistant, truncates the item at what was
    /// heard and clears Twilio's buffer.
    async fn on_speech_started(&mut self, ai: &mut AiConnection) -> AiAction {
        if self.assistant_playing()
            && let Some(item) = self.item.take()
        {
            let elapsed = self.latest_media_ts.saturating_sub(item.first_delta_ts);
            let received_ms = item.bytes_received / BYTES_PER_MS;
            let played_ms = elapsed.min(received_ms);
            tracing::info!(item_id = %item.item_id, played_ms, "barge-in: truncating assistant audio");
            self.truncations += 1;
            self.outstanding_marks.clear();
            self.out_buf.clear();
            let truncate = ClientEvent::ConversationItemTruncate {
                item_id: item.item_id,
                content_index: 0,
                audio_end_ms: played_ms,
            };
            if let Err(err) = ai.sink.send(truncate).await {
                tracing::warn!(error = %err, "sending truncate failed; reconnecting");
                return AiAction::Reconnect;
            }
            if !self
                .send_twilio(TwilioOutbound::Clear {
                    stream_sid: self.stream_sid.clone(),
                })
                .await
            {
                return AiAction::TwilioGone;
            }
        }
        AiAction::Continue
    }
}

/// An expired session needs a new connection; every other Realtime error is logged and ignored.
fn on_error(error: &ErrorDetail) -> AiAction {
    let code = error.code.as_deref().unwrap_or("");
    if code == "session_expired" {
        tracing::warn!(message = ?error.message, "realtime session expired; reconnecting");
        return AiAction::Reconnect;
    }
    // Errors such as `response_cancel_not_active` are expected races; never fatal.
    tracing::warn!(code, message = ?error.message, "realtime error (non-fatal)");
    AiAction::Continue
}
