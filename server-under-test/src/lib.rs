//! Reference voice-AI call server: Twilio Media Streams bridged to the OpenAI Realtime API.
//!
//! The crate reproduces the architecture of the production server analysed in the seed root-cause
//! analysis ("inbound calls receive outbound prompts") so that the `callsim` harness can show the
//! bug under [`Profile::Legacy`] and its absence under [`Profile::Fixed`].
//!
//! # Layout
//!
//! Each module names the seed component it reproduces.
//!
//! - [`config`] — process settings and the `call-server` command line (the seed's environment settings).
//! - [`bugs`] — `Bug`, the catalogue of historical regressions `--inject-bug` switches on, and `Prebuild` (no seed counterpart).
//! - [`regressions`] — `Regressions`, the bugs a server runs with: its profile's plus the injected ones (no seed counterpart).
//! - [`tenants`] — `TenantStore`, the `businesses` table and its schema migrations (the seed's `Business`/`BusinessSettings` models).
//! - [`tenant_numbers`] — the phone numbers a tenant is called at, each number one tenant's (the seed's business phone numbers).
//! - [`fixtures`] — test-only fixture API for tenants, their numbers and contacts, and residual state (no seed counterpart).
//! - [`signature`] — the `X-Twilio-Signature` algorithm: compute and validate (the seed's Twilio request validator).
//! - [`twilio_request`] — the signed form and URL of a request from Twilio and its signature check (the seed's validator decorator).
//! - [`slug`] — `Slug`, the validation rule for tenant slugs arriving from outside (no seed counterpart).
//! - [`webhooks`] — `/twiml/incoming` and `/twiml/outbound`, with a slug or by number (`server/routes_twilio.py`).
//! - [`prebuild`] — the webhook's background prompt pre-build and `--prebuild` timing (`_prebuild_prompts_async`).
//! - [`caller_context`] — the notes a tenant keeps about the person on the line, appended to their prompt (the seed's lead notes).
//! - [`tenant_resolution`] — which tenant a webhook or stream slug, or a called number, names (the seed's business lookup).
//! - [`status`] — call and stream status callbacks (`server/routes_twilio.py` status routes).
//! - [`outbound`] — outbound call placement through the Twilio REST API (the seed's outbound call service).
//! - [`twilio_rest`] — the server's form POSTs to the Twilio REST API: placing and ending calls (the seed's Twilio client).
//! - [`direction`] — `Direction`, inbound or outbound, fixed by the webhook route (the seed's `direction` strings).
//! - [`prompt_builder`] — `build_full_business_prompt` (`server/services/realtime_prompt_builder.py`).
//! - [`prompt_cache`] — `PromptCache`, keyed by tenant and direction (`server/services/prompt_cache.py`).
//! - [`prompt_selection`] — the stream-side "HARD LOCK" prompt choice (`server/media_ws_ai.py`).
//! - [`stream_registry`] — per-call metadata such as `_prebuilt_full_prompt` (`server/stream_state.py`).
//! - [`twilio_message`] — typed Media Streams messages (the JSON handled in `server/media_ws_ai.py`).
//! - [`realtime_event`] — typed OpenAI Realtime GA events (the JSON handled in `server/media_ws_ai.py`).
//! - [`realtime`] — the Realtime WebSocket client and connector (the seed's OpenAI realtime client).
//! - [`ai_dialect`] — `--ai-dialect realtime|live`: which protocol the server speaks to the model (no seed counterpart).
//! - [`live_event`] — typed OpenAI Live events (no seed counterpart).
//! - [`live_link`] — the Live connection, translating the media session's Realtime vocabulary at the socket (no seed counterpart).
//! - [`network`] — the `Dialer` seam under outbound connections, TCP by default (no seed counterpart).
//! - [`media_bridge`] — assistant audio playback, marks and barge-in truncation (`server/media_ws_ai.py`).
//! - [`media_session`] — the per-call bridge state machine (`server/media_ws_ai.py`).
//! - [`media_ws`] — the `/ws/media` upgrade handler (the seed's WebSocket route in `server/media_ws_ai.py`).
//! - [`state`] — `AppState`, what every handler shares, and the `/fixtures/state` body.
//! - [`counters`] — live-resource counters and the guards that hold them (no seed counterpart).
//! - [`app`](mod@app) — the router and `serve` (the seed's application factory).
//! - [`error`] — `ServerError` and the HTTP error response type.

pub mod ai_dialect;
pub mod app;
pub mod bugs;
pub mod caller_context;
pub mod config;
pub mod counters;
pub mod direction;
pub mod error;
pub mod fixtures;
pub mod live_event;
pub mod live_link;
pub mod media_bridge;
mod media_fast_path;
pub mod media_session;
pub mod media_ws;
pub mod network;
pub mod outbound;
pub mod prebuild;
pub mod prompt_builder;
pub mod prompt_cache;
pub mod prompt_selection;
pub mod realtime;
pub mod realtime_event;
pub mod regressions;
pub mod signature;
pub mod slug;
pub mod state;
pub mod status;
pub mod stream_registry;
pub mod tenant_numbers;
pub mod tenant_resolution;
pub mod tenants;
pub mod twilio_message;
pub mod twilio_request;
pub mod twilio_rest;
pub mod webhooks;

pub use ai_dialect::AiDialect;
pub use app::{app, serve, serve_on, serve_with_state};
pub use bugs::{Bug, Prebuild};
pub use config::{Args, Config, Profile};
pub use direction::Direction;
pub use error::{AppError, ServerError};
pub use media_session::{EndReason, SessionReport, run_media_session};
pub use network::{BoxedConnection, DialFuture, Dialer, TcpDialer};
pub use prompt_builder::{BuiltPrompt, build_full_business_prompt};
pub use prompt_selection::PromptSource;
pub use realtime::{AiConnection, AiConnector, TungsteniteConnector};
pub use regressions::Regressions;
pub use state::{AppState, ResidualState};
pub use tenant_numbers::UpsertError;
pub use tenants::{Tenant, TenantInput, TenantStore};
