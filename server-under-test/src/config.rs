//! Process settings: the `call-server` command line (`Args`) and the resolved `Config`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::ai_dialect::{AiDialect, live_url_beside};
use crate::bugs::{Bug, Prebuild};
use crate::error::ServerError;
use crate::live_event::DEFAULT_LIVE_MODEL;
use crate::regressions::Regressions;
use crate::stream_registry::DEFAULT_UNCLAIMED_TTL;

/// Which behaviour of the seed server to reproduce; [`crate::regressions`] lists the bugs of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The production behaviour with the seed bug: cross-direction prompt fallback, prebuilt
    /// prompts used without validation, no cache invalidation on tenant changes.
    Legacy,
    /// The fixed behaviour: no cross-direction fallback, prebuilt prompts validated against the
    /// locked direction and the tenant version, cache invalidated on tenant changes.
    Fixed,
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Profile::Legacy => "legacy",
            Profile::Fixed => "fixed",
        })
    }
}

/// Command line of the `call-server` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "call-server",
    version,
    about = "Reference voice-AI call server (Twilio Media Streams <-> OpenAI Realtime)."
)]
pub struct Args {
    /// Address to listen on; use port 0 to let the OS pick one (the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL Twilio uses to reach this server (e.g. `https://callsim.test`); base of
    /// signature validation, of the TwiML stream URL and of the callback URLs.
    ///
    /// Optional only for clap, so that `--list-bugs` works alone; `Config::validate` refuses a
    /// server without one.
    #[arg(long, required_unless_present = "list_bugs")]
    pub public_url: Option<String>,
    /// Twilio auth token used to validate X-Twilio-Signature and to call the REST API.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,
    /// Twilio account SID used for outbound calls through the REST API.
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// Base URL of the Twilio REST API.
    #[arg(long, default_value = "https://api.twilio.com")]
    pub twilio_api_base: String,
    /// WebSocket URL of the OpenAI Realtime API (GA dialect).
    #[arg(
        long,
        default_value = "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    )]
    pub realtime_url: String,
    /// The protocol spoken to the model: `realtime` (GA, the default) or `live`.
    #[arg(long, value_enum, default_value_t = AiDialect::Realtime)]
    pub ai_dialect: AiDialect,
    /// WebSocket URL of the OpenAI Live API, used under `--ai-dialect live`.
    #[arg(long, default_value = "wss://api.openai.com/v1/live/sessions")]
    pub live_url: String,
    /// The Live model named in `session.start`.
    #[arg(long, default_value = DEFAULT_LIVE_MODEL)]
    pub live_model: String,
    /// OpenAI API key sent as `Authorization: Bearer` to the Realtime API.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    /// Bearer token guarding the /fixtures API; the fixture API is disabled (404) when absent.
    #[arg(long)]
    pub fixture_token: Option<String>,
    /// Time to live of prompt cache entries, in seconds.
    #[arg(long, default_value_t = 600)]
    pub prompt_cache_ttl: u64,
    /// Behaviour profile: `legacy` reproduces the seed bug, `fixed` applies the fix.
    #[arg(long, value_enum, default_value_t = Profile::Fixed)]
    pub profile: Profile,
    /// SQLite database path for tenants (`:memory:` for a private in-memory database);
    /// defaults to call-server.sqlite3 in the OS temp dir.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Accept requests without a valid X-Twilio-Signature (only for certification tests that
    /// need a deliberately insecure server).
    #[arg(long)]
    pub insecure_skip_signature_validation: bool,
    /// Timeout for connecting to the Realtime API, in seconds.
    #[arg(long, default_value_t = 10)]
    pub ai_connect_timeout: u64,
    /// How long a webhook's pre-built prompt waits for its media stream, in seconds, before the
    /// stream registry drops it.
    #[arg(long, default_value_t = DEFAULT_UNCLAIMED_TTL.as_secs())]
    pub registry_ttl: u64,
    /// Switch on one historical regression on top of the profile; repeatable. `--list-bugs`
    /// names them all.
    #[arg(long = "inject-bug", value_name = "NAME", value_enum)]
    pub inject_bug: Vec<Bug>,
    /// When the webhook's background pre-build of the prompt lands: `normal`, `late` (after the
    /// stream has started) or `absent` (never).
    #[arg(long, value_enum, default_value_t = Prebuild::Normal)]
    pub prebuild: Prebuild,
    /// Print every bug `--inject-bug` accepts (name, history row, symptom) and exit.
    #[arg(long)]
    pub list_bugs: bool,
}

