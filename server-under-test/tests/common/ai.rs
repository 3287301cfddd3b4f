//! An in-memory Realtime API that records every event the server sends, with the (virtual) time
//! it arrived, and accepts every `session.update`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{sink, stream};
use server_under_test::realtime::{ConnectFuture, RealtimeError};
use server_under_test::realtime_event::{ClientEvent, ServerEvent};
use server_under_test::{AiConnection, AiConnector, AppState, Config};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

use super::app::{TestApp, serve};

/// How long [`AiRecorder::next_session_update`] waits before it fails the test.
const AI_WAIT: Duration = Duration::from_secs(600);

/// One event the server sent to the model.
#[derive(Debug)]
pub(crate) struct RecordedEvent {
    /// Which connection (0 for the first the server opened).
    pub(crate) connection: usize,
    /// When it arrived.
    pub(crate) at: Instant,
    pub(crate) event: ClientEvent,
}

/// A session configuration the model received.
#[derive(Debug)]
pub(crate) struct SessionUpdate {
    pub(crate) connection: usize,
    pub(crate) at: Instant,
    pub(crate) instructions: String,
}

/// What the in-memory model has received so far.
pub(crate) struct AiRecorder {
    events: UnboundedReceiver<RecordedEvent>,
}

impl AiRecorder {
    /// The next `session.update`, skipping every other event; fails the test after 600 s.
    pub(crate) async fn next_session_update(&mut self) -> SessionUpdate {
        loop {
            let recorded = tokio::time::timeout(AI_WAIT, self.events.recv())
                .await
                .expect("a session.update within 600 s")
                .expect("the connector lives as long as the server");
            if let ClientEvent::SessionUpdate { session } = recorded.event {
                return SessionUpdate {
                    connection: recorded.connection,
                    at: recorded.at,
                    instructions: session.instructions,
                };
            }
        }
    }

    /// Every event received and not yet read.
    pub(crate) fn drain(&mut self) -> Vec<RecordedEvent> {
        let mut drained = Vec::new();
        while let Ok(recorded) = self.events.try_recv() {
            drained.push(recorded);
        }
        drained
    }
}

/// Starts a server with `config` whose Realtime connections go to an in-memory model.
pub(crate) async fn spawn_with_recording_ai(config: Config) -> (TestApp, AiRecorder) {
    let (events, rx) = unbounded_channel();
    let connector = RecordingConnector {
        events,
        connections: AtomicUsize::new(0),
    };
    let state = AppState::with_connector(config, Arc::new(connector)).unwrap();
    (serve(state).await, AiRecorder { events: rx })
}

struct RecordingConnector {
    events: UnboundedSender<RecordedEvent>,
    connections: AtomicUsize,
}

impl AiConnector for RecordingConnector {
    fn connect(&self) -> ConnectFuture<'_> {
        let connection = self.connections.fetch_add(1, Ordering::SeqCst);
        let events = self.events.clone();
        Box::pin(async move {
            let (to_server, from_model) = unbounded_channel::<ServerEvent>();
            let _ = to_server.send(ServerEvent::SessionCreated);
            let sink = sink::unfold(
                (events, to_server),
                move |(events, to_server), event: ClientEvent| async move {
                    if matches!(event, ClientEvent::SessionUpdate { .. }) {
                        let _ = to_server.send(ServerEvent::SessionUpdated);
                    }
                    let at = Instant::now();
                    events
                        .send(RecordedEvent {
                            connection,
                            at,
                            event,
                        })
                        .map_err(|_| RealtimeError::Closed)?;
                    Ok::<_, RealtimeError>((events, to_server))
                },
            );
            let stream = stream::unfold(from_model, |mut rx| async move {
                rx.recv().await.map(|event| (event, rx))
            });
            Ok(AiConnection {
                sink: Box::pin(sink),
                stream: Box::pin(stream),
            })
        })
    }
}
