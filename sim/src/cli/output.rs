//! Human output: one line per scenario, failures spelled out, and a progress bar on terminals.
//!
//! Long values in failure lines are shortened (see [`crate::shorten`]): a value over
//! 200 characters shows its head, its length and its tail, and each failure keeps at most 30
//! lines and 8,000 characters, so a 10 MB prompt costs a few hundred bytes of output. The full
//! values are in the transcripts of the `--json` and `--html` reports.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::report::Outcome;
use crate::scenario::duration::format_duration;
use crate::scenario::expect::AssertionResult;
use crate::shorten::{is_shortened, shorten_line, shorten_lines};
use crate::suite::{ScenarioRun, is_invariant};

/// Follows every line that holds a shortened value: the transcripts in the reports hold the
/// values in full.
pub const FULL_VALUE_POINTER: &str = "(full value in --json/--html report)";
/// Follows an expectation whose literal was shortened: the scenario file holds it in full.
pub const SCENARIO_VALUE_POINTER: &str = "(full value in the scenario file)";

/// True when the `CI` environment variable says this is a CI job (set, and not `false` or `0`).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v != "false" && v != "0")
}

/// A progress bar when both stdout and stderr are terminals outside CI, else nothing (plain
/// lines only). The bar draws on stderr and result lines go to stdout, so a bar is shown only
/// when both reach the same person: with stdout piped, the bar would be noise and its escape
/// sequences could not be told apart from the results.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Creates the progress display for `total` scenarios.
    pub fn new(total: usize, quiet: bool) -> Progress {
        let interactive =
            std::io::stdout().is_terminal() && std::io::stderr().is_terminal() && !in_ci();
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

    /// Prints a line on stdout without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{line}")),
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

/// Releases results in index order: a result waits until every earlier one has been released,
/// so scenarios that finish out of order (`--jobs`) still print in file order, each as soon as
/// everything before it is done.
#[derive(Debug)]
pub struct InOrder<T> {
    next: usize,
    waiting: BTreeMap<usize, T>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> InOrder<T> {
    /// Accepts the result at `index` and returns every result that is now ready, in order.
    pub fn push(&mut self, index: usize, item: T) -> Vec<T> {
        self.waiting.insert(index, item);
        let mut ready = Vec::new();
        while let Some(item) = self.waiting.remove(&self.next) {
            ready.push(item);
            self.next += 1;
        }
        ready
    }
}

/// `text` shortened, each line indented by `indent`; lines with a shortened value point to the
/// reports, and a note says how many lines were left out.
fn bounded_lines(text: &str, indent: &str) -> Vec<String> {
    let short = shorten_lines(text);
    let mut lines: Vec<String> = short
        .lines
        .iter()
        .map(|l| with_pointer(format!("{indent}{l}")))
        .collect();
    lines.extend(short.note().map(|note| format!("{indent}{note}")));
    lines
}

/// `line`, followed by [`FULL_VALUE_POINTER`] when it holds a shortened value.
fn with_pointer(line: String) -> String {
    if is_shortened(&line) {
        format!("{line} {FULL_VALUE_POINTER}")
    } else {
        line
    }
}

/// The lines of one failed assertion: what was expected, then why it failed.
fn failure_lines(a: &AssertionResult) -> Vec<String> {
    // A built-in invariant's message is its whole story: the call, the time and the text.
    if is_invariant(a) {
        return bounded_lines(&format!("✗ {}: {}", a.path, a.message), "      ");
    }
    let mut head = format!(
        "      ✗ {}: expected it {}",
        a.path,
        shorten_line(&a.expected)
    );
    if is_shortened(&head) {
        head = format!("{head} {SCENARIO_VALUE_POINTER}");
    }
    let mut lines = vec![head];
    lines.extend(bounded_lines(&a.message, "        "));
    lines
}

/// The result line of one scenario, followed by its failures (with `quiet`, failures only).
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
    // Quiet output is the failures and the summary: passed and skipped scenarios say nothing.
    if !(quiet && matches!(r.outcome, Outcome::Passed | Outcome::Skipped)) {
        lines.push(format!(
            "{label} {}  ({simulated}wall {:.2}s{rate})",
            r.name,
            run.wall.as_secs_f64()
        ));
    }
    if !(quiet && r.outcome == Outcome::Passed) {
        for warning in &r.warnings {
            lines.extend(bounded_lines(&format!("warning: {warning}"), "      "));
        }
    }
    // A skipped scenario's reason belongs under its own line, which quiet output leaves out.
    if let Some(err) = &r.error
        && !(quiet && r.outcome == Outcome::Skipped)
    {
        lines.extend(bounded_lines(err, "      "));
    }
    if r.outcome == Outcome::Failed {
        lines.extend(cause_lines(run));
    }
    for a in r.assertions.iter().filter(|a| !a.passed) {
        lines.extend(failure_lines(a));
    }
    // A waived invariant is printed with its reason, so a waiver never hides silently.
    if !quiet {
        for a in r.assertions.iter().filter(|a| a.passed && is_invariant(a)) {
            lines.extend(bounded_lines(
                &format!("~ {} ({}): {}", a.path, a.expected, a.message),
                "      ",
            ));
        }
    }
    if r.outcome == Outcome::Failed {
        lines.extend(mixup_lines(run));
    }
    lines
}

/// The root cause of each call that went wrong, first in words, before the assertions that
/// only show its consequences.
fn cause_lines(run: &ScenarioRun) -> Vec<String> {
    run.report
        .causes
        .iter()
        .flat_map(|d| bounded_lines(&format!("cause: {d}"), "      "))
        .collect()
}

/// One line per call that got the other direction's prompt: the seed bug, named plainly.
fn mixup_lines(run: &ScenarioRun) -> Vec<String> {
    let Some(t) = &run.report.transcript else {
        return Vec::new();
    };
    t.calls
        .iter()
        .filter(|c| c.direction_mixup)
        .map(|c| {
            format!(
                "      ! {} call `{}` to tenant `{}` received the {} prompt ({}): the seed's inbound/outbound prompt mix-up",
                c.direction,
                c.name,
                c.tenant,
                if c.direction == "inbound" { "OUTBOUND" } else { "INBOUND" },
                c.prompt_source
            )
        })
        .collect()
}

/// The closing line: `N passed, N failed` (plus `, N skipped` when relevant).
pub fn summary_line(passed: usize, failed: usize, skipped: usize) -> String {
    if skipped > 0 {
        format!("{passed} passed, {failed} failed, {skipped} skipped")
    } else {
        format!("{passed} passed, {failed} failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScenarioReport;

    fn failed_run(assertions: Vec<AssertionResult>, error: Option<String>) -> ScenarioRun {
        ScenarioRun {
            report: ScenarioReport {
                name: "big/prompt".into(),
                file: "big/prompt.yaml".into(),
                title: "t".into(),
                tags: Vec::new(),
                outcome: Outcome::Failed,
                assertions,
                error,
                runs: 1,
                passed_runs: 0,
                transcript: None,
                causes: Vec::new(),
                warnings: Vec::new(),
            },
            plan: None,
            audio: BTreeMap::new(),
            wall: Duration::from_millis(10),
            failure: None,
            cost: crate::suite::RunCost::default(),
        }
    }

    #[test]
    fn a_failed_scenario_prints_its_causes_before_its_assertions() {
        let mut run = failed_run(
            vec![assertion("equals 1".into(), "actual: null".into())],
            None,
        );
        run.report.causes = vec!["call `caller`: HTTP retrieval failure (Twilio 11200)".into()];
        let lines = scenario_lines(&run, true);
        let cause = lines
            .iter()
            .position(|l| l.contains("cause: call `caller`"));
        let assertion = lines
            .iter()
            .position(|l| l.contains("calls.caller.instructions"));
        assert!(cause.is_some() && cause < assertion, "{lines:#?}");
    }

    fn assertion(expected: String, message: String) -> AssertionResult {
        AssertionResult {
            path: "calls.caller.instructions".into(),
            passed: false,
            expected,
            message,
        }
    }

    #[test]
    fn huge_values_are_shortened_and_point_to_the_reports() {
        let prompt = format!(
            "You are the inbound agent of Acme é😀{}Goodbye.",
            "…".repeat(1_000_000)
        );
        let message = format!(
            "at `calls.caller.instructions`: expected it contains \"x\"; actual: {prompt:?}\n\
             differs (- expected, + actual):\n      - {prompt}\n      + {prompt}!\n"
        );
        let run = failed_run(
            vec![assertion(format!("equals {prompt:?}"), message)],
            Some(format!("harness: {prompt}")),
        );
        let lines = scenario_lines(&run, false);
        let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
        assert!(bytes < 10_000, "{bytes} bytes:\n{}", lines.join("\n"));
        let text = lines.join("\n");
        assert!(
            text.contains("\"You are the inbound agent of Acme é😀…"),
            "{text}"
        );
        assert!(text.contains("…[1,000,044 chars]…"), "{text}");
        assert!(text.contains("…[1,000,045 chars]…"), "{text}");
        assert!(
            text.contains("Goodbye.\" (full value in --json/--html report)"),
            "{text}"
        );
        assert!(
            text.contains("Goodbye.! (full value in --json/--html report)"),
            "{text}"
        );
    }

    #[test]
    fn a_failure_keeps_a_bounded_number_of_lines() {
        let message = "at `ai.responses[7].instructions`: wrong\n".repeat(5_000);
        let run = failed_run(vec![assertion("equals \"x\"".into(), message)], None);
        let lines = scenario_lines(&run, false);
        // The result line, the expectation line, then at most 30 message lines.
        assert!(lines.len() <= 32, "{}", lines.len());
        assert!(
            lines
                .last()
                .is_some_and(|l| l.ends_with("more line(s) left out")),
            "{lines:?}"
        );
    }

    #[test]
    fn quiet_hides_passed_scenarios_but_not_failures() {
        let mut run = failed_run(Vec::new(), None);
        assert_eq!(scenario_lines(&run, true).len(), 1);
        run.report.outcome = Outcome::Passed;
        assert!(scenario_lines(&run, true).is_empty());
        assert_eq!(scenario_lines(&run, false).len(), 1);
    }

    #[test]
    fn in_order_releases_the_longest_finished_prefix() {
        let mut order = InOrder::default();
        assert!(order.push(2, "c").is_empty());
        assert!(order.push(1, "b").is_empty());
        assert_eq!(order.push(0, "a"), vec!["a", "b", "c"]);
        assert_eq!(order.push(3, "d"), vec!["d"]);
        assert!(order.push(5, "f").is_empty());
        assert_eq!(order.push(4, "e"), vec!["e", "f"]);
    }
}
