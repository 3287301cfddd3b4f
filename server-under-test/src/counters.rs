//! Live-resource counters: open Media Streams sessions and open Realtime sockets.
//!
//! Only a [`CounterGuard`] changes a count: it increments on creation and decrements on drop, so
//! no exit path of a session can leak a count. The counts are read for `/fixtures/state`, where
//! the harness checks that nothing outlives a call.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Live-resource counters exposed by `/fixtures/state`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Open Media Streams WebSocket sessions.
    active_streams: AtomicUsize,
    /// Open Realtime API sockets.
    active_ai_sockets: AtomicUsize,
}

impl Counters {
    /// The current value of the `kind` counter.
    pub fn get(&self, kind: CounterKind) -> usize {
        self.counter(kind).load(Ordering::SeqCst)
    }

    fn counter(&self, kind: CounterKind) -> &AtomicUsize {
        match kind {
            CounterKind::Streams => &self.active_streams,
            CounterKind::AiSockets => &self.active_ai_sockets,
        }
    }
}

/// Which counter a [`CounterGuard`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterKind {
    /// Open Media Streams WebSocket sessions.
    Streams,
    /// Open Realtime API sockets.
    AiSockets,
}

/// Increments a counter on creation and decrements it on drop, so no exit path can leak a count.
#[derive(Debug)]
pub struct CounterGuard {
    counters: Arc<Counters>,
    kind: CounterKind,
}

impl CounterGuard {
    /// Increments the `kind` counter of `counters` until the guard is dropped.
    pub fn new(counters: &Arc<Counters>, kind: CounterKind) -> CounterGuard {
        counters.counter(kind).fetch_add(1, Ordering::SeqCst);
        CounterGuard {
            counters: Arc::clone(counters),
            kind,
        }
    }
}

impl Drop for CounterGuard {
    fn drop(&mut self) {
        self.counters
            .counter(self.kind)
            .fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_counts_while_it_lives() {
        let counters = Arc::new(Counters::default());
        let stream = CounterGuard::new(&counters, CounterKind::Streams);
        let ai = CounterGuard::new(&counters, CounterKind::AiSockets);
        let second_ai = CounterGuard::new(&counters, CounterKind::AiSockets);
        assert_eq!(counters.get(CounterKind::Streams), 1);
        assert_eq!(counters.get(CounterKind::AiSockets), 2);
        drop(ai);
        drop(stream);
        assert_eq!(counters.get(CounterKind::Streams), 0);
        assert_eq!(counters.get(CounterKind::AiSockets), 1);
        drop(second_ai);
        assert_eq!(counters.get(CounterKind::AiSockets), 0);
    }
}
