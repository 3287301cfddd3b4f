//! Certification: a versioned, read-only pack of scenarios a call server must pass to claim
//! compatibility (`callsim certify`), and the machine-readable result with a SHA-256 over the
//! pack and the results.
//!
//! - `pack`: the bundled packs (v1 frozen, v2), their manifests and hashes.
//! - `result`: the result document.
//!
//! A requirement that needs a capability the target does not declare (outbound calls, caller
//! context, the fixture API) is not checked, and the result says so with the reason: never a
//! silent pass.

mod pack;
mod result;

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use pack::{
    Capability, DEFAULT_PROFILE_ID, InvariantPolicy, MANIFEST_FILE, Manifest, PROFILE_IDS, Pack,
    Requirement,
};
pub use result::{CertificationResult, DeclaredSummary, RequirementResult, as_run_report};

use crate::report::Outcome;
use crate::scenario::load::parse_str;
use crate::scenario::validate::build_plan;
use crate::suite::{
    RunOptions, ScenarioFile, ScenarioRun, error_run, is_invariant, run_loaded, skipped_run,
};

/// Under an informational invariant policy (v1, frozen) a requirement's verdict is that of its
/// own assertions, as when the profile was released. The built-in invariants, which came later,
/// stay in the transcript as findings but do not change the outcome.
fn frozen_verdict(mut run: ScenarioRun) -> ScenarioRun {
    let report = &mut run.report;
    report.assertions.retain(|a| !is_invariant(a));
    if report.outcome == Outcome::Failed && report.assertions.iter().all(|a| a.passed) {
        report.outcome = Outcome::Passed;
        report.passed_runs = report.runs;
    }
    run
}

