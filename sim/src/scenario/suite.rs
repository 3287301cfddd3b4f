//! Finding scenario files and running them: one fresh tokio runtime per scenario (paused clock
//! for in-process virtual time), a wall-clock guard around each, and evaluation of the
//! assertions into a [`ScenarioReport`].

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use super::discovery::{DiscoveryError, SEPARATE_PACKS, ScenarioFile, discover};
use super::expect::{AssertionResult, evaluate};
use super::load::load_file;
use super::model::RawSnapshotPart;
use super::plan::{ClockMode, Plan};
use super::runner::run_plan;
use super::target::Target;
use super::transcript_builder::{RunArtifacts, build_transcript};
use super::validate::build_plan;
use crate::report::html::CallAudio;
use crate::report::{Outcome, ScenarioReport, Transcript};

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The target.
    pub target: Target,
    /// Overrides every scenario's seed.
    pub seed: Option<u64>,
    /// Wall-clock limit of one scenario (the last line of defence against a hang).
    pub wall_limit: Duration,
}

/// The result of running one scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    /// The report.
    pub report: ScenarioReport,
    /// The validated plan (None when the file did not load).
    pub plan: Option<Plan>,
    /// Audio per call name.
    pub audio: BTreeMap<String, CallAudio>,
    /// Wall time taken.
    pub wall: Duration,
    /// Whether the error was an input error (bad scenario) rather than a harness failure.
    pub input_error: bool,
}

/// The result of a scenario that could not run.
pub(crate) fn error_run(
    file: &ScenarioFile,
    title: String,
    message: String,
    input_error: bool,
    wall: Duration,
) -> ScenarioRun {
    ScenarioRun {
        report: ScenarioReport {
            name: file.name.clone(),
            file: file.path.display().to_string(),
            title,
            tags: Vec::new(),
            outcome: Outcome::Error,
            assertions: Vec::new(),
            error: Some(message),
            runs: 1,
            passed_runs: 0,
            transcript: None,
        },
        plan: None,
        audio: BTreeMap::new(),
        wall,
        input_error,
    }
}

/// Loads and validates a scenario file.
pub fn load_plan(file: &ScenarioFile) -> Result<Plan, String> {
    let loaded = load_file(&file.path).map_err(|e| e.to_string())?;
    build_plan(&loaded, &file.name).map_err(|e| e.to_string())
}

fn runtime_for(plan: &Plan, target: &Target) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    if plan.clock == ClockMode::Virtual && matches!(target, Target::InProcess { .. }) {
        // One paused clock for the server, the mock AI and the fake Twilio: they all run on this
        // runtime, so virtual time is consistent and advances only when every task is idle.
        builder.start_paused(true);
        // Just before the runtime parks (and a paused clock jumps to the next timer), give the
        // kernel a moment to deliver loopback data still in flight: under CPU contention Linux
        // defers TCP delivery to ksoftirqd, and data that lands after the jump would be seen
        // at a later virtual time, making transcripts differ from run to run.
        builder.on_thread_park(std::thread::yield_now);
    }
    builder.build()
}

/// Runs `work` in its own thread and waits at most `limit` for it: the guard around everything
/// a scenario does (loading, validating, running), so that no single file can hang the run.
///
/// A thread that overruns is left to finish on its own (threads cannot be cancelled); its result
/// is dropped.
fn guarded<T: Send + 'static>(
    name: String,
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        // The receiver may be gone after a timeout; nothing is left to tell then.
        let _ = tx.send(work());
    });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(limit) {
        Ok(result) => Ok(result),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "scenario exceeded the wall-clock limit of {}s (a component never yielded); \
             raise it with --wall-limit if the scenario is meant to be this slow",
            limit.as_secs()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("the scenario thread panicked (this is a callsim bug)".into())
        }
    }
}

/// Runs a plan on a fresh runtime in its own thread, bounded by a wall-clock limit.
pub fn execute(plan: &Plan, opts: &RunOptions) -> Result<RunArtifacts, String> {
    let plan_for_thread = plan.clone();
    let target = opts.target.clone();
    guarded(
        format!("scenario {}", plan.name),
        opts.wall_limit,
        move || match runtime_for(&plan_for_thread, &target) {
            Ok(rt) => rt
                .block_on(run_plan(&plan_for_thread, &target))
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("cannot start a tokio runtime: {e}")),
        },
    )?
}

/// Evaluates a plan's expectations against a transcript.
pub fn evaluate_all(plan: &Plan, transcript: &Transcript) -> Vec<AssertionResult> {
    let value = serde_json::to_value(transcript).unwrap_or(Value::Null);
    plan.expectations
        .iter()
        .map(|e| evaluate(e, &value))
        .collect()
}

