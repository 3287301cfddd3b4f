//! `callsim run` and `callsim merge-reports`.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::capture::CaptureArgs;
use super::output::{InOrder, Progress, scenario_lines, summary_line};
use super::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};
use crate::partition::Partition;
use crate::report::html::{CallAudio, render_html};
use crate::report::junit::render_junit;
use crate::report::{Outcome, RunReport};
use crate::run::{AiDialect, ExternalTarget, Profile, Target, Transport};
use crate::suite::{RunOptions, ScenarioFile, ScenarioRun, discover, run_file};

/// Default listen address of the mock AI for external targets.
pub const DEFAULT_AI_LISTEN: &str = "127.0.0.1:4010";
/// Default listen address of the fake Twilio REST API for external targets.
pub const DEFAULT_TWILIO_LISTEN: &str = "127.0.0.1:4011";

/// Profile of the bundled reference server.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProfileArg {
    /// The seed's three root causes.
    Legacy,
    /// None of them.
    Fixed,
}

/// The model's protocol.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AiDialectArg {
    /// OpenAI Realtime GA.
    Realtime,
    /// OpenAI Live.
    Live,
}

/// Where and how to run.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// `in-process` (the bundled reference server, virtual time) or `http://HOST:PORT` of a running server.
    #[arg(long, default_value = "in-process")]
    pub target: String,
    /// Profile of the bundled reference server.
    #[arg(long, value_enum, default_value = "fixed")]
    pub profile: ProfileArg,
    /// Target file for an external server (paths, public URL, fixture API, Twilio token, rewrites).
    #[arg(long)]
    pub target_config: Option<PathBuf>,
    /// Where the mock AI listens for an external target (configure the server's realtime URL with it).
    #[arg(long, default_value = DEFAULT_AI_LISTEN)]
    pub ai_listen: SocketAddr,
    /// Where the fake Twilio REST API listens for an external target.
    #[arg(long, default_value = DEFAULT_TWILIO_LISTEN)]
    pub twilio_listen: SocketAddr,
    /// Run the in-process reference server without signature validation (to show what certification catches).
    #[arg(long, hide = true)]
    pub reference_without_signature_validation: bool,
    /// Switch on one of the reference server's historical regressions (repeatable; in-process
    /// only; `callsim detect --list` names them).
    #[arg(long = "inject-bug", value_name = "NAME")]
    pub inject_bug: Vec<String>,
    /// What an in-process run's parts talk over: `memory` pipes (default; deterministic by
    /// construction) or loopback `tcp`. External targets are always driven over TCP.
    #[arg(long, value_enum)]
    pub transport: Option<Transport>,
    /// The protocol the in-process reference server speaks to the mock model for every
    /// scenario: `realtime` (GA) or `live`; absent, each scenario's `ai.dialect` decides.
    #[arg(long, value_enum)]
    pub ai_dialect: Option<AiDialectArg>,
    /// Wall-clock limit of one scenario, in seconds.
    #[arg(long, default_value_t = 600)]
    pub wall_limit: u64,
}

/// Report files.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Write JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write the JSON report (full transcripts) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// `callsim run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Scenario files or folders (default: ./scenarios, without the certification pack).
    pub paths: Vec<PathBuf>,
    /// Where and how.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Reports.
    #[command(flatten)]
    pub reports: ReportArgs,
    /// The capture file.
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Override every scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Only scenarios whose name contains this.
    #[arg(long)]
    pub filter: Option<String>,
    /// Run one shard: `hash:M/N` or `count:M/N`.
    #[arg(long)]
    pub partition: Option<Partition>,
    /// Run each scenario K times and report a pass rate.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Scenarios run at once (in-process only; default: available cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print what each scenario cost: simulated and wall time, their ratio, caller frames per
    /// wall second and the CPU split (user/system).
    #[arg(long)]
    pub timings: bool,
}

/// `callsim merge-reports`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// JSON reports of the shards.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Outputs.
    #[command(flatten)]
    pub out: ReportArgs,
}

/// The bug names given with `--inject-bug`, each checked against the reference server's list.
fn checked_bugs(names: &[String]) -> Result<Vec<String>, String> {
    let known = crate::run::reference_bugs();
    for name in names {
        if !known.iter().any(|b| b.name == *name) {
            let names: Vec<&str> = known.iter().map(|b| b.name).collect();
            return Err(format!(
                "unknown bug `{name}` for --inject-bug (known: {})",
                names.join(", ")
            ));
        }
    }
    Ok(names.to_vec())
}