/// Runs one requirement's scenario (or says why it cannot be checked).
fn run_requirement(
    pack: &Pack,
    req: &Requirement,
    opts: &RunOptions,
) -> (RequirementResult, ScenarioRun) {
    let shown = format!("certification/v{}/{}", pack.manifest.version, req.scenario);
    let file = ScenarioFile {
        name: req.id.clone(),
        path: shown.clone().into(),
    };
    let declared = opts.target.declarations();
    if let Some(why) = req.needs.iter().find_map(|c| c.missing_in(&declared)) {
        return (
            RequirementResult::not_checked(req, why),
            skipped_run(&file, req.title.clone(), why.to_string()),
        );
    }
    let text = pack.scenario_text(req).unwrap_or_default().to_string();
    let run =
        match parse_str(Path::new(&shown), text).and_then(|loaded| build_plan(&loaded, &req.id)) {
            Ok(plan) => run_loaded(&file, plan, opts),
            Err(e) => error_run(&file, req.title.clone(), e.into(), Duration::ZERO),
        };
    let run = match pack.manifest.invariants {
        InvariantPolicy::Informational => frozen_verdict(run),
        InvariantPolicy::Enforced => run,
    };
    (RequirementResult::ran(req, &run), run)
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
        let (result, run) = run_requirement(pack, req, opts);
        each(req, &run);
        results.push(result);
        runs.push(run);
    }
    let failed_requirements: Vec<String> = results
        .iter()
        .filter(|r| r.mandatory && r.not_checked.is_none() && r.outcome != Outcome::Passed)
        .map(|r| r.id.clone())
        .collect();
    let not_checked = results
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r.id, r.not_checked.as_ref()?)))
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
        declared: opts.target.declarations().into(),
        certified: failed_requirements.is_empty(),
        failed_requirements,
        not_checked,
        requirements: results,
        pack_sha256,
        results_sha256: pack::hex(&h.finalize()),
    };
    (result, runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::expect::AssertionResult;

    /// The SHA-256 of profile v1's pack as released.
    const V1_SHA256: &str = "e717c376d54c9e59395fb970a45b5b7a2affeca37398c791b03b1b2a0fd28a80";

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
                causes: Vec::new(),
                warnings: Vec::new(),
            },
            plan: None,
            audio: std::collections::BTreeMap::new(),
            wall: Duration::ZERO,
            failure: None,
            cost: crate::suite::RunCost::default(),
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
    fn every_bundled_pack_is_complete_and_loads() {
        for id in PROFILE_IDS {
            let pack = Pack::bundled(id).unwrap();
            assert_eq!(pack.sha256(), pack.sha256());
            assert_eq!(pack.sha256().len(), 64);
            assert!(
                pack.manifest
                    .requirements
                    .iter()
                    .filter(|r| r.mandatory)
                    .count()
                    >= 10
            );
            for r in &pack.manifest.requirements {
                let text = pack.scenario_text(r).unwrap();
                let loaded = parse_str(Path::new(&r.scenario), text.to_string()).unwrap();
                build_plan(&loaded, &r.id).unwrap();
            }
        }
        assert!(
            Pack::bundled("other/v9")
                .unwrap_err()
                .contains("unknown certification profile")
        );
    }

    #[test]
    fn v1_is_frozen_and_v2_enforces_the_invariants_and_declares_its_needs() {
        let v1 = Pack::bundled("twilio-media-streams-realtime/v1").unwrap();
        assert_eq!(
            v1.sha256(),
            V1_SHA256,
            "profile v1 is frozen: its pack must not change"
        );
        assert_eq!(v1.manifest.invariants, InvariantPolicy::Informational);
        assert_eq!(v1.manifest.requirements.len(), 11);

        let v2 = Pack::bundled("twilio-media-streams-realtime/v2").unwrap();
        assert_eq!(v2.manifest.invariants, InvariantPolicy::Enforced);
        let v1_ids: Vec<&str> = v1
            .manifest
            .requirements
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        for id in v1_ids {
            let r = v2.manifest.requirements.iter().find(|r| r.id == id);
            assert!(r.is_some_and(|r| r.mandatory), "v2 keeps {id} mandatory");
        }
        let needs = |id: &str| {
            v2.manifest
                .requirements
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.needs.clone())
        };
        assert_eq!(
            needs("prompt.outbound-direction"),
            Some(vec![Capability::Outbound])
        );
        assert_eq!(needs("prompt.freshness"), Some(vec![Capability::Fixtures]));
        assert_eq!(needs("prompt.tenant-isolation"), Some(Vec::new()));
    }

    #[test]
    fn the_live_profile_runs_every_requirement_of_v2_on_the_live_dialect() {
        let live = Pack::bundled("twilio-media-streams-live/v1").unwrap();
        let v2 = Pack::bundled("twilio-media-streams-realtime/v2").unwrap();
        assert_eq!(live.manifest.invariants, InvariantPolicy::Enforced);
        let ids = |pack: &Pack| -> Vec<String> {
            pack.manifest
                .requirements
                .iter()
                .map(|r| r.id.replace("realtime.ga-session", "live.session"))
                .collect()
        };
        assert_eq!(
            ids(&live),
            ids(&v2),
            "v2's requirements, the GA session one as Live's"
        );
        for r in &live.manifest.requirements {
            let text = live.scenario_text(r).unwrap();
            let loaded = parse_str(Path::new(&r.scenario), text.to_string()).unwrap();
            let plan = build_plan(&loaded, &r.id).unwrap();
            assert_eq!(
                plan.ai.dialect,
                crate::scenario::plan::AiDialect::Live,
                "{} runs on Live",
                r.id
            );
        }
    }

    #[test]
    fn an_undeclared_capability_is_reported_not_checked_without_running_anything() {
        let v2 = Pack::bundled("twilio-media-streams-realtime/v2").unwrap();
        let listen: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        // Nothing listens on port 9: a requirement that ran would fail, not be skipped.
        let target =
            crate::run::ExternalTarget::new("http://127.0.0.1:9", None, listen, listen).unwrap();
        let opts = RunOptions {
            capture: crate::capture::Capture::off(),
            target: crate::run::Target::External(Box::new(target)),
            seed: None,
            wall_limit: Duration::from_secs(30),
        };
        let outbound = v2
            .manifest
            .requirements
            .iter()
            .find(|r| r.id == "prompt.outbound-direction")
            .unwrap();
        let (result, run) = run_requirement(&v2, outbound, &opts);
        assert_eq!(result.outcome, Outcome::Skipped);
        assert!(result.mandatory);
        let why = result.not_checked.unwrap();
        assert!(why.starts_with("outbound not supported"), "{why}");
        assert_eq!(run.report.outcome, Outcome::Skipped);
        assert_eq!(run.report.error.as_deref(), Some(why.as_str()));
    }

    #[test]
    fn a_requirement_the_target_cannot_support_is_reported_not_checked() {
        let undeclared = crate::run::Declarations::undeclared(false);
        let why = Capability::Outbound.missing_in(&undeclared).unwrap();
        assert!(why.starts_with("outbound not supported"), "{why}");
        assert!(Capability::Fixtures.missing_in(&undeclared).is_some());
        assert_eq!(
            Capability::Outbound.missing_in(&crate::run::Declarations::REFERENCE),
            None
        );
    }
}
