//! The Live connection as the media session sees it: the Realtime vocabulary of
//! [`crate::realtime_event`] translated to and from Live events at the socket.
//!
//! Outgoing: the call's `session.update` becomes `session.start` (sent once per connection,
//! as the first frame; a reconnect starts a new session with the same prompt), caller audio
//! becomes `session.input_audio.append`, and the greeting item becomes a
//! `session.commentary.append` worded as an instruction. Live has no responses to create and
//! no truncate: the model speaks commentary by itself and stops by itself when the caller
//! talks over it, so `response.create` and `conversation.item.truncate` are not sent.
//! Incoming: `session.started` is the accepted configuration, each 100 ms delta of the
//! continuous output track is assistant audio, and `session.closed` is followed by the socket's
//! close, which the pump answers by reconnecting while the caller is still on the line.
//! Closing the connection (the caller hung up, or the pump reconnects) sends `session.close`
//! before the close frame, so the model finalizes the session instead of seeing the socket drop.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::{Sink, SinkExt, StreamExt, future, stream};
use tokio_tungstenite::tungstenite::Message;

use crate::live_event::{LiveClientEvent, LiveServerEvent, LiveSessionConfig};
use crate::realtime::{
    AiConnection, AiConnector, ConnectFuture, ErrInto, RealtimeError, TungsteniteConnector,
    typed_stream,
};
use crate::realtime_event::{ClientEvent, ErrorDetail, ServerEvent};

/// The item id the bridge sees for the whole output track (Live has no items).
pub const LIVE_TRACK_ID: &str = "live-output";

/// Opens Live connections.
#[derive(Debug, Clone)]
pub struct LiveConnector {
    /// Dials `/v1/live/sessions` and completes the handshake.
    pub socket: TungsteniteConnector,
    /// The model named in `session.start`.
    pub model: String,
}

impl LiveConnector {
    async fn open(&self) -> Result<AiConnection, RealtimeError> {
        let (write, read) = self.socket.handshake().await?.split();
        let model = self.model.clone();
        let sink =
            SessionCloseFirst::new(ErrInto(write)).with_flat_map(move |event: ClientEvent| {
                let frames: Vec<Result<Message, RealtimeError>> = to_live(event, &model)
                    .map(|live| {
                        serde_json::to_string(&live)
                            .map(|text| Message::Text(text.into()))
                            .map_err(RealtimeError::from)
                    })
                    .into_iter()
                    .collect();
                stream::iter(frames)
            });
        let stream = typed_stream::<LiveServerEvent>(read)
            .filter_map(|event| future::ready(from_live(event)));
        Ok(AiConnection {
            sink: Box::pin(sink),
            stream: Box::pin(stream),
        })
    }
}

impl AiConnector for LiveConnector {
    fn connect(&self) -> ConnectFuture<'_> {
        Box::pin(self.open())
    }
}

/// A sink of socket frames that sends `session.close` before it closes.
struct SessionCloseFirst<S> {
    inner: S,
    close_sent: bool,
}

impl<S> SessionCloseFirst<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            close_sent: false,
        }
    }
}

impl<S> Sink<Message> for SessionCloseFirst<S>
where
    S: Sink<Message, Error = RealtimeError> + Unpin,
{
    type Error = RealtimeError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        Pin::new(&mut self.inner).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if !self.close_sent {
            ready!(Pin::new(&mut self.inner).poll_ready(cx))?;
            self.close_sent = true;
            let close = serde_json::to_string(&LiveClientEvent::SessionClose)?;
            Pin::new(&mut self.inner).start_send(Message::Text(close.into()))?;
        }
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// The Live event for a Realtime one, if Live has one.
pub fn to_live(event: ClientEvent, model: &str) -> Option<LiveClientEvent> {
    match event {
        ClientEvent::SessionUpdate { session } => Some(LiveClientEvent::SessionStart {
            session: LiveSessionConfig::for_call(
                model,
                &session.instructions,
                &session.audio.output.voice,
            ),
        }),
        ClientEvent::InputAudioBufferAppend { audio } => {
            Some(LiveClientEvent::InputAudioAppend { audio })
        }
        ClientEvent::ConversationItemCreate { item } => {
            let text: Vec<String> = item.content.into_iter().map(|part| part.text).collect();
            Some(LiveClientEvent::CommentaryAppend {
                delegation_id: None,
                content: text.join("\n"),
            })
        }
        ClientEvent::ResponseCreate | ClientEvent::ConversationItemTruncate { .. } => None,
    }
}

/// The Realtime event the bridge acts on for a Live one, if any.
pub fn from_live(event: LiveServerEvent) -> Option<ServerEvent> {
    match event {
        LiveServerEvent::SessionStarted => Some(ServerEvent::SessionUpdated),
        LiveServerEvent::OutputAudioDelta { delta } => Some(ServerEvent::OutputAudioDelta {
            item_id: LIVE_TRACK_ID.to_owned(),
            delta,
        }),
        LiveServerEvent::SessionClosed { reason } => {
            tracing::info!(%reason, "live session closed");
            None
        }
        LiveServerEvent::Error { error } => Some(ServerEvent::Error {
            error: ErrorDetail {
                kind: Some(error.kind),
                code: Some(error.code),
                message: Some(error.message),
            },
        }),
        LiveServerEvent::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime_event::{ConversationItem, SessionConfig};

    #[test]
    fn the_call_configuration_becomes_session_start_with_the_same_prompt() {
        let update = ClientEvent::SessionUpdate {
            session: SessionConfig::for_call("You are Acme's receptionist.", "alloy"),
        };
        let Some(LiveClientEvent::SessionStart { session }) = to_live(update, "gpt-live-1") else {
            panic!("session.update must become session.start");
        };
        assert_eq!(session.instructions, "You are Acme's receptionist.");
        assert_eq!(session.model, "gpt-live-1");
        assert_eq!(session.audio.format.kind, "audio/pcmu");
        assert_eq!(session.audio.format.rate, 8000);
        assert_eq!(session.audio.output.voice, "alloy");
    }

    #[test]
    fn the_greeting_becomes_commentary_and_live_has_no_response_or_truncate() {
        let greeting = ClientEvent::ConversationItemCreate {
            item: ConversationItem::user_text("Greet the caller with: Hi"),
        };
        assert_eq!(
            to_live(greeting, "m"),
            Some(LiveClientEvent::CommentaryAppend {
                delegation_id: None,
                content: "Greet the caller with: Hi".into()
            })
        );
        assert_eq!(to_live(ClientEvent::ResponseCreate, "m"), None);
        let truncate = ClientEvent::ConversationItemTruncate {
            item_id: "i".into(),
            content_index: 0,
            audio_end_ms: 10,
        };
        assert_eq!(to_live(truncate, "m"), None);
    }

    #[test]
    fn live_events_map_to_what_the_bridge_acts_on() {
        assert_eq!(
            from_live(LiveServerEvent::SessionStarted),
            Some(ServerEvent::SessionUpdated)
        );
        assert_eq!(
            from_live(LiveServerEvent::OutputAudioDelta {
                delta: "AA==".into()
            }),
            Some(ServerEvent::OutputAudioDelta {
                item_id: LIVE_TRACK_ID.into(),
                delta: "AA==".into()
            })
        );
        assert_eq!(
            from_live(LiveServerEvent::SessionClosed {
                reason: "expired".into()
            }),
            None
        );
    }
}