/// Resolved server settings; every field is public so tests can adjust them.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Public base URL without a trailing slash (http or https).
    pub public_url: String,
    /// Twilio auth token (signature validation and REST password).
    pub twilio_auth_token: Option<String>,
    /// Twilio account SID (REST user).
    pub twilio_account_sid: Option<String>,
    /// Base URL of the Twilio REST API without a trailing slash.
    pub twilio_api_base: String,
    /// Realtime API WebSocket URL.
    pub realtime_url: String,
    /// The protocol spoken to the model.
    pub ai_dialect: AiDialect,
    /// Live API WebSocket URL (under [`AiDialect::Live`]).
    pub live_url: String,
    /// The Live model named in `session.start`.
    pub live_model: String,
    /// Realtime API key.
    pub openai_api_key: Option<String>,
    /// Fixture API bearer token; `None` disables the fixture API.
    pub fixture_token: Option<String>,
    /// Prompt cache time to live.
    pub prompt_cache_ttl: Duration,
    /// Behaviour profile.
    pub profile: Profile,
    /// SQLite database path (`:memory:` allowed).
    pub db: PathBuf,
    /// Skip X-Twilio-Signature validation.
    pub insecure_skip_signature_validation: bool,
    /// Realtime connect timeout.
    pub ai_connect_timeout: Duration,
    /// How long a stream registry entry no media stream has claimed is kept.
    pub registry_ttl: Duration,
    /// Historical regressions switched on on top of the profile (`--inject-bug`).
    pub bugs: BTreeSet<Bug>,
    /// When the webhook's pre-build of the prompt lands (`--prebuild`).
    pub prebuild: Prebuild,
}

impl Config {
    /// A config for running the server inside another process, as the `callsim` runner's
    /// in-process target and the tests do: 127.0.0.1 port 0, an in-memory database, the fixed
    /// profile without injected bugs, the normal pre-build, the Realtime dialect (with the Live
    /// URL beside the Realtime one) and no fixture API; the caller adjusts the public fields it
    /// needs.
    pub fn in_process(public_url: &str, auth_token: &str, realtime_url: &str) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: public_url.trim_end_matches('/').to_owned(),
            twilio_auth_token: Some(auth_token.to_owned()),
            twilio_account_sid: None,
            twilio_api_base: "https://api.twilio.com".to_owned(),
            realtime_url: realtime_url.to_owned(),
            ai_dialect: AiDialect::Realtime,
            live_url: live_url_beside(realtime_url),
            live_model: DEFAULT_LIVE_MODEL.to_owned(),
            openai_api_key: Some("sk-test".to_owned()),
            fixture_token: None,
            prompt_cache_ttl: Duration::from_secs(600),
            profile: Profile::Fixed,
            db: PathBuf::from(":memory:"),
            insecure_skip_signature_validation: false,
            ai_connect_timeout: Duration::from_secs(10),
            registry_ttl: DEFAULT_UNCLAIMED_TTL,
            bugs: BTreeSet::new(),
            prebuild: Prebuild::Normal,
        }
    }

    /// The bugs this server runs with: the profile's plus the injected ones.
    pub fn regressions(&self) -> Regressions {
        Regressions::of(self.profile, &self.bugs)
    }

    /// The public URL with its scheme switched to WebSocket (`https` → `wss`, `http` → `ws`).
    pub fn public_ws_url(&self) -> String {
        if let Some(rest) = self.public_url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = self.public_url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            self.public_url.clone()
        }
    }

    /// Checks the settings that would make the server useless or insecure.
    pub fn validate(&self) -> Result<(), ServerError> {
        let parsed = url::Url::parse(&self.public_url).map_err(|err| {
            ServerError::Config(format!("--public-url {:?}: {err}", self.public_url))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ServerError::Config(
                "--public-url must be an http or https URL".to_owned(),
            ));
        }
        if self.twilio_auth_token.is_none() && !self.insecure_skip_signature_validation {
            return Err(ServerError::Config(
                "--twilio-auth-token (or TWILIO_AUTH_TOKEN) is required unless --insecure-skip-signature-validation is set"
                    .to_owned(),
            ));
        }
        if self.registry_ttl.is_zero() {
            // A zero TTL would drop every pre-built prompt before its stream could claim it.
            return Err(ServerError::Config(
                "--registry-ttl must be greater than zero".to_owned(),
            ));
        }
        Ok(())
    }
}

