//! The CPU time a scenario's thread used, split into user and system time: what `--timings`
//! reports, because system time is where a kernel transport spends its effort.

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeVal;
use serde::Serialize;

/// CPU time of one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuTime {
    /// Time in user mode.
    pub user: Duration,
    /// Time in the kernel on the thread's behalf.
    pub system: Duration,
}

impl CpuTime {
    /// The calling thread's CPU time so far (zero where the OS cannot say).
    pub fn of_this_thread() -> CpuTime {
        match getrusage(UsageWho::RUSAGE_THREAD) {
            Ok(usage) => CpuTime {
                user: duration(usage.user_time()),
                system: duration(usage.system_time()),
            },
            Err(_) => CpuTime::default(),
        }
    }

    /// The time used since `earlier`.
    #[must_use]
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// A `timeval` as a duration (a negative one, which the OS never reports, as zero).
fn duration(tv: TimeVal) -> Duration {
    let secs = u64::try_from(tv.tv_sec()).unwrap_or_default();
    let micros = u64::try_from(tv.tv_usec()).unwrap_or_default();
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_work_shows_up_as_user_time_of_this_thread() {
        let before = CpuTime::of_this_thread();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(std::hint::black_box(x), 1);
        let used = CpuTime::of_this_thread().since(before);
        assert!(used.user > Duration::ZERO, "{used:?}");
    }
}
