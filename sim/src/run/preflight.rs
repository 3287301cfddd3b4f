//! The preflight: before the first scenario against a server at a URL, three checks that turn a
//! misconfiguration into one line instead of a run of failed calls.
//!
//! 1. The target answers HTTP at its base URL.
//! 2. The inbound webhook route answers. The probe is deliberately unsigned, so a server that
//!    validates signatures refuses it (and does nothing with it), while a 404 or 405 shows a
//!    wrong `paths.incoming` (unless the route names a tenant the fixture API has not
//!    provisioned yet); a server that answers with TwiML has its `<Connect><Stream url>`
//!    checked, and gets the probe call's `completed` status callback when it asks for them.
//! 3. That stream URL maps to something callsim can dial: the line names the rewrite used, and
//!    a URL whose address does not accept connections is an error naming what to add.
//!
//! The probe is not part of the capture: every request there is signed as Twilio signs it.

use std::time::Duration;

use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::net::{HttpClient, Network};
use crate::twilio::http::{Signing, send_signed};
use crate::twilio::twiml::{Verb, parse};
use crate::twilio::{HttpMethod, TwilioEnv, UrlMap};

use super::target::ExternalTarget;

/// How long each probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the run would fail whatever the scenarios say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreflightError {
    /// Nothing answers at the target's address.
    #[error(
        "the target at {url} does not answer: {why} (every call would fail with Twilio 11205); \
         is the server running, and is --target its address?"
    )]
    TargetDown {
        /// The base URL.
        url: String,
        /// The connection error.
        why: String,
    },
    /// The webhook route does not exist.
    #[error(
        "the webhook {url} answered {status} (every call would fail with Twilio 11200); is \
         `paths.incoming` in the target file the server's webhook route?"
    )]
    WebhookPath {
        /// The public webhook URL.
        url: String,
        /// 404 or 405.
        status: u16,
    },
    /// The webhook answered 2xx with something that is not TwiML.
    #[error("the webhook {url} did not answer TwiML: {why} (Twilio 12100)")]
    NotTwiml {
        /// The public webhook URL.
        url: String,
        /// The parse error.
        why: String,
    },
    /// The stream URL leads nowhere callsim can dial.
    #[error(
        "the stream URL {url} is dialled at {actual}, which does not accept connections: {why} \
         (every stream would fail with Twilio 31920); add \
         `rewrite: [{{ from: \"{prefix}\", to: \"ws://HOST:PORT\" }}]` to the target file"
    )]
    StreamUnreachable {
        /// The URL in the TwiML.
        url: String,
        /// Where it maps.
        actual: String,
        /// The `wss://host` prefix to rewrite.
        prefix: String,
        /// The connection error.
        why: String,
    },
}

/// Runs the checks; answers what was found, one line each, or the first fatal problem.
pub async fn preflight(
    target: &ExternalTarget,
    tenant: &str,
) -> Result<Vec<String>, PreflightError> {
    let endpoints = &target.endpoints;
    let http = HttpClient::new(&Network::Tcp).with_timeout(PROBE_TIMEOUT);
    // Any answer, even an error status or a body too large to read, shows the server is up.
    if let Err(e) = http.get(format!("{}/", endpoints.base_url)).send().await
        && !matches!(e, crate::net::HttpError::TooLarge)
    {
        return Err(PreflightError::TargetDown {
            url: endpoints.base_url.clone(),
            why: e.to_string(),
        });
    }
    let mut lines = vec![format!(
        "preflight: the target at {} answers",
        endpoints.base_url
    )];
    lines.extend(check_webhook(target, tenant).await?);
    Ok(lines)
}

