//! Stage 1 of a media session: wait for Twilio's `start` and admit the call it names.
//!
//! A call is admitted when `start` carries a call SID, a direction and a tenant
//! [`tenant_resolution`] resolves; the direction is then locked for the rest of the call,
//! whatever the prompt says later.

use futures_util::{Stream, StreamExt};

use super::{EndReason, START_TIMEOUT};
use crate::bugs::Bug;
use crate::direction::Direction;
use crate::state::AppState;
use crate::tenant_resolution;
use crate::tenants::Tenant;
use crate::twilio_message::{StartPayload, TwilioInbound};

/// A call whose `start` named everything the session needs.
pub(super) struct AdmittedCall {
    pub(super) call_sid: String,
    /// Locked: nothing after the start changes it.
    pub(super) direction: Direction,
    pub(super) tenant: Tenant,
}

/// Removes the call's registry entry however the session ends.
pub(super) struct RegistryCleanup {
    state: AppState,
    call_sid: String,
}

impl RegistryCleanup {
    /// Clears `call_sid`'s registry entry when dropped.
    pub(super) fn new(state: &AppState, call_sid: String) -> RegistryCleanup {
        RegistryCleanup {
            state: state.clone(),
            call_sid,
        }
    }
}

impl Drop for RegistryCleanup {
    fn drop(&mut self) {
        self.state.registry().clear(&self.call_sid);
    }
}

/// Reads Twilio messages until `start`; an `EndReason` when the socket ends or the timeout passes.
pub(super) async fn wait_for_start<TR>(
    twilio_rx: &mut TR,
) -> Result<(String, StartPayload), EndReason>
where
    TR: Stream<Item = TwilioInbound> + Unpin,
{
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, twilio_rx.next()).await {
            Ok(Some(TwilioInbound::Start { stream_sid, start })) => return Ok((stream_sid, start)),
            Ok(Some(TwilioInbound::Stop { .. }) | None) => return Err(EndReason::TwilioClosed),
            Ok(Some(_)) => {}
            Err(_) => return Err(EndReason::NoStart),
        }
    }
}

/// The call SID: the TwiML's `call_sid` parameter first, then `start.callSid`.
pub(super) fn call_sid(start: &StartPayload) -> Option<String> {
    start
        .custom_parameters
        .get("call_sid")
        .cloned()
        .or(start.call_sid.clone())
}

/// Admits the call `start` names and locks its direction; `None` (logged) when the call SID,
/// the direction or the tenant is missing or the tenant is unknown.
pub(super) fn admit(
    state: &AppState,
    call_sid: Option<String>,
    start: &StartPayload,
) -> Option<AdmittedCall> {
    let direction = call_direction(state, start);
    let slug = start.custom_parameters.get("tenant").map(String::as_str);
    let tenant = match tenant_resolution::resolve(state, slug) {
        Ok(tenant) => tenant,
        Err(err) => {
            tracing::error!(error = %err, "tenant lookup failed");
            None
        }
    };
    let (Some(call_sid), Some(direction), Some(tenant)) = (call_sid, direction, tenant) else {
        tracing::error!(params = ?start.custom_parameters, "start without a usable call_sid, direction or tenant; ending the stream");
        return None;
    };
    // The direction is immutable from here on, whatever the prompt says.
    tracing::info!(%call_sid, "[CALL_DIRECTION_SET] Locked to: {direction} (IMMUTABLE)");
    Some(AdmittedCall {
        call_sid,
        direction,
        tenant,
    })
}

/// The call's direction: the `direction` parameter the webhook put in the TwiML.
///
/// Under [`Bug::DirectionInferred`] the parameter is ignored and the direction inferred the
/// seed's way: To == business number → inbound, From == business number → outbound, else
/// inbound. Tenants here have no business number, so every call is inbound.
fn call_direction(state: &AppState, start: &StartPayload) -> Option<Direction> {
    let carried = start.custom_parameters.get("direction");
    if state.regressions().has(Bug::DirectionInferred) {
        tracing::warn!(carried = ?carried, "[DIRECTION_INFERRED] no business number matches; inbound");
        return Some(Direction::Inbound);
    }
    carried.and_then(|d| Direction::parse(d))
}
