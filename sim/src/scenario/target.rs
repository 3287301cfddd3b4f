//! What a run drives: the bundled reference server in-process, or a call server at a URL.
//!
//! An external target is described by a small YAML file (`--target-config`): the paths of its
//! webhooks, the public URL it signs against, its fixture API, the Twilio credentials it is
//! configured with, and how public `wss://` URLs map to where the server really listens.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::duration::HumanDuration;
use super::error::ScenarioError;

/// Profile of the bundled reference server.
pub use server_under_test::Profile;

/// The account SID the fake Twilio uses unless a target file says otherwise.
pub const DEFAULT_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
/// The auth token the fake Twilio signs with unless a target file says otherwise.
pub const DEFAULT_AUTH_TOKEN: &str = "callsim-twilio-auth-token";
/// The fixture token used with the in-process reference server.
pub const DEFAULT_FIXTURE_TOKEN: &str = "callsim-fixture-token";
/// The API key the target presents to the mock AI.
pub const DEFAULT_OPENAI_KEY: &str = "sk-callsim";
/// Public base URL of the in-process reference server.
pub const IN_PROCESS_PUBLIC_URL: &str = "https://callsim.test";

/// Where scenarios are played.
#[derive(Debug, Clone)]
pub enum Target {
    /// The bundled reference server, started for each scenario on port 0.
    InProcess {
        /// Its profile.
        profile: Profile,
        /// Whether it validates Twilio signatures (turned off only to test certification).
        validate_signatures: bool,
    },
    /// A server that is already running.
    External(Box<ExternalTarget>),
}

impl Target {
    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        match self {
            Target::InProcess {
                profile,
                validate_signatures,
            } => {
                let p = match profile {
                    Profile::Legacy => "legacy",
                    Profile::Fixed => "fixed",
                };
                if *validate_signatures {
                    format!("reference server ({p})")
                } else {
                    format!("reference server ({p}, signatures not validated)")
                }
            }
            Target::External(t) => format!("external server at {}", t.base_url),
        }
    }
}

/// A call server callsim did not start.
#[derive(Debug, Clone)]
pub struct ExternalTarget {
    /// Where requests are really sent (`http://127.0.0.1:8080`).
    pub base_url: String,
    /// The public URL the server signs against and writes into TwiML (`https://calls.example`).
    pub public_url: String,
    /// Inbound webhook path; `{tenant}` is replaced.
    pub incoming_path: String,
    /// Outbound webhook path (what the server should give Twilio as `Url`).
    pub outbound_path: String,
    /// Path of the server's "place an outbound call" endpoint.
    pub place_call_path: String,
    /// Path of the call status callback.
    pub status_callback_path: String,
    /// Fixture API base URL (None: tenants are pre-provisioned).
    pub fixture_url: Option<String>,
    /// Fixture API bearer token.
    pub fixture_token: Option<String>,
    /// Twilio account SID the server is configured with.
    pub twilio_account_sid: String,
    /// Twilio auth token the server is configured with.
    pub twilio_auth_token: String,
    /// Extra public→actual URL prefix rewrites (`wss://calls.example` → `ws://127.0.0.1:8080`).
    pub rewrites: Vec<(String, String)>,
    /// Where the mock AI listens.
    pub ai_listen: SocketAddr,
    /// Where the fake Twilio REST API listens.
    pub twilio_listen: SocketAddr,
    /// Longest a single scenario may take (real time).
    pub scenario_timeout: Option<Duration>,
}

/// The target file, as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTargetFile {
    /// Public URL the server signs against.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Paths.
    #[serde(default)]
    pub paths: RawPaths,
    /// Fixture API.
    #[serde(default)]
    pub fixtures: Option<RawFixtures>,
    /// Twilio credentials.
    #[serde(default)]
    pub twilio: Option<RawTwilio>,
    /// URL rewrites.
    #[serde(default)]
    pub rewrite: Vec<RawRewrite>,
    /// Per-scenario timeout.
    #[serde(default)]
    pub scenario_timeout: Option<HumanDuration>,
}

