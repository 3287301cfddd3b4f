//! The fake Twilio as these tests set it up: one account, public URLs that reach a local call
//! server, seeded ids, and the REST Calls API on port 0.
//!
//! Each test binary that includes this file uses all of it (see `common/README.md`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use sim::clock::SimClock;
use sim::ids::IdGen;
use sim::twilio::{
    CallEvent, CallFaults, CalleeAnswer, CalleeBehaviour, CallerScript, CallerStep, HttpMethod,
    RestState, StatusCallbackConfig, TwilioEnv, UrlMap,
};
use tokio::net::TcpListener;

/// The simulated account.
pub(crate) const ACCOUNT: &str = "AC00000000000000000000000000000001";
/// The account's auth token: it signs webhooks and authenticates REST requests.
pub(crate) const TOKEN: &str = "test-auth-token";
/// The call server's public URL, as the server and the TwiML know it.
pub(crate) const PUBLIC: &str = "https://callsim.test";

/// The fake Twilio for [`ACCOUNT`], with ids from `seed` and the public URLs (`https://` and
/// `wss://callsim.test`) routed to the call server at `server`.
///
/// Its clock is tokio time from now: virtual under `#[tokio::test(start_paused = true)]`, real
/// otherwise.
pub(crate) fn twilio_env(server: SocketAddr, seed: u64) -> TwilioEnv {
    let map = UrlMap::new()
        .with(PUBLIC, &format!("http://{server}"))
        .with("wss://callsim.test", &format!("ws://{server}"));
    TwilioEnv::new(ACCOUNT, TOKEN, SimClock::start_default(), IdGen::new(seed)).with_url_map(map)
}

/// Status callbacks to `url` (POST) for every call-progress event.
pub(crate) fn every_call_event(url: &str) -> StatusCallbackConfig {
    StatusCallbackConfig {
        url: url.to_owned(),
        method: HttpMethod::Post,
        events: vec![
            CallEvent::Initiated,
            CallEvent::Ringing,
            CallEvent::Answered,
            CallEvent::Completed,
        ],
    }
}

/// A callee who answers after ringing for `ring` and then stays silent for `silence`.
pub(crate) fn answering_callee(ring: Duration, silence: Duration) -> CalleeBehaviour {
    CalleeBehaviour {
        label: "callee".into(),
        ring,
        answer: CalleeAnswer::Answer,
        script: CallerScript {
            steps: vec![CallerStep::Silence(silence)],
            hangup_at: None,
        },
        stream_connect_delay: Duration::ZERO,
        faults: CallFaults::default(),
    }
}

/// The fake Twilio REST API, bound to 127.0.0.1:0 before it serves, so a call server can be
/// configured with its address before the [`TwilioEnv`] that points at that server exists.
pub(crate) struct RestFake {
    listener: TcpListener,
    /// `http://127.0.0.1:<port>`, the API base a client or call server is given.
    pub(crate) base_url: String,
}

impl RestFake {
    /// Binds the listener; nothing is served until [`RestFake::serve`].
    pub(crate) async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        Self { listener, base_url }
    }

    /// Serves the REST API for the rest of the test: every call it creates is played in `env`
    /// with `callee` on the far end.
    pub(crate) fn serve(self, env: &TwilioEnv, callee: CalleeBehaviour) {
        let state = RestState {
            env: env.clone(),
            callees: BTreeMap::new(),
            default_callee: callee,
        };
        tokio::spawn(sim::twilio::serve(
            sim::net::NetListener::Tcp(self.listener),
            state,
            std::future::pending(),
        ));
    }
}
