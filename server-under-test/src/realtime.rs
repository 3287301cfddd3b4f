//! Realtime API client: the `AiConnector` abstraction and its tokio-tungstenite implementation.
//!
//! The media session only sees a typed sink of [`ClientEvent`]s and a typed stream of
//! [`ServerEvent`]s, so it can be unit-tested with channels. The stream ends when the socket
//! closes (including a close frame), which the session treats as "the AI went away".

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt, future};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::network::{BoxedConnection, Dialer, host_and_port};
use crate::realtime_event::{ClientEvent, ServerEvent};

/// The read buffer of the server's WebSockets (the Realtime API's and Twilio's). tungstenite
/// zero-fills its whole read buffer before each read, and most messages are a few hundred bytes,
/// so the 128 KiB default costs more than the traffic; a longer message takes several reads.
pub(crate) const WS_READ_BUFFER: usize = 2 * 1024;

/// Errors of the Realtime connection.
#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    /// The configured URL or key cannot form a request.
    #[error("invalid realtime request: {0}")]
    Request(String),
    /// The connection did not complete within the connect timeout.
    #[error("realtime connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// WebSocket failure.
    #[error("realtime websocket error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// Serialization of an outgoing event failed.
    #[error("realtime encode error: {0}")]
    Encode(#[from] serde_json::Error),
    /// The sink's peer is gone (used by in-memory connectors).
    #[error("realtime connection closed")]
    Closed,
}

/// An open WebSocket to the model, before either dialect's typing.
pub(crate) type AiSocket = WebSocketStream<MaybeTlsStream<BoxedConnection>>;

/// Typed outgoing half of a Realtime connection.
pub type AiSink = Pin<Box<dyn Sink<ClientEvent, Error = RealtimeError> + Send>>;
/// Typed incoming half of a Realtime connection; ends when the socket closes.
pub type AiStream = Pin<Box<dyn Stream<Item = ServerEvent> + Send>>;

/// One open Realtime connection.
pub struct AiConnection {
    /// Events to the model.
    pub sink: AiSink,
    /// Events from the model.
    pub stream: AiStream,
}

impl std::fmt::Debug for AiConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AiConnection")
    }
}

/// Future returned by [`AiConnector::connect`].
pub type ConnectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AiConnection, RealtimeError>> + Send + 'a>>;

/// Opens Realtime connections (called again on every reconnect).
pub trait AiConnector: Send + Sync + 'static {
    /// Opens a new connection.
    fn connect(&self) -> ConnectFuture<'_>;
}

/// Connects with tokio-tungstenite to the configured URL (GA dialect: no `OpenAI-Beta` header),
/// over a connection from the [`Dialer`] (TCP unless a harness says otherwise).
#[derive(Debug, Clone)]
pub struct TungsteniteConnector {
    /// Opens the byte stream the WebSocket runs on.
    pub dialer: Arc<dyn Dialer>,
    /// `wss://…/v1/realtime?model=…` (or `ws://` for a local mock).
    pub url: String,
    /// Sent as `Authorization: Bearer {key}` when present.
    pub api_key: Option<String>,
    /// Limit for TCP + TLS + WebSocket handshake.
    pub connect_timeout: Duration,
}

impl TungsteniteConnector {
    /// Dials and completes the WebSocket handshake (with the bearer key) within the connect
    /// timeout; both dialects open their sockets this way.
    pub(crate) async fn handshake(&self) -> Result<AiSocket, RealtimeError> {
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|err| RealtimeError::Request(format!("{}: {err}", self.url)))?;
        if let Some(key) = &self.api_key {
            let value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                RealtimeError::Request("API key is not a valid header value".to_owned())
            })?;
            request.headers_mut().insert("authorization", value);
        }
        let url = url::Url::parse(&self.url)
            .map_err(|err| RealtimeError::Request(format!("{}: {err}", self.url)))?;
        let (host, port) = host_and_port(&url)
            .ok_or_else(|| RealtimeError::Request(format!("{}: no host", self.url)))?;
        let handshake = async {
            let connection = self.dialer.dial(&host, port).await?;
            tokio_tungstenite::client_async_tls_with_config(
                request,
                connection,
                Some(
                    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                        .read_buffer_size(WS_READ_BUFFER),
                ),
                None,
            )
            .await
        };
        let (socket, _response) = tokio::time::timeout(self.connect_timeout, handshake)
            .await
            .map_err(|_| RealtimeError::ConnectTimeout(self.connect_timeout))??;
        Ok(socket)
    }

    async fn open(&self) -> Result<AiConnection, RealtimeError> {
        let (write, read) = self.handshake().await?.split();
        Ok(AiConnection {
            sink: Box::pin(typed_sink(write)),
            stream: Box::pin(typed_stream::<ServerEvent>(read)),
        })
    }
}

