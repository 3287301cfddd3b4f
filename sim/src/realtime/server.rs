//! The axum WebSocket endpoints `GET /v1/realtime` and the Live `GET /v1/live/sessions` (also
//! under Azure's `/openai/v1/live/sessions`): authentication, dialect selection and the bridge
//! between a WebSocket and the transport-free [`serve_session`] or [`serve_live_session`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};

use super::config::{Dialect, MockConfig};
use super::live::{LiveContext, serve_live_session};
use super::session::{SessionContext, SessionInput, SessionOutput, serve_session};
use crate::capture::{Direction, Socket, Tap};
use crate::net::NetListener;

/// How long to wait for the client's close reply after the server closed.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

struct ServerState {
    config: MockConfig,
    next_index: AtomicUsize,
}

/// The router serving `GET /v1/realtime` (connection indexes count from zero per router).
pub fn router(config: MockConfig) -> Router {
    let state = Arc::new(ServerState {
        config,
        next_index: AtomicUsize::new(0),
    });
    Router::new()
        .route("/v1/realtime", get(upgrade))
        .route("/v1/live/sessions", get(live_upgrade))
        .route("/openai/v1/live/sessions", get(live_upgrade))
        .with_state(state)
}

/// Serves the mock on `listener` until `shutdown` completes.
pub async fn run(
    listener: NetListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // A TCP listener sets TCP_NODELAY on every socket it accepts (see `NetListener`).
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn upgrade(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let protocols: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_owned()))
        .collect();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| k.trim().to_owned());
    let key = bearer.or_else(|| {
        protocols.iter().find_map(|p| {
            p.strip_prefix("openai-insecure-api-key.")
                .map(str::to_owned)
        })
    });
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        let body = serde_json::json!({"error": {"type": "invalid_request_error", "code": null,
            "message": "Missing bearer or basic authentication in header", "param": null}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    };
    let key_valid = state
        .config
        .api_keys
        .as_ref()
        .is_none_or(|keys| keys.contains(&key));
    let beta_header = headers
        .get("openai-beta")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("realtime=v1"));
    let beta_protocol = protocols.iter().any(|p| p == "openai-beta.realtime-v1");
    let dialect = if beta_header || beta_protocol {
        Dialect::Beta
    } else {
        Dialect::Ga
    };
    let ctx = SessionContext {
        config: state.config.clone(),
        index: state.next_index.fetch_add(1, Ordering::SeqCst),
        model: query
            .get("model")
            .cloned()
            .unwrap_or_else(|| state.config.model_default.clone()),
        dialect,
        key_valid,
    };
    let transport_limit = transport_limit(state.config.max_message_bytes);
    ws.protocols(["realtime"])
        .read_buffer_size(crate::net::WS_READ_BUFFER)
        .max_message_size(transport_limit)
        .max_frame_size(transport_limit)
        .on_upgrade(move |socket| serve_socket(socket, Served::Realtime(ctx)))
}

/// The Live upgrade (`/v1/live/sessions`, and Azure's `/openai/v1/live/sessions`): no query,
/// the key as `Authorization: Bearer` or Azure's `api-key` header.
async fn live_upgrade(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| k.trim().to_owned());
    let azure = headers
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.trim().to_owned());
    let Some(key) = bearer.or(azure).filter(|k| !k.is_empty()) else {
        let body = serde_json::json!({"error": {"type": "invalid_request_error",
            "code": "missing_api_key",
            "message": "Missing bearer authentication in header"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    };
    let ctx = LiveContext {
        key_valid: state
            .config
            .api_keys
            .as_ref()
            .is_none_or(|keys| keys.contains(&key)),
        config: state.config.clone(),
        index: state.next_index.fetch_add(1, Ordering::SeqCst),
    };
    let transport_limit = transport_limit(state.config.max_message_bytes);
    ws.read_buffer_size(crate::net::WS_READ_BUFFER)
        .max_message_size(transport_limit)
        .max_frame_size(transport_limit)
        .on_upgrade(move |socket| serve_socket(socket, Served::Live(ctx)))
}

/// Which session machine a socket feeds.
enum Served {
    Realtime(SessionContext),
    Live(LiveContext),
}

impl Served {
    /// Where this socket's messages are captured, named after the session's index.
    fn tap(&self) -> Tap {
        let (config, index) = match self {
            Served::Realtime(ctx) => (&ctx.config, ctx.index),
            Served::Live(ctx) => (&ctx.config, ctx.index),
        };
        Tap::new(&config.capture, Socket::Ai, &format!("ai-{index}"))
    }
}

/// The size at which the WebSocket layer itself refuses a message.
///
/// It sits above the protocol limit the session enforces, so that a message somewhat over the
/// limit is read whole and answered cleanly (an `error` event, then a close with 1009). A message
/// over this one stops the reader mid-frame: the session still answers, but the unread rest of
/// the frame may make the client see a reset after the close frame.
fn transport_limit(max_message_bytes: usize) -> usize {
    max_message_bytes
        .saturating_mul(2)
        .max(max_message_bytes.saturating_add(64 * 1024))
}

/// Translates a WebSocket read error into what the session should make of it.
fn transport_error(err: axum::Error) -> SessionInput {
    let inner = err.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Capacity(CapacityError::MessageTooLong { size, .. })) => {
            SessionInput::TooBig(*size)
        }
        Some(WsError::Utf8(_)) => SessionInput::InvalidUtf8,
        // A reset without a close frame is the client going away, not a protocol violation.
        Some(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
            SessionInput::Close(None)
        }
        Some(WsError::Protocol(violation)) => {
            SessionInput::ProtocolViolation(violation.to_string())
        }
        _ => SessionInput::Close(None),
    }
}

