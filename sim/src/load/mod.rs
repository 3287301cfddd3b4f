//! `callsim load`: a scenario's caller timelines as many concurrent real-time calls, with the
//! latency a caller hears, the generator's own health and a capacity verdict for a ladder.
//!
//! - `config`: the shape (fixed or ladder), bounds and shards; `plan`: scenario calls rendered
//!   into frames, weighted picks.
//! - `target`: the target side on its own runtime (mock AI with thinking time, reference server
//!   or an external one, or the echo target); `pin`: CPU pinning.
//! - `driver`: one call in real time; `echo`: the echo target and the calibration call; `wire`:
//!   the Media Streams messages a call sends.
//! - `schedule`: the run loop; `recorder`: the live sink; `metrics`: histograms and counters.
//! - `health`: the generator's lateness and CPU; `capacity`: the capacity rule.
//! - `report`: the JSON model; `merge`: shard reports into one; `csv` and `html`: the other
//!   outputs.

pub mod capacity;
pub mod config;
pub mod csv;
pub mod driver;
pub mod echo;
pub mod health;
pub mod html;
pub mod merge;
pub mod metrics;
pub mod pin;
pub mod plan;
pub mod recorder;
pub mod report;
pub mod schedule;
pub mod target;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use config::{LoadConfig, Shape, Shard};
pub use report::LoadReport;
pub use target::{AiOptions, TargetChoice};

use crate::audio::FRAME_BYTES;
use crate::run::Endpoints;
use crate::scenario::Plan;
use crate::twilio::{TwilioEnv, UrlMap};
use driver::CallEnv;
use plan::{CallTemplate, Frame, Templates};
use recorder::Recorder;
use report::{ConfigEcho, StepReport};
use schedule::Driver;

/// Why a load run could not happen.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bad options or scenario files.
    #[error("{0}")]
    Input(String),
    /// The harness could not start something.
    #[error("{0}")]
    Harness(String),
}

/// What to play against what.
#[derive(Debug, Clone)]
pub enum Work {
    /// Scenario calls against a call server.
    Calls {
        /// The target.
        target: TargetChoice,
        /// Validated scenarios with their weights.
        plans: Vec<(Plan, u32)>,
        /// The mock AI's behaviour.
        ai: AiOptions,
    },
    /// Twilio-shaped streams against an echo target (`None`: the built-in one).
    Calibrate {
        /// An external echo target's `ws://` URL.
        url: Option<String>,
    },
}

/// A load run.
#[derive(Debug, Clone)]
pub struct LoadSetup {
    /// The options.
    pub config: LoadConfig,
    /// What to play.
    pub work: Work,
    /// Pin the generator thread to this CPU.
    pub generator_cpu: Option<usize>,
    /// Pin the target side's thread to this CPU.
    pub target_cpu: Option<usize>,
    /// Show the live progress line (on a terminal).
    pub progress: bool,
    /// End cleanly on Ctrl-C.
    pub ctrl_c: bool,
}

/// Runs a load test on the calling thread (the generator) with the target side on a runtime
/// of its own, and returns the judged report.
pub fn run(setup: LoadSetup) -> Result<LoadReport, LoadError> {
    setup.config.validate().map_err(LoadError::Input)?;
    let (side, templates, driver, labels) = match &setup.work {
        Work::Calls { target, plans, ai } => {
            let side =
                target::start_calls(target, *ai, plans, setup.config.seed, setup.target_cpu)?;
            let endpoints = side
                .endpoints
                .clone()
                .ok_or_else(|| LoadError::Harness("the target has no endpoints".into()))?;
            let templates =
                Templates::new(plans, &endpoints, setup.config.seed).map_err(LoadError::Input)?;
            let labels = templates.labels();
            let env = call_env(endpoints, setup.config.seed);
            (side, templates, Driver::Calls(Arc::new(env)), labels)
        }
        Work::Calibrate { url } => {
            let side = target::start_echo(url.clone(), setup.target_cpu)?;
            let url = side.echo_url.clone().unwrap_or_default();
            (
                side,
                calibration_templates(),
                Driver::Echo(url),
                vec!["calibrate/echo".into()],
            )
        }
    };
    let description = side.description.clone();
    let outcome = generate(&setup, templates, driver);
    side.shutdown();
    let outcome = outcome?;
    Ok(report(&setup, description, labels, outcome))
}

