//! The target file (`--target-config`): how a call server callsim did not start is reached and
//! configured: the paths of its webhooks, the public URL it signs against, its fixture API, the
//! Twilio credentials it is configured with, and how public `wss://` URLs map to where the server
//! really listens.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use std::time::Duration;

use crate::twilio::http::public_host;

use super::declarations::{Declarations, MAX_PROMPT_FRESHNESS, MAX_SESSION_OPEN_WITHIN};
use super::server_prompts::{RawPrompt, ServerPrompts};
use super::target::{
    DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Endpoints, ExternalTarget, TenantSetup,
};
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
    /// What the server declares about itself.
    #[serde(default)]
    pub(super) declares: Option<RawDeclares>,
    /// Who provisions the scenarios' tenants: callsim through the fixture API, or nobody.
    #[serde(default)]
    pub(super) tenants: Option<TenantSetup>,
    /// The server's own prompts, for servers whose prompt is built in.
    #[serde(default)]
    pub(super) prompts: BTreeMap<String, RawPrompt>,
}

/// The `declares:` section: capabilities and bounds the server promises.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeclares {
    /// Places outbound calls.
    #[serde(default)]
    pub(super) outbound: bool,
    /// Puts a caller's notes into that caller's prompt.
    #[serde(default)]
    pub(super) caller_context: bool,
    /// How soon an edited prompt reaches new AI sessions.
    #[serde(default)]
    pub(super) prompt_freshness: Option<HumanDuration>,
    /// How soon the AI session opens after the stream starts.
    #[serde(default)]
    pub(super) session_open_within: Option<HumanDuration>,
}

/// Paths of the target.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPaths {
    /// Inbound webhook.
    #[serde(default)]
    pub(super) incoming: Option<String>,
    /// Inbound webhook that finds the tenant by the number called (default `/twiml/incoming`).
    #[serde(default)]
    pub(super) incoming_by_number: Option<String>,
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
        let mut endpoints = endpoints_of(&raw, base_url);
        if let Some(path) = file {
            endpoints.tenants = tenant_setup(path, &raw)?;
            endpoints.server_prompts = ServerPrompts::from_raw(path, &raw.prompts)?;
        }
        // The fixture capability certification asks for is callsim provisioning and editing
        // tenants; a fixture API kept only for `GET /fixtures/state` does not give it.
        let provisions = endpoints.tenants == TenantSetup::Fixtures;
        let declares = declarations(file, raw.declares.as_ref(), provisions)?;
        Ok(ExternalTarget {
            declares,
            endpoints,
            ai_listen,
            twilio_listen,
            scenario_timeout: raw.scenario_timeout.map(|d| d.get()),
        })
    }
}

/// The endpoints a target file describes for the server at `base_url`: its paths (or the
/// reference server's), the public URL it signs against, the fixture API, the Twilio
/// credentials, and how public URLs map to where it listens.
fn endpoints_of(raw: &RawTargetFile, base_url: String) -> Endpoints {
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
    // A server that writes its stream URL from the `Host` it was called with, or from where it
    // listens, names `wss://` with the public host or its own host, port-less or not: both are
    // dialled at the target without a rewrite entry.
    for host in [public_host(&public_url), public_host(&base_url)]
        .into_iter()
        .flatten()
    {
        rewrites.push((format!("wss://{host}"), ws(&base_url)));
    }
    let (fixture_url, fixture_token) = match &raw.fixtures {
        Some(f) => (
            Some(f.url.clone().unwrap_or_else(|| base_url.clone())),
            Some(f.token.clone()),
        ),
        None => (None, None),
    };
    let twilio = raw.twilio.clone();
    Endpoints {
        base_url,
        public_url,
        incoming_path: raw
            .paths
            .incoming
            .clone()
            .unwrap_or_else(|| "/twiml/incoming/{tenant}".into()),
        incoming_by_number_path: raw
            .paths
            .incoming_by_number
            .clone()
            .unwrap_or_else(|| "/twiml/incoming".into()),
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
        status_callback_path: raw.paths.status_callback.clone(),
        tenants: if fixture_url.is_some() {
            TenantSetup::Fixtures
        } else {
            TenantSetup::Preprovisioned
        },
        server_prompts: ServerPrompts::default(),
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
    }
}

/// Who provisions the tenants: the file's `tenants:`, or the fixture API when the file gives one.
/// Declared prompts describe a server whose prompts are built in, which callsim must not
/// provision over; the file must say so.
fn tenant_setup(file: &Path, raw: &RawTargetFile) -> Result<TenantSetup, ScenarioError> {
    let invalid = |key: &str, message: &str| ScenarioError::Invalid {
        file: file.to_path_buf(),
        location: None,
        key: key.into(),
        message: message.into(),
    };
    let setup = match (raw.tenants, &raw.fixtures) {
        (Some(TenantSetup::Fixtures), None) => {
            return Err(invalid(
                "tenants",
                "`tenants: fixtures` needs a fixture API (`fixtures: { token: … }`)",
            ));
        }
        (Some(setup), _) => setup,
        (None, Some(_)) => TenantSetup::Fixtures,
        (None, None) => TenantSetup::Preprovisioned,
    };
    if setup == TenantSetup::Fixtures && !raw.prompts.is_empty() {
        return Err(invalid(
            "prompts",
            "declared prompts describe a server whose prompts are built in; add \
             `tenants: preprovisioned` so callsim does not provision prompts over them \
             (`fixtures:` then still serves `GET /fixtures/state`)",
        ));
    }
    Ok(setup)
}