/// Sends the unsigned probe to the inbound webhook route and checks what it answers.
async fn check_webhook(
    target: &ExternalTarget,
    tenant: &str,
) -> Result<Vec<String>, PreflightError> {
    let endpoints = &target.endpoints;
    let url_map = endpoints
        .rewrites
        .iter()
        .fold(UrlMap::new(), |m, (from, to)| m.with(from, to));
    let mut env = TwilioEnv::new(
        &endpoints.account_sid,
        &endpoints.auth_token,
        SimClock::start_default(),
        IdGen::new(0),
    )
    .with_url_map(url_map.clone());
    env.webhook_timeout = PROBE_TIMEOUT;
    let url = format!(
        "{}{}",
        endpoints.public_url,
        endpoints.incoming_path.replace("{tenant}", tenant)
    );
    let params = probe_params(&endpoints.account_sid);
    let probe = send_signed(
        &env,
        &url,
        HttpMethod::Post,
        &params,
        Signing::Missing,
        "preflight",
    );
    let reply = probe.await.map_err(|e| PreflightError::TargetDown {
        url: url_map.resolve(&url),
        why: e.to_string(),
    })?;
    // With a fixture API the probe's tenant may not be provisioned yet, so a 404 can be the
    // server refusing an unknown tenant on the right route: only a path that names no tenant,
    // or a server whose tenants are pre-provisioned, makes it a wrong route for sure.
    let tenant_may_be_missing =
        endpoints.incoming_path.contains("{tenant}") && endpoints.fixture_url.is_some();
    match reply.status {
        404 | 405 if !tenant_may_be_missing => {
            return Err(PreflightError::WebhookPath {
                url,
                status: reply.status,
            });
        }
        200..=299 => {}
        status => {
            return Ok(vec![format!(
                "preflight: the webhook {url} answers ({status} to callsim's unsigned probe)"
            )]);
        }
    }
    let twiml = parse(&reply.body).map_err(|e| PreflightError::NotTwiml {
        url: url.clone(),
        why: e.to_string(),
    })?;
    let mut lines = vec![format!("preflight: the webhook {url} answers TwiML")];
    if let Some(path) = &endpoints.status_callback_path {
        end_probe_call(&env, &format!("{}{path}", endpoints.public_url), &params).await;
    }
    if let Some(stream) = connect_stream(&twiml) {
        lines.push(check_stream(&stream, &url_map, &endpoints.rewrites).await?);
    }
    Ok(lines)
}

/// The server took the probe for a call: ends it as Twilio ends a call the caller hung up on at
/// once, so a server that keeps per-call state until `completed` forgets it.
async fn end_probe_call(env: &TwilioEnv, status_url: &str, params: &[(String, String)]) {
    let mut done = params.to_vec();
    done[3].1 = "completed".into();
    done.push(("CallDuration".into(), "0".into()));
    let callback = send_signed(
        env,
        status_url,
        HttpMethod::Post,
        &done,
        Signing::Missing,
        "done",
    );
    let _ = callback.await;
}

/// The parameters of the unsigned probe: an inbound call that is ringing.
fn probe_params(account_sid: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", account_sid),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", "CA00000000000000000000000000preflight"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+14155550100"),
        ("To", "+15005550006"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The URL of the first `<Connect><Stream>`.
fn connect_stream(twiml: &crate::twilio::twiml::Twiml) -> Option<String> {
    twiml.verbs.iter().find_map(|v| match v {
        Verb::Connect { stream, .. } => Some(stream.url.clone()),
        _ => None,
    })
}

/// Says which rewrite the stream URL takes and checks that its address accepts connections.
async fn check_stream(
    url: &str,
    url_map: &UrlMap,
    rewrites: &[(String, String)],
) -> Result<String, PreflightError> {
    let actual = url_map.resolve(url);
    let rule = rewrites
        .iter()
        .filter(|(from, _)| url.starts_with(from.as_str()))
        .max_by_key(|(from, _)| from.len());
    let parsed = url::Url::parse(&actual).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let port = parsed
        .as_ref()
        .and_then(url::Url::port_or_known_default)
        .unwrap_or(443);
    let prefix = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| format!("wss://{h}")))
        .unwrap_or_else(|| url.to_owned());
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let connect = Network::Tcp.connect(&host, port);
    match tokio::time::timeout(PROBE_TIMEOUT, connect).await {
        Ok(Ok(_)) => Ok(match rule {
            Some((from, to)) => {
                format!(
                    "preflight: the stream URL {url} is dialled at {actual} (rewrite {from} → {to})"
                )
            }
            None => format!("preflight: the stream URL {url} is dialled as written"),
        }),
        Ok(Err(e)) => Err(PreflightError::StreamUnreachable {
            url: url.to_owned(),
            actual,
            prefix,
            why: e.to_string(),
        }),
        Err(_) => Err(PreflightError::StreamUnreachable {
            url: url.to_owned(),
            actual,
            prefix,
            why: format!("no connection within {PROBE_TIMEOUT:?}"),
        }),
    }
}
