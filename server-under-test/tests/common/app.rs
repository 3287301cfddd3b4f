//! A server under test: [`TestApp`] on 127.0.0.1 port 0, started from a test [`Config`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use server_under_test::realtime::ConnectFuture;
use server_under_test::{AiConnector, AppState, Config, serve_with_state};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Auth token every test server uses.
pub(crate) const TOKEN: &str = "test-auth-token";
/// Fixture API token every test server uses (unless disabled).
pub(crate) const FIXTURE_TOKEN: &str = "fixture-token";
/// Public URL every test server uses.
pub(crate) const PUBLIC_URL: &str = "https://callsim.test";
/// A Realtime URL nothing listens on, for tests that never reach the model.
const UNUSED_REALTIME_URL: &str = "ws://127.0.0.1:9/v1/realtime";

/// A running server and the HTTP client the tests talk to it with.
pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(super) client: reqwest::Client,
}

impl TestApp {
    /// The `http://` URL of `path` on this server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A test config with the fixture API enabled and a Realtime URL nothing listens on.
pub(crate) fn config() -> Config {
    let mut config = Config::in_process(PUBLIC_URL, TOKEN, UNUSED_REALTIME_URL);
    config.fixture_token = Some(FIXTURE_TOKEN.to_owned());
    config
}

/// Starts a server with the test [`config`].
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(config()).await
}

/// Starts a server with `config`.
pub(crate) async fn spawn_app_with(config: Config) -> TestApp {
    serve(AppState::new(config).unwrap()).await
}

/// Starts a server with `config` whose Realtime connections hang; the receiver gets one message
/// per connection attempt.
pub(crate) async fn spawn_with_hanging_ai(config: Config) -> (TestApp, UnboundedReceiver<()>) {
    let (attempts, rx) = unbounded_channel();
    let state = AppState::with_connector(config, Arc::new(PendingConnector { attempts })).unwrap();
    (serve(state).await, rx)
}

pub(super) async fn serve(state: AppState) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with_state(listener, state, std::future::pending()));
    TestApp {
        addr,
        client: reqwest::Client::new(),
    }
}

/// A Realtime connector whose connections never complete; it reports every attempt, which tells
/// a test that a media session got past its `start` and prompt selection.
struct PendingConnector {
    attempts: UnboundedSender<()>,
}

impl AiConnector for PendingConnector {
    fn connect(&self) -> ConnectFuture<'_> {
        let _ = self.attempts.send(());
        Box::pin(std::future::pending())
    }
}

/// A current-thread runtime on a paused clock, set up like the scenario runner's: just before it
/// parks (and the clock jumps to the next timer) it yields, so loopback data still in flight in
/// the kernel lands first.
pub(crate) fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .on_thread_park(std::thread::yield_now)
        .build()
        .unwrap()
}

/// The paused clock's largest step while a test runs: a caller's media frame.
const TICK: Duration = Duration::from_millis(20);

/// Runs `test` on a paused clock, as the scenario runner runs a scenario.
///
/// The clock jumps to the next timer whenever every task waits, even when the message they wait
/// for is still on its way through the loopback interface (as on a loaded machine). A timer
/// every [`TICK`], like a caller's media frames in a scenario, keeps such a jump from skipping
/// over a whole timeout; the tests' timing assertions leave room for a few ticks.
pub(crate) fn on_paused_clock(test: impl Future<Output = ()>) {
    paused_runtime().block_on(async {
        let ticker = tokio::spawn(async {
            loop {
                tokio::time::sleep(TICK).await;
            }
        });
        test.await;
        ticker.abort();
    });
}
