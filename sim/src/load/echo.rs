//! The harness floor: a raw echo target (every frame back unparsed, the cheapest server there
//! is) and the calibration call that drives it with Twilio-shaped streams, measuring pacing
//! lateness and the echo round trip without any server logic in the way.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::driver::FRAME;
use super::metrics::{FailCause, Metric};
use super::plan::{CallTemplate, mix};
use super::recorder::Recorder;
use super::wire::{self, StreamIds};

/// Longest wait for a handshake with the echo target.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(15);

/// Serves the raw echo on `listener` until `stop` turns true.
pub async fn serve_echo(listener: TcpListener, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { continue };
                let _ = socket.set_nodelay(true);
                tokio::spawn(async move {
                    let accept = tokio_tungstenite::accept_async_with_config(socket, Some(small_buffers()));
                    let Ok(Ok(mut ws)) = tokio::time::timeout(HANDSHAKE_LIMIT, accept).await
                    else {
                        return;
                    };
                    while let Some(Ok(message)) = ws.next().await {
                        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                            return;
                        }
                    }
                });
            }
        }
    }
}

/// Messages are a few hundred bytes; tungstenite allocates its whole read buffer per socket, so
/// its 128 KiB default would cost more memory per call than everything else together.
fn small_buffers() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// Binds the echo target.
pub async fn bind_echo(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// One calibration call: `connected`, `start`, then `frames` media frames paced from the
/// monotonic clock; every `media` that comes back is matched first-in first-out for the RTT.
pub async fn drive_echo(
    url: &str,
    recorder: &Recorder,
    template: &CallTemplate,
    n: u64,
    frames: u64,
    mut stop: watch::Receiver<bool>,
) -> Result<(), FailCause> {
    let dial = Instant::now();
    let connect = tokio_tungstenite::connect_async_with_config(url, Some(small_buffers()), true);
    let (mut ws, _) = tokio::time::timeout(HANDSHAKE_LIMIT, connect)
        .await
        .map_err(|_| FailCause::StreamRefused)?
        .map_err(|_| FailCause::StreamRefused)?;
    recorder.record(Metric::StreamConnect, dial.elapsed());
    let ids = StreamIds {
        account_sid: format!("AC{:032x}", 0),
        call_sid: format!("CA{:032x}", mix(n)),
        stream_sid: format!("MZ{:032x}", mix(!n)),
    };
    let send = |text: String| Message::text(text);
    ws.send(send(wire::connected()))
        .await
        .map_err(|_| FailCause::StreamClosed)?;
    ws.send(send(wire::start(&ids, &Default::default())))
        .await
        .map_err(|_| FailCause::StreamClosed)?;
    let mut in_flight: VecDeque<Instant> = VecDeque::new();
    let t0 = Instant::now();
    let mut k = 0u64;
    let mut stopped = false;
    let mut due = t0;
    // One timer for the whole call, moved on after each frame (cheaper than a new one per wait).
    let timer = sleep_until(due);
    tokio::pin!(timer);
    // One wait for the hang-up for the whole call too: a new `changed()` per loop would join and
    // leave the channel's waiter list every frame.
    let hung_up = stop.changed();
    tokio::pin!(hung_up);
    while k < frames {
        tokio::select! {
            biased;
            _ = &mut hung_up => { stopped = true; break; }
            () = &mut timer => {
                let text = wire::media(&ids, k + 2, k + 1, &template.frame(k).payload);
                let now = Instant::now();
                recorder.frame_sent(now - due);
                in_flight.push_back(now);
                ws.send(send(text)).await.map_err(|_| FailCause::StreamClosed)?;
                k += 1;
                due += FRAME;
                timer.as_mut().reset(due);
            }
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if text.as_str().starts_with(r#"{"event":"media""#) {
                        recorder.count(|c| c.frames_received += 1);
                        if let Some(sent) = in_flight.pop_front() {
                            recorder.record(Metric::EchoRtt, sent.elapsed());
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Err(FailCause::StreamClosed),
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = ws.send(send(wire::stop(&ids, k + 2))).await;
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    if !stopped && k > 0 && in_flight.len() as u64 == k {
        // Not one frame came back: the target is no echo.
        return Err(FailCause::NoAiAudio);
    }
    Ok(())
}
