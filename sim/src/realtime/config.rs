//! Configuration of the mock Realtime server.

use std::sync::Arc;
use std::time::Duration;

use crate::capture::Capture;
use crate::clock::SimClock;
use crate::ids::IdGen;

use super::ledger::{Ledger, Retention};
use super::script::{FirstAudioDelay, Script};

/// What to do with connections that ask for the retired beta dialect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BetaMode {
    /// Behave like the service since 2026-05: `beta_api_shape_disabled`, then close 4000.
    #[default]
    Retired,
    /// Speak the beta dialect, for old bridges.
    Emulate,
}

/// The wire dialect of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The GA dialect (no beta header).
    Ga,
    /// The beta dialect (`OpenAI-Beta: realtime=v1`).
    Beta,
}

impl Dialect {
    /// `ga` or `beta`, as recorded in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Ga => "ga",
            Dialect::Beta => "beta",
        }
    }
}

/// Everything a mock server needs; cheap to clone (shared parts are behind `Arc`s).
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Simulation clock (tokio time plus a virtual epoch).
    pub clock: SimClock,
    /// Seeded ids; each session forks its own stream.
    pub ids: IdGen,
    /// The prompt ledger written by every session.
    pub ledger: Ledger,
    /// What the model does.
    pub script: Arc<Script>,
    /// Accepted API keys; `None` accepts any bearer token.
    pub api_keys: Option<Vec<String>>,
    /// Beta dialect handling.
    pub beta: BetaMode,
    /// Maximum session duration (the service uses 60 minutes).
    pub max_session: Duration,
    /// Speed-up of audio generation over real time.
    pub audio_pace: f64,
    /// Model used when the query string names none.
    pub model_default: String,
    /// Longest client message accepted, in bytes; a longer one gets an `error` event and a
    /// close with 1009 (Message Too Big).
    pub max_message_bytes: usize,
    /// How much of each session the ledger keeps.
    pub retention: Retention,
    /// How long a Live session lives without input audio before it closes `expired` (about
    /// 31 s observed).
    pub live_idle_expiry: Duration,
    /// Where every message on the AI sockets is captured (off by default).
    pub capture: Capture,
    /// Thinking time before a response's first output (load tests give turn latency a known
    /// floor with it); `None`, the default, starts every response at once.
    pub first_audio: Option<FirstAudioDelay>,
}

/// The default [`MockConfig::max_message_bytes`]: room for the service's largest documented
/// event, an `input_audio_buffer.append` carrying 15 MiB of audio (20 MiB as base64).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

impl MockConfig {
    /// Defaults: empty script, any key, beta retired, 60-minute sessions, 10x audio pace,
    /// 32 MiB messages, a ledger that keeps everything ([`Retention::full`]) and Live sessions
    /// that expire after 31 s without input audio.
    pub fn new(clock: SimClock, ids: IdGen) -> Self {
        Self {
            clock,
            ids,
            ledger: Ledger::default(),
            script: Arc::new(Script::default()),
            api_keys: None,
            beta: BetaMode::Retired,
            max_session: Duration::from_secs(3600),
            audio_pace: 10.0,
            model_default: "gpt-realtime".to_owned(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            retention: Retention::full(),
            live_idle_expiry: Duration::from_secs(31),
            capture: Capture::off(),
            first_audio: None,
        }
    }
}
