//! `callsim serve-ai`: the mock realtime endpoint as a standalone process.
//!
//! Prints `listening on 127.0.0.1:PORT` as its first stdout line so that a parent process (a
//! test, a script) can bind port 0 and still find the server.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::realtime::{BetaMode, MockConfig};

/// Options of `callsim serve-ai`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeAiArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Maximum session duration in seconds (the real service: 3600).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub max_session: u64,
    /// An accepted API key (repeatable); without any, every bearer token is accepted.
    #[arg(long = "api-key", value_name = "KEY")]
    pub api_key: Vec<String>,
    /// What to do with beta-dialect connections.
    #[arg(long, value_enum, default_value_t = BetaArg::Retired)]
    pub beta: BetaArg,
    /// Seed of every generated id.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Speed-up of response audio over real time.
    #[arg(long, default_value_t = 10.0)]
    pub audio_pace: f64,
}

/// `--beta` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BetaArg {
    /// Reject beta connections like the service does since 2026-05.
    Retired,
    /// Speak the beta dialect.
    Emulate,
}

/// Binds, prints the listening line and serves until Ctrl-C or SIGTERM.
pub async fn run(args: ServeAiArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let mut config = MockConfig::new(SimClock::start_default(), IdGen::new(args.seed));
    config.max_session = Duration::from_secs(args.max_session);
    config.api_keys = (!args.api_key.is_empty()).then_some(args.api_key);
    config.beta = match args.beta {
        BetaArg::Retired => BetaMode::Retired,
        BetaArg::Emulate => BetaMode::Emulate,
    };
    config.audio_pace = args.audio_pace;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {addr}").context("cannot write to stdout")?;
    stdout.flush().context("cannot flush stdout")?;
    crate::realtime::run(listener, config, shutdown_signal())
        .await
        .context("mock realtime server failed")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, Ctrl-C falls back to the default (exit).
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
