//! Per-call state shared by the webhook, status-callback, stream and executor code.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::ids::IdGen;

use super::call_record::TwilioError;
use super::call_store::CallHandle;
use super::env::TwilioEnv;
use super::http::Signing;
use super::params::CallIdentity;
use super::spec::{CallFaults, StatusCallbackConfig};

/// One call's environment: ids, identity, record and configuration.
#[derive(Debug)]
pub struct CallContext {
    /// The shared fake-Twilio environment.
    pub env: TwilioEnv,
    /// This call's id fork (`env.ids.fork(label)`).
    pub ids: IdGen,
    /// Ids and numbers of the call.
    pub identity: CallIdentity,
    /// The live record.
    pub record: CallHandle,
    /// Injected faults.
    pub faults: CallFaults,
    /// The call status callback subscription.
    pub status_callback: Option<StatusCallbackConfig>,
    /// Next `SequenceNumber` of a call status callback.
    pub callback_seq: AtomicU32,
}

impl CallContext {
    /// Milliseconds since the scenario start.
    pub fn now_ms(&self) -> u64 {
        self.env.clock.elapsed_ms()
    }

    /// How voice webhooks of this call are signed.
    pub fn webhook_signing(&self) -> Signing {
        if self.faults.unsigned_webhook {
            Signing::Missing
        } else if self.faults.bad_webhook_signature {
            Signing::Wrong
        } else {
            Signing::Valid
        }
    }

    /// Records a call-level error and returns it.
    pub fn error(&self, code: u32, message: impl Into<String>) -> TwilioError {
        let err = TwilioError {
            at_ms: self.now_ms(),
            code,
            message: message.into(),
        };
        let copy = err.clone();
        self.record.update(|r| r.errors.push(copy));
        err
    }

    /// Takes the next callback sequence number.
    pub fn next_callback_seq(&self) -> u32 {
        self.callback_seq.fetch_add(1, Ordering::Relaxed)
    }
}
