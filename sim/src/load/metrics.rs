//! What callers feel, counted and in HdrHistograms (microseconds, 3 significant digits): one
//! [`Metrics`] per ladder step, per interval row and for the whole run.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Largest value a histogram holds: one hour in microseconds (larger values saturate).
const HIGHEST_US: u64 = 3_600_000_000;

/// The latencies measured, each one histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Voice webhook request → TwiML response.
    Webhook,
    /// Media Streams WebSocket dial → handshake done.
    StreamConnect,
    /// Webhook sent → first non-silent AI audio the caller hears.
    FirstAudio,
    /// End of caller speech → first non-silent audio the caller hears.
    TurnLatency,
    /// Caller starts speaking over AI audio → `clear` received.
    BargeIn,
    /// Server `mark` received → echoed at playout.
    MarkRoundTrip,
    /// Frame pacing lateness: time just before send minus due time (the generator's health).
    FrameLateness,
    /// Echo targets only: frame sent → the same frame back.
    EchoRtt,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 8] = [
        Metric::Webhook,
        Metric::StreamConnect,
        Metric::FirstAudio,
        Metric::TurnLatency,
        Metric::BargeIn,
        Metric::MarkRoundTrip,
        Metric::FrameLateness,
        Metric::EchoRtt,
    ];

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Webhook => "webhook",
            Metric::StreamConnect => "stream_connect",
            Metric::FirstAudio => "first_audio",
            Metric::TurnLatency => "turn_latency",
            Metric::BargeIn => "barge_in",
            Metric::MarkRoundTrip => "mark_round_trip",
            Metric::FrameLateness => "frame_lateness",
            Metric::EchoRtt => "echo_rtt",
        }
    }

    fn index(self) -> usize {
        Metric::ALL.iter().position(|m| *m == self).unwrap_or(0)
    }
}

/// Why a call failed, as the causes name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailCause {
    /// The voice webhook failed (status, content type, TwiML, connection, timeout).
    WebhookError,
    /// The TwiML had no stream, or the WebSocket handshake failed.
    StreamRefused,
    /// The server closed the stream before the caller hung up.
    StreamClosed,
    /// The caller heard no AI audio during the whole call.
    NoAiAudio,
    /// The server broke the Media Streams protocol (a message Twilio rejects).
    AssertionFailed,
}

/// Counters of a stretch of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Calls started.
    pub started: u64,
    /// Calls that ended as planned.
    pub completed: u64,
    /// Calls that failed, by cause.
    pub failed: BTreeMap<FailCause, u64>,
    /// Media frames sent.
    pub frames_sent: u64,
    /// Media frames received (non-silent or not).
    pub frames_received: u64,
    /// Times AI audio resumed less than 200 ms after the caller's playout ran dry (a stutter:
    /// server frames arrived late).
    pub frames_late_from_server: u64,
}

impl Counts {
    /// Failed calls of every cause.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Failed calls in percent of ended calls.
    pub fn failed_pct(&self) -> f64 {
        let ended = self.completed + self.failed_total();
        if ended == 0 {
            0.0
        } else {
            100.0 * self.failed_total() as f64 / ended as f64
        }
    }

    /// Adds another stretch's counts.
    pub fn add(&mut self, other: &Counts) {
        self.started += other.started;
        self.completed += other.completed;
        for (cause, n) in &other.failed {
            *self.failed.entry(*cause).or_default() += n;
        }
        self.frames_sent += other.frames_sent;
        self.frames_received += other.frames_received;
        self.frames_late_from_server += other.frames_late_from_server;
    }
}

/// Counts and one histogram per metric.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// The counters.
    pub counts: Counts,
    hists: Vec<Histogram<u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh histogram with the report's bounds (constants the crate accepts: 1 µs to 1 h at
/// 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant histogram bounds are valid")
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        Self {
            counts: Counts::default(),
            hists: Metric::ALL.iter().map(|_| new_histogram()).collect(),
        }
    }

    /// Records one latency.
    pub fn record(&mut self, metric: Metric, value: Duration) {
        let us = u64::try_from(value.as_micros()).unwrap_or(u64::MAX).max(1);
        self.hists[metric.index()].saturating_record(us);
    }

    /// The histogram of one metric.
    pub fn histogram(&self, metric: Metric) -> &Histogram<u64> {
        &self.hists[metric.index()]
    }

    /// Adds a histogram (merged exactly) into one metric.
    pub fn add_histogram(&mut self, metric: Metric, h: &Histogram<u64>) {
        // Both sides have the same bounds, so adding cannot fail; saturate value by value
        // should a foreign report carry wider ones.
        if self.hists[metric.index()].add(h).is_err() {
            for v in h.iter_recorded() {
                let n = v.count_at_value();
                let value = v.value_iterated_to().min(HIGHEST_US);
                let _ = self.hists[metric.index()].record_n(value, n);
            }
        }
    }

    /// Adds another stretch.
    pub fn add(&mut self, other: &Metrics) {
        self.counts.add(&other.counts);
        for m in Metric::ALL {
            self.add_histogram(m, other.histogram(m));
        }
    }

    /// The summary of one metric in milliseconds.
    pub fn summary(&self, metric: Metric) -> Summary {
        Summary::of(self.histogram(metric))
    }
}

/// Percentiles of one histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Summary {
    /// Summarises `h` (microseconds) in milliseconds.
    pub fn of(h: &Histogram<u64>) -> Summary {
        if h.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_metrics_hold_every_sample_and_every_count() {
        let mut a = Metrics::new();
        let mut b = Metrics::new();
        for ms in 1..=100u64 {
            a.record(Metric::TurnLatency, Duration::from_millis(ms));
            b.record(Metric::TurnLatency, Duration::from_millis(ms + 100));
        }
        a.counts.started = 3;
        b.counts.started = 4;
        *b.counts.failed.entry(FailCause::StreamClosed).or_default() += 1;
        a.add(&b);
        let s = a.summary(Metric::TurnLatency);
        assert_eq!(s.count, 200);
        assert!((s.p50 - 100.0).abs() < 0.2, "{s:?}");
        assert!((s.max - 200.0).abs() < 0.2, "{s:?}");
        assert_eq!(a.counts.started, 7);
        assert_eq!(a.counts.failed_total(), 1);
    }
}