/// The generator: a current-thread runtime on this thread, pinned if asked.
fn generate(
    setup: &LoadSetup,
    templates: Templates,
    driver: Driver,
) -> Result<schedule::Outcome, LoadError> {
    if let Some(cpu) = setup.generator_cpu {
        pin::pin_this_thread(cpu).map_err(LoadError::Harness)?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadError::Harness(format!("cannot start the generator runtime: {e}")))?;
    let recorder = Arc::new(Recorder::new());
    let (interrupt_tx, interrupt) = watch::channel(false);
    let outcome = rt.block_on(async {
        if setup.ctrl_c {
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = interrupt_tx.send(true);
                }
            });
        }
        let recorder = match &driver {
            Driver::Calls(env) => Arc::clone(&env.recorder),
            Driver::Echo(_) => recorder,
        };
        schedule::run(
            &setup.config,
            driver,
            Arc::new(templates),
            recorder,
            interrupt,
            setup.progress,
        )
        .await
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(outcome)
}

fn call_env(endpoints: Endpoints, seed: u64) -> CallEnv {
    let mut url_map = UrlMap::new();
    for (public, actual) in &endpoints.rewrites {
        url_map = url_map.with(public, actual);
    }
    let twilio = TwilioEnv::new(
        &endpoints.account_sid,
        &endpoints.auth_token,
        crate::clock::SimClock::start_default(),
        crate::ids::IdGen::new(seed),
    )
    .with_url_map(url_map);
    CallEnv {
        twilio,
        endpoints,
        recorder: Arc::new(Recorder::new()),
        seed,
    }
}

/// The calibration call: one payload repeated (the Node anchor's byte pattern).
fn calibration_templates() -> Templates {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..FRAME_BYTES).map(|i| 0xFF - (i % 32) as u8).collect();
    let payload: Arc<str> = Arc::from(base64::engine::general_purpose::STANDARD.encode(bytes));
    let template = CallTemplate {
        label: "calibrate/echo".into(),
        webhook_path: String::new(),
        from: String::new(),
        to: String::new(),
        frames: vec![Frame {
            payload,
            speech_start: false,
            speech_end: false,
            digits: Vec::new(),
        }],
    };
    Templates::single(template)
}

fn report(
    setup: &LoadSetup,
    target: String,
    scenarios: Vec<String>,
    outcome: schedule::Outcome,
) -> LoadReport {
    let cfg = &setup.config;
    let shape = match &cfg.shape {
        Shape::Fixed { calls } => format!("fixed {calls}"),
        Shape::Ladder { steps, step } => format!(
            "ladder {} x {}s",
            steps
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            step.as_secs_f64()
        ),
    };
    let mut total = metrics::Metrics::new();
    let mut steps = Vec::new();
    let mut wall = 0.0;
    for (i, s) in outcome.steps.iter().enumerate() {
        total.add(&s.metrics);
        wall += s.wall.as_secs_f64();
        steps.push(StepReport::new(
            format!("step {} ({} calls)", i + 1, s.target),
            s.target,
            s.wall.as_secs_f64(),
            &s.metrics,
            vec![s.health.clone()],
        ));
    }
    let generator: Vec<_> = outcome.steps.iter().map(|s| s.health.clone()).collect();
    let worst = generator
        .iter()
        .max_by(|a, b| a.lateness_p99_ms.total_cmp(&b.lateness_p99_ms))
        .cloned();
    let mut r = LoadReport {
        format: report::FORMAT.into(),
        target,
        mode: match setup.work {
            Work::Calls { .. } => "calls".into(),
            Work::Calibrate { .. } => "calibrate".into(),
        },
        scenarios,
        config: ConfigEcho {
            shape,
            rate: cfg.rate,
            hold_s: cfg.hold.map(|h| h.as_secs_f64()),
            interval_s: cfg.interval.as_secs_f64(),
            seed: cfg.seed,
            shards: cfg.shard.map_or(1, |s| s.count),
            rule: cfg.rule,
            health: cfg.health,
        },
        interrupted: outcome.interrupted,
        total: StepReport::new(
            "total".into(),
            outcome.steps.iter().map(|s| s.target).max().unwrap_or(0),
            wall,
            &total,
            worst.into_iter().collect(),
        ),
        steps,
        intervals: outcome.intervals,
        capacity: None,
        warnings: Vec::new(),
    };
    if let Some(shard) = cfg.shard {
        r.warnings.push(format!(
            "shard {}/{} of one test: merge the shards' reports with `callsim merge-reports`",
            shard.index, shard.count
        ));
    }
    r.judge(matches!(cfg.shape, Shape::Ladder { .. }));
    r
}
