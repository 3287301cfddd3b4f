//! Human output: one line per scenario, failures spelled out, and a progress bar on terminals.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::report::Outcome;
use crate::scenario::duration::format_duration;
use crate::scenario::suite::ScenarioRun;

/// A progress bar when stderr is a terminal outside CI, else nothing (plain lines only).
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Creates the progress display for `total` scenarios.
    pub fn new(total: usize, quiet: bool) -> Progress {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = (interactive && !quiet).then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    /// Prints a line without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    /// Shows which scenario runs now.
    pub fn start(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(name.to_string());
        }
    }

    /// Counts one finished scenario.
    pub fn finish_one(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Removes the bar.
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The result line of one scenario, followed by its failures.
pub fn scenario_lines(run: &ScenarioRun, quiet: bool) -> Vec<String> {
    let r = &run.report;
    let label = match r.outcome {
        Outcome::Passed => "PASS ",
        Outcome::Failed => "FAIL ",
        Outcome::Error => "ERROR",
        Outcome::Skipped => "SKIP ",
    };
    let simulated = r
        .transcript
        .as_ref()
        .map(|t| {
            format!(
                "simulated {}, ",
                format_duration(Duration::from_millis(t.simulated_ms))
            )
        })
        .unwrap_or_default();
    let rate = if r.runs > 1 {
        format!(", passed {}/{} runs", r.passed_runs, r.runs)
    } else {
        String::new()
    };
    let mut lines = Vec::new();
    if !(quiet && r.outcome == Outcome::Passed) {
        lines.push(format!(
            "{label} {}  ({simulated}wall {:.2}s{rate})",
            r.name,
            run.wall.as_secs_f64()
        ));
    }
    if let Some(err) = &r.error {
        for l in err.lines() {
            lines.push(format!("      {l}"));
        }
    }
    for a in r.assertions.iter().filter(|a| !a.passed) {
        lines.push(format!("      ✗ {}: expected it {}", a.path, a.expected));
        for l in a.message.lines() {
            lines.push(format!("        {l}"));
        }
    }
    if let Some(t) = &r.transcript
        && r.outcome == Outcome::Failed
    {
        {
            for c in t.calls.iter().filter(|c| c.direction_mixup) {
                lines.push(format!(
                    "      ! {} call `{}` to tenant `{}` received the {} prompt ({}): the seed's inbound/outbound prompt mix-up",
                    c.direction,
                    c.name,
                    c.tenant,
                    if c.direction == "inbound" { "OUTBOUND" } else { "INBOUND" },
                    c.prompt_source
                ));
            }
        }
    }
    lines
}

/// The closing line: `N passed, N failed` (plus `, N skipped` when relevant).
pub fn summary_line(passed: usize, failed: usize, skipped: usize) -> String {
    if skipped > 0 {
        format!("{passed} passed, {failed} failed, {skipped} skipped")
    } else {
        format!("{passed} passed, {failed} failed")
    }
}
