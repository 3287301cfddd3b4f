//! A WebSocket client over either transport: the connection comes from the [`Network`], the
//! handshake and framing from tokio-tungstenite, as over any socket.

use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{NetStream, Network};

/// The read buffer of every WebSocket callsim opens or accepts. tungstenite zero-fills its whole
/// read buffer before each read, and a media message is a few hundred bytes, so the 128 KiB
/// default costs more than the traffic; a longer message simply takes several reads.
pub const WS_READ_BUFFER: usize = 2 * 1024;

/// A client WebSocket over either transport (`wss://` is TLS over TCP).
pub type NetWebSocket = WebSocketStream<MaybeTlsStream<NetStream>>;

/// Opens a WebSocket for `request` (its URI says where), over `network`.
pub async fn ws_connect(
    network: &Network,
    request: Request,
    config: Option<WebSocketConfig>,
) -> Result<(NetWebSocket, Response), tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::error::UrlError;
    let uri = request.uri();
    let host = uri.host().ok_or(Error::Url(UrlError::NoHostName))?;
    // `[::1]` in a URI is `::1` to a socket.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("wss")) => 443,
        (None, Some("ws")) => 80,
        _ => return Err(Error::Url(UrlError::UnsupportedUrlScheme)),
    };
    let stream = network.connect(&host, port).await.map_err(Error::Io)?;
    tokio_tungstenite::client_async_tls_with_config(request, stream, config, None).await
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use super::*;
    use crate::net::Transport;

    /// An echo server on `network`, answering each text frame with the same text.
    async fn echo_server(network: &Network) -> u16 {
        let mut listener = network
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let port = listener.port();
        tokio::spawn(async move {
            let (io, _) = axum::serve::Listener::accept(&mut listener).await;
            let mut ws = tokio_tungstenite::accept_async(io).await.unwrap();
            while let Some(Ok(message)) = ws.next().await {
                if message.is_text() && ws.send(message).await.is_err() {
                    break;
                }
            }
        });
        port
    }

    #[tokio::test]
    async fn a_websocket_echoes_over_both_transports() {
        for transport in [Transport::Memory, Transport::Tcp] {
            let network = Network::new(transport);
            let port = echo_server(&network).await;
            let request = format!("ws://127.0.0.1:{port}/echo")
                .into_client_request()
                .unwrap();
            let (mut ws, response) = ws_connect(&network, request, None).await.unwrap();
            assert_eq!(response.status(), 101, "{transport:?}");
            ws.send(Message::text("hello")).await.unwrap();
            let echoed = ws.next().await.unwrap().unwrap();
            assert_eq!(echoed.into_text().unwrap().as_str(), "hello");
        }
    }

    #[tokio::test]
    async fn nothing_listening_is_an_io_error_on_the_memory_network() {
        let network = Network::new(Transport::Memory);
        let request = "ws://127.0.0.1:9/x".into_client_request().unwrap();
        let err = ws_connect(&network, request, None).await.unwrap_err();
        assert!(err.to_string().contains("nothing listens"), "{err}");
    }
}
