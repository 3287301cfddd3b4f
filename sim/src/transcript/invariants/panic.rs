//! No task of the in-process server under test panicked: a panic in a server task is a crash in
//! production, even when the call around it looks like an ordinary server-side close.

use super::Finding;
use super::context::Context;

/// No panic in the server under test.
pub(super) const NO_PANIC: &str = "server.no-panic";

pub(super) fn no_panic(ctx: &Context<'_>) -> Vec<Finding> {
    ctx.art
        .panics
        .iter()
        .map(|p| {
            Finding::new(
                NO_PANIC,
                None,
                p.at_ms,
                format!("a task of the server under test panicked: {}", p.message),
            )
        })
        .collect()
}
