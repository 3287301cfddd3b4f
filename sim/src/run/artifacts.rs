//! What a run recorded, before the transcript condenses it: the fakes' records, the tenant
//! revisions the run provisioned and the server's residual state.

use serde::Serialize;
use serde_json::Value;

use super::declarations::Declarations;
use crate::realtime::SessionRecord;
use crate::scenario::plan::TenantPlan;
use crate::twilio::CallRecord;

/// One revision of a tenant's settings (the provisioned settings are revision 1).
#[derive(Debug, Clone)]
pub struct TenantRevision {
    /// Tenant slug.
    pub tenant: String,
    /// Revision number.
    pub revision: u32,
    /// Settings.
    pub settings: TenantPlan,
}

/// Everything a run recorded, before it is condensed into a transcript.
#[derive(Debug, Clone)]
pub struct RunArtifacts {
    /// Twilio's call records, in scenario order.
    pub calls: Vec<CallRecord>,
    /// The mock AI's ledger.
    pub sessions: Vec<SessionRecord>,
    /// AI sessions still open at the end.
    pub open_sessions: usize,
    /// The server's residual state (`"none"` or what remained).
    pub residual: Value,
    /// Every tenant revision.
    pub revisions: Vec<TenantRevision>,
    /// (name, text) of every prompt the target declares as its own (the target file's
    /// `prompts:`), which the transcript names them by.
    pub prompt_names: Vec<(String, String)>,
    /// (time, HTTP status) of each tenant change.
    pub change_statuses: Vec<(u64, Option<u16>)>,
    /// Simulated duration.
    pub simulated_ms: u64,
    /// Target description.
    pub target: String,
    /// Panics of tasks on the run's runtime (in-process: the server under test's tasks).
    pub panics: Vec<PanicRecord>,
    /// What the target declares (the bounds the invariants hold it to).
    pub declared: Declarations,
}

/// A task that panicked during the run.
#[derive(Debug, Clone, Serialize)]
pub struct PanicRecord {
    /// When, in ms since the run started.
    pub at_ms: u64,
    /// The panic message and where it was raised.
    pub message: String,
}
