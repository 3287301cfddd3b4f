//! `call-server`: parse the command line, install the SIGINT/SIGTERM handlers, bind, print
//! `listening on ADDR`, serve until SIGINT/SIGTERM. `--list-bugs` prints the bug catalogue and
//! exits instead.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use server_under_test::{Args, Bug, Config, serve};
use tracing_subscriber::EnvFilter;

/// The shutdown signals, registered with the OS before the listening line is printed.
///
/// tokio's `ctrl_c()` and `signal()` futures only register their handler when first polled, and
/// `serve` polls its shutdown future only once it runs; a harness that signals the process the
/// instant it reads `listening on` would hit the default disposition and see exit 143. Creating
/// the streams here installs the handlers immediately.
struct ShutdownSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    /// Installs the handlers for SIGTERM and SIGINT.
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
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let Self {} = self;
            // Outside unix, Ctrl-C registers when first polled; there is no SIGTERM to race.
            if let Err(err) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %err, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
        tracing::info!("shutting down");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_bugs {
        print!("{}", Bug::catalogue());
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::from(args);
    if let Err(err) = config.validate() {
        eprintln!("call-server: {err}");
        return ExitCode::from(2);
    }
    let signals = match ShutdownSignals::install() {
        Ok(signals) => signals,
        Err(err) => {
            eprintln!("call-server: cannot install the SIGINT/SIGTERM handlers: {err}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("call-server: cannot bind {}: {err}", config.listen);
            return ExitCode::from(2);
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("call-server: {err}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout();
    // The first stdout line is the contract with harnesses that start the binary on port 0.
    if writeln!(stdout, "listening on {addr}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    tracing::info!(%addr, profile = %config.profile, bugs = %config.regressions(), prebuild = ?config.prebuild, "call-server started");
    match serve(listener, config, signals.recv()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("call-server: {err}");
            ExitCode::FAILURE
        }
    }
}
