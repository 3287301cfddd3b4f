//! `callsim detect`: the kill rate of the bundled pack against the reference server's bug zoo.

use std::path::PathBuf;
use std::time::Duration;

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};
use crate::certify::Pack;
use crate::detect::{DetectionReport, detect_one, detect_one_by_certification, detection_order};
use crate::run::reference_bugs;
use crate::suite::discover;

/// Options of `callsim detect`.
#[derive(Debug, Clone, clap::Args)]
pub struct DetectArgs {
    /// Scenario files or folders (default: ./scenarios).
    pub paths: Vec<PathBuf>,
    /// Only these bugs (repeatable); default every bug of the reference server.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Print the bug zoo and exit.
    #[arg(long)]
    pub list: bool,
    /// Write the measurement as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Measure a certification profile instead of the scenario pack: a bug is killed when the
    /// reference server with it on is not certified (`twilio-media-streams-realtime/v2`).
    #[arg(long, value_name = "PROFILE_ID", conflicts_with = "paths")]
    pub certify: Option<String>,
    /// The kill rate (in %) at or above which the exit code is 0.
    #[arg(long, default_value_t = 100.0, value_name = "PERCENT")]
    pub min_kill_rate: f64,
    /// Wall-clock limit of one scenario, in seconds.
    #[arg(long, default_value_t = 600)]
    pub wall_limit: u64,
}

/// What a detection run measures.
enum Measured {
    /// Scenario files, in detection order.
    Scenarios(Vec<crate::suite::ScenarioFile>),
    /// A certification pack.
    Certification(Pack),
}

/// The scenario files or the certification pack the arguments name.
fn measured(args: &DetectArgs) -> Result<Measured, String> {
    if let Some(profile) = &args.certify {
        return Pack::bundled(profile).map(Measured::Certification);
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    match discover(&paths) {
        Ok(files) if !files.is_empty() => Ok(Measured::Scenarios(detection_order(files))),
        Ok(_) => Err("no scenario files matched".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `callsim detect`; exit 0 when the kill rate reaches `--min-kill-rate` (every bug by
/// default), 1 when it does not, 2 on bad input.
pub fn run(args: DetectArgs, quiet: bool) -> u8 {
    let zoo = reference_bugs();
    if args.list {
        for bug in &zoo {
            println!(
                "{:<30} {}\n{:<30} {}",
                bug.name, bug.history, "", bug.symptom
            );
        }
        return EXIT_PASS;
    }
    if let Some(unknown) = args
        .bugs
        .iter()
        .find(|b| !zoo.iter().any(|z| z.name == **b))
    {
        eprintln!("error: unknown bug `{unknown}` (callsim detect --list names them)");
        return EXIT_ERROR;
    }
    let measured = match measured(&args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let wall_limit = Duration::from_secs(args.wall_limit);
    let chosen: Vec<_> = zoo
        .iter()
        .filter(|b| args.bugs.is_empty() || args.bugs.iter().any(|n| n == b.name))
        .collect();
    let mut results = Vec::new();
    for bug in chosen {
        let result = match &measured {
            Measured::Scenarios(files) => detect_one(bug, files, wall_limit, &mut |_| {}),
            Measured::Certification(pack) => detect_one_by_certification(bug, pack, wall_limit),
        };
        let verdict = if result.killed {
            "KILLED  "
        } else {
            "SURVIVED"
        };
        println!("{verdict} {}  ({})", result.bug, result.history);
        match (&result.killed_by, &result.first_failure) {
            (Some(by), Some(line)) => println!("         by {by}: {line}"),
            _ => println!("         no scenario failed ({} ran)", result.scenarios_run),
        }
        if !quiet {
            for e in &result.errors {
                println!("         error: {e}");
            }
        }
        results.push(result);
    }
    let killed = results.iter().filter(|r| r.killed).count();
    let report = DetectionReport {
        total: results.len(),
        killed,
        bugs: results,
    };
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return EXIT_ERROR;
        }
    }
    println!(
        "kill rate: {}/{} bugs killed ({:.0}%)",
        report.killed,
        report.total,
        report.kill_rate()
    );
    if report.kill_rate() >= args.min_kill_rate {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}
