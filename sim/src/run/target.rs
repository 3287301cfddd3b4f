//! What a run drives: the bundled reference server in-process, or a call server at a URL.
//!
//! An external target is described by a small YAML file (`--target-config`): the paths of its
//! webhooks, the public URL it signs against, its fixture API, the Twilio credentials it is
//! configured with, and how public `wss://` URLs map to where the server really listens.

use std::net::SocketAddr;
use std::time::Duration;

use super::declarations::Declarations;
use super::server_prompts::ServerPrompts;
pub use crate::net::Transport;
pub use crate::scenario::plan::{AiDialect, Profile};

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
        /// Historical regressions switched on, by name (`call-server --list-bugs`).
        bugs: Vec<String>,
        /// What the parts of the run talk over: memory pipes (the default) or loopback TCP.
        transport: Transport,
        /// The protocol the server speaks to the model for every scenario
        /// (`--ai-dialect`); `None` lets each scenario's `ai.dialect` decide.
        ai_dialect: Option<AiDialect>,
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
                bugs,
                transport,
                ai_dialect,
            } => {
                let mut p = profile.as_str().to_string();
                if *transport == Transport::Tcp {
                    p.push_str(", over TCP");
                }
                if *ai_dialect == Some(AiDialect::Live) {
                    p.push_str(", Live dialect");
                }
                if !*validate_signatures {
                    p.push_str(", signatures not validated");
                }
                for bug in bugs {
                    p.push_str(&format!(", bug {bug}"));
                }
                format!("reference server ({p})")
            }
            Target::External(t) => format!("external server at {}", t.endpoints.base_url),
        }
    }
}

impl Target {
    /// The transport a run against this target uses: external targets are always over TCP.
    pub fn transport(&self) -> Transport {
        match self {
            Target::InProcess { transport, .. } => *transport,
            Target::External(_) => Transport::Tcp,
        }
    }

    /// What the target declares: the reference server declares every capability it has.
    pub fn declarations(&self) -> Declarations {
        match self {
            Target::InProcess { .. } => Declarations::REFERENCE,
            Target::External(t) => t.declares,
        }
    }
}

/// Who provisions the tenants a scenario names (the target file's `tenants:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantSetup {
    /// callsim provisions every tenant, and applies every tenant edit, through the fixture API.
    Fixtures,
    /// The server has its tenants already; callsim provisions nothing and edits nothing.
    Preprovisioned,
}

/// Where the target's endpoints are and what it is configured with, as the harness sees them;
/// the same type for the in-process reference server and for a server at a URL.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Where requests are really sent (`http://127.0.0.1:8080`).
    pub base_url: String,
    /// The public URL the server signs against and writes into TwiML (`https://calls.example`).
    pub public_url: String,
    /// Inbound webhook path; `{tenant}` is replaced.
    pub incoming_path: String,
    /// Inbound webhook path without a slug, where the server finds the tenant by the number
    /// called (`To`); calls with `resolve_by: number` use it.
    pub incoming_by_number_path: String,
    /// Outbound webhook path (what the server should give Twilio as `Url`).
    pub outbound_path: String,
    /// Path of the server's "place an outbound call" endpoint.
    pub place_call_path: String,
    /// Path of the call status callback; `None` when the target asks for none (the default
    /// for a server at a URL: Twilio sends callbacks only to numbers configured with one).
    pub status_callback_path: Option<String>,
    /// Who provisions the scenarios' tenants.
    pub tenants: TenantSetup,
    /// The server's own prompts (empty: the scenarios' prompts, as provisioned, are its prompts).
    pub server_prompts: ServerPrompts,
    /// Fixture API base URL (None: the server has no fixture API).
    pub fixture_url: Option<String>,
    /// Fixture API bearer token.
    pub fixture_token: Option<String>,
    /// Twilio account SID the server is configured with.
    pub account_sid: String,
    /// Twilio auth token the server is configured with.
    pub auth_token: String,
    /// Public→actual URL prefix rewrites (`wss://calls.example` → `ws://127.0.0.1:8080`).
    pub rewrites: Vec<(String, String)>,
}

impl ExternalTarget {
    /// The realtime URL the server must be configured with to reach the mock AI.
    pub fn realtime_url(&self) -> String {
        format!("ws://{}/v1/realtime?model=gpt-realtime", self.ai_listen)
    }
}

/// A call server callsim did not start.
#[derive(Debug, Clone)]
pub struct ExternalTarget {
    /// Its endpoints and configuration.
    pub endpoints: Endpoints,
    /// Where the mock AI listens.
    pub ai_listen: SocketAddr,
    /// Where the fake Twilio REST API listens.
    pub twilio_listen: SocketAddr,
    /// Longest a single scenario may take (real time).
    pub scenario_timeout: Option<Duration>,
    /// What the server declares about itself (the target file's `declares:`).
    pub declares: Declarations,
}
