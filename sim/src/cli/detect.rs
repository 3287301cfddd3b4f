//! `callsim detect`: the kill rate of the bundled pack against the reference server's bug zoo.

use std::path::PathBuf;
use std::time::Duration;

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};
use crate::detect::{DetectionReport, detect_one, detection_order};
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
    /// Wall-clock limit of one scenario, in seconds.
    #[arg(long, default_value_t = 600)]
    pub wall_limit: u64,
}

/// Runs `callsim detect`; exit 0 when every bug is killed, 1 when one survives, 2 on bad input.
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
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let files = match discover(&paths) {
        Ok(files) if !files.is_empty() => detection_order(files),
        Ok(_) => {
            eprintln!("error: no scenario files matched");
            return EXIT_ERROR;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let chosen: Vec<_> = zoo
        .iter()
        .filter(|b| args.bugs.is_empty() || args.bugs.iter().any(|n| n == b.name))
        .collect();
    let mut results = Vec::new();
    for bug in chosen {
        let result = detect_one(
            bug,
            &files,
            Duration::from_secs(args.wall_limit),
            &mut |_| {},
        );
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
    if report.killed == report.total {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}
