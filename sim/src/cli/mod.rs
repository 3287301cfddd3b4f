//! The `callsim` command line: `run`, `certify`, `detect`, `serve-ai`, `load` and `merge-reports`.
//!
//! Exit codes: 0 every scenario passed, 1 a scenario failed, 2 bad input or a harness error.

pub mod capture;
pub mod certify;
pub mod detect;
pub mod load;
pub mod output;
mod preflight;
pub mod run;
pub mod serve_ai;
mod timings;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code: every scenario passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: a scenario failed.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: bad input or a harness error.
pub const EXIT_ERROR: u8 = 2;

/// callsim: fake Twilio and a mock OpenAI Realtime endpoint around a voice-AI call server.
#[derive(Debug, Parser)]
#[command(name = "callsim", version, about, long_about = None)]
pub struct Cli {
    /// More log output (repeat for more); `RUST_LOG` overrides, except that `-q` never shows
    /// the in-process server's logs.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only the summary line and failures: no PASS lines, no in-process server logs.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios (default: every file under ./scenarios, against the bundled reference server).
    Run(Box<run::RunArgs>),
    /// Run the bundled certification pack against a call server; exit 0 only when certified.
    Certify(Box<certify::CertifyArgs>),
    /// Measure the pack's detection power: run it once per historical regression of the
    /// reference server and print which bugs it kills.
    Detect(detect::DetectArgs),
    /// Serve the mock OpenAI Realtime endpoint until interrupted.
    ServeAi(serve_ai::ServeAiArgs),
    /// Merge the JSON reports of several shards into one (run or load reports).
    MergeReports(run::MergeArgs),
    /// Many concurrent real-time calls: latency a caller hears, capacity for a ladder.
    Load(Box<load::LoadArgs>),
}

/// The log directive that silences the in-process reference server (its crate's log target).
const REFERENCE_SERVER_LOGS_OFF: &str = "server_under_test=off";

/// Logs go to stderr. `-q` leaves only errors and never shows the in-process reference server's
/// logs, even when `RUST_LOG` asks for them, because quiet output is the failures and the
/// summary. Colours are used only when stderr is a terminal and `NO_COLOR` is unset, so piped
/// and redirected logs carry no escape sequences.
fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error".to_string(),
        // The in-process reference server logs its own warnings and errors (e.g.
        // `[PROMPT_MISMATCH]`, "realtime API unavailable"); they are part of what a scenario
        // provokes, so they belong to verbose output, not between the result lines.
        (false, 0) => format!("error,{REFERENCE_SERVER_LOGS_OFF}"),
        (false, 1) => "warn".to_string(),
        (false, 2) => "info".to_string(),
        (false, _) => "debug".to_string(),
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    if quiet && let Ok(off) = REFERENCE_SERVER_LOGS_OFF.parse() {
        filter = filter.add_directive(off);
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .try_init();
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_PASS
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    let code = match cli.command {
        Command::Run(args) => run::run(*args, cli.quiet),
        Command::MergeReports(args) => run::merge(args),
        Command::Certify(args) => certify::run(*args, cli.quiet),
        Command::Load(args) => load::run(*args, cli.quiet),
        Command::Detect(args) => detect::run(args, cli.quiet),
        Command::ServeAi(args) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => match rt.block_on(serve_ai::run(args)) {
                Ok(()) => EXIT_PASS,
                Err(err) => {
                    eprintln!("error: {err:#}");
                    EXIT_ERROR
                }
            },
            Err(err) => {
                eprintln!("error: cannot start a tokio runtime: {err}");
                EXIT_ERROR
            }
        },
    };
    ExitCode::from(code)
}
