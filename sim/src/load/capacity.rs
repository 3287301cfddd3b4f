//! The capacity rule: which ladder steps a caller would not notice, judged against the
//! unloaded baseline (the first step).

use serde::{Deserialize, Serialize};

/// A step meets capacity when fewer than `max_failed_pct` of its calls failed and its p95 turn
/// latency is at most `max_p95_ratio` times the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityRule {
    /// Failed calls, in percent of ended calls (default 0.5).
    pub max_failed_pct: f64,
    /// p95 turn latency over the baseline's (default 1.25).
    pub max_p95_ratio: f64,
}

impl Default for CapacityRule {
    fn default() -> Self {
        Self {
            max_failed_pct: 0.5,
            max_p95_ratio: 1.25,
        }
    }
}

/// What the rule needs of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepFigures {
    /// Concurrent calls the step aimed for.
    pub calls: u64,
    /// Failed calls in percent of ended calls.
    pub failed_pct: f64,
    /// p95 turn latency in milliseconds (`None`: no turn was measured).
    pub p95_turn_ms: Option<f64>,
}

/// The verdict over a ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityVerdict {
    /// The rule applied.
    pub rule: CapacityRule,
    /// The baseline's p95 turn latency in milliseconds.
    pub baseline_p95_turn_ms: Option<f64>,
    /// Per step: whether it met the rule, and why not.
    pub steps: Vec<StepJudgement>,
    /// The largest step, counting up from the baseline, before the first that fails the rule
    /// (`None`: even the baseline fails, or the generator was the bottleneck).
    pub capacity_calls: Option<u64>,
    /// Why there is no verdict, when there is none.
    pub withheld: Option<String>,
}

/// One step's judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepJudgement {
    /// Concurrent calls.
    pub calls: u64,
    /// Met the rule.
    pub meets: bool,
    /// Why it did not.
    pub reason: Option<String>,
}

impl CapacityRule {
    /// Judges `steps` (the first is the baseline); `withheld` names why no verdict may be given
    /// (the generator was the bottleneck), and the steps are still judged for the record.
    pub fn judge(&self, steps: &[StepFigures], withheld: Option<String>) -> CapacityVerdict {
        let baseline = steps.first().and_then(|s| s.p95_turn_ms);
        let judgements: Vec<StepJudgement> =
            steps.iter().map(|s| self.judge_step(s, baseline)).collect();
        let capacity_calls = if withheld.is_some() {
            None
        } else {
            judgements
                .iter()
                .take_while(|j| j.meets)
                .last()
                .map(|j| j.calls)
        };
        CapacityVerdict {
            rule: *self,
            baseline_p95_turn_ms: baseline,
            steps: judgements,
            capacity_calls,
            withheld,
        }
    }

    fn judge_step(&self, s: &StepFigures, baseline: Option<f64>) -> StepJudgement {
        let mut reasons = Vec::new();
        if s.failed_pct >= self.max_failed_pct {
            reasons.push(format!(
                "{:.2} % of calls failed (rule: < {} %)",
                s.failed_pct, self.max_failed_pct
            ));
        }
        match (s.p95_turn_ms, baseline) {
            (Some(p95), Some(base)) if p95 > base * self.max_p95_ratio => reasons.push(format!(
                "p95 turn latency {p95:.0} ms > {} × baseline {base:.0} ms",
                self.max_p95_ratio
            )),
            (None, _) | (_, None) => reasons.push("no turn latency was measured".into()),
            _ => {}
        }
        StepJudgement {
            calls: s.calls,
            meets: reasons.is_empty(),
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(calls: u64, failed_pct: f64, p95: f64) -> StepFigures {
        StepFigures {
            calls,
            failed_pct,
            p95_turn_ms: Some(p95),
        }
    }

    #[test]
    fn capacity_is_the_last_step_before_the_first_that_breaks_the_rule() {
        let rule = CapacityRule::default();
        let steps = [
            step(10, 0.0, 900.0),
            step(100, 0.2, 1000.0),
            step(200, 0.0, 1200.0),
            step(400, 0.0, 1000.0),
        ];
        let v = rule.judge(&steps, None);
        assert_eq!(v.capacity_calls, Some(100));
        assert!(!v.steps[2].meets);
        assert!(v.steps[2].reason.as_deref().unwrap().contains("baseline"));
        let failing = [step(10, 0.0, 900.0), step(100, 0.5, 900.0)];
        assert_eq!(rule.judge(&failing, None).capacity_calls, Some(10));
    }

    #[test]
    fn an_unhealthy_generator_withholds_the_verdict() {
        let rule = CapacityRule::default();
        let v = rule.judge(&[step(10, 0.0, 900.0)], Some("generator-bound".into()));
        assert_eq!(v.capacity_calls, None);
        assert!(v.steps[0].meets);
    }
}