/// The target's declarations, each bound checked against what callsim can judge.
fn declarations(
    file: Option<&Path>,
    raw: Option<&RawDeclares>,
    fixtures: bool,
) -> Result<Declarations, ScenarioError> {
    let mut declared = Declarations::undeclared(fixtures);
    let Some(raw) = raw else {
        return Ok(declared);
    };
    declared.outbound = raw.outbound;
    declared.caller_context = raw.caller_context;
    let bounded = |value: Option<&HumanDuration>, default, max: Duration, key: &str| {
        let Some(value) = value else {
            return Ok(default);
        };
        if value.get() > max {
            return Err(ScenarioError::Invalid {
                file: file.map(Path::to_path_buf).unwrap_or_default(),
                location: None,
                key: format!("declares.{key}"),
                message: format!(
                    "{value:?} is longer than callsim can check (at most {}s)",
                    max.as_secs()
                ),
            });
        }
        Ok(value.get())
    };
    declared.prompt_freshness = bounded(
        raw.prompt_freshness.as_ref(),
        declared.prompt_freshness,
        MAX_PROMPT_FRESHNESS,
        "prompt_freshness",
    )?;
    declared.session_open_within = bounded(
        raw.session_open_within.as_ref(),
        declared.session_open_within,
        MAX_SESSION_OPEN_WITHIN,
        "session_open_within",
    )?;
    Ok(declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_with(yaml: &str) -> Result<ExternalTarget, ScenarioError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("target.yaml");
        std::fs::write(&path, yaml).expect("written");
        let listen: SocketAddr = "127.0.0.1:0".parse().expect("address");
        ExternalTarget::new("http://127.0.0.1:9", Some(&path), listen, listen)
    }

    #[test]
    fn without_declarations_a_target_claims_no_optional_capability() {
        let target = target_with("public_url: https://calls.example\n").expect("valid");
        assert_eq!(target.declares, Declarations::undeclared(false));
        assert!(!target.declares.outbound);
        let with_fixtures = target_with("fixtures: { token: T }\n").expect("valid");
        assert!(with_fixtures.declares.fixtures);
    }

    #[test]
    fn declarations_are_read_and_their_bounds_checked() {
        let target = target_with(
            "declares:\n  outbound: true\n  prompt_freshness: 5s\n  session_open_within: 2s\n",
        )
        .expect("valid");
        assert!(target.declares.outbound);
        assert!(!target.declares.caller_context);
        assert_eq!(target.declares.prompt_freshness, Duration::from_secs(5));
        assert_eq!(target.declares.session_open_within, Duration::from_secs(2));

        let err = target_with("declares: { prompt_freshness: 30s }\n")
            .expect_err("too slow to check")
            .to_string();
        assert!(err.contains("declares.prompt_freshness"), "{err}");
        assert!(err.contains("at most 10s"), "{err}");
        let err = target_with("declares: { outbond: true }\n")
            .expect_err("typo")
            .to_string();
        assert!(err.contains("outbond"), "{err}");
    }

    #[test]
    fn a_wss_url_on_the_public_host_or_the_targets_host_is_dialled_at_the_target() {
        let target = target_with("public_url: https://calls.example\n").expect("valid");
        let map = target
            .endpoints
            .rewrites
            .iter()
            .fold(crate::twilio::UrlMap::new(), |m, (from, to)| {
                m.with(from, to)
            });
        for public in [
            "wss://calls.example/media-stream",
            "wss://127.0.0.1:9/media-stream",
        ] {
            assert_eq!(
                map.resolve(public),
                "ws://127.0.0.1:9/media-stream",
                "{public}"
            );
        }
        assert_eq!(target.endpoints.status_callback_path, None);
        let asked = target_with("paths: { status_callback: /status }\n").expect("valid");
        assert_eq!(
            asked.endpoints.status_callback_path.as_deref(),
            Some("/status")
        );
    }

    #[test]
    fn tenants_are_provisioned_by_the_fixture_api_unless_the_file_says_preprovisioned() {
        let plain = target_with("public_url: https://calls.example\n").expect("valid");
        assert_eq!(plain.endpoints.tenants, TenantSetup::Preprovisioned);
        let fixtures = target_with("fixtures: { token: T }\n").expect("valid");
        assert_eq!(fixtures.endpoints.tenants, TenantSetup::Fixtures);
        let own = target_with(
            "fixtures: { token: T }\ntenants: preprovisioned\nprompts:\n  desk: Front desk.\n",
        )
        .expect("valid");
        assert_eq!(own.endpoints.tenants, TenantSetup::Preprovisioned);
        assert!(
            own.endpoints.fixture_url.is_some(),
            "state checks keep the API"
        );
        assert!(
            !own.declares.fixtures,
            "requirements that edit tenants are not checked"
        );
        assert_eq!(
            own.endpoints.server_prompts.names(),
            vec![("desk".to_string(), "Front desk.".to_string())]
        );

        let err = target_with("tenants: fixtures\n")
            .expect_err("no API")
            .to_string();
        assert!(
            err.contains("`tenants`") || err.contains("tenants:"),
            "{err}"
        );
        assert!(err.contains("fixture API"), "{err}");
        let err = target_with("fixtures: { token: T }\nprompts:\n  desk: Front desk.\n")
            .expect_err("prompts would be provisioned over")
            .to_string();
        assert!(err.contains("tenants: preprovisioned"), "{err}");
        let err = target_with("tenants: sometimes\n")
            .expect_err("typo")
            .to_string();
        assert!(err.contains("sometimes"), "{err}");
    }
}
