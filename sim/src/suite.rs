//! One scenario file through the whole pipeline: load → run → transcript → expect, each stage
//! under the same wall-clock guard, ending in a [`ScenarioRun`] that the reports read.
//!
//! A scenario that could not be judged says why with a typed [`Failure`]: its input was bad, the
//! harness failed, it ran past the wall-clock limit, or a thread panicked.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::capture::Capture;
use crate::report::html::CallAudio;
use crate::report::{Outcome, ScenarioReport};
use crate::run::{
    CpuTime, ExecuteError, GuardError, HarnessError, RunArtifacts, Target, execute, guarded,
};
use crate::scenario::ScenarioError;
pub use crate::scenario::discovery::{DiscoveryError, SEPARATE_PACKS, ScenarioFile, discover};
use crate::scenario::expect::{AssertionResult, evaluate};
use crate::scenario::load::load_file;
use crate::scenario::plan::Plan;
use crate::scenario::validate::build_plan;
use crate::transcript::diagnosis::{callback_warnings, diagnose};
use crate::transcript::invariants::{Finding, INVARIANTS};
use crate::transcript::{Transcript, build_transcript};

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The target.
    pub target: Target,
    /// Overrides every scenario's seed.
    pub seed: Option<u64>,
    /// Wall-clock limit of one scenario (the last line of defence against a hang).
    pub wall_limit: Duration,
    /// Where the run's requests, upgrades and WebSocket messages are captured (off unless
    /// `--capture` names a file).
    pub capture: Capture,
}

/// Why a scenario could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The scenario file is bad: the user's to fix.
    #[error(transparent)]
    Input(#[from] ScenarioError),
    /// The harness could not run it (a port, the target refusing provisioning, a timeout).
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// It ran past the wall-clock limit.
    #[error("{}", GuardError::WallClock(*.0))]
    WallClock(Duration),
    /// A thread of the harness panicked, or none could be started.
    #[error("{0}")]
    Panic(String),
}

impl From<GuardError> for Failure {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::WallClock(limit) => Failure::WallClock(limit),
            other => Failure::Panic(other.to_string()),
        }
    }
}

impl From<ExecuteError> for Failure {
    fn from(e: ExecuteError) -> Self {
        match e {
            ExecuteError::Harness(h) => Failure::Harness(h),
            ExecuteError::Guard(g) => g.into(),
            ExecuteError::Runtime(r) => {
                Failure::Panic(format!("cannot start a tokio runtime: {r}"))
            }
        }
    }
}

impl Failure {
    /// Whether the user's input is at fault (exit code 2 either way, but reported apart).
    pub fn is_input(&self) -> bool {
        matches!(self, Failure::Input(_))
    }
}

/// What a run cost, for `--timings`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunCost {
    /// CPU time of the scenario's thread (the fakes, the mock AI and an in-process server).
    pub cpu: CpuTime,
    /// Caller `media` frames the fake Twilio sent.
    pub caller_frames: u64,
}

/// The result of running one scenario file.
#[derive(Debug)]
pub struct ScenarioRun {
    /// The report.
    pub report: ScenarioReport,
    /// The validated plan (None when the file did not load).
    pub plan: Option<Plan>,
    /// Audio per call name.
    pub audio: BTreeMap<String, CallAudio>,
    /// Wall time taken.
    pub wall: Duration,
    /// Why the scenario could not be judged, if it could not.
    pub failure: Option<Failure>,
    /// What the run cost.
    pub cost: RunCost,
}

/// The result of a scenario that could not run.
pub fn error_run(
    file: &ScenarioFile,
    title: String,
    failure: Failure,
    wall: Duration,
) -> ScenarioRun {
    let mut run = unjudged(file, title, Outcome::Error, failure.to_string(), 1);
    run.wall = wall;
    run.failure = Some(failure);
    run
}

/// The result of a scenario that was not run, with the reason (`SKIP` in the terminal, skipped
/// in JUnit); a skip is never a pass.
pub fn skipped_run(file: &ScenarioFile, title: String, reason: String) -> ScenarioRun {
    unjudged(file, title, Outcome::Skipped, reason, 0)
}