/// Paths of the target.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPaths {
    /// Inbound webhook.
    #[serde(default)]
    pub incoming: Option<String>,
    /// Outbound webhook.
    #[serde(default)]
    pub outbound: Option<String>,
    /// Outbound call placement.
    #[serde(default)]
    pub place_call: Option<String>,
    /// Status callback.
    #[serde(default)]
    pub status_callback: Option<String>,
}

/// Fixture API settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFixtures {
    /// Base URL (defaults to the target URL).
    #[serde(default)]
    pub url: Option<String>,
    /// Bearer token.
    pub token: String,
}

/// Twilio credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTwilio {
    /// Account SID.
    #[serde(default)]
    pub account_sid: Option<String>,
    /// Auth token.
    pub auth_token: String,
}

/// A rewrite.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRewrite {
    /// Public prefix.
    pub from: String,
    /// Actual prefix.
    pub to: String,
}

impl ExternalTarget {
    /// Builds the target from `--target URL`, an optional target file and the listen addresses.
    pub fn new(
        base_url: &str,
        file: Option<&Path>,
        ai_listen: SocketAddr,
        twilio_listen: SocketAddr,
    ) -> Result<ExternalTarget, ScenarioError> {
        let base_url = base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ScenarioError::Invalid {
                file: "--target".into(),
                location: None,
                key: String::new(),
                message: format!("target `{base_url}` must be an http:// or https:// URL"),
            });
        }
        let raw = match file {
            Some(path) => {
                let loaded =
                    std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
                        file: path.to_path_buf(),
                        source,
                    })?;
                super::load::parse_yaml::<RawTargetFile>(path, &loaded)?
            }
            None => RawTargetFile::default(),
        };
        let public_url = raw
            .public_url
            .clone()
            .unwrap_or_else(|| base_url.clone())
            .trim_end_matches('/')
            .to_string();
        let mut rewrites: Vec<(String, String)> = raw
            .rewrite
            .iter()
            .map(|r| (r.from.clone(), r.to.clone()))
            .collect();
        // The public URL's HTTP and WebSocket forms both lead to the base URL unless the file
        // says otherwise, which covers servers that take their public URL from configuration.
        let ws = |u: &str| {
            u.replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1)
        };
        rewrites.push((public_url.clone(), base_url.clone()));
        rewrites.push((ws(&public_url), ws(&base_url)));
        let (fixture_url, fixture_token) = match &raw.fixtures {
            Some(f) => (
                Some(f.url.clone().unwrap_or_else(|| base_url.clone())),
                Some(f.token.clone()),
            ),
            None => (None, None),
        };
        let twilio = raw.twilio.clone();
        Ok(ExternalTarget {
            base_url,
            public_url,
            incoming_path: raw
                .paths
                .incoming
                .clone()
                .unwrap_or_else(|| "/twiml/incoming/{tenant}".into()),
            outbound_path: raw
                .paths
                .outbound
                .clone()
                .unwrap_or_else(|| "/twiml/outbound/{tenant}".into()),
            place_call_path: raw
                .paths
                .place_call
                .clone()
                .unwrap_or_else(|| "/calls/outbound".into()),
            status_callback_path: raw
                .paths
                .status_callback
                .clone()
                .unwrap_or_else(|| "/status/call".into()),
            fixture_url,
            fixture_token,
            twilio_account_sid: twilio
                .as_ref()
                .and_then(|t| t.account_sid.clone())
                .unwrap_or_else(|| DEFAULT_ACCOUNT_SID.into()),
            twilio_auth_token: twilio
                .map(|t| t.auth_token)
                .unwrap_or_else(|| DEFAULT_AUTH_TOKEN.into()),
            rewrites,
            ai_listen,
            twilio_listen,
            scenario_timeout: raw.scenario_timeout.map(|d| d.get()),
        })
    }
}
