//! Why a scenario could not be run, as opposed to: it ran and an assertion failed.

use std::net::SocketAddr;
use std::time::Duration;

/// Why a scenario could not be run (as opposed to: it ran and an assertion failed).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A listener could not be bound.
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        /// Which component.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The in-process reference server could not start.
    #[error("cannot start the reference server: {0}")]
    Server(String),
    /// The target refused or failed tenant provisioning.
    #[error("tenant provisioning failed for `{tenant}` at {url}: {reason}")]
    Provision {
        /// Tenant.
        tenant: String,
        /// URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The scenario needs something this run cannot do, such as network faults over TCP.
    #[error("{0}")]
    Unsupported(String),
    /// The scenario exceeded its time budget.
    #[error("scenario did not finish within {0:?} (calls still in flight: {1})")]
    Timeout(Duration, usize),
}