/// A run without a transcript or assertions: the scenario errored or was skipped, for `why`.
fn unjudged(
    file: &ScenarioFile,
    title: String,
    outcome: Outcome,
    why: String,
    runs: u32,
) -> ScenarioRun {
    ScenarioRun {
        report: ScenarioReport {
            name: file.name.clone(),
            file: file.path.display().to_string(),
            title,
            tags: Vec::new(),
            outcome,
            assertions: Vec::new(),
            error: Some(why),
            runs,
            passed_runs: 0,
            transcript: None,
            causes: Vec::new(),
            warnings: Vec::new(),
        },
        plan: None,
        audio: BTreeMap::new(),
        wall: Duration::ZERO,
        failure: None,
        cost: RunCost::default(),
    }
}

/// Loads and validates a scenario file.
pub fn load_plan(file: &ScenarioFile) -> Result<Plan, ScenarioError> {
    let loaded = load_file(&file.path)?;
    build_plan(&loaded, &file.name)
}

/// Evaluates a plan's expectations against a transcript.
pub fn evaluate_all(plan: &Plan, transcript: &Transcript) -> Vec<AssertionResult> {
    let value = serde_json::to_value(transcript).unwrap_or(Value::Null);
    plan.expectations
        .iter()
        .map(|e| evaluate(e, &value))
        .collect()
}

/// The path prefix that marks an assertion result as a built-in invariant's finding.
const INVARIANT_PREFIX: &str = "invariant ";

/// Whether an assertion result is a built-in invariant's finding rather than a scenario's own
/// assertion.
pub fn is_invariant(a: &AssertionResult) -> bool {
    a.path.starts_with(INVARIANT_PREFIX)
}

/// The built-in invariants' findings as assertion results: an unwaived finding fails its
/// scenario like a failed assertion; a waived one passes and keeps its reason in `expected`.
pub fn invariant_results(findings: &[Finding]) -> Vec<AssertionResult> {
    findings
        .iter()
        .map(|f| match &f.waived {
            None => AssertionResult {
                path: format!("{INVARIANT_PREFIX}{}", f.invariant),
                passed: false,
                expected: invariant_text(&f.invariant).to_string(),
                message: f.message.clone(),
            },
            Some(reason) => AssertionResult {
                path: format!("{INVARIANT_PREFIX}{}", f.invariant),
                passed: true,
                expected: format!("waived: {reason}"),
                message: f.message.clone(),
            },
        })
        .collect()
}

fn invariant_text(id: &str) -> &'static str {
    INVARIANTS
        .iter()
        .find(|(known, _)| *known == id)
        .map_or("a built-in invariant", |(_, text)| text)
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
        Ok(Err(input)) => error_run(file, String::new(), input.into(), started.elapsed()),
        Err(guard) => error_run(file, String::new(), guard.into(), started.elapsed()),
    }
}

/// Runs and evaluates an already validated plan.
pub fn run_loaded(file: &ScenarioFile, mut plan: Plan, opts: &RunOptions) -> ScenarioRun {
    let started = Instant::now();
    if let Some(seed) = opts.seed {
        plan.seed = seed;
    }
    match execute(&plan, &opts.target, opts.wall_limit, &opts.capture) {
        // A scenario this run cannot carry out as written (network faults over TCP) is skipped
        // with the reason, never run without what it asks for and never counted as passed.
        Err(ExecuteError::Harness(HarnessError::Unsupported(why))) => {
            let mut run = skipped_run(file, plan.title.clone(), format!("skipped: {why}"));
            run.wall = started.elapsed();
            run.report.tags = plan.tags.clone();
            run.plan = Some(plan);
            run
        }
        Err(e) => {
            let mut run = error_run(file, plan.title.clone(), e.into(), started.elapsed());
            run.report.tags = plan.tags.clone();
            run.plan = Some(plan);
            run
        }
        Ok((art, cpu)) => {
            let cost = RunCost {
                cpu,
                caller_frames: art
                    .calls
                    .iter()
                    .flat_map(|c| &c.streams)
                    .map(|s| s.media_frames_sent)
                    .sum(),
            };
            let transcript = build_transcript(&plan, &art);
            let realtime_url = match &opts.target {
                Target::External(t) => Some(t.realtime_url()),
                Target::InProcess { .. } => None,
            };
            let causes = diagnose(&art, &transcript, realtime_url.as_deref());
            let mut assertions = evaluate_all(&plan, &transcript);
            assertions.extend(invariant_results(&transcript.invariants));
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
                    causes,
                    warnings: callback_warnings(&art),
                },
                plan: Some(plan),
                audio,
                wall: started.elapsed(),
                failure: None,
                cost,
            }
        }
    }
}
