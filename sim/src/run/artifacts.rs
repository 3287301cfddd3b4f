//! What a run recorded, before the transcript condenses it: the fakes' records, the tenant
//! revisions the run provisioned and the server's residual state.

use serde_json::Value;

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
    /// (time, HTTP status) of each tenant change.
    pub change_statuses: Vec<(u64, Option<u16>)>,
    /// Simulated duration.
    pub simulated_ms: u64,
    /// Target description.
    pub target: String,
}
