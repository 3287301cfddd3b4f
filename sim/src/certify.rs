//! Certification: a versioned, read-only pack of scenarios a call server must pass to claim
//! compatibility (`callsim certify`), and the machine-readable result with a SHA-256 over the
//! pack and the results.
//!
//! The pack is embedded in the binary, so a vendor runs exactly the scenarios this version of
//! callsim was released with; `scenarios/certification/v1/` is their source.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::report::{Outcome, RunReport};
use crate::scenario::expect::AssertionResult;
use crate::scenario::load::parse_str;
use crate::scenario::validate::build_plan;
use crate::suite::{RunOptions, ScenarioFile, ScenarioRun, error_run, is_invariant, run_loaded};

/// File name of a pack's manifest.
pub const MANIFEST_FILE: &str = "profile.yaml";
/// The default certification profile.
pub const DEFAULT_PROFILE_ID: &str = "twilio-media-streams-realtime/v1";

macro_rules! pack_file {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../scenarios/certification/v1/", $name)),
        )
    };
}

/// The files of profile v1, manifest first.
const V1: &[(&str, &str)] = &[
    pack_file!("profile.yaml"),
    pack_file!("signatures-webhook.yaml"),
    pack_file!("signatures-stream.yaml"),
    pack_file!("twiml-connect-stream.yaml"),
    pack_file!("realtime-ga-session.yaml"),
    pack_file!("prompt-direction.yaml"),
    pack_file!("prompt-no-fallback.yaml"),
    pack_file!("barge-in.yaml"),
    pack_file!("session-expiry.yaml"),
    pack_file!("cleanup.yaml"),
    pack_file!("benign-errors.yaml"),
    pack_file!("outbound-direction.yaml"),
];

/// The manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Profile id without the version.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Title.
    pub title: String,
    /// Requirements in order.
    pub requirements: Vec<Requirement>,
}

/// One requirement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id, e.g. `prompt.direction`.
    pub id: String,
    /// What it demands.
    pub title: String,
    /// Whether certification needs it.
    pub mandatory: bool,
    /// The scenario file in the pack.
    pub scenario: String,
}

/// A loaded pack.
#[derive(Debug, Clone)]
pub struct Pack {
    /// `id/vN`.
    pub profile_id: String,
    /// The manifest.
    pub manifest: Manifest,
    /// (file name, text) of every file.
    pub files: Vec<(String, String)>,
}

impl Pack {
    /// The bundled pack for a profile id (`twilio-media-streams-realtime/v1`).
    pub fn bundled(profile_id: &str) -> Result<Pack, String> {
        if profile_id != DEFAULT_PROFILE_ID {
            return Err(format!(
                "unknown certification profile `{profile_id}` (this callsim bundles `{DEFAULT_PROFILE_ID}`)"
            ));
        }
        let files: Vec<(String, String)> = V1
            .iter()
            .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
            .collect();
        let manifest: Manifest = serde_norway::from_str(&files[0].1)
            .map_err(|e| format!("bundled manifest is invalid (a callsim bug): {e}"))?;
        for r in &manifest.requirements {
            if !files.iter().any(|(n, _)| *n == r.scenario) {
                return Err(format!(
                    "requirement `{}` names a missing scenario `{}`",
                    r.id, r.scenario
                ));
            }
        }
        Ok(Pack {
            profile_id: profile_id.to_string(),
            manifest,
            files,
        })
    }

    /// SHA-256 over every file name and text, in pack order.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for (name, text) in &self.files {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
            h.update([0]);
        }
        hex(&h.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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
    /// Outcome.
    pub outcome: Outcome,
    /// Every assertion with its result: the evidence.
    pub evidence: Vec<AssertionResult>,
    /// Harness error, if the scenario could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The certification result document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CertificationResult {
    /// `twilio-media-streams-realtime/v1`.
    pub profile_id: String,
    /// Profile version.
    pub profile_version: u32,
    /// Profile title.
    pub profile_title: String,
    /// callsim version.
    pub callsim_version: String,
    /// What was certified.
    pub target: String,
    /// True when every mandatory requirement passed.
    pub certified: bool,
    /// Ids of failed mandatory requirements.
    pub failed_requirements: Vec<String>,
    /// Per requirement.
    pub requirements: Vec<RequirementResult>,
    /// SHA-256 over the pack.
    pub pack_sha256: String,
    /// SHA-256 over the pack hash and the serialized requirement results.
    pub results_sha256: String,
}

/// Profile v1 is frozen: its verdicts are those of its own assertions, as when it was released.
/// The built-in invariants, which came later, stay in the transcript as findings but do not
/// change a v1 requirement's outcome.
fn frozen_verdict(mut run: ScenarioRun) -> ScenarioRun {
    let report = &mut run.report;
    report.assertions.retain(|a| !is_invariant(a));
    if report.outcome == Outcome::Failed && report.assertions.iter().all(|a| a.passed) {
        report.outcome = Outcome::Passed;
        report.passed_runs = report.runs;
    }
    run
}

