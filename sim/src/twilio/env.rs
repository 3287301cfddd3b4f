//! The fake Twilio's account, clock, ids, URL map, HTTP client and recorder.

use std::time::Duration;

use crate::capture::Capture;
use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::net::{HttpClient, Network};

use super::call_store::CallRecorder;
use super::url_map::UrlMap;

/// Twilio's total limit for one webhook exchange.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);

/// Everything the fake Twilio needs to play calls; cheap to clone.
#[derive(Debug, Clone)]
pub struct TwilioEnv {
    /// `AC…` of the simulated account.
    pub account_sid: String,
    /// Auth token used to sign requests and check REST Basic auth.
    pub auth_token: String,
    /// The simulation clock.
    pub clock: SimClock,
    /// The id source; every call forks it by label.
    pub ids: IdGen,
    /// Public-to-actual URL rewrites.
    pub url_map: UrlMap,
    /// Total limit of one webhook exchange (15 s on Twilio).
    pub webhook_timeout: Duration,
    /// The network the Media Streams sockets are dialled on.
    pub network: Network,
    /// The HTTP client used for webhooks and callbacks (on the same network).
    pub http: HttpClient,
    /// Where call records go.
    pub recorder: CallRecorder,
    /// Where every request, upgrade and Media Streams message is captured (off by default).
    pub capture: Capture,
}

impl TwilioEnv {
    /// An environment with the default timeout, an empty URL map and a fresh recorder.
    ///
    /// Calls are played over TCP. The HTTP client has no timeout of its own (every exchange is
    /// bounded with tokio time) and never follows redirects, like Twilio's webhook client.
    pub fn new(account_sid: &str, auth_token: &str, clock: SimClock, ids: IdGen) -> Self {
        Self {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            clock,
            ids,
            url_map: UrlMap::new(),
            webhook_timeout: DEFAULT_WEBHOOK_TIMEOUT,
            network: Network::Tcp,
            http: HttpClient::new(&Network::Tcp),
            recorder: CallRecorder::new(),
            capture: Capture::off(),
        }
    }

    /// Plays calls over `network` (TCP unless told otherwise).
    #[must_use]
    pub fn with_network(mut self, network: Network) -> Self {
        self.http = HttpClient::new(&network);
        self.network = network;
        self
    }

    /// Captures every request, upgrade and stream message into `capture`.
    #[must_use]
    pub fn with_capture(mut self, capture: Capture) -> Self {
        self.capture = capture;
        self
    }

    /// Replaces the URL map.
    pub fn with_url_map(mut self, url_map: UrlMap) -> Self {
        self.url_map = url_map;
        self
    }
}
