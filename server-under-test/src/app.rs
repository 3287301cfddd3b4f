//! The router and `serve` (the seed's application factory).
//!
//! This module only wires routes to handlers and runs the listener; the shared state the
//! handlers use lives in [`crate::state`].

use std::future::Future;

use axum::Router;
use axum::routing::{get, post, put};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::error::ServerError;
use crate::state::AppState;
use crate::{fixtures, media_ws, outbound, status, webhooks};

/// The router with every route.
///
/// Each `{tenant}` route is also registered with an empty segment (`/twiml/incoming/`), because
/// the router never matches a parameter to the empty string: the empty slug then gets the same
/// 400 naming the slug rule as any other invalid slug instead of a bare 404. The webhooks without
/// a trailing slash (`/twiml/incoming`) are other routes: they find the tenant by number.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/twiml/incoming/{tenant}", post(webhooks::incoming))
        .route("/twiml/incoming/", post(webhooks::incoming))
        .route("/twiml/outbound/{tenant}", post(webhooks::outbound))
        .route("/twiml/outbound/", post(webhooks::outbound))
        .route("/twiml/incoming", post(webhooks::incoming_by_number))
        .route("/twiml/outbound", post(webhooks::outbound_by_number))
        .route("/status/call", post(status::call_status))
        .route("/status/stream", post(status::stream_status))
        .route("/calls/outbound", post(outbound::place_call))
        .route("/ws/media", get(media_ws::upgrade))
        .route(
            "/fixtures/tenants/{tenant}",
            put(fixtures::put_tenant).get(fixtures::get_tenant),
        )
        .route(
            "/fixtures/tenants/",
            put(fixtures::put_tenant).get(fixtures::get_tenant),
        )
        .route(
            "/fixtures/tenants/{tenant}/contacts/{phone}",
            put(fixtures::put_contact),
        )
        .route("/fixtures/state", get(fixtures::state))
        .route(
            "/fixtures/status-callbacks",
            get(fixtures::status_callbacks),
        )
        .with_state(state)
}

/// Builds the state from `config` and serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let state = AppState::new(config)?;
    serve_with_state(listener, state, shutdown).await
}

/// Serves an existing state on a TCP listener until `shutdown` completes (graceful: in-flight
/// requests finish).
pub async fn serve_with_state(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    // Small WebSocket frames must leave at once: Nagle's algorithm would hold them for an ACK,
    // and a harness running this server on a paused clock would see time jump meanwhile.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    serve_on(listener, state, shutdown).await
}

/// Serves an existing state on any listener (an in-process harness's pipes, for one) until
/// `shutdown` completes.
pub async fn serve_on<L>(
    listener: L,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