impl From<Args> for Config {
    fn from(args: Args) -> Config {
        Config {
            listen: args.listen,
            public_url: args
                .public_url
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            twilio_auth_token: args.twilio_auth_token,
            twilio_account_sid: args.twilio_account_sid,
            twilio_api_base: args.twilio_api_base.trim_end_matches('/').to_owned(),
            realtime_url: args.realtime_url,
            ai_dialect: args.ai_dialect,
            live_url: args.live_url,
            live_model: args.live_model,
            openai_api_key: args.openai_api_key,
            fixture_token: args.fixture_token,
            prompt_cache_ttl: Duration::from_secs(args.prompt_cache_ttl),
            profile: args.profile,
            db: args
                .db
                .unwrap_or_else(|| std::env::temp_dir().join("call-server.sqlite3")),
            insecure_skip_signature_validation: args.insecure_skip_signature_validation,
            ai_connect_timeout: Duration::from_secs(args.ai_connect_timeout),
            registry_ttl: Duration::from_secs(args.registry_ttl),
            bugs: args.inject_bug.into_iter().collect(),
            prebuild: args.prebuild,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_defaults_and_ws_url() {
        let args = Args::try_parse_from([
            "call-server",
            "--public-url",
            "https://callsim.test/",
            "--twilio-auth-token",
            "t",
        ])
        .unwrap();
        let config = Config::from(args);
        assert_eq!(config.public_url, "https://callsim.test");
        assert_eq!(config.public_ws_url(), "wss://callsim.test");
        assert_eq!(config.profile, Profile::Fixed);
        assert_eq!(config.prompt_cache_ttl, Duration::from_secs(600));
        assert_eq!(config.registry_ttl, DEFAULT_UNCLAIMED_TTL);
        assert!(config.bugs.is_empty());
        assert_eq!(config.prebuild, Prebuild::Normal);
        assert_eq!(config.regressions(), Regressions::NONE);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn inject_bug_repeats_and_adds_to_the_profile() {
        let args = Args::try_parse_from([
            "call-server",
            "--public-url",
            "https://callsim.test",
            "--twilio-auth-token",
            "t",
            "--inject-bug",
            "duplicate-session-update",
            "--inject-bug",
            "cache-key-without-direction",
            "--prebuild",
            "late",
        ])
        .unwrap();
        let config = Config::from(args);
        assert_eq!(
            config.bugs,
            BTreeSet::from([Bug::DuplicateSessionUpdate, Bug::CacheKeyWithoutDirection])
        );
        assert_eq!(config.prebuild, Prebuild::Late);
        assert!(config.regressions().has(Bug::DuplicateSessionUpdate));
        assert!(!config.regressions().has(Bug::CrossDirectionFallback));
        let unknown = Args::try_parse_from([
            "call-server",
            "--public-url",
            "https://callsim.test",
            "--inject-bug",
            "no-such-bug",
        ]);
        assert!(unknown.is_err());
    }

    #[test]
    fn list_bugs_needs_no_public_url_but_a_server_does() {
        let listing = Args::try_parse_from(["call-server", "--list-bugs"]).unwrap();
        assert!(listing.list_bugs);
        assert!(Args::try_parse_from(["call-server"]).is_err());
        let mut config = Config::from(listing);
        config.insecure_skip_signature_validation = true;
        assert!(config.validate().is_err(), "an empty public URL is refused");
    }

    #[test]
    fn missing_token_is_rejected_unless_insecure() {
        let mut config = Config::in_process("http://x.test", "t", "ws://127.0.0.1:1");
        config.twilio_auth_token = None;
        assert!(config.validate().is_err());
        config.insecure_skip_signature_validation = true;
        assert!(config.validate().is_ok());
        assert_eq!(config.public_ws_url(), "ws://x.test");
    }

    #[test]
    fn registry_ttl_flag_and_zero_ttl() {
        let args = Args::try_parse_from([
            "call-server",
            "--public-url",
            "https://callsim.test",
            "--twilio-auth-token",
            "t",
            "--registry-ttl",
            "90",
        ])
        .unwrap();
        let mut config = Config::from(args);
        assert_eq!(config.registry_ttl, Duration::from_secs(90));
        config.registry_ttl = Duration::ZERO;
        assert!(config.validate().is_err());
    }
}
