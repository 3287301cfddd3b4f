//! `AppState`: everything the handlers share (settings, tenants, prompt cache, stream registry,
//! counters, status log, HTTP client, Realtime connector).
//!
//! The state is its own module, apart from the router in [`crate::app`](mod@crate::app), so
//! that the handlers depend on the state and the router depends on the handlers, and nothing
//! depends back.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ai_dialect::connector_for;
use crate::bugs::Bug;
use crate::config::Config;
use crate::counters::{CounterKind, Counters};
use crate::error::ServerError;
use crate::network::{Dialer, TcpDialer};
use crate::prompt_cache::PromptCache;
use crate::realtime::AiConnector;
use crate::regressions::Regressions;
use crate::status::StatusLog;
use crate::stream_registry::StreamRegistry;
use crate::tenant_numbers::UpsertError;
use crate::tenants::{Tenant, TenantInput, TenantStore};

/// Timeout of every Twilio REST request.
pub const TWILIO_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The `/fixtures/state` body: everything that must be zero after a call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    regressions: Regressions,
    tenants: TenantStore,
    cache: PromptCache,
    registry: StreamRegistry,
    counters: Arc<Counters>,
    status_log: StatusLog,
    http: reqwest::Client,
    dialer: Arc<dyn Dialer>,
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
    /// State that dials TCP, with the tokio-tungstenite Realtime connector built from `config`.
    pub fn new(config: Config) -> Result<AppState, ServerError> {
        AppState::with_dialer(config, Arc::new(TcpDialer))
    }

    /// State whose outbound connections (the Realtime WebSocket, the Twilio REST API) go
    /// through `dialer` (for in-process harnesses; the binary always dials TCP).
    pub fn with_dialer(config: Config, dialer: Arc<dyn Dialer>) -> Result<AppState, ServerError> {
        let connector = connector_for(&config, dialer.clone());
        AppState::build(config, dialer, connector)
    }

    /// State with a custom Realtime connector (for tests of the media session).
    pub fn with_connector(
        config: Config,
        connector: Arc<dyn AiConnector>,
    ) -> Result<AppState, ServerError> {
        AppState::build(config, Arc::new(TcpDialer), connector)
    }

    fn build(
        config: Config,
        dialer: Arc<dyn Dialer>,
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
                regressions: config.regressions(),
                config,
                tenants,
                counters: Arc::new(Counters::default()),
                status_log: StatusLog::default(),
                http,
                dialer,
                connector,
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The bugs this server runs with (its profile's plus `--inject-bug`).
    pub fn regressions(&self) -> Regressions {
        self.inner.regressions
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

    /// The live-resource counters (shared, so a [`crate::counters::CounterGuard`] can hold them).
    pub fn counters(&self) -> &Arc<Counters> {
        &self.inner.counters
    }

    /// Recorded status callbacks.
    pub fn status_log(&self) -> &StatusLog {
        &self.inner.status_log
    }

    /// The HTTP client for the Twilio REST API.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// What outbound connections are dialled with.
    pub fn dialer(&self) -> &dyn Dialer {
        self.inner.dialer.as_ref()
    }

    /// The Realtime connector.
    pub fn connector(&self) -> &dyn AiConnector {
        self.inner.connector.as_ref()
    }

    /// Creates or replaces a tenant and drops its cached prompts, unless the server runs with
    /// [`Bug::StaleCacheAfterEdit`]: the seed did not invalidate the cache, so a changed prompt
    /// stayed stale until the TTL.
    pub fn upsert_tenant(
        &self,
        slug: &str,
        input: &TenantInput,
    ) -> Result<Tenant, rusqlite::Error> {
        let tenant = self.inner.tenants.upsert(slug, input)?;
        self.after_tenant_edit(slug);
        Ok(tenant)
    }

    /// [`AppState::upsert_tenant`] that also replaces the tenant's numbers when `numbers` is
    /// given; refused, with nothing stored, when one of them is another tenant's.
    pub fn upsert_tenant_with_numbers(
        &self,
        slug: &str,
        input: &TenantInput,
        numbers: Option<&[String]>,
    ) -> Result<Tenant, UpsertError> {
        let tenant = self
            .inner
            .tenants
            .upsert_with_numbers(slug, input, numbers)?;
        self.after_tenant_edit(slug);
        Ok(tenant)
    }

    fn after_tenant_edit(&self, slug: &str) {
        if !self.inner.regressions.has(Bug::StaleCacheAfterEdit) {
            self.inner.cache.invalidate_tenant(slug);
        }
    }

    /// Current residual-state counters.
    pub fn residual_state(&self) -> ResidualState {
        ResidualState {
            registry_entries: self.inner.registry.len(),
            active_streams: self.inner.counters.get(CounterKind::Streams),
            active_ai_sockets: self.inner.counters.get(CounterKind::AiSockets),
            prompt_cache_entries: self.inner.cache.len(),
        }
    }
}