fn audio_of(art: &RunArtifacts) -> BTreeMap<String, CallAudio> {
    art.calls
        .iter()
        .map(|c| {
            let heard: Vec<u8> = c
                .streams
                .iter()
                .flat_map(|s| s.heard.iter().copied())
                .collect();
            (
                c.label.clone(),
                CallAudio {
                    heard_by_caller: heard,
                    received_by_ai: Vec::new(),
                },
            )
        })
        .collect()
}

/// Loads, runs and evaluates one scenario file; loading and validation run under the same
/// wall-clock guard as the run, and the reported wall time includes them.
pub fn run_file(file: &ScenarioFile, opts: &RunOptions) -> ScenarioRun {
    let started = Instant::now();
    let for_thread = file.clone();
    let loaded = guarded(format!("load {}", file.name), opts.wall_limit, move || {
        load_plan(&for_thread)
    });
    match loaded {
        Ok(Ok(plan)) => {
            let load_time = started.elapsed();
            let remaining = opts.wall_limit.saturating_sub(load_time);
            let opts = RunOptions {
                wall_limit: remaining,
                ..opts.clone()
            };
            let mut run = run_loaded(file, plan, &opts);
            run.wall += load_time;
            run
        }
        Ok(Err(message)) => error_run(file, String::new(), message, true, started.elapsed()),
        Err(message) => error_run(file, String::new(), message, false, started.elapsed()),
    }
}

/// Runs and evaluates an already validated plan.
pub fn run_loaded(file: &ScenarioFile, mut plan: Plan, opts: &RunOptions) -> ScenarioRun {
    let started = Instant::now();
    if let Some(seed) = opts.seed {
        plan.seed = seed;
    }
    match execute(&plan, opts) {
        Err(message) => {
            let mut run = error_run(file, plan.title.clone(), message, false, started.elapsed());
            run.report.tags = plan.tags.clone();
            run.plan = Some(plan);
            run
        }
        Ok(art) => {
            let transcript = build_transcript(&plan, &art);
            let assertions = evaluate_all(&plan, &transcript);
            let passed = assertions.iter().all(|a| a.passed);
            let mut audio = audio_of(&art);
            for (session, call) in art.sessions.iter().zip(&transcript.ai.sessions) {
                if let Some(name) = &call.call
                    && let Some(a) = audio.get_mut(name)
                {
                    a.received_by_ai.extend_from_slice(&session.audio_received);
                }
            }
            ScenarioRun {
                report: ScenarioReport {
                    name: file.name.clone(),
                    file: file.path.display().to_string(),
                    title: plan.title.clone(),
                    tags: plan.tags.clone(),
                    outcome: if passed {
                        Outcome::Passed
                    } else {
                        Outcome::Failed
                    },
                    assertions,
                    error: None,
                    runs: 1,
                    passed_runs: u32::from(passed),
                    transcript: Some(transcript),
                },
                plan: Some(plan),
                audio,
                wall: started.elapsed(),
                input_error: false,
            }
        }
    }
}

/// The part of a transcript a scenario pins in its snapshot.
pub fn snapshot_value(plan: &Plan, transcript: &Transcript) -> Value {
    let full = serde_json::to_value(transcript).unwrap_or(Value::Null);
    let mut out = serde_json::Map::new();
    out.insert("scenario".into(), full["scenario"].clone());
    out.insert("target".into(), full["target"].clone());
    out.insert("seed".into(), full["seed"].clone());
    out.insert("simulated_ms".into(), full["simulated_ms"].clone());
    for part in &plan.snapshot {
        match part {
            RawSnapshotPart::Prompts => {
                out.insert("tenants".into(), full["tenants"].clone());
                if !transcript.tenant_changes.is_empty() {
                    out.insert("tenant_changes".into(), full["tenant_changes"].clone());
                }
                let mut ai = full["ai"].clone();
                // Responses repeat their session's instructions; the snapshot keeps the source
                // label per response and the full text once per session.
                if let Some(rs) = ai.get_mut("responses").and_then(Value::as_array_mut) {
                    for r in rs {
                        if let Some(o) = r.as_object_mut() {
                            o.remove("instructions");
                        }
                    }
                }
                out.insert("ai".into(), ai);
            }
            RawSnapshotPart::Calls => {
                out.insert("calls".into(), full["calls"].clone());
            }
            RawSnapshotPart::Server => {
                out.insert("server".into(), full["server"].clone());
            }
        }
    }
    Value::Object(out)
}
