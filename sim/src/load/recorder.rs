//! The live sink every call records into: the current ladder step's metrics and the current
//! interval row's, behind one lock (the generator runs on one thread, so it is never contended).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::metrics::{Counts, Metric, Metrics};

#[derive(Debug, Default)]
struct Live {
    step: Metrics,
    interval: Metrics,
}

/// Shared by every call of a run.
#[derive(Debug, Default)]
pub struct Recorder {
    live: Mutex<Live>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        // A panicking call leaves plain counters behind, which stay meaningful.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one latency.
    pub fn record(&self, metric: Metric, value: Duration) {
        let mut live = self.lock();
        live.step.record(metric, value);
        live.interval.record(metric, value);
    }

    /// Changes counters.
    pub fn count(&self, f: impl Fn(&mut Counts)) {
        let mut live = self.lock();
        f(&mut live.step.counts);
        f(&mut live.interval.counts);
    }

    /// One frame sent `late` after its due time.
    pub fn frame_sent(&self, late: Duration) {
        let mut guard = self.lock();
        let live = &mut *guard;
        for m in [&mut live.step, &mut live.interval] {
            m.record(Metric::FrameLateness, late);
            m.counts.frames_sent += 1;
        }
    }

    /// Hands over the current interval's metrics and starts a new interval.
    pub fn take_interval(&self) -> Metrics {
        std::mem::take(&mut self.lock().interval)
    }

    /// Hands over the current step's metrics and starts a new step.
    pub fn take_step(&self) -> Metrics {
        std::mem::take(&mut self.lock().step)
    }
}
