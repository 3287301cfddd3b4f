//! The generator checks itself: how late it sends frames against their due time and how much
//! of its core it uses. When either passes its bound the figures describe callsim, not the
//! server, so a run gives no capacity verdict.

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};
use serde::{Deserialize, Serialize};

/// The bounds past which the generator, not the target, is the bottleneck.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthBounds {
    /// Frame pacing lateness p99, in milliseconds (default 5).
    pub lateness_p99_ms: f64,
    /// Share of one core the generator's thread may use (default 0.85): above it, timers fire
    /// late because the thread has no time left, whatever the target does.
    pub cpu_share: f64,
}

impl Default for HealthBounds {
    fn default() -> Self {
        Self {
            lateness_p99_ms: 5.0,
            cpu_share: 0.85,
        }
    }
}

/// The generator's own figures over a stretch of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorHealth {
    /// Which shard measured them (1 without sharding).
    pub shard: u64,
    /// Frame pacing lateness p99, in milliseconds.
    pub lateness_p99_ms: f64,
    /// Frame pacing lateness max, in milliseconds.
    pub lateness_max_ms: f64,
    /// CPU time of the generator's thread over wall time (1.0 = one core).
    pub cpu_share: f64,
    /// CPU milliseconds per second of active call.
    pub cpu_ms_per_call_second: f64,
    /// Resident memory of the process at the end of the stretch, in KiB (0 where unknown).
    pub rss_kib: u64,
    /// Whether both figures are within their bounds.
    pub healthy: bool,
}

impl GeneratorHealth {
    /// Judges measured figures against `bounds`.
    pub fn judge(
        shard: u64,
        lateness_p99_ms: f64,
        lateness_max_ms: f64,
        cpu: Duration,
        wall: Duration,
        call_seconds: f64,
        bounds: HealthBounds,
    ) -> GeneratorHealth {
        let cpu_share = if wall.is_zero() {
            0.0
        } else {
            cpu.as_secs_f64() / wall.as_secs_f64()
        };
        let cpu_ms_per_call_second = if call_seconds > 0.0 {
            cpu.as_secs_f64() * 1000.0 / call_seconds
        } else {
            0.0
        };
        GeneratorHealth {
            shard,
            lateness_p99_ms,
            lateness_max_ms,
            cpu_share,
            cpu_ms_per_call_second,
            rss_kib: rss_kib(),
            healthy: lateness_p99_ms <= bounds.lateness_p99_ms && cpu_share <= bounds.cpu_share,
        }
    }

    /// The warning a report shows when the generator was the bottleneck.
    pub fn warning(&self, label: &str, bounds: HealthBounds) -> Option<String> {
        if self.healthy {
            return None;
        }
        Some(format!(
            "{label}: the generator (shard {}) was the bottleneck: frame lateness p99 {:.2} ms \
             (bound {} ms), CPU share {:.2} of a core (bound {}); these figures describe \
             callsim, not the server",
            self.shard,
            self.lateness_p99_ms,
            bounds.lateness_p99_ms,
            self.cpu_share,
            bounds.cpu_share
        ))
    }
}

/// CPU time (user plus system) of the calling thread: the generator runs on one thread, so this
/// is its own cost and not the in-process target's.
pub fn thread_cpu() -> Duration {
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(u) => {
            let micros = |tv: nix::sys::time::TimeVal| {
                let s = u64::try_from(tv.tv_sec()).unwrap_or_default();
                let us = u64::try_from(tv.tv_usec()).unwrap_or_default();
                Duration::from_secs(s) + Duration::from_micros(us)
            };
            micros(u.user_time()) + micros(u.system_time())
        }
        Err(_) => Duration::ZERO,
    }
}

/// Resident set size from `/proc/self/statm` (Linux), in KiB; 0 where it cannot be read.
pub fn rss_kib() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_or_busy_generators_are_not_healthy() {
        let bounds = HealthBounds::default();
        let sec = Duration::from_secs(1);
        let ok = GeneratorHealth::judge(1, 1.0, 3.0, sec / 2, sec, 100.0, bounds);
        assert!(ok.healthy && ok.warning("step 1", bounds).is_none());
        assert!((ok.cpu_ms_per_call_second - 5.0).abs() < 1e-9);
        let late = GeneratorHealth::judge(1, 6.0, 9.0, sec / 2, sec, 100.0, bounds);
        assert!(!late.healthy);
        assert!(
            late.warning("step 2", bounds)
                .unwrap()
                .contains("bottleneck")
        );
        let busy = GeneratorHealth::judge(1, 1.0, 2.0, sec, sec, 100.0, bounds);
        assert!(!busy.healthy);
    }
}
