//! The preflight of `run` and `certify` against a server at a URL (`sim::run::preflight`):
//! its findings are printed, and a fatal one is one `error: preflight:` line and exit 2.

use super::EXIT_ERROR;
use crate::run::{ExternalTarget, preflight};

/// Runs the preflight for `target`, naming `tenant` where the webhook path has `{tenant}`.
/// Answers the exit code when the run must not go on.
pub(super) fn check(target: &ExternalTarget, tenant: &str, quiet: bool) -> Result<(), u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start a tokio runtime: {e}");
            EXIT_ERROR
        })?;
    match runtime.block_on(preflight(target, tenant)) {
        Ok(lines) => {
            if !quiet {
                for line in lines {
                    println!("{line}");
                }
            }
            Ok(())
        }
        Err(e) => {
            eprintln!("error: preflight: {e}");
            Err(EXIT_ERROR)
        }
    }
}
