//! A stream that is read again only after it asked to be.
//!
//! The fake Twilio's and the mock's session loops wait in `select!` on a WebSocket stream and a
//! few timers. Each turn of such a loop polls every branch, and polling an idle WebSocket walks
//! the whole stack down to the pipe (split lock, tungstenite, the upgrade wrapper, the pipe's
//! lock and waker) only to learn that nothing came. At fifty frames a second on every hop that
//! walk was a good part of a long call's CPU time. [`WakeGated`] remembers that its stream said
//! "pending" and answers "pending" itself until the stream's own waker fires, so an idle stream
//! costs one flag check per turn. It changes when the stream is polled, never what it yields.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::Stream;
use futures_util::task::AtomicWaker;

/// The waker handed to the inner stream: it notes the wake-up and passes it on to the task.
#[derive(Default)]
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// `inner`, polled only when it has something to say or has woken its task.
pub struct WakeGated<S> {
    inner: S,
    flag: Arc<Flag>,
    waker: Waker,
    /// The inner stream's last answer was "pending".
    idle: bool,
}

impl<S> WakeGated<S> {
    /// Gates `inner`.
    pub fn new(inner: S) -> WakeGated<S> {
        let flag = Arc::new(Flag::default());
        WakeGated {
            inner,
            waker: Waker::from(Arc::clone(&flag)),
            flag,
            idle: false,
        }
    }
}

impl<S: Stream + Unpin> Stream for WakeGated<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        // Registered first, so a wake-up between the check below and the return reaches the task.
        this.flag.task.register(cx.waker());
        let woken = this.flag.woken.swap(false, Ordering::AcqRel);
        if this.idle && !woken {
            return Poll::Pending;
        }
        let mut inner_cx = Context::from_waker(&this.waker);
        let poll = Pin::new(&mut this.inner).poll_next(&mut inner_cx);
        this.idle = poll.is_pending();
        poll
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures_util::StreamExt;
    use tokio::sync::mpsc;

    use super::*;

    /// Counts how often the stream under the gate is polled.
    struct Counted<S> {
        inner: S,
        polls: Arc<AtomicUsize>,
    }

    impl<S: Stream + Unpin> Stream for Counted<S> {
        type Item = S::Item;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            Pin::new(&mut self.inner).poll_next(cx)
        }
    }

    #[tokio::test]
    async fn an_idle_stream_is_not_polled_again_until_it_wakes_and_nothing_is_lost() {
        let (tx, rx) = mpsc::unbounded_channel::<u32>();
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = Counted {
            inner: tokio_stream_from(rx),
            polls: Arc::clone(&polls),
        };
        let mut gated = WakeGated::new(counted);
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut gated).poll_next(&mut cx).is_pending());
        for _ in 0..10 {
            assert!(Pin::new(&mut gated).poll_next(&mut cx).is_pending());
        }
        assert_eq!(
            polls.load(Ordering::Relaxed),
            1,
            "an idle stream is polled once"
        );
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        // Two items sent with one wake-up: both come out, then the end.
        assert_eq!(gated.next().await, Some(1));
        assert_eq!(gated.next().await, Some(2));
        assert_eq!(gated.next().await, None);
    }

    fn tokio_stream_from(mut rx: mpsc::UnboundedReceiver<u32>) -> impl Stream<Item = u32> + Unpin {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
