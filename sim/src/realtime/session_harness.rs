//! The harness the session tests of both dialects drive a session with: channels in place of a
//! socket, so a test sends client events and reads what the session queued, on tokio time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Sink, Stream};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ledger::Ledger;
use super::session::{SessionInput, SessionOutput};

/// The session's transport side, as the session sees it.
pub(crate) type TestSink = Pin<Box<dyn Sink<SessionOutput, Error = ()> + Send>>;
/// The client side, as the session sees it.
pub(crate) type TestStream = Pin<Box<dyn Stream<Item = SessionInput> + Send>>;

/// A running session and the channels that stand for its socket.
pub(crate) struct Harness {
    pub(crate) tx: mpsc::UnboundedSender<SessionInput>,
    pub(crate) rx: mpsc::UnboundedReceiver<SessionOutput>,
    pub(crate) ledger: Ledger,
    task: JoinHandle<()>,
    /// How long a test waits for the session's next output before it fails.
    wait: Duration,
}

impl Harness {
    /// Spawns `serve` (a session, given its transport) recording into `ledger`.
    pub(crate) fn spawn<F, Fut>(ledger: Ledger, wait: Duration, serve: F) -> Harness
    where
        F: FnOnce(TestSink, TestStream) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let sink: TestSink = Box::pin(futures_util::sink::unfold(
            out_tx,
            |tx, item: SessionOutput| async move {
                tx.send(item).map_err(|_| ())?;
                Ok::<_, ()>(tx)
            },
        ));
        let stream: TestStream =
            Box::pin(futures_util::stream::unfold(in_rx, |mut rx| async move {
                rx.recv().await.map(|v| (v, rx))
            }));
        Harness {
            tx: in_tx,
            rx: out_rx,
            ledger,
            task: tokio::spawn(serve(sink, stream)),
            wait,
        }
    }

    /// Sends one client event as a text frame.
    pub(crate) fn send(&self, event: Value) {
        self.tx.send(SessionInput::Text(event.to_string())).unwrap();
    }

    /// The session's next output.
    pub(crate) async fn next(&mut self) -> SessionOutput {
        tokio::time::timeout(self.wait, self.rx.recv())
            .await
            .unwrap()
            .unwrap()
    }

    /// The session's next output, which must be an event.
    pub(crate) async fn event(&mut self) -> Value {
        match self.next().await {
            SessionOutput::Event(v) => v,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Events up to and including the first of type `ty`.
    pub(crate) async fn until(&mut self, ty: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let event = self.event().await;
            let done = event["type"] == ty;
            out.push(event);
            if done {
                return out;
            }
        }
    }

    /// Waits for the session to end by itself (a close, a drop, an expiry).
    pub(crate) async fn ended(&mut self) {
        tokio::time::timeout(self.wait, &mut self.task)
            .await
            .unwrap()
            .unwrap();
    }

    /// Closes the client side with 1000, waits for the session to end, and answers its ledger.
    pub(crate) async fn close(mut self) -> Ledger {
        self.tx.send(SessionInput::Close(Some(1000))).unwrap();
        self.ended().await;
        self.ledger
    }
}
