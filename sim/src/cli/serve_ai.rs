//! `callsim serve-ai`: the mock realtime endpoint as a standalone process.
//!
//! Prints `listening on 127.0.0.1:PORT` as its first stdout line so that a parent process (a
//! test, a script) can bind port 0 and still find the server.
//!
//! Unlike an in-process scenario run, which builds its transcript from the whole prompt ledger,
//! a long-running mock must not keep every session forever: the ledger is bounded by
//! [`Retention::bounded`] unless the flags say otherwise (see `docs/serve-ai.md`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::net::NetListener;
use crate::realtime::{BetaMode, Ledger, MockConfig, Retention};

/// How often the count of sessions dropped from the ledger is logged, when it changed.
const LEDGER_LOG_EVERY: Duration = Duration::from_secs(30);

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
    /// Longest client message accepted, in bytes; a longer one gets an `error` event and a
    /// close with 1009.
    #[arg(long, value_name = "BYTES", default_value_t = crate::realtime::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Sessions the prompt ledger keeps; older closed sessions are dropped (and counted).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub keep_sessions: usize,
    /// Raw input audio the ledger keeps per open session, in seconds; closed sessions keep none.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub session_audio_cap: u64,
    /// Records the ledger keeps per list of a session (updates, responses, truncates, errors,
    /// VAD turns); the oldest go first.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_records_per_session: usize,
    /// Bytes of instructions, error and item-id text the ledger keeps per session.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_session_text: usize,
    /// Keep every session and record whole, like an in-process run (memory grows without
    /// bound); overrides the four limits above.
    #[arg(long)]
    pub full_ledger: bool,
}

impl ServeAiArgs {
    /// The ledger retention the flags ask for.
    pub fn retention(&self) -> Retention {
        if self.full_ledger {
            return Retention::full();
        }
        let audio_ms = self.session_audio_cap.saturating_mul(1000);
        Retention {
            max_sessions: Some(self.keep_sessions),
            audio_cap_ms: usize::try_from(audio_ms).unwrap_or(usize::MAX),
            max_records: Some(self.max_records_per_session),
            max_text_bytes: Some(self.max_session_text),
            compact_on_close: true,
        }
    }
}

/// `--beta` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BetaArg {
    /// Reject beta connections like the service does since 2026-05.
    Retired,
    /// Speak the beta dialect.
    Emulate,
}

/// Installs the signal handlers, binds, prints the listening line and serves until Ctrl-C or
/// SIGTERM.
pub async fn run(args: ServeAiArgs) -> anyhow::Result<()> {
    // Installed before the listening line: a parent that signals the instant it reads the line
    // must get a clean shutdown, not the default disposition (exit 143).
    let signals = ShutdownSignals::install().context("cannot install the signal handlers")?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let mut config = MockConfig::new(SimClock::start_default(), IdGen::new(args.seed));
    config.max_session = Duration::from_secs(args.max_session);
    config.retention = args.retention();
    config.api_keys = (!args.api_key.is_empty()).then_some(args.api_key);
    config.beta = match args.beta {
        BetaArg::Retired => BetaMode::Retired,
        BetaArg::Emulate => BetaMode::Emulate,
    };
    config.audio_pace = args.audio_pace;
    config.max_message_bytes = args.max_message_bytes;
    let ledger_log = tokio::spawn(log_dropped_sessions(config.ledger.clone()));
    let ledger = config.ledger.clone();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {addr}").context("cannot write to stdout")?;
    stdout.flush().context("cannot flush stdout")?;
    let served = crate::realtime::run(NetListener::Tcp(listener), config, signals.recv())
        .await
        .context("mock realtime server failed");
    ledger_log.abort();
    tracing::info!(
        dropped_sessions = ledger.dropped_sessions(),
        kept_sessions = ledger.kept_sessions(),
        "prompt ledger at shutdown"
    );
    served
}

/// Logs how many sessions the ledger has dropped, whenever the count changed.
async fn log_dropped_sessions(ledger: Ledger) {
    let mut logged = 0;
    let mut ticks = tokio::time::interval(LEDGER_LOG_EVERY);
    loop {
        ticks.tick().await;
        let dropped = ledger.dropped_sessions();
        if dropped == logged {
            continue;
        }
        if logged == 0 {
            tracing::warn!(
                "the prompt ledger is full; the oldest closed sessions are being dropped (see --keep-sessions)"
            );
        }
        tracing::info!(
            dropped_sessions = dropped,
            kept_sessions = ledger.kept_sessions(),
            "prompt ledger"
        );
        logged = dropped;
    }
}

/// SIGTERM and SIGINT, registered with the OS as soon as this is created.
///
/// tokio's `ctrl_c()` and `signal()` futures register their handler only when first polled, and
/// the server polls its shutdown future only once it serves; creating the streams up front
/// closes that window.
struct ShutdownSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Completes when the first of the signals arrives.
    async fn recv(self) {
        #[cfg(unix)]
        {
            let Self {
                mut terminate,
                mut interrupt,
            } = self;
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let Self {} = self;
            // Outside unix, Ctrl-C registers when first polled; there is no SIGTERM to race. If
            // the handler cannot be installed, Ctrl-C keeps its default (exit).
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
