//! `AppState`, the router and `serve` (the seed's application factory).

use axum::serve::ListenerExt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post, put};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::config::{Config, Profile};
use crate::error::ServerError;
use crate::prompt_cache::PromptCache;
use crate::realtime::{AiConnector, TungsteniteConnector};
use crate::status::StatusLog;
use crate::stream_registry::StreamRegistry;
use crate::tenants::{Tenant, TenantInput, TenantStore};
use crate::{fixtures, media_ws, outbound, status, webhooks};

/// Timeout of every Twilio REST request.
pub const TWILIO_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Live-resource counters exposed by `/fixtures/state`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Open Media Streams WebSocket sessions.
    pub active_streams: AtomicUsize,
    /// Open Realtime API sockets.
    pub active_ai_sockets: AtomicUsize,
}

/// Which counter a [`CounterGuard`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterKind {
    /// [`Counters::active_streams`].
    Streams,
    /// [`Counters::active_ai_sockets`].
    AiSockets,
}

/// Increments a counter on creation and decrements it on drop, so no exit path can leak a count.
#[derive(Debug)]
pub struct CounterGuard {
    state: AppState,
    kind: CounterKind,
}

impl CounterGuard {
    /// Increments the `kind` counter of `state` until the guard is dropped.
    pub fn new(state: &AppState, kind: CounterKind) -> CounterGuard {
        state.counter(kind).fetch_add(1, Ordering::SeqCst);
        CounterGuard {
            state: state.clone(),
            kind,
        }
    }
}

impl Drop for CounterGuard {
    fn drop(&mut self) {
        self.state.counter(self.kind).fetch_sub(1, Ordering::SeqCst);
    }
}

/// The `/fixtures/state` body: everything that must be zero after a call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ResidualState {
    /// Calls with stream-registry metadata (expired unclaimed entries are not counted).
    pub registry_entries: usize,
    /// Open Media Streams sessions.
    pub active_streams: usize,
    /// Open Realtime sockets.
    pub active_ai_sockets: usize,
    /// Live prompt cache entries (shared across calls; zero only once their TTL has passed).
    pub prompt_cache_entries: usize,
}

struct Inner {
    config: Config,
    tenants: TenantStore,
    cache: PromptCache,
    registry: StreamRegistry,
    counters: Counters,
    status_log: StatusLog,
    http: reqwest::Client,
    connector: Arc<dyn AiConnector>,
}

/// Shared server state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State with the tokio-tungstenite Realtime connector built from `config`.
    pub fn new(config: Config) -> Result<AppState, ServerError> {
        let connector = TungsteniteConnector {
            url: config.realtime_url.clone(),
            api_key: config.openai_api_key.clone(),
            connect_timeout: config.ai_connect_timeout,
        };
        AppState::with_connector(config, Arc::new(connector))
    }

    /// State with a custom Realtime connector (for in-process harnesses and tests).
    pub fn with_connector(
        config: Config,
        connector: Arc<dyn AiConnector>,
    ) -> Result<AppState, ServerError> {
        config.validate()?;
        let tenants = TenantStore::open(&config.db)?;
        let http = reqwest::Client::builder()
            .timeout(TWILIO_HTTP_TIMEOUT)
            .build()?;
        Ok(AppState {
            inner: Arc::new(Inner {
                cache: PromptCache::new(config.prompt_cache_ttl),
                registry: StreamRegistry::with_ttl(config.registry_ttl),
                config,
                tenants,
                counters: Counters::default(),
                status_log: StatusLog::default(),
                http,
                connector,
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The tenant store.
    pub fn tenants(&self) -> &TenantStore {
        &self.inner.tenants
    }

    /// The prompt cache.
    pub fn prompt_cache(&self) -> &PromptCache {
        &self.inner.cache
    }

    /// The per-call registry.
    pub fn registry(&self) -> &StreamRegistry {
        &self.inner.registry
    }

    /// The live-resource counters.
    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    fn counter(&self, kind: CounterKind) -> &AtomicUsize {
        match kind {
            CounterKind::Streams => &self.inner.counters.active_streams,
            CounterKind::AiSockets => &self.inner.counters.active_ai_sockets,
        }
    }

    /// Recorded status callbacks.
    pub fn status_log(&self) -> &StatusLog {
        &self.inner.status_log
    }

    /// The HTTP client for the Twilio REST API.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The Realtime connector.
    pub fn connector(&self) -> &dyn AiConnector {
        self.inner.connector.as_ref()
    }

    /// Creates or replaces a tenant; under the fixed profile its cached prompts are dropped.
    pub fn upsert_tenant(
        &self,
        slug: &str,
        input: &TenantInput,
    ) -> Result<Tenant, rusqlite::Error> {
        let tenant = self.inner.tenants.upsert(slug, input)?;
        match self.inner.config.profile {
            Profile::Fixed => self.inner.cache.invalidate_tenant(slug),
            // The seed never invalidated the cache: a changed prompt stays stale until the TTL.
            Profile::Legacy => {}
        }
        Ok(tenant)
    }

    /// Current residual-state counters.
    pub fn residual_state(&self) -> ResidualState {
        ResidualState {
            registry_entries: self.inner.registry.len(),
            active_streams: self.inner.counters.active_streams.load(Ordering::SeqCst),
            active_ai_sockets: self.inner.counters.active_ai_sockets.load(Ordering::SeqCst),
            prompt_cache_entries: self.inner.cache.len(),
        }
    }
}

/// The router with every route.
///
/// Each `{tenant}` route is also registered with an empty segment (`/twiml/incoming/`), because
/// the router never matches a parameter to the empty string: the empty slug then gets the same
/// 400 naming the slug rule as any other invalid slug instead of a bare 404.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/twiml/incoming/{tenant}", post(webhooks::incoming))
        .route("/twiml/incoming/", post(webhooks::incoming))
        .route("/twiml/outbound/{tenant}", post(webhooks::outbound))
        .route("/twiml/outbound/", post(webhooks::outbound))
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

/// Serves an existing state until `shutdown` completes (graceful: in-flight requests finish).
pub async fn serve_with_state(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    // Small WebSocket frames must leave at once: Nagle's algorithm would hold them for an ACK,
    // and a harness running this server on a paused clock would see time jump meanwhile.
    axum::serve(
        listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        app(state),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}