/// Builds the target from the arguments.
pub fn target_from(args: &TargetArgs) -> Result<Target, String> {
    if args.target == "in-process" {
        if args.target_config.is_some() {
            return Err("--target-config needs --target http://HOST:PORT".into());
        }
        return Ok(Target::InProcess {
            profile: match args.profile {
                ProfileArg::Legacy => Profile::Legacy,
                ProfileArg::Fixed => Profile::Fixed,
            },
            validate_signatures: !args.reference_without_signature_validation,
            bugs: checked_bugs(&args.inject_bug)?,
            transport: args.transport.unwrap_or_default(),
            ai_dialect: args.ai_dialect.map(|d| match d {
                AiDialectArg::Realtime => AiDialect::Realtime,
                AiDialectArg::Live => AiDialect::Live,
            }),
        });
    }
    if args.transport == Some(Transport::Memory) {
        return Err("--transport memory applies to the in-process reference server only: an external target is always driven over TCP".into());
    }
    if !args.inject_bug.is_empty() {
        return Err("--inject-bug applies to the in-process reference server only".into());
    }
    if args.ai_dialect.is_some() {
        return Err(
            "--ai-dialect applies to the in-process reference server only: an external \
                    server chooses its own dialect, and the mock serves both"
                .into(),
        );
    }
    ExternalTarget::new(
        &args.target,
        args.target_config.as_deref(),
        args.ai_listen,
        args.twilio_listen,
    )
    .map(|t| Target::External(Box::new(t)))
    .map_err(|e| e.to_string())
}

/// What an external server must be configured with, printed before the first call.
pub fn external_instructions(t: &ExternalTarget) -> Vec<String> {
    vec![
        format!(
            "driving the external call server at {} (real time)",
            t.endpoints.base_url
        ),
        "configure it with:".into(),
        format!("  realtime URL      {}", t.realtime_url()),
        format!("  Twilio API base   http://{}", t.twilio_listen),
        format!("  Twilio account    {}", t.endpoints.account_sid),
        format!("  Twilio auth token {}", t.endpoints.auth_token),
        format!("  public URL        {}", t.endpoints.public_url),
    ]
}

/// Runs scenario files with `jobs` at once and `repeat` runs each; results in file order.
///
/// Each scenario's lines are printed in file order too, as soon as it and every scenario before
/// it have finished, so output streams while staying readable and comparable between runs.
pub fn run_files(
    files: &[ScenarioFile],
    opts: &RunOptions,
    jobs: usize,
    repeat: u32,
    progress: &Progress,
    quiet: bool,
) -> Vec<ScenarioRun> {
    let queue = Mutex::new(files.iter().cloned().enumerate().collect::<VecDeque<_>>());
    let printer: Mutex<InOrder<Vec<String>>> = Mutex::default();
    let results: Mutex<BTreeMap<usize, ScenarioRun>> = Mutex::default();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .pop_front();
                    let Some((i, file)) = next else { break };
                    progress.start(&file.name);
                    let run = run_repeated(&file, opts, repeat);
                    let lines = scenario_lines(&run, quiet);
                    results
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(i, run);
                    // The lock is held while printing so that two workers cannot interleave
                    // the prefixes they release.
                    let mut printer = printer.lock().unwrap_or_else(PoisonError::into_inner);
                    for line in printer.push(i, lines).into_iter().flatten() {
                        progress.println(&line);
                    }
                    progress.finish_one();
                }
            });
        }
    });
    let map = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    map.into_values().collect()
}

/// Runs one file `repeat` times (stopping at an error) and reports the worst outcome, the
/// last run's transcript and how many runs passed.
fn run_repeated(file: &ScenarioFile, opts: &RunOptions, repeat: u32) -> ScenarioRun {
    let mut run = run_file(file, opts);
    let mut passed = u32::from(run.report.outcome == Outcome::Passed);
    for _ in 1..repeat.max(1) {
        if run.report.outcome == Outcome::Error {
            break;
        }
        let again = run_file(file, opts);
        passed += u32::from(again.report.outcome == Outcome::Passed);
        let runs = run.report.runs + 1;
        let worst = run.report.outcome.max(again.report.outcome);
        run = again;
        run.report.runs = runs;
        run.report.outcome = worst;
    }
    run.report.passed_runs = passed;
    run
}

