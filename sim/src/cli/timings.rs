//! `callsim run --timings`: what each scenario cost, to measure the harness itself: simulated
//! time, wall time, their ratio, caller frames per wall second and the CPU split.

use std::time::Duration;

use crate::scenario::duration::format_duration;
use crate::suite::ScenarioRun;

/// One line per scenario and a total, aligned.
pub(super) fn timings_lines(runs: &[ScenarioRun], transport: &str) -> Vec<String> {
    let width = runs
        .iter()
        .map(|r| r.report.name.len())
        .max()
        .unwrap_or(0)
        .max("total".len());
    let mut lines = vec![format!(
        "timings ({transport} transport): simulated, wall, simulated/wall, caller frames per wall second, CPU user/system"
    )];
    let mut total = Totals::default();
    for run in runs {
        let simulated = run.report.transcript.as_ref().map_or(0, |t| t.simulated_ms);
        let row = Totals {
            simulated_ms: simulated,
            wall: run.wall,
            frames: run.cost.caller_frames,
            user: run.cost.cpu.user,
            system: run.cost.cpu.system,
        };
        lines.push(row.line(&run.report.name, width));
        total.add(&row);
    }
    if runs.len() > 1 {
        lines.push(total.line("total", width));
    }
    lines
}

/// The figures of one scenario or of all of them.
#[derive(Debug, Default)]
struct Totals {
    simulated_ms: u64,
    wall: Duration,
    frames: u64,
    user: Duration,
    system: Duration,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.simulated_ms += other.simulated_ms;
        self.wall += other.wall;
        self.frames += other.frames;
        self.user += other.user;
        self.system += other.system;
    }

    fn line(&self, name: &str, width: usize) -> String {
        let wall = self.wall.as_secs_f64();
        let (ratio, rate) = if wall > 0.0 {
            (
                self.simulated_ms as f64 / 1000.0 / wall,
                self.frames as f64 / wall,
            )
        } else {
            (0.0, 0.0)
        };
        format!(
            "  {name:<width$}  {:>12}  wall {:>7.3}s  {:>8.0}x  {:>9.0} frames/s  cpu {:.3}s user / {:.3}s sys",
            format_duration(Duration::from_millis(self.simulated_ms)),
            wall,
            ratio,
            rate,
            self.user.as_secs_f64(),
            self.system.as_secs_f64(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_the_ratio_the_frame_rate_and_the_cpu_split() {
        let row = Totals {
            simulated_ms: 7_200_000,
            wall: Duration::from_secs(2),
            frames: 360_000,
            user: Duration::from_millis(1_500),
            system: Duration::from_millis(250),
        };
        let line = row.line("long/two-hour-call", 20);
        assert!(line.contains("2h"), "{line}");
        assert!(line.contains("wall   2.000s"), "{line}");
        assert!(line.contains("3600x"), "{line}");
        assert!(line.contains("180000 frames/s"), "{line}");
        assert!(line.contains("cpu 1.500s user / 0.250s sys"), "{line}");
        let idle = Totals::default().line("x", 1);
        assert!(idle.contains("0x"), "{idle}");
    }
}
