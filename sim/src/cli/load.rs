//! `callsim load`: many concurrent real-time calls against a call server (or an echo target
//! for calibration), with JSON, CSV and HTML reports and, for a ladder, a capacity verdict;
//! `callsim merge-reports` on load reports merges shards (see `docs/load.md`).
//!
//! Exit codes: 0 the run met the rule (a fixed run: failed calls under the bound; a ladder: a
//! capacity verdict), 1 it did not (or the generator was the bottleneck), 2 bad input or a
//! harness error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};
use crate::load::capacity::CapacityRule;
use crate::load::config::parse_ladder;
use crate::load::health::HealthBounds;
use crate::load::plan::WeightedPath;
use crate::load::{
    self, AiOptions, LoadConfig, LoadReport, LoadSetup, Shape, Shard, TargetChoice, Work,
};
use crate::run::ExternalTarget;
use crate::scenario::duration::parse_duration;
use crate::scenario::{build_plan, load_file};

/// Options of `callsim load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Scenario files whose calls are played, each optionally weighted (`file.yaml:3`).
    pub scenarios: Vec<String>,
    /// `reference` (the bundled reference server on loopback TCP) or `http://HOST:PORT` of a
    /// running server.
    #[arg(long, default_value = "reference")]
    pub target: String,
    /// Target file for an external server (as `callsim run`).
    #[arg(long)]
    pub target_config: Option<PathBuf>,
    /// Where the mock AI listens for an external target.
    #[arg(long, default_value = super::run::DEFAULT_AI_LISTEN)]
    pub ai_listen: SocketAddr,
    /// Concurrent calls (a fixed run).
    #[arg(long, default_value_t = 10)]
    pub calls: u64,
    /// New calls per second, at most.
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// Length of each call (its timeline repeats), e.g. `30s`; default: the scenario call's own.
    #[arg(long, value_parser = parse_duration)]
    pub hold: Option<Duration>,
    /// Keep refilling call slots for this long (a fixed run without it plays each slot once).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Start at most this many calls in all.
    #[arg(long)]
    pub max_calls: Option<u64>,
    /// A ladder of concurrent calls, e.g. `50,100,200` (the first step is the baseline).
    #[arg(long)]
    pub ladder: Option<String>,
    /// Length of each ladder step.
    #[arg(long, value_parser = parse_duration, default_value = "20s")]
    pub step: Duration,
    /// Length of one interval row (CSV, chart, progress line).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub interval: Duration,
    /// Longest wait for calls to hang up at the end.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub drain: Duration,
    /// Capacity rule: failed calls must stay below this percentage.
    #[arg(long, default_value_t = 0.5)]
    pub max_failed_pct: f64,
    /// Capacity rule: p95 turn latency at most this times the baseline's.
    #[arg(long, default_value_t = 1.25)]
    pub max_p95_ratio: f64,
    /// Generator health: frame lateness p99 bound in milliseconds.
    #[arg(long, default_value_t = 5.0)]
    pub max_lateness_p99: f64,
    /// Generator health: bound on the generator thread's share of one core.
    #[arg(long, default_value_t = 0.85)]
    pub max_cpu_share: f64,
    /// The mock AI's thinking time before each reply's first audio.
    #[arg(long, value_parser = parse_duration, default_value = "400ms")]
    pub ai_first_audio: Duration,
    /// Its seeded jitter either way.
    #[arg(long, value_parser = parse_duration, default_value = "50ms")]
    pub ai_jitter: Duration,
    /// Length of each spoken reply.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub ai_reply: Duration,
    /// Speed of reply audio over real time (a real model streams faster than it speaks).
    #[arg(long, default_value_t = 4.0)]
    pub ai_pace: f64,
    /// Measure the harness floor against an echo target instead of playing scenarios.
    #[arg(long)]
    pub calibrate: bool,
    /// The echo target for `--calibrate` (`ws://HOST:PORT`); default: a built-in one.
    #[arg(long)]
    pub echo_url: Option<String>,
    /// Serve the raw echo target on this address until Ctrl-C, and nothing else.
    #[arg(long)]
    pub serve_echo: Option<SocketAddr>,
    /// Run shard M of N (1-based) of one test; merge the reports with `merge-reports`.
    #[arg(long, value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Seed of call ids, picks and the mock AI's jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pin the generator thread to this CPU.
    #[arg(long)]
    pub generator_cpu: Option<usize>,
    /// Pin the target side (mock AI, reference server, echo target) to this CPU.
    #[arg(long)]
    pub target_cpu: Option<usize>,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the interval CSV here.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write the HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// `callsim load`.
