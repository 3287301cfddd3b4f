//! The Media Streams socket itself: opened with Twilio's handshake (signed over the public URL,
//! Twilio's headers, no subprotocol) and closed off the call's path once the session is over.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{Stream, StreamExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::call_record::MediaAfterStop;
use super::call_store::CallHandle;
use super::env::TwilioEnv;
use super::message::{ServerMessage, parse_server_message};
use super::signature::sign;
use super::stream::{CLOSE_WAIT, STREAM_USER_AGENT};
use crate::clock::SimClock;

/// Where [`finish_close`] records the `media` a server still sends after Twilio's `stop`.
#[derive(Debug, Clone)]
pub struct AfterStop {
    /// The call's record.
    pub record: CallHandle,
    /// Index of the stream in `CallRecord::streams`.
    pub index: usize,
    /// The scenario's clock.
    pub clock: SimClock,
    /// `MZ…`, which the server's messages must carry.
    pub stream_sid: String,
}

impl AfterStop {
    fn note(&self, text: &str) {
        if !matches!(
            parse_server_message(text, &self.stream_sid),
            Ok(ServerMessage::Media { .. })
        ) {
            return;
        }
        let at_ms = self.clock.elapsed_ms();
        self.record.update(|r| {
            if let Some(stream) = r.streams.get_mut(self.index) {
                stream.media_after_stop =
                    Some(MediaAfterStop::note(stream.media_after_stop, at_ms));
            }
        });
    }
}

/// Completes the closing handshake in the background: waits (bounded) for the server's close
/// frame, then drops the socket. After a `stop`, `after_stop` records any `media` that still
/// arrives (a server that keeps streaming into a call that has ended).
pub fn finish_close<W, R, E>(tx: W, mut rx: R, after_stop: Option<AfterStop>)
where
    W: Send + 'static,
    R: Stream<Item = Result<Message, E>> + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let _ = timeout(CLOSE_WAIT, async {
            while let Some(Ok(msg)) = rx.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
                if let (Some(watch), Message::Text(text)) = (&after_stop, &msg) {
                    watch.note(text.as_str());
                }
            }
        })
        .await;
        drop(tx);
    });
}

/// A connected Media Streams socket, over the run's transport.
pub type WsStream = crate::net::NetWebSocket;

/// Why the WebSocket upgrade failed (Twilio error 31920).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeError {
    /// The HTTP status when the server answered with something other than 101.
    pub status: Option<u16>,
    /// What happened.
    pub message: String,
}

/// The upgrade's `Sec-WebSocket-Key`, from the run's seed rather than tungstenite's random one,
/// so that a capture of the same scenario and seed is the same bytes. Forking does not advance
/// the run's ids, so the calls' SIDs are what they were.
fn handshake_key(env: &TwilioEnv, public_url: &str) -> String {
    let nonce = env.ids.fork(&format!("sec-websocket-key {public_url}"));
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&nonce.next_u64().to_le_bytes());
    key[8..].copy_from_slice(&nonce.next_u64().to_le_bytes());
    BASE64.encode(key)
}

/// Opens the stream socket: dials `url_map.resolve(public_url)`, signs over `public_url` with
/// empty params (unless `signed` is false), sends `User-Agent: Twilio.TmeWs/1.0` and no
/// subprotocol. Returns the socket and the handshake status (101).
pub async fn open_stream(
    env: &TwilioEnv,
    public_url: &str,
    signed: bool,
) -> Result<(WsStream, u16), HandshakeError> {
    let actual = env.url_map.resolve(public_url);
    let fail = |status, message: String| HandshakeError { status, message };
    let mut request = actual
        .as_str()
        .into_client_request()
        .map_err(|e| fail(None, format!("invalid stream url {actual}: {e}")))?;
    request
        .headers_mut()
        .insert("User-Agent", HeaderValue::from_static(STREAM_USER_AGENT));
    if signed {
        let signature = sign(&env.auth_token, public_url, &[]);
        let value = HeaderValue::from_str(&signature).map_err(|e| fail(None, e.to_string()))?;
        request.headers_mut().insert("X-Twilio-Signature", value);
    }
    if let Ok(key) = HeaderValue::from_str(&handshake_key(env, public_url)) {
        request.headers_mut().insert("Sec-WebSocket-Key", key);
    }
    // Twilio's upgrade names the public host, whatever address callsim really dials.
    if let Some(host) =
        super::http::public_host(public_url).and_then(|h| HeaderValue::from_str(&h).ok())
    {
        request.headers_mut().insert("Host", host);
    }
    env.capture
        .record(&crate::capture::CaptureEvent::WsUpgrade {
            url: public_url.to_owned(),
            sent_to: actual.clone(),
            headers: request
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        });
    match timeout(
        env.webhook_timeout,
        crate::net::ws_connect(
            &env.network,
            request,
            Some(
                tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                    .read_buffer_size(crate::net::WS_READ_BUFFER),
            ),
        ),
    )
    .await
    {
        Err(_) => Err(fail(
            None,
            format!("Stream - WebSocket - Handshake Error: {public_url} timed out"),
        )),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            Err(fail(
                Some(status),
                format!("Stream - WebSocket - Handshake Error: {public_url} answered {status}"),
            ))
        }
        Ok(Err(e)) => Err(fail(
            None,
            format!("Stream - WebSocket - Handshake Error: {public_url}: {e}"),
        )),
        Ok(Ok((ws, response))) => Ok((ws, response.status().as_u16())),
    }
}
