//! The load report: what a run measured, per ladder step, for the whole run and per interval,
//! with every histogram kept whole (HdrHistogram V2, deflated, base64) so that shards merge
//! exactly.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::capacity::{CapacityRule, CapacityVerdict, StepFigures};
use super::health::{GeneratorHealth, HealthBounds};
use super::metrics::{Counts, Metric, Metrics, Summary};

/// The report's format tag.
pub const FORMAT: &str = "callsim-load/1";

/// A whole load run (or several shards merged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadReport {
    /// [`FORMAT`].
    pub format: String,
    /// What was driven.
    pub target: String,
    /// `calls` (scenario calls against a call server) or `calibrate` (an echo target).
    pub mode: String,
    /// `scenario/call` labels played.
    pub scenarios: Vec<String>,
    /// The options the run was given.
    pub config: ConfigEcho,
    /// Ctrl-C ended the run early; the report covers what happened until then.
    pub interrupted: bool,
    /// One entry per ladder step (one for a fixed shape).
    pub steps: Vec<StepReport>,
    /// The whole run.
    pub total: StepReport,
    /// One row per interval and shard.
    pub intervals: Vec<IntervalRow>,
    /// The capacity verdict (ladders only).
    pub capacity: Option<CapacityVerdict>,
    /// What a reader must know before trusting the figures.
    pub warnings: Vec<String>,
}

/// The options a run was given, as the report repeats them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigEcho {
    /// `fixed 200` or `ladder 50,100,200 × 20s`.
    pub shape: String,
    /// New calls per second (all shards together).
    pub rate: f64,
    /// Call length in seconds, if set.
    pub hold_s: Option<f64>,
    /// Interval row length in seconds.
    pub interval_s: f64,
    /// Seed.
    pub seed: u64,
    /// Shards that drove the test.
    pub shards: u64,
    /// The capacity rule.
    pub rule: CapacityRule,
    /// The generator health bounds.
    pub health: HealthBounds,
}

/// One stretch of the run (a ladder step, or the whole run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepReport {
    /// `step 1 (50 calls)`, `total`.
    pub label: String,
    /// Concurrent calls aimed for (all shards together).
    pub target_calls: u64,
    /// Wall seconds (the longest shard's).
    pub duration_s: f64,
    /// Counters.
    pub counts: Counts,
    /// Failed calls in percent of ended calls.
    pub failed_pct: f64,
    /// Percentiles per metric, in milliseconds.
    pub latency_ms: BTreeMap<String, Summary>,
    /// Each metric's histogram, HdrHistogram V2 deflated, base64 (values in microseconds).
    pub histograms: BTreeMap<String, String>,
    /// The generator's health over the step, one entry per shard.
    pub generator: Vec<GeneratorHealth>,
}

/// One row of the interval table (CSV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalRow {
    /// The shard (1 without sharding).
    pub shard: u64,
    /// Seconds since the run started, at the end of the interval.
    pub t_s: f64,
    /// Calls active at the end of the interval.
    pub active: u64,
    /// Counters of the interval.
    pub counts: Counts,
    /// p50 turn latency (ms).
    pub turn_p50_ms: f64,
    /// p95 turn latency (ms).
    pub turn_p95_ms: f64,
    /// p95 webhook response time (ms).
    pub webhook_p95_ms: f64,
    /// p99 frame pacing lateness (ms).
    pub lateness_p99_ms: f64,
}

impl IntervalRow {
    /// A row from an interval's metrics.
    pub fn new(shard: u64, t_s: f64, active: u64, m: &Metrics) -> IntervalRow {
        IntervalRow {
            shard,
            t_s,
            active,
            counts: m.counts.clone(),
            turn_p50_ms: m.summary(Metric::TurnLatency).p50,
            turn_p95_ms: m.summary(Metric::TurnLatency).p95,
            webhook_p95_ms: m.summary(Metric::Webhook).p95,
            lateness_p99_ms: m.summary(Metric::FrameLateness).p99,
        }
    }
}

/// Why a report cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A histogram is not base64 of a V2 histogram.
    #[error("histogram `{metric}` of `{step}` cannot be read: {reason}")]
    Histogram {
        /// The step's label.
        step: String,
        /// The metric.
        metric: String,
        /// What is wrong.
        reason: String,
    },
}

impl StepReport {
    /// Summarises `m`.
    pub fn new(
        label: String,
        target_calls: u64,
        duration_s: f64,
        m: &Metrics,
        generator: Vec<GeneratorHealth>,
    ) -> StepReport {
        let mut latency_ms = BTreeMap::new();
        let mut histograms = BTreeMap::new();
        for metric in Metric::ALL {
            let h = m.histogram(metric);
            if h.is_empty() {
                continue;
            }
            latency_ms.insert(metric.name().to_owned(), m.summary(metric));
            histograms.insert(metric.name().to_owned(), encode(h));
        }
        StepReport {
            label,
            target_calls,
            duration_s,
            counts: m.counts.clone(),
            failed_pct: m.counts.failed_pct(),
            latency_ms,
            histograms,
            generator,
        }
    }

    /// The metrics back from the report (histograms decoded exactly).
    pub fn metrics(&self) -> Result<Metrics, ReportError> {
        let mut m = Metrics::new();
        m.counts = self.counts.clone();
        for metric in Metric::ALL {
            if let Some(text) = self.histograms.get(metric.name()) {
                let h = decode(text).map_err(|reason| ReportError::Histogram {
                    step: self.label.clone(),
                    metric: metric.name().to_owned(),
                    reason,
                })?;
                m.add_histogram(metric, &h);
            }
        }
        Ok(m)
    }

    /// The figures the capacity rule judges.
    pub fn figures(&self) -> StepFigures {
        StepFigures {
            calls: self.target_calls,
            failed_pct: self.failed_pct,
            p95_turn_ms: self
                .latency_ms
                .get(Metric::TurnLatency.name())
                .map(|s| s.p95),
        }
    }
}

/// A histogram as base64 of its deflated V2 encoding.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serialising into a Vec cannot fail for a histogram with in-range counts.
    let _ = V2DeflateSerializer::new().serialize(h, &mut bytes);
    B64.encode(bytes)
}

/// The inverse of [`encode`].
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = B64.decode(text).map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 encoding: {e:?}"))
}

impl LoadReport {
    /// Judges the steps against the rule, withholding the verdict if any shard's generator was
    /// the bottleneck in any step; a fixed shape gets no verdict.
    pub fn judge(&mut self, ladder: bool) {
        let mut warnings: Vec<String> = Vec::new();
        for step in &self.steps {
            for g in &step.generator {
                if let Some(w) = g.warning(&step.label, self.config.health) {
                    warnings.push(w);
                }
            }
        }
        let withheld = (!warnings.is_empty()).then(|| {
            "the generator was the bottleneck in at least one step (see warnings)".to_owned()
        });
        for w in warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
        if self.interrupted {
            self.warnings
                .push("interrupted: the report covers the run until Ctrl-C".into());
        }
        self.capacity = ladder.then(|| {
            let figures: Vec<StepFigures> = self.steps.iter().map(StepReport::figures).collect();
            self.config.rule.judge(&figures, withheld)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_the_round_trip_exactly() {
        let mut h = super::super::metrics::new_histogram();
        for v in [1u64, 5, 900, 123_456, 3_000_000] {
            h.record(v).unwrap();
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        assert!(decode("not base64!").is_err());
        assert!(decode("AAAA").is_err());
    }
}
