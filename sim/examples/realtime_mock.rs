//! Runs the mock OpenAI Realtime endpoint, as `callsim serve-ai` does.
//!
//! Run with `cargo run -p sim --example realtime_mock -- --listen 127.0.0.1:0`.

use clap::Parser;
use sim::cli::serve_ai::{ServeAiArgs, run};

/// Command line of the example.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ServeAiArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run(Cli::parse().args).await
}
