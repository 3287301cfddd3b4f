//! The real mock OpenAI Realtime endpoint (`sim::realtime`) on 127.0.0.1:0.
//!
//! Each test binary that includes this file uses all of it (see `common/README.md`).

use sim::realtime::{Ledger, MockConfig, run};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running mock; it stops when this is dropped.
pub(crate) struct RealtimeMock {
    /// `ws://127.0.0.1:<port>/v1/realtime?model=gpt-realtime`.
    pub(crate) url: String,
    /// What every session did (the config's ledger).
    pub(crate) ledger: Ledger,
    _stop: oneshot::Sender<()>,
}

impl RealtimeMock {
    /// Serves `config` (its script, limits and ledger) until the returned mock is dropped.
    pub(crate) async fn start(config: MockConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ledger = config.ledger.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(run(
            sim::net::NetListener::Tcp(listener),
            config,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            url: format!("ws://{addr}/v1/realtime?model=gpt-realtime"),
            ledger,
            _stop: stop,
        }
    }
}
