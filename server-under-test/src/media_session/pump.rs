//! Stage 4 of a media session: the pump, which moves audio both ways until the call ends.
//!
//! Each turn waits for whichever comes first, a Twilio message or a Realtime event. Caller
//! audio is forwarded to the model, echoed marks and assistant events go to the [`Bridge`], and
//! a Realtime connection that fails is dropped so the next turn reconnects.

use futures_util::{Sink, SinkExt, Stream, StreamExt};

use super::EndReason;
use super::ai_link::AiLink;
use crate::media_bridge::{AiAction, Bridge};
use crate::realtime::AiConnection;
use crate::realtime_event::{ClientEvent, ServerEvent};
use crate::twilio_message::{TwilioInbound, TwilioOutbound};

/// What one turn of the pump received.
enum Arrival {
    Twilio(Option<TwilioInbound>),
    Ai(Option<ServerEvent>),
}

/// What the pump does after a turn.
enum Step {
    Continue,
    /// Drop the Realtime connection; the next turn connects again.
    Reconnect,
    End(EndReason),
}

/// Pumps until the call ends and says why.
pub(super) async fn pump<TS, TR>(
    bridge: &mut Bridge<TS>,
    twilio_rx: &mut TR,
    ai: &mut AiLink<'_>,
    call_sid: &str,
) -> EndReason
where
    TS: Sink<TwilioOutbound> + Unpin,
    TS::Error: std::fmt::Display,
    TR: Stream<Item = TwilioInbound> + Unpin,
{
    loop {
        let conn = match ai.connected().await {
            Ok(conn) => conn,
            Err(end) => return end,
        };
        // Biased, so that a caller frame and an AI event ready at the same instant are taken
        // in the same order on every run: an unbiased select draws the order at random, and a
        // harness that replays the same seed must see the same bytes. The caller's frames come
        // first; neither side can starve the other, since each delivers a bounded burst.
        let arrival = tokio::select! {
            biased;
            message = twilio_rx.next() => Arrival::Twilio(message),
            event = conn.stream.next() => Arrival::Ai(event),
        };
        let step = match arrival {
            Arrival::Twilio(message) => on_twilio_message(message, bridge, conn).await,
            Arrival::Ai(None) => {
                tracing::warn!(%call_sid, "realtime socket closed while the caller is connected; reconnecting");
                Step::Reconnect
            }
            Arrival::Ai(Some(event)) => {
                let updated = matches!(event, ServerEvent::SessionUpdated);
                let action = bridge.on_ai_event(event, conn).await;
                if updated {
                    ai.session_updated();
                }
                match action {
                    AiAction::Continue => Step::Continue,
                    AiAction::Reconnect => Step::Reconnect,
                    AiAction::TwilioGone => Step::End(EndReason::TwilioClosed),
                }
            }
        };
        match step {
            Step::Continue => {}
            Step::Reconnect => ai.disconnect().await,
            Step::End(end) => return end,
        }
    }
}

/// Handles what Twilio sent: caller audio goes to the model, an echoed mark to the bridge.
async fn on_twilio_message<TS>(
    message: Option<TwilioInbound>,
    bridge: &mut Bridge<TS>,
    conn: &mut AiConnection,
) -> Step
where
    TS: Sink<TwilioOutbound> + Unpin,
    TS::Error: std::fmt::Display,
{
    match message {
        None => Step::End(EndReason::TwilioClosed),
        Some(TwilioInbound::Stop { .. }) => Step::End(EndReason::Stop),
        Some(TwilioInbound::Media { media, .. }) => {
            bridge.note_caller_media(media.timestamp.as_deref());
            let append = ClientEvent::InputAudioBufferAppend {
                audio: media.payload,
            };
            if let Err(err) = conn.sink.send(append).await {
                tracing::warn!(error = %err, "forwarding caller audio failed; reconnecting");
                return Step::Reconnect;
            }
            Step::Continue
        }
        Some(TwilioInbound::Mark { mark, .. }) => {
            bridge.mark_echoed(&mark.name);
            Step::Continue
        }
        Some(_) => Step::Continue,
    }
}
