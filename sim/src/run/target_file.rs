//! The target file (`--target-config`): how a call server callsim did not start is reached and
//! configured: the paths of its webhooks, the public URL it signs against, its fixture API, the
//! Twilio credentials it is configured with, and how public `wss://` URLs map to where the server
//! really listens.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use super::target::{DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Endpoints, ExternalTarget};
use crate::scenario::ScenarioError;
use crate::scenario::duration::HumanDuration;

/// The target file, as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargetFile {
    /// Public URL the server signs against.
    #[serde(default)]
    pub(super) public_url: Option<String>,
    /// Paths.
    #[serde(default)]
    pub(super) paths: RawPaths,
    /// Fixture API.
    #[serde(default)]
    pub(super) fixtures: Option<RawFixtures>,
    /// Twilio credentials.
    #[serde(default)]
    pub(super) twilio: Option<RawTwilio>,
    /// URL rewrites.
    #[serde(default)]
    pub(super) rewrite: Vec<RawRewrite>,
    /// Per-scenario timeout.
    #[serde(default)]
    pub(super) scenario_timeout: Option<HumanDuration>,
}

/// Paths of the target.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPaths {
    /// Inbound webhook.
    #[serde(default)]
    pub(super) incoming: Option<String>,
    /// Outbound webhook.
    #[serde(default)]
    pub(super) outbound: Option<String>,
    /// Outbound call placement.
    #[serde(default)]
    pub(super) place_call: Option<String>,
    /// Status callback.
    #[serde(default)]
    pub(super) status_callback: Option<String>,
}

/// Fixture API settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFixtures {
    /// Base URL (defaults to the target URL).
    #[serde(default)]
    pub(super) url: Option<String>,
    /// Bearer token.
    pub(super) token: String,
}

/// Twilio credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTwilio {
    /// Account SID.
    #[serde(default)]
    pub(super) account_sid: Option<String>,
    /// Auth token.
    pub(super) auth_token: String,
}

/// A rewrite.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRewrite {
    /// Public prefix.
    pub(super) from: String,
    /// Actual prefix.
    pub(super) to: String,
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
                crate::scenario::load::parse_yaml::<RawTargetFile>(path, &loaded)?
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
        let endpoints = Endpoints {
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
            account_sid: twilio
                .as_ref()
                .and_then(|t| t.account_sid.clone())
                .unwrap_or_else(|| DEFAULT_ACCOUNT_SID.into()),
            auth_token: twilio
                .map(|t| t.auth_token)
                .unwrap_or_else(|| DEFAULT_AUTH_TOKEN.into()),
            rewrites,
        };
        Ok(ExternalTarget {
            endpoints,
            ai_listen,
            twilio_listen,
            scenario_timeout: raw.scenario_timeout.map(|d| d.get()),
        })
    }
}