pub fn run(args: LoadArgs, quiet: bool) -> u8 {
    if let Some(addr) = args.serve_echo {
        return serve_echo(addr);
    }
    let setup = match setup(&args, quiet) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let report = match load::run(setup) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    finish(
        &report,
        args.json.as_deref(),
        args.csv.as_deref(),
        args.html.as_deref(),
        quiet,
    )
}

fn setup(args: &LoadArgs, quiet: bool) -> Result<LoadSetup, String> {
    let shape = match &args.ladder {
        Some(text) => Shape::Ladder {
            steps: parse_ladder(text)?,
            step: args.step,
        },
        None => Shape::Fixed { calls: args.calls },
    };
    let config = LoadConfig {
        shape,
        rate: args.rate,
        hold: args.hold,
        duration: args.duration,
        max_calls: args.max_calls,
        interval: args.interval,
        drain: args.drain,
        rule: CapacityRule {
            max_failed_pct: args.max_failed_pct,
            max_p95_ratio: args.max_p95_ratio,
        },
        health: HealthBounds {
            lateness_p99_ms: args.max_lateness_p99,
            cpu_share: args.max_cpu_share,
        },
        shard: args.shard,
        seed: args.seed,
    };
    config.validate()?;
    let work = if args.calibrate {
        if !args.scenarios.is_empty() {
            return Err("--calibrate plays no scenarios; drop the scenario files".into());
        }
        Work::Calibrate {
            url: args.echo_url.clone(),
        }
    } else {
        Work::Calls {
            target: target(args)?,
            plans: plans(&args.scenarios)?,
            ai: AiOptions {
                first_audio: args.ai_first_audio,
                jitter: args.ai_jitter,
                reply: args.ai_reply,
                pace: args.ai_pace,
            },
        }
    };
    Ok(LoadSetup {
        config,
        work,
        generator_cpu: args.generator_cpu,
        target_cpu: args.target_cpu,
        progress: !quiet,
        ctrl_c: true,
    })
}

fn target(args: &LoadArgs) -> Result<TargetChoice, String> {
    if args.target == "reference" {
        if args.target_config.is_some() {
            return Err("--target-config needs --target http://HOST:PORT".into());
        }
        return Ok(TargetChoice::Reference);
    }
    let t = ExternalTarget::new(
        &args.target,
        args.target_config.as_deref(),
        args.ai_listen,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .map_err(|e| e.to_string())?;
    for line in super::run::external_instructions(&t) {
        eprintln!("{line}");
    }
    Ok(TargetChoice::External(Box::new(t)))
}

fn plans(paths: &[String]) -> Result<Vec<(crate::scenario::Plan, u32)>, String> {
    if paths.is_empty() {
        return Err(
            "give at least one scenario file (e.g. scenarios/seed/both-prompts-set.yaml)".into(),
        );
    }
    let mut plans = Vec::new();
    for text in paths {
        let w = WeightedPath::parse(text)?;
        let loaded = load_file(&w.path).map_err(|e| e.to_string())?;
        let name = w
            .path
            .file_stem()
            .map_or_else(|| text.clone(), |s| s.to_string_lossy().into_owned());
        let plan = build_plan(&loaded, &name).map_err(|e| e.to_string())?;
        plans.push((plan, w.weight));
    }
    Ok(plans)
}

fn serve_echo(addr: SocketAddr) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start a tokio runtime: {e}");
            return EXIT_ERROR;
        }
    };
    rt.block_on(async {
        let listener = match load::echo::bind_echo(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                return EXIT_ERROR;
            }
        };
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        if let Ok(bound) = listener.local_addr() {
            println!("listening on {bound}");
        }
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop.send(true);
        });
        load::echo::serve_echo(listener, stop_rx).await;
        EXIT_PASS
    })
}

