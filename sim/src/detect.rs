//! Measured detection power: the bundled pack against the reference server once per injected
//! historical regression. A bug is killed when some scenario fails with it switched on; the
//! first failure line says how it showed.
//!
//! `callsim detect --certify PROFILE` measures a certification pack the same way: a bug is
//! killed when the server with it on is not certified.
//!
//! Scenarios run until the first one fails (a kill needs one), the `history/` pack first because
//! each of its scenarios is written against one regression, and the long scenarios last.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::certify::{Pack, certify};
use crate::report::Outcome;
use crate::run::{Profile, ReferenceBug, Target};
use crate::suite::{RunOptions, ScenarioFile, is_invariant, run_file};

/// What happened to one injected bug.
#[derive(Debug, Clone, Serialize)]
pub struct BugResult {
    /// The bug's name.
    pub bug: String,
    /// The history row it reproduces.
    pub history: String,
    /// Whether a scenario failed with it on.
    pub killed: bool,
    /// The scenario that failed first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub killed_by: Option<String>,
    /// Its first failure line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
    /// How many scenarios ran.
    pub scenarios_run: usize,
    /// Scenarios that could not run (input or harness errors) with the bug on.
    pub errors: Vec<String>,
    /// Wall time spent on this bug, in ms.
    pub wall_ms: u64,
}

/// The whole measurement.
#[derive(Debug, Clone, Serialize)]
pub struct DetectionReport {
    /// One entry per bug.
    pub bugs: Vec<BugResult>,
    /// Bugs killed.
    pub killed: usize,
    /// Bugs injected.
    pub total: usize,
}

impl DetectionReport {
    /// Killed bugs as a percentage.
    pub fn kill_rate(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        100.0 * self.killed as f64 / self.total as f64
    }
}

/// The order scenarios run in for a bug: the history pack first, long scenarios last.
pub fn detection_order(mut files: Vec<ScenarioFile>) -> Vec<ScenarioFile> {
    files.sort_by_key(|f| {
        let rank = if f.name.starts_with("history/") {
            0
        } else if f.name.starts_with("long/") {
            2
        } else {
            1
        };
        (rank, f.name.clone())
    });
    files
}

/// The reference server (`fixed`) with one bug switched on.
fn with_bug(bug: &ReferenceBug, wall_limit: Duration) -> RunOptions {
    RunOptions {
        capture: crate::capture::Capture::off(),
        target: Target::InProcess {
            profile: Profile::Fixed,
            validate_signatures: true,
            bugs: vec![bug.name.to_string()],
            transport: crate::run::Transport::default(),
            ai_dialect: None,
        },
        seed: None,
        wall_limit,
    }
}

/// Certifies the reference server (`fixed`) with `bug` on against `pack`: the bug is killed when
/// the server is not certified, and the first failed mandatory requirement says how.
pub fn detect_one_by_certification(
    bug: &ReferenceBug,
    pack: &Pack,
    wall_limit: Duration,
) -> BugResult {
    let started = Instant::now();
    let (result, runs) = certify(pack, &with_bug(bug, wall_limit), |_, _| {});
    let failed = result
        .requirements
        .iter()
        .zip(&runs)
        .find(|(r, _)| result.failed_requirements.contains(&r.id));
    BugResult {
        bug: bug.name.to_string(),
        history: bug.history.to_string(),
        killed: !result.certified,
        killed_by: failed.map(|(r, _)| r.id.clone()),
        first_failure: failed
            .and_then(|(r, run)| first_failure(&run.report).or_else(|| r.error.clone())),
        scenarios_run: runs.len(),
        errors: runs
            .iter()
            .filter(|r| r.report.outcome == Outcome::Error)
            .map(|r| {
                format!(
                    "{}: {}",
                    r.report.name,
                    r.report.error.clone().unwrap_or_default()
                )
            })
            .collect(),
        wall_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Runs `files` against the reference server (`fixed`) with `bug` on, until one fails.
pub fn detect_one(
    bug: &ReferenceBug,
    files: &[ScenarioFile],
    wall_limit: Duration,
    each: &mut dyn FnMut(&ScenarioFile),
) -> BugResult {
    let started = Instant::now();
    let opts = with_bug(bug, wall_limit);
    let mut result = BugResult {
        bug: bug.name.to_string(),
        history: bug.history.to_string(),
        killed: false,
        killed_by: None,
        first_failure: None,
        scenarios_run: 0,
        errors: Vec::new(),
        wall_ms: 0,
    };
    for file in files {
        each(file);
        let run = run_file(file, &opts);
        result.scenarios_run += 1;
        match run.report.outcome {
            Outcome::Failed => {
                result.killed = true;
                result.killed_by = Some(file.name.clone());
                result.first_failure = first_failure(&run.report);
                break;
            }
            Outcome::Error => result.errors.push(format!(
                "{}: {}",
                file.name,
                run.report.error.unwrap_or_default()
            )),
            Outcome::Passed | Outcome::Skipped => {}
        }
    }
    result.wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    result
}

/// The line that says how a bug showed: a failed built-in invariant if there is one (it names
/// the call, the time and the text), else the first failed assertion.
fn first_failure(report: &crate::report::ScenarioReport) -> Option<String> {
    let failed: Vec<_> = report.assertions.iter().filter(|a| !a.passed).collect();
    failed
        .iter()
        .find(|a| is_invariant(a))
        .map(|a| format!("{}: {}", a.path, a.message))
        .or_else(|| {
            failed.first().map(|a| {
                let detail = a.message.lines().next().unwrap_or_default();
                // A wildcard's message already says, per value, what was expected.
                if detail.starts_with("at `") {
                    format!("{}: {detail}", a.path)
                } else {
                    format!("{}: expected it {}; {detail}", a.path, a.expected)
                }
            })
        })
        .map(|line| crate::shorten::shorten_message(&line))
}
