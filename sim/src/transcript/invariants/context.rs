//! What the invariants look at: the plan, the run's artifacts and which session served which
//! call, with the per-call facts they all need.

use crate::realtime::{ResponseRecord, SessionRecord};
use crate::run::RunArtifacts;
use crate::scenario::plan::{CallDirection, CallPlan, Plan, TenantPlan};
use crate::twilio::CallRecord;

/// The inputs of every invariant.
pub struct Context<'a> {
    /// The scenario.
    pub plan: &'a Plan,
    /// What the run recorded.
    pub art: &'a RunArtifacts,
    /// For each AI session, the index (into `art.calls`) of the call it served.
    pub owner: &'a [Option<usize>],
}

/// One AI session with the call it served.
pub(super) struct ServedSession<'a> {
    pub session: &'a SessionRecord,
    pub record: &'a CallRecord,
    pub call: &'a CallPlan,
}

impl<'a> Context<'a> {
    /// Sessions whose call is a call of the scenario.
    pub(super) fn served_sessions(&self) -> Vec<ServedSession<'a>> {
        self.art
            .sessions
            .iter()
            .zip(self.owner)
            .filter_map(|(session, who)| {
                let record = self.art.calls.get((*who)?)?;
                let call = self.plan.calls.iter().find(|c| c.name == record.label)?;
                Some(ServedSession {
                    session,
                    record,
                    call,
                })
            })
            .collect()
    }

    /// Every revision of a tenant's settings the run provisioned, in order.
    pub(super) fn revisions(&self, tenant: &str) -> Vec<&'a TenantPlan> {
        self.art
            .revisions
            .iter()
            .filter(|r| r.tenant == tenant)
            .map(|r| &r.settings)
            .collect()
    }

    /// Every response of a session, with the session.
    pub(super) fn responses(served: &ServedSession<'a>) -> &'a [ResponseRecord] {
        &served.session.responses
    }
}

/// A tenant's prompt for a direction.
pub(super) fn prompt_for(t: &TenantPlan, direction: CallDirection) -> &str {
    match direction {
        CallDirection::Inbound => &t.inbound_prompt,
        CallDirection::Outbound => &t.outbound_prompt,
    }
}

/// The other direction.
pub(super) fn other(direction: CallDirection) -> CallDirection {
    match direction {
        CallDirection::Inbound => CallDirection::Outbound,
        CallDirection::Outbound => CallDirection::Inbound,
    }
}