/// Writes the reports, prints the summary and answers the exit code.
fn finish(
    report: &LoadReport,
    json: Option<&Path>,
    csv: Option<&Path>,
    html: Option<&Path>,
    quiet: bool,
) -> u8 {
    if let Err(e) = write_outputs(report, json, csv, html) {
        eprintln!("error: {e}");
        return EXIT_ERROR;
    }
    if !quiet {
        for s in report.steps.iter().chain(std::iter::once(&report.total)) {
            println!("{}", step_line(s));
        }
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match &report.capacity {
        Some(c) => {
            match (c.capacity_calls, &c.withheld) {
                (_, Some(why)) => println!("capacity: no verdict ({why})"),
                (Some(calls), None) => println!(
                    "capacity: {calls} concurrent calls (failed < {} %, p95 turn latency <= {} x baseline)",
                    c.rule.max_failed_pct, c.rule.max_p95_ratio
                ),
                (None, None) => println!("capacity: not even the baseline step meets the rule"),
            }
            if c.capacity_calls.is_some() {
                EXIT_PASS
            } else {
                EXIT_FAIL
            }
        }
        None if report.total.failed_pct < report.config.rule.max_failed_pct => EXIT_PASS,
        None => EXIT_FAIL,
    }
}

fn step_line(s: &crate::load::report::StepReport) -> String {
    let p = |name: &str| {
        s.latency_ms.get(name).map_or_else(
            || "-".to_owned(),
            |x| {
                format!(
                    "p50 {:.1} p95 {:.1} p99 {:.1} max {:.1}",
                    x.p50, x.p95, x.p99, x.max
                )
            },
        )
    };
    let cpu: Vec<String> = s
        .generator
        .iter()
        .map(|g| {
            format!(
                "{:.2} ({:.3} ms/call-s)",
                g.cpu_share, g.cpu_ms_per_call_second
            )
        })
        .collect();
    format!(
        "{}: started {} completed {} failed {:.2} % | turn ms {} | lateness ms {} | echo rtt ms {} | frames sent {} received {} | generator cpu {}",
        s.label,
        s.counts.started,
        s.counts.completed,
        s.failed_pct,
        p("turn_latency"),
        p("frame_lateness"),
        p("echo_rtt"),
        s.counts.frames_sent,
        s.counts.frames_received,
        cpu.join(", ")
    )
}

fn write_outputs(
    report: &LoadReport,
    json: Option<&Path>,
    csv: Option<&Path>,
    html: Option<&Path>,
) -> Result<(), String> {
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    if let Some(p) = json {
        let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
        write(p, text)?;
    }
    if let Some(p) = csv {
        write(p, load::csv::render(report))?;
    }
    if let Some(p) = html {
        write(p, load::html::render(report))?;
    }
    Ok(())
}

/// Whether a JSON report is a load report (so `merge-reports` merges it as one).
pub fn is_load_report(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .is_ok_and(|v| v.get("format").and_then(|f| f.as_str()) == Some(load::report::FORMAT))
}

/// `callsim merge-reports` on load reports.
pub fn merge(paths: &[PathBuf], json: Option<&Path>, html: Option<&Path>) -> u8 {
    let mut reports = Vec::new();
    for path in paths {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                serde_json::from_str::<LoadReport>(&t)
                    .map_err(|e| format!("not a callsim load report: {e}"))
            });
        match parsed {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return EXIT_ERROR;
            }
        }
    }
    match load::merge::merge(&reports) {
        Ok(merged) => finish(&merged, json, None, html, false),
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}
