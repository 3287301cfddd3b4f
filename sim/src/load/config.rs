//! What a load test is asked to do: its shape (a fixed number of concurrent calls or a ladder),
//! its bounds, its capacity rule and the generator's health bounds, validated from the command
//! line before any socket opens.

use std::time::Duration;

use super::capacity::CapacityRule;
use super::health::HealthBounds;

/// Most concurrent calls one generator is asked for (each holds a socket and a task).
pub const MAX_CALLS: u64 = 100_000;
/// Most ladder steps.
pub const MAX_STEPS: usize = 64;

/// How many calls are active over time.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Up to `calls` at once; each call slot is refilled while the run's bounds allow.
    Fixed {
        /// Concurrent calls.
        calls: u64,
    },
    /// Step `i` holds `steps[i]` calls for `step`; the first step is the unloaded baseline.
    Ladder {
        /// Concurrent calls of each step.
        steps: Vec<u64>,
        /// How long each step lasts.
        step: Duration,
    },
}

/// One generator's share of a test run by several (`--shard M/N`, M counted from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1-based.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// Parses `M/N` with 1 ≤ M ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (m, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard `{text}`: expected M/N, e.g. 1/4"))?;
        let index: u64 = m
            .trim()
            .parse()
            .map_err(|_| format!("--shard `{text}`: `{m}` is not a number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("--shard `{text}`: `{n}` is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("--shard `{text}`: need 1 ≤ M ≤ N"));
        }
        Ok(Shard { index, count })
    }

    /// This shard's part of `total`: the parts of all shards add up to `total` exactly.
    pub fn share(self, total: u64) -> u64 {
        let lo = total * (self.index - 1) / self.count;
        let hi = total * self.index / self.count;
        hi - lo
    }
}

/// A validated load test.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Concurrency over time.
    pub shape: Shape,
    /// New calls per second, at most.
    pub rate: f64,
    /// How long each call lasts (its timeline repeats); `None`: the scenario call's own length.
    pub hold: Option<Duration>,
    /// Stop starting calls after this long (a fixed shape without it starts each slot once).
    pub duration: Option<Duration>,
    /// Stop starting calls after this many.
    pub max_calls: Option<u64>,
    /// Length of one interval row (CSV, HTML chart).
    pub interval: Duration,
    /// Longest wait for active calls to end once no more are started.
    pub drain: Duration,
    /// When a ladder step meets capacity.
    pub rule: CapacityRule,
    /// When the generator itself is the bottleneck.
    pub health: HealthBounds,
    /// This generator's share, when several drive one test.
    pub shard: Option<Shard>,
    /// Seed of call ids, scenario picks and the mock AI's latency.
    pub seed: u64,
}

impl LoadConfig {
    /// Checks the values that no type rules out.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 100_000.0) {
            return Err(format!(
                "--rate {}: must be above 0 and at most 100000 calls per second",
                self.rate
            ));
        }
        match &self.shape {
            Shape::Fixed { calls } => check_calls(*calls)?,
            Shape::Ladder { steps, step } => {
                if steps.is_empty() || steps.len() > MAX_STEPS {
                    return Err(format!("--ladder: give 1 to {MAX_STEPS} steps"));
                }
                for &s in steps {
                    check_calls(s)?;
                }
                if step.is_zero() {
                    return Err("--step must be longer than 0".into());
                }
            }
        }
        if self.interval < Duration::from_millis(100) {
            return Err("--interval must be at least 100ms".into());
        }
        if self.hold.is_some_and(|h| h < Duration::from_millis(20)) {
            return Err("--hold must be at least 20ms (one frame)".into());
        }
        Ok(())
    }

    /// The concurrency this generator aims for in each step (one step for a fixed shape).
    pub fn step_targets(&self) -> Vec<u64> {
        let all = match &self.shape {
            Shape::Fixed { calls } => vec![*calls],
            Shape::Ladder { steps, .. } => steps.clone(),
        };
        match self.shard {
            Some(shard) => all.into_iter().map(|c| shard.share(c)).collect(),
            None => all,
        }
    }

    /// This generator's rate (its share of `--rate`).
    pub fn shard_rate(&self) -> f64 {
        match self.shard {
            Some(s) => self.rate / s.count as f64,
            None => self.rate,
        }
    }
}

fn check_calls(calls: u64) -> Result<(), String> {
    if calls == 0 || calls > MAX_CALLS {
        return Err(format!(
            "{calls} calls: give between 1 and {MAX_CALLS} concurrent calls"
        ));
    }
    Ok(())
}

/// Parses `--ladder 50,100,200`.
pub fn parse_ladder(text: &str) -> Result<Vec<u64>, String> {
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("--ladder `{text}`: `{s}` is not a whole number of calls"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_shares_add_up_to_the_whole() {
        for total in [1u64, 7, 50, 101, 4000] {
            let sum: u64 = (1..=3)
                .map(|i| Shard { index: i, count: 3 }.share(total))
                .sum();
            assert_eq!(sum, total);
        }
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert!(Shard::parse("0/4").is_err());
        assert!(Shard::parse("5/4").is_err());
        assert!(Shard::parse("x").is_err());
    }

    #[test]
    fn ladders_parse_and_bad_steps_are_named() {
        assert_eq!(parse_ladder("50, 100,200"), Ok(vec![50, 100, 200]));
        let err = parse_ladder("50,lots").unwrap_err();
        assert!(err.contains("lots"), "{err}");
    }
}