/// Writes the requested report files.
pub fn write_reports(
    report: &RunReport,
    runs: &[ScenarioRun],
    out: &ReportArgs,
    suite_name: &str,
) -> Result<(), String> {
    let write = |path: &Path, text: String| {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    if let Some(path) = &out.json {
        let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
        write(path, text + "\n")?;
    }
    if let Some(path) = &out.junit {
        let walls: BTreeMap<&str, Duration> = runs
            .iter()
            .map(|r| (r.report.name.as_str(), r.wall))
            .collect();
        write(
            path,
            render_junit(report, suite_name, &|n| walls.get(n).copied()),
        )?;
    }
    if let Some(path) = &out.html {
        let mut audio: BTreeMap<(String, String), CallAudio> = BTreeMap::new();
        for run in runs {
            for (call, a) in &run.audio {
                audio.insert((run.report.name.clone(), call.clone()), a.clone());
            }
        }
        write(path, render_html(report, &audio))?;
    }
    Ok(())
}

/// Exit code of a finished run.
pub fn exit_code(report: &RunReport) -> u8 {
    let (_, failed, errors, _) = report.counts();
    if errors > 0 {
        EXIT_ERROR
    } else if failed > 0 {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}

/// `callsim run`.
pub fn run(args: RunArgs, quiet: bool) -> u8 {
    let target = match target_from(&args.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let files = match selected_files(&args) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let jobs = match &target {
        // Fixed listen ports and a shared server: external scenarios run one at a time.
        Target::External(t) => {
            if !quiet {
                for line in external_instructions(t) {
                    println!("{line}");
                }
            }
            if let Err(code) = super::preflight::check(t, &first_tenant(&files), quiet) {
                return code;
            }
            1
        }
        Target::InProcess { .. } => args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        }),
    };
    let capture = match args.capture.open() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let opts = RunOptions {
        target: target.clone(),
        seed: args.seed,
        wall_limit: Duration::from_secs(args.target.wall_limit),
        capture: capture.capture.clone(),
    };
    let progress = Progress::new(files.len(), quiet);
    let runs = run_files(&files, &opts, jobs, args.repeat, &progress, quiet);
    progress.done();
    drop(opts);
    match capture.finish() {
        Ok(Some(line)) if !quiet => println!("{line}"),
        Ok(_) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    }
    let report = RunReport {
        callsim_version: env!("CARGO_PKG_VERSION").to_string(),
        target: target.describe(),
        scenarios: runs.iter().map(|r| r.report.clone()).collect(),
    };
    if let Err(e) = write_reports(&report, &runs, &args.reports, "callsim run") {
        eprintln!("error: cannot write a report: {e}");
        return EXIT_ERROR;
    }
    print_summary(
        &report,
        &runs,
        args.timings.then(|| target.transport()),
        quiet,
    );
    exit_code(&report)
}

/// The scenario files a run covers: the paths given (or `./scenarios`), filtered by name, and
/// this shard's share of them. An empty shard is fine; an empty selection otherwise is an error.
fn selected_files(args: &RunArgs) -> Result<Vec<ScenarioFile>, String> {
    let paths = if args.paths.is_empty() {
        if !Path::new("scenarios").is_dir() {
            return Err("no scenario paths given and no ./scenarios folder here".into());
        }
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let mut files = discover(&paths).map_err(|e| e.to_string())?;
    if let Some(filter) = &args.filter {
        files.retain(|f| f.name.contains(filter.as_str()));
    }
    if files.is_empty() {
        return Err("no scenario files matched".into());
    }
    if let Some(partition) = &args.partition {
        // An empty shard is a normal outcome of a small pack split many ways: it runs nothing
        // and writes an empty report, so merging all shards still works.
        let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        let chosen: Vec<String> = partition.select(&names).into_iter().cloned().collect();
        files.retain(|f| chosen.contains(&f.name));
    }
    Ok(files)
}

/// The lines after the scenarios: simulated and wall time, errors, `--timings` (when given the
/// transport) and the summary.
fn print_summary(
    report: &RunReport,
    runs: &[ScenarioRun],
    timings: Option<Transport>,
    quiet: bool,
) {
    let (passed, failed, errors, skipped) = report.counts();
    let simulated: u64 = runs
        .iter()
        .filter_map(|r| r.report.transcript.as_ref().map(|t| t.simulated_ms))
        .sum();
    let wall: f64 = runs.iter().map(|r| r.wall.as_secs_f64()).sum();
    if !quiet {
        println!(
            "simulated {} of calls in {wall:.2}s of scenario wall time",
            crate::scenario::duration::format_duration(Duration::from_millis(simulated))
        );
    }
    if errors > 0 {
        println!("{errors} scenario(s) could not run (input or harness error)");
    }
    if let Some(transport) = timings {
        for line in super::timings::timings_lines(runs, transport.as_str()) {
            println!("{line}");
        }
    }
    println!("{}", summary_line(passed, failed + errors, skipped));
}

/// The first tenant of the first scenario that loads: the preflight's probe names it where the
/// webhook path has `{tenant}`.
fn first_tenant(files: &[ScenarioFile]) -> String {
    files
        .iter()
        .find_map(|f| crate::suite::load_plan(f).ok())
        .and_then(|plan| plan.tenants.keys().next().cloned())
        .unwrap_or_else(|| "preflight".to_owned())
}

/// `callsim merge-reports`.
pub fn merge(args: MergeArgs) -> u8 {
    let first = args
        .reports
        .first()
        .and_then(|p| std::fs::read_to_string(p).ok());
    if first.as_deref().is_some_and(super::load::is_load_report) {
        return super::load::merge(
            &args.reports,
            args.out.json.as_deref(),
            args.out.html.as_deref(),
        );
    }
    let mut reports = Vec::new();
    for path in &args.reports {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return EXIT_ERROR;
            }
        };
        match serde_json::from_str::<RunReport>(&text) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {}: not a callsim JSON report: {e}", path.display());
                return EXIT_ERROR;
            }
        }
    }
    let merged = match RunReport::merge(reports) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if let Err(e) = write_reports(&merged, &[], &args.out, "callsim run") {
        eprintln!("error: cannot write a report: {e}");
        return EXIT_ERROR;
    }
    let (passed, failed, errors, skipped) = merged.counts();
    println!("{}", summary_line(passed, failed + errors, skipped));
    exit_code(&merged)
}