/// Adapts a WebSocket to the session's input and output types.
async fn serve_socket(socket: WebSocket, served: Served) {
    let (tx, rx) = socket.split();
    let tap = served.tap();
    let sent_tap = tap.clone();
    let dropped = Arc::new(AtomicBool::new(false));
    let drop_flag = Arc::clone(&dropped);
    let sink = futures_util::sink::unfold(tx, move |mut tx, output: SessionOutput| {
        let drop_flag = Arc::clone(&drop_flag);
        let tap = sent_tap.clone();
        async move {
            match output {
                SessionOutput::Event(event) => {
                    let text = event.to_string();
                    tap.text(Direction::ToServer, &text);
                    tx.send(Message::Text(text.into())).await?
                }
                SessionOutput::Close { code, reason } => {
                    tx.send(Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    })))
                    .await?;
                }
                SessionOutput::Drop => {
                    drop_flag.store(true, Ordering::SeqCst);
                    return Err(axum::Error::new(std::io::Error::other(
                        "connection dropped by fault",
                    )));
                }
            }
            Ok(tx)
        }
    });
    let stream = rx.filter_map(move |message| {
        if let Ok(Message::Text(text)) = &message {
            tap.text(Direction::FromServer, text.as_str());
        }
        async move { session_input(message) }
    });
    let mut sink = pin!(sink);
    let mut stream = pin!(stream);
    match served {
        Served::Realtime(ctx) => serve_session(ctx, &mut sink, &mut stream).await,
        Served::Live(ctx) => serve_live_session(ctx, &mut sink, &mut stream).await,
    }
    if !dropped.load(Ordering::SeqCst) {
        // Let the client's close reply arrive so the close handshake completes cleanly.
        let _ = tokio::time::timeout(CLOSE_LINGER, async {
            loop {
                match stream.next().await {
                    // Frames the client sent before it saw our close frame; a text frame that
                    // is not UTF-8 was still read whole, so the reader can go on.
                    Some(
                        SessionInput::Text(_) | SessionInput::Binary(_) | SessionInput::InvalidUtf8,
                    ) => {}
                    Some(SessionInput::Close(_)) | None => break,
                    // After a refused frame the reader cannot go on (the frame's header stays
                    // buffered, so reading again fails at once, forever); keep the socket open
                    // for the rest of the linger so the client can read our close frame.
                    Some(SessionInput::TooBig(_) | SessionInput::ProtocolViolation(_)) => {
                        std::future::pending::<()>().await;
                    }
                }
            }
        })
        .await;
    }
}

/// One WebSocket message as the session's input (`None` for pings and pongs).
fn session_input(message: Result<Message, axum::Error>) -> Option<SessionInput> {
    match message {
        Ok(Message::Text(text)) => Some(SessionInput::Text(text.to_string())),
        Ok(Message::Binary(bytes)) => Some(SessionInput::Binary(bytes.to_vec())),
        Ok(Message::Close(frame)) => Some(SessionInput::Close(frame.map(|f| f.code))),
        Ok(Message::Ping(_) | Message::Pong(_)) => None,
        Err(err) => Some(transport_error(err)),
    }
}
