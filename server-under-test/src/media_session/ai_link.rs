//! Stage 3 of a media session: the call's connection to the Realtime API.
//!
//! [`AiLink`] connects, sends the call's `session.update` and, on the first connection that
//! succeeds, the greeting. It reconnects with the same `session.update` when the pump drops a
//! connection, and gives the call up after [`MAX_AI_ATTEMPTS`] connections in a row without a
//! `session.updated`. Every open connection holds an AI-socket counter and is closed with a
//! close frame.

use std::time::Duration;

use futures_util::SinkExt;

use super::start::AdmittedCall;
use super::{EndReason, MAX_AI_ATTEMPTS, RECONNECT_BACKOFF};
use crate::bugs::Bug;
use crate::counters::{CounterGuard, CounterKind};
use crate::realtime::AiConnection;
use crate::realtime_event::{ClientEvent, ConversationItem};
use crate::state::AppState;

/// A Realtime connection and the counter that tracks it.
struct LiveAi {
    conn: AiConnection,
    _guard: CounterGuard,
}

/// The call's side of the Realtime API: the open connection, if any, and what reconnecting needs.
pub(super) struct AiLink<'a> {
    state: &'a AppState,
    call_sid: &'a str,
    /// Sent first on every connection.
    update: ClientEvent,
    /// The tenant's greeting, when it is not blank.
    greeting: Option<&'a str>,
    live: Option<LiveAi>,
    /// Connections since the last `session.updated`.
    attempts: u32,
    greeted: bool,
    connections: u32,
}

impl<'a> AiLink<'a> {
    /// A link for `call`, not yet connected.
    pub(super) fn new(state: &'a AppState, call: &'a AdmittedCall, update: ClientEvent) -> Self {
        AiLink {
            state,
            call_sid: &call.call_sid,
            update,
            greeting: call
                .tenant
                .greeting
                .as_deref()
                .filter(|g| !g.trim().is_empty()),
            live: None,
            attempts: 0,
            greeted: false,
            connections: 0,
        }
    }

    /// The open connection; connects (and greets, the first time) when there is none.
    pub(super) async fn connected(&mut self) -> Result<&mut AiConnection, EndReason> {
        let live = match self.live.take() {
            Some(live) => live,
            None => self.connect_and_greet().await?,
        };
        Ok(&mut self.live.insert(live).conn)
    }

    /// The model accepted the `session.update`: the connection works, so the count restarts.
    pub(super) fn session_updated(&mut self) {
        self.attempts = 0;
    }

    /// Closes the open connection, if any; the next [`AiLink::connected`] reconnects.
    pub(super) async fn disconnect(&mut self) {
        if let Some(live) = self.live.take() {
            close(live).await;
        }
    }

    /// How many connections succeeded.
    pub(super) fn connections(&self) -> u32 {
        self.connections
    }

    async fn connect_and_greet(&mut self) -> Result<LiveAi, EndReason> {
        loop {
            if self.attempts >= MAX_AI_ATTEMPTS {
                tracing::error!(call_sid = %self.call_sid, attempts = self.attempts, "realtime API unavailable; ending the call");
                return Err(EndReason::AiUnavailable);
            }
            self.attempts += 1;
            let Some(mut live) = open(self.state, &self.update).await else {
                tokio::time::sleep(RECONNECT_BACKOFF).await;
                continue;
            };
            self.connections += 1;
            if !self.greeted
                && let Some(greeting) = self.greeting
                && !greet(&mut live.conn, greeting).await
            {
                close(live).await;
                continue;
            }
            self.greeted = true;
            return Ok(live);
        }
    }
}

/// Connects and sends `update`; `None` (logged) when either fails.
///
/// Under [`Bug::DuplicateSessionUpdate`] the update goes out twice, as in the seed before
/// 2025-12-30, where the second copy reset the session the first had configured.
async fn open(state: &AppState, update: &ClientEvent) -> Option<LiveAi> {
    let copies = if state.regressions().has(Bug::DuplicateSessionUpdate) {
        2
    } else {
        1
    };
    let mut conn = match state.connector().connect().await {
        Ok(conn) => conn,
        Err(err) => {
            tracing::warn!(error = %err, "realtime connect failed");
            return None;
        }
    };
    let guard = CounterGuard::new(state.counters(), CounterKind::AiSockets);
    for _ in 0..copies {
        if let Err(err) = conn.sink.send(update.clone()).await {
            tracing::warn!(error = %err, "sending session.update failed");
            close(LiveAi {
                conn,
                _guard: guard,
            })
            .await;
            return None;
        }
    }
    Some(LiveAi {
        conn,
        _guard: guard,
    })
}

/// Asks the model to greet the caller with `greeting`; false when the connection failed.
async fn greet(conn: &mut AiConnection, greeting: &str) -> bool {
    let item = ConversationItem::user_text(&format!("Greet the caller with: {greeting}"));
    conn.sink
        .send(ClientEvent::ConversationItemCreate { item })
        .await
        .is_ok()
        && conn.sink.send(ClientEvent::ResponseCreate).await.is_ok()
}

async fn close(live: LiveAi) {
    let LiveAi { mut conn, _guard } = live;
    // Sending a close frame ends the model session at once instead of at its maximum duration.
    if tokio::time::timeout(Duration::from_secs(1), conn.sink.close())
        .await
        .is_err()
    {
        tracing::debug!("realtime close frame not acknowledged in time");
    }
}
