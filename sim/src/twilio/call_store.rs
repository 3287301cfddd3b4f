//! The shared store of call records and the control handles of live calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::call_record::CallRecord;

/// How a running call's TwiML is replaced by a REST update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwimlSource {
    /// Fetch a document from this public URL.
    Url {
        /// The public URL.
        url: String,
        /// GET or POST.
        method: super::spec::HttpMethod,
    },
    /// Run this inline document.
    Inline(String),
}

/// A command sent to a live call (from the REST fake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlCmd {
    /// End the call with this status ("completed" or "canceled").
    End(String),
    /// Replace the running TwiML.
    Redirect(TwimlSource),
}

/// A handle that controls one live call.
#[derive(Debug, Clone)]
pub struct CallControl {
    tx: mpsc::UnboundedSender<ControlCmd>,
}

impl CallControl {
    /// Sends a command; false when the call has already ended.
    pub fn send(&self, cmd: ControlCmd) -> bool {
        self.tx.send(cmd).is_ok()
    }
}

/// A live, shared view of one call's record.
#[derive(Debug, Clone)]
pub struct CallHandle {
    record: Arc<Mutex<CallRecord>>,
}

impl CallHandle {
    /// A handle not registered anywhere (for unit tests of the components).
    pub fn detached(record: CallRecord) -> Self {
        Self {
            record: Arc::new(Mutex::new(record)),
        }
    }

    /// Runs `f` on the record under the lock (never across an await).
    pub fn update<T>(&self, f: impl FnOnce(&mut CallRecord) -> T) -> T {
        f(&mut self.lock())
    }

    /// A copy of the record.
    pub fn snapshot(&self) -> CallRecord {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, CallRecord> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<CallHandle>,
    live: BTreeMap<String, CallControl>,
}

/// Every call played in a scenario: finished and in flight.
#[derive(Debug, Clone, Default)]
pub struct CallRecorder {
    state: Arc<Mutex<State>>,
    idle: Arc<Notify>,
}

/// `wait_idle` gave up.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{in_flight} call(s) still in flight after {waited:?}")]
pub struct WaitIdleTimeout {
    /// Calls still live.
    pub in_flight: usize,
    /// How long it waited.
    pub waited: Duration,
}

impl CallRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a new live call and returns its record handle and command receiver.
    pub fn begin(&self, record: CallRecord) -> (CallHandle, mpsc::UnboundedReceiver<ControlCmd>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sid = record.call_sid.clone();
        let handle = CallHandle::detached(record);
        let mut state = self.lock();
        state.calls.push(handle.clone());
        state.live.insert(sid, CallControl { tx });
        (handle, rx)
    }

    /// Marks a call as no longer live.
    pub fn finish(&self, call_sid: &str) {
        let empty = {
            let mut state = self.lock();
            state.live.remove(call_sid);
            state.live.is_empty()
        };
        if empty {
            self.idle.notify_waiters();
        }
    }

    /// Finished and in-flight calls, sorted by `(started_at_ms, label)`.
    pub fn records(&self) -> Vec<CallRecord> {
        let handles = self.lock().calls.clone();
        let mut records: Vec<CallRecord> = handles.iter().map(CallHandle::snapshot).collect();
        records.sort_by(|a, b| (a.started_at_ms, &a.label).cmp(&(b.started_at_ms, &b.label)));
        records
    }

    /// The record of one call.
    pub fn record(&self, call_sid: &str) -> Option<CallRecord> {
        let handle = self.handle(call_sid)?;
        Some(handle.snapshot())
    }

    /// The live handle of one call's record.
    pub fn handle(&self, call_sid: &str) -> Option<CallHandle> {
        let state = self.lock();
        state
            .calls
            .iter()
            .rev()
            .find(|h| h.update(|r| r.call_sid == call_sid))
            .cloned()
    }

    /// Number of calls still live.
    pub fn in_flight(&self) -> usize {
        self.lock().live.len()
    }

    /// Waits until no call is live, at most `timeout`.
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), WaitIdleTimeout> {
        let wait = async {
            loop {
                let notified = self.idle.notified();
                if self.in_flight() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| WaitIdleTimeout {
                in_flight: self.in_flight(),
                waited: timeout,
            })
    }

    /// The control handle of a live call (used by REST updates).
    pub fn stream_handle(&self, call_sid: &str) -> Option<CallControl> {
        self.lock().live.get(call_sid).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
