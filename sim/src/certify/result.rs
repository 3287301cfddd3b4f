//! The machine-readable certification result: every requirement's outcome with its evidence,
//! what the target declared, and a SHA-256 over the pack and the results.

use serde::{Deserialize, Serialize};

use crate::report::{Outcome, RunReport};
use crate::scenario::expect::{AssertionResult, actual_value};
use crate::shorten::shorten;
use crate::suite::ScenarioRun;

/// One requirement's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequirementResult {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Mandatory or not.
    pub mandatory: bool,
    /// Scenario file.
    pub scenario: String,
    /// Outcome (`skipped` when the target lacks what the requirement needs).
    pub outcome: Outcome,
    /// Why the requirement was not checked (`outbound not supported: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
    /// Every assertion with its result and the actual value: the evidence.
    pub evidence: Vec<Evidence>,
    /// Harness error, if the scenario could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Longest actual value kept in the evidence, as JSON text; a longer one is shortened to its
/// head, length and tail.
const MAX_ACTUAL_CHARS: usize = 4096;

/// One assertion of a requirement: what was expected, whether it held, and what the transcript
/// actually held at its path (absent for a built-in invariant's finding, whose message says it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// The assertion and its result.
    #[serde(flatten)]
    pub assertion: AssertionResult,
    /// The value the path selected (an object of path → value when it selected several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<serde_json::Value>,
}

impl Evidence {
    /// The evidence of `assertion` in `transcript` (the transcript as JSON).
    fn of(assertion: &AssertionResult, transcript: &serde_json::Value) -> Evidence {
        let actual = actual_value(&assertion.path, transcript).map(|v| {
            let text = v.to_string();
            if text.len() > MAX_ACTUAL_CHARS {
                serde_json::Value::String(shorten(&text, MAX_ACTUAL_CHARS).into_owned())
            } else {
                v
            }
        });
        Evidence {
            assertion: assertion.clone(),
            actual,
        }
    }
}

/// What the target declared, as the result reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeclaredSummary {
    /// Places outbound calls.
    pub outbound: bool,
    /// Puts a caller's notes into that caller's prompt.
    pub caller_context: bool,
    /// Has the fixture API.
    pub fixtures: bool,
    /// Promised prompt freshness after an edit, in ms.
    pub prompt_freshness_ms: u64,
    /// Promised bound on opening the AI session after the stream starts, in ms.
    pub session_open_within_ms: u64,
}

impl From<crate::run::Declarations> for DeclaredSummary {
    fn from(d: crate::run::Declarations) -> DeclaredSummary {
        DeclaredSummary {
            outbound: d.outbound,
            caller_context: d.caller_context,
            fixtures: d.fixtures,
            prompt_freshness_ms: d.prompt_freshness_ms(),
            session_open_within_ms: d.session_open_within_ms(),
        }
    }
}

/// The certification result document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CertificationResult {
    /// `twilio-media-streams-realtime/v2`.
    pub profile_id: String,
    /// Profile version.
    pub profile_version: u32,
    /// Profile title.
    pub profile_title: String,
    /// callsim version.
    pub callsim_version: String,
    /// What was certified.
    pub target: String,
    /// What the target declared about itself.
    pub declared: DeclaredSummary,
    /// True when every mandatory requirement that could be checked passed.
    pub certified: bool,
    /// Ids of failed mandatory requirements.
    pub failed_requirements: Vec<String>,
    /// Ids of requirements not checked, each with the reason.
    #[serde(default)]
    pub not_checked: Vec<String>,
    /// Per requirement.
    pub requirements: Vec<RequirementResult>,
    /// SHA-256 over the pack.
    pub pack_sha256: String,
    /// SHA-256 over the pack hash and the serialized requirement results.
    pub results_sha256: String,
}

/// The runs as a run report (for the JUnit and HTML outputs).
pub fn as_run_report(result: &CertificationResult, runs: &[ScenarioRun]) -> RunReport {
    RunReport {
        callsim_version: result.callsim_version.clone(),
        target: result.target.clone(),
        scenarios: runs.iter().map(|r| r.report.clone()).collect(),
    }
}

impl RequirementResult {
    /// The result of a requirement whose scenario ran.
    pub(super) fn ran(req: &super::Requirement, run: &ScenarioRun) -> RequirementResult {
        RequirementResult {
            id: req.id.clone(),
            title: req.title.clone(),
            mandatory: req.mandatory,
            scenario: req.scenario.clone(),
            outcome: run.report.outcome,
            not_checked: None,
            evidence: {
                let transcript = run
                    .report
                    .transcript
                    .as_ref()
                    .and_then(|t| serde_json::to_value(t).ok())
                    .unwrap_or_default();
                run.report
                    .assertions
                    .iter()
                    .map(|a| Evidence::of(a, &transcript))
                    .collect()
            },
            error: run.report.error.clone(),
        }
    }

    /// The result of a requirement the target lacks a capability for.
    pub(super) fn not_checked(req: &super::Requirement, why: &str) -> RequirementResult {
        RequirementResult {
            id: req.id.clone(),
            title: req.title.clone(),
            mandatory: req.mandatory,
            scenario: req.scenario.clone(),
            outcome: Outcome::Skipped,
            not_checked: Some(why.to_string()),
            evidence: Vec::new(),
            error: None,
        }
    }
}
