//! The simulation clock.
//!
//! All waits and timestamps of the harness go through tokio time, so the same code runs in real
//! time against an external server and in virtual time (a paused current-thread runtime)
//! in-process. Wall-clock-looking fields on the wire (Twilio's `Timestamp`, OpenAI's
//! `expires_at`) are computed from a fixed epoch plus the elapsed tokio time, never from
//! `SystemTime`, so they are identical from run to run.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use tokio::time::Instant;

/// The default virtual epoch: 2026-01-01T00:00:00Z.
pub const DEFAULT_EPOCH_UNIX: i64 = 1_767_225_600;

/// A copyable clock anchored at the scenario start.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    start: Instant,
    epoch_unix: i64,
}

impl SimClock {
    /// A clock that starts now (tokio time) and reports wall-clock fields from `epoch_unix`.
    pub fn new(epoch_unix: i64) -> Self {
        Self {
            start: Instant::now(),
            epoch_unix,
        }
    }

    /// A clock starting now at [`DEFAULT_EPOCH_UNIX`].
    pub fn start_default() -> Self {
        Self::new(DEFAULT_EPOCH_UNIX)
    }

    /// The tokio instant of the scenario start.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Time elapsed since the scenario start.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// Milliseconds since the scenario start; the unit of every transcript time.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Milliseconds from the scenario start to `at`.
    pub fn ms_at(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// Virtual unix seconds: epoch plus elapsed time.
    pub fn unix_now(&self) -> i64 {
        self.epoch_unix
            .saturating_add(i64::try_from(self.elapsed().as_secs()).unwrap_or(i64::MAX))
    }

    /// Virtual now formatted as RFC 2822 (`Sun, 25 Mar 2018 09:53:19 +0000`), Twilio's format.
    pub fn rfc2822_now(&self) -> String {
        format_unix(self.unix_now(), &Rfc2822)
    }

    /// Virtual now formatted as RFC 3339 / ISO 8601.
    pub fn iso8601_now(&self) -> String {
        format_unix(self.unix_now(), &Rfc3339)
    }
}

fn format_unix(secs: i64, format: &(impl time::formatting::Formattable + ?Sized)) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_time_drives_wall_clock_fields() {
        let clock = SimClock::new(1_521_971_599);
        assert_eq!(clock.rfc2822_now(), "Sun, 25 Mar 2018 09:53:19 +0000");
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(clock.elapsed_ms(), 61_000);
        assert_eq!(clock.rfc2822_now(), "Sun, 25 Mar 2018 09:54:20 +0000");
        assert_eq!(clock.iso8601_now(), "2018-03-25T09:54:20Z");
    }
}
