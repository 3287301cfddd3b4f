//! `callsim certify`: runs the bundled certification pack against a call server.

use std::time::Duration;

use super::capture::CaptureArgs;
use super::output::{scenario_lines, summary_line};
use super::run::{ReportArgs, TargetArgs, external_instructions, target_from, write_reports};
use super::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};
use crate::certify::{
    CertificationResult, DEFAULT_PROFILE_ID, Pack, Requirement, as_run_report, certify,
};
use crate::report::{Outcome, RunReport};
use crate::run::{Declarations, Target};
use crate::suite::{RunOptions, ScenarioRun};

/// `callsim certify`.
#[derive(Debug, Clone, clap::Args)]
pub struct CertifyArgs {
    /// Where and how (usually `--target http://HOST:PORT --target-config target.yaml`).
    #[command(flatten)]
    pub target: TargetArgs,
    /// The certification profile (`twilio-media-streams-realtime/v1` or `…/v2`).
    #[arg(long, default_value = DEFAULT_PROFILE_ID)]
    pub profile_id: String,
    /// Reports: `--json` writes the certification result document.
    #[command(flatten)]
    pub reports: ReportArgs,
    /// The capture file.
    #[command(flatten)]
    pub capture: CaptureArgs,
}

/// Runs `callsim certify`.
pub fn run(args: CertifyArgs, quiet: bool) -> u8 {
    let pack = match Pack::bundled(&args.profile_id) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let target = match target_from(&args.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if let Target::External(t) = &target {
        if !quiet {
            for line in external_instructions(t) {
                println!("{line}");
            }
        }
        // Every pack names this tenant first (docs/certification.md).
        if let Err(code) = super::preflight::check(t, "cert-clinic", quiet) {
            return code;
        }
    }
    println!(
        "certifying against {} ({} v{}, pack sha256 {})",
        pack.manifest.title,
        pack.profile_id,
        pack.manifest.version,
        &pack.sha256()[..16]
    );
    if !quiet {
        println!("{}", declared_line(&target.declarations()));
    }
    let capture = match args.capture.open() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let opts = RunOptions {
        target,
        seed: None,
        wall_limit: Duration::from_secs(args.target.wall_limit),
        capture: capture.capture.clone(),
    };
    let (result, runs) = certify(&pack, &opts, |req, run| print_requirement(req, run, quiet));
    drop(opts);
    match capture.finish() {
        Ok(Some(line)) if !quiet => println!("{line}"),
        Ok(_) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    }
    let report = as_run_report(&result, &runs);
    if let Err(code) = write_certification(&result, &report, &runs, &args.reports, &pack) {
        return code;
    }
    let (passed, failed, errors, skipped) = report.counts();
    println!("{}", summary_line(passed, failed + errors, skipped));
    verdict(&result, &runs)
}

/// Prints one requirement's result as it finishes: its scenario's lines under the requirement's
/// title, or NOT CHECKED with the reason, which is printed even with `-q`.
fn print_requirement(req: &Requirement, run: &ScenarioRun, quiet: bool) {
    // The scenario of a requirement is named after the requirement id, so the usual
    // result lines read `PASS  prompt.direction …`; the title says what it demands.
    let optional = if req.mandatory { "" } else { " (optional)" };
    if run.report.outcome == Outcome::Skipped {
        // Not checked is not passed: the reason is printed even with -q.
        println!(
            "NOT CHECKED {}  ({})",
            req.id,
            run.report.error.as_deref().unwrap_or_default()
        );
        return;
    }
    let lines = scenario_lines(run, quiet);
    if lines.is_empty() {
        return;
    }
    for line in lines {
        println!("{line}");
    }
    println!("      {}{optional}", req.title);
}

/// Writes the reports asked for: JUnit, HTML and the run report as `callsim run` writes them,
/// and the certification result document as `--json`.
fn write_certification(
    result: &CertificationResult,
    report: &RunReport,
    runs: &[ScenarioRun],
    reports: &ReportArgs,
    pack: &Pack,
) -> Result<(), u8> {
    let mut reports = reports.clone();
    let json = reports.json.take();
    if let Err(e) = write_reports(report, runs, &reports, &pack.profile_id) {
        eprintln!("error: cannot write a report: {e}");
        return Err(EXIT_ERROR);
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(result).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: {}: {e}", path.display());
            return Err(EXIT_ERROR);
        }
    }
    Ok(())
}

/// Prints the certification verdict and answers the exit code: 0 certified, 1 a mandatory
/// requirement failed, 2 a requirement's scenario could not be loaded.
fn verdict(result: &CertificationResult, runs: &[ScenarioRun]) -> u8 {
    if result.certified {
        println!(
            "CERTIFIED: {} (results sha256 {})",
            result.profile_id, result.results_sha256
        );
        if !result.not_checked.is_empty() {
            println!(
                "not checked, so not covered by this certification: {}",
                result.not_checked.join("; ")
            );
        }
        return EXIT_PASS;
    }
    println!(
        "NOT CERTIFIED: failed mandatory requirement(s): {}",
        result.failed_requirements.join(", ")
    );
    if runs
        .iter()
        .any(|r| r.failure.as_ref().is_some_and(|f| f.is_input()))
    {
        EXIT_ERROR
    } else {
        EXIT_FAIL
    }
}

/// What the target declares, in one line (the bounds v2 holds it to).
fn declared_line(d: &Declarations) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    format!(
        "target declares: outbound {}, caller context {}, fixture API {}, prompt freshness {} ms, \
         AI session within {} ms of the stream's start",
        yes(d.outbound),
        yes(d.caller_context),
        yes(d.fixtures),
        d.prompt_freshness_ms(),
        d.session_open_within_ms()
    )
}