/// The socket's read half as a typed stream that ends at the close frame or the first error;
/// text frames that do not parse as `T` are logged and skipped.
pub(crate) fn typed_stream<T>(
    read: impl Stream<Item = Result<Message, WsError>> + Send,
) -> impl Stream<Item = T> + Send
where
    T: serde::de::DeserializeOwned + Send,
{
    read.take_while(|message| {
        future::ready(match message {
            Ok(Message::Close(frame)) => {
                tracing::info!(?frame, "realtime socket closed by the server");
                false
            }
            Ok(_) => true,
            Err(err) => {
                tracing::warn!(error = %err, "realtime socket error");
                false
            }
        })
    })
    .filter_map(|message| {
        future::ready(match message {
            Ok(Message::Text(text)) => match serde_json::from_str::<T>(text.as_str()) {
                Ok(event) => Some(event),
                Err(err) => {
                    tracing::warn!(error = %err, "unparseable realtime event ignored");
                    None
                }
            },
            _ => None,
        })
    })
}

impl AiConnector for TungsteniteConnector {
    fn connect(&self) -> ConnectFuture<'_> {
        Box::pin(self.open())
    }
}

/// The socket's write half as a typed sink of [`ClientEvent`]s.
fn typed_sink<S>(write: S) -> impl Sink<ClientEvent, Error = RealtimeError> + Send
where
    S: Sink<Message> + Send + Unpin,
    S::Error: Into<RealtimeError>,
{
    ErrInto(write).with(|event: ClientEvent| {
        future::ready(
            event
                .to_text()
                .map(|text| Message::Text(text.into()))
                .map_err(RealtimeError::from),
        )
    })
}

/// Converts every error of the inner sink into [`RealtimeError`].
///
/// futures' `sink_map_err` (and `sink_err_into`, built on it) takes an `FnOnce` and panics
/// ("polled MapErr after completion") on the second error, and closing a sink whose send just
/// failed produces exactly that second error.
pub(crate) struct ErrInto<S>(pub(crate) S);

impl<S, T> Sink<T> for ErrInto<S>
where
    S: Sink<T> + Unpin,
    S::Error: Into<RealtimeError>,
{
    type Error = RealtimeError;

    fn poll_ready(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), RealtimeError>> {
        Pin::new(&mut self.0).poll_ready(cx).map_err(Into::into)
    }

    fn start_send(mut self: Pin<&mut Self>, item: T) -> Result<(), RealtimeError> {
        Pin::new(&mut self.0).start_send(item).map_err(Into::into)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), RealtimeError>> {
        Pin::new(&mut self.0).poll_flush(cx).map_err(Into::into)
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), RealtimeError>> {
        Pin::new(&mut self.0).poll_close(cx).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Poll};

    use super::*;
    use tokio_tungstenite::tungstenite::Error as WsError;

    /// A socket whose every operation fails, as one does after the peer has gone.
    struct Broken;

    impl Sink<Message> for Broken {
        type Error = WsError;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
            Poll::Ready(Err(WsError::ConnectionClosed))
        }
        fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), WsError> {
            Err(WsError::ConnectionClosed)
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
            Poll::Ready(Err(WsError::ConnectionClosed))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
            Poll::Ready(Err(WsError::ConnectionClosed))
        }
    }

    #[tokio::test]
    async fn closing_a_sink_whose_send_failed_is_an_error_not_a_panic() {
        let mut sink = Box::pin(typed_sink(Broken));
        let sent = sink.send(ClientEvent::ResponseCreate).await;
        assert!(sent.is_err(), "{sent:?}");
        // The second error used to panic with "polled MapErr after completion".
        let closed = sink.close().await;
        assert!(closed.is_err(), "{closed:?}");
    }
}