/// Runs every requirement's scenario against the target; calls `each` after each one.
pub fn certify(
    pack: &Pack,
    opts: &RunOptions,
    mut each: impl FnMut(&Requirement, &ScenarioRun),
) -> (CertificationResult, Vec<ScenarioRun>) {
    let mut results = Vec::new();
    let mut runs = Vec::new();
    for req in &pack.manifest.requirements {
        let text = pack
            .files
            .iter()
            .find(|(n, _)| *n == req.scenario)
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        let shown = format!("certification/v{}/{}", pack.manifest.version, req.scenario);
        let file = ScenarioFile {
            name: req.id.clone(),
            path: shown.clone().into(),
        };
        let run = match parse_str(Path::new(&shown), text)
            .and_then(|loaded| build_plan(&loaded, &req.id))
        {
            Ok(plan) => run_loaded(&file, plan, opts),
            Err(e) => error_run(&file, req.title.clone(), e.into(), Duration::ZERO),
        };
        let run = frozen_verdict(run);
        each(req, &run);
        results.push(RequirementResult {
            id: req.id.clone(),
            title: req.title.clone(),
            mandatory: req.mandatory,
            scenario: req.scenario.clone(),
            outcome: run.report.outcome,
            evidence: run.report.assertions.clone(),
            error: run.report.error.clone(),
        });
        runs.push(run);
    }
    let failed_requirements: Vec<String> = results
        .iter()
        .filter(|r| r.mandatory && r.outcome != Outcome::Passed)
        .map(|r| r.id.clone())
        .collect();
    let pack_sha256 = pack.sha256();
    let mut h = Sha256::new();
    h.update(pack_sha256.as_bytes());
    h.update(serde_json::to_vec(&results).unwrap_or_default());
    let result = CertificationResult {
        profile_id: pack.profile_id.clone(),
        profile_version: pack.manifest.version,
        profile_title: pack.manifest.title.clone(),
        callsim_version: env!("CARGO_PKG_VERSION").to_string(),
        target: opts.target.describe(),
        certified: failed_requirements.is_empty(),
        failed_requirements,
        requirements: results,
        pack_sha256,
        results_sha256: hex(&h.finalize()),
    };
    (result, runs)
}

/// The runs as a run report (for the JUnit and HTML outputs).
pub fn as_run_report(result: &CertificationResult, runs: &[ScenarioRun]) -> RunReport {
    RunReport {
        callsim_version: result.callsim_version.clone(),
        target: result.target.clone(),
        scenarios: runs.iter().map(|r| r.report.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(assertions: Vec<AssertionResult>) -> ScenarioRun {
        let passed = assertions.iter().all(|a| a.passed);
        ScenarioRun {
            report: crate::report::ScenarioReport {
                name: "prompt.direction".into(),
                file: "certification/v1/prompt-direction.yaml".into(),
                title: String::new(),
                tags: Vec::new(),
                outcome: if passed {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                },
                assertions,
                error: None,
                runs: 1,
                passed_runs: u32::from(passed),
                transcript: None,
            },
            plan: None,
            audio: std::collections::BTreeMap::new(),
            wall: Duration::ZERO,
            failure: None,
        }
    }

    fn assertion(path: &str, passed: bool) -> AssertionResult {
        AssertionResult {
            path: path.into(),
            passed,
            expected: String::new(),
            message: String::new(),
        }
    }

    #[test]
    fn v1_verdicts_ignore_the_later_invariants_but_keep_their_own_failures() {
        let only_invariant = run_with(vec![
            assertion("calls.caller.status", true),
            assertion("invariant timing.ai-session-opens-promptly", false),
        ]);
        let frozen = frozen_verdict(only_invariant);
        assert_eq!(frozen.report.outcome, Outcome::Passed);
        assert_eq!(frozen.report.assertions.len(), 1);

        let own_failure = run_with(vec![
            assertion("calls.caller.status", false),
            assertion("invariant timing.ai-session-opens-promptly", false),
        ]);
        assert_eq!(frozen_verdict(own_failure).report.outcome, Outcome::Failed);
    }

    #[test]
    fn bundled_pack_is_complete_and_hashes_stably() {
        let pack = Pack::bundled(DEFAULT_PROFILE_ID).unwrap();
        assert_eq!(pack.manifest.version, 1);
        assert!(pack.manifest.requirements.len() >= 10);
        assert!(
            pack.manifest
                .requirements
                .iter()
                .filter(|r| r.mandatory)
                .count()
                >= 10
        );
        assert_eq!(pack.sha256(), pack.sha256());
        assert_eq!(pack.sha256().len(), 64);
        for r in &pack.manifest.requirements {
            let (_, text) = pack.files.iter().find(|(n, _)| *n == r.scenario).unwrap();
            let loaded = parse_str(Path::new(&r.scenario), text.clone()).unwrap();
            build_plan(&loaded, &r.id).unwrap();
        }
        assert!(
            Pack::bundled("other/v9")
                .unwrap_err()
                .contains("unknown certification profile")
        );
    }
}
