//! The Media Streams WebSocket of a [`TestApp`], opened the way Twilio opens it.

use server_under_test::signature;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite};

use super::app::{PUBLIC_URL, TOKEN, TestApp};

/// A client's Media Streams socket.
pub(crate) type MediaStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl TestApp {
    /// Opens `/ws/media` with `signature` as its `X-Twilio-Signature`, if any.
    pub(crate) async fn connect_media_stream(
        &self,
        signature: Option<&str>,
    ) -> Result<(MediaStream, Response), tungstenite::Error> {
        let url = format!("ws://{}/ws/media", self.addr);
        let mut request = url.as_str().into_client_request().unwrap();
        if let Some(signature) = signature {
            request
                .headers_mut()
                .insert("X-Twilio-Signature", signature.parse().unwrap());
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await?;
        // Like Twilio's messages, ours are small and sent back to back: Nagle's algorithm would
        // hold the second until the first is acknowledged, and on a paused clock the server's
        // start timeout would fire meanwhile.
        if let MaybeTlsStream::Plain(tcp) = socket.get_ref() {
            tcp.set_nodelay(true)?;
        }
        Ok((socket, response))
    }

    /// Opens `/ws/media` with the signature Twilio sends: over the `wss://` form of the URL.
    pub(crate) async fn open_media_stream(&self) -> MediaStream {
        let wss = PUBLIC_URL.replacen("https://", "wss://", 1);
        let signature = signature::compute(TOKEN, &format!("{wss}/ws/media"), &[]);
        let (socket, _response) = self.connect_media_stream(Some(&signature)).await.unwrap();
        socket
    }
}
