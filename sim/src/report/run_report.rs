//! The machine-readable result of a run: one [`ScenarioReport`] per scenario with its full
//! transcript. Shards' reports merge with [`RunReport::merge`].

use serde::{Deserialize, Serialize};

use crate::scenario::expect::AssertionResult;
use crate::transcript::Transcript;

/// The outcome of one scenario.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every assertion held.
    Passed,
    /// An assertion failed.
    Failed,
    /// The harness or the input failed.
    Error,
    /// Not run.
    Skipped,
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioReport {
    /// Name.
    pub name: String,
    /// File.
    pub file: String,
    /// Title.
    pub title: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Outcome (of the last repeat).
    pub outcome: Outcome,
    /// Assertions.
    pub assertions: Vec<AssertionResult>,
    /// Harness error, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Repeats run and how many passed.
    pub runs: u32,
    /// Passed runs.
    pub passed_runs: u32,
    /// The transcript of the last run, when the scenario ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Transcript>,
    /// The root cause of each call that went wrong, in words and with Twilio's error code
    /// (`transcript::diagnosis`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
    /// What went wrong without failing the scenario, as Twilio would log it (a status callback
    /// answered with a non-2xx status).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    /// callsim version.
    pub callsim_version: String,
    /// What was driven.
    pub target: String,
    /// Scenarios in name order.
    pub scenarios: Vec<ScenarioReport>,
}

impl RunReport {
    /// Counts of (passed, failed, errors, skipped).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |o: Outcome| self.scenarios.iter().filter(|s| s.outcome == o).count();
        (
            n(Outcome::Passed),
            n(Outcome::Failed),
            n(Outcome::Error),
            n(Outcome::Skipped),
        )
    }

    /// Merges shard reports: scenarios are combined and sorted by name; a scenario present in
    /// two shards is an error because partitions must not overlap.
    pub fn merge(reports: Vec<RunReport>) -> Result<RunReport, String> {
        let mut iter = reports.into_iter();
        let Some(mut merged) = iter.next() else {
            return Err("no reports to merge".into());
        };
        for report in iter {
            if report.target != merged.target {
                return Err(format!(
                    "reports were made against different targets: `{}` and `{}`",
                    merged.target, report.target
                ));
            }
            for s in report.scenarios {
                if merged.scenarios.iter().any(|m| m.name == s.name) {
                    return Err(format!(
                        "scenario `{}` appears in more than one report",
                        s.name
                    ));
                }
                merged.scenarios.push(s);
            }
        }
        merged.scenarios.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(merged)
    }
}
