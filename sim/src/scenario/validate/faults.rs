//! The `faults:` section: each fault attached to the call it names, or to the AI script.

use super::exactly_one;
use crate::scenario::ScenarioError;
use crate::scenario::load::LoadedScenario;
use crate::scenario::model::RawFault;
use crate::scenario::plan::{AiFaultPlan, CallPlan, ErrorPlan, WebhookFault};

/// Applies every fault; answers the AI faults.
pub(super) fn faults(
    loaded: &LoadedScenario,
    calls: &mut [CallPlan],
) -> Result<Vec<AiFaultPlan>, ScenarioError> {
    let raw = &loaded.raw;
    let mut ai_faults = Vec::new();
    for (i, fault) in raw.faults.iter().enumerate() {
        apply_fault(loaded, i, fault, calls, &mut ai_faults)?;
    }
    Ok(ai_faults)
}

fn apply_fault(
    loaded: &LoadedScenario,
    i: usize,
    fault: &RawFault,
    calls: &mut [CallPlan],
    ai_faults: &mut Vec<AiFaultPlan>,
) -> Result<(), ScenarioError> {
    let key = format!("faults[{i}]");
    exactly_one(
        loaded,
        &key,
        "faults:",
        &[
            ("webhook_error", fault.webhook_error.is_some()),
            ("webhook_timeout", fault.webhook_timeout.is_some()),
            ("ai_error", fault.ai_error.is_some()),
            ("ai_drop", fault.ai_drop.is_some()),
            ("stream_drop", fault.stream_drop.is_some()),
            ("unsigned_webhook", fault.unsigned_webhook.is_some()),
            (
                "bad_webhook_signature",
                fault.bad_webhook_signature.is_some(),
            ),
            ("unsigned_stream", fault.unsigned_stream.is_some()),
        ],
    )?;
    if let Some(f) = &fault.webhook_error {
        if !(100..=599).contains(&f.status) || (200..300).contains(&f.status) {
            return Err(loaded.error_at(
                &format!("{key}.webhook_error.status"),
                &["faults:", "status"],
                "status must be an HTTP error status (not 2xx)",
            ));
        }
        call_for(loaded, &key, calls, &f.call, "webhook_error")?
            .faults
            .webhook = Some((WebhookFault::Status(f.status), f.fallback.unwrap_or(true)));
    } else if let Some(f) = &fault.webhook_timeout {
        call_for(loaded, &key, calls, &f.call, "webhook_timeout")?
            .faults
            .webhook = Some((WebhookFault::Timeout, f.fallback.unwrap_or(true)));
    } else if let Some(f) = &fault.ai_error {
        ai_faults.push(AiFaultPlan::Error {
            session: f.session,
            at: f.at.get(),
            error: ErrorPlan {
                code: f.code.clone(),
                message: f
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("Injected error: {}", f.code)),
                error_type: f
                    .error_type
                    .clone()
                    .unwrap_or_else(|| "server_error".into()),
            },
        });
    } else if let Some(f) = &fault.ai_drop {
        ai_faults.push(AiFaultPlan::Drop {
            session: f.session,
            at: f.at.get(),
        });
    } else if let Some(f) = &fault.stream_drop {
        call_for(loaded, &key, calls, &f.call, "stream_drop")?
            .faults
            .stream_drop_at = Some(f.at.get());
    } else if let Some(f) = &fault.unsigned_webhook {
        call_for(loaded, &key, calls, &f.call, "unsigned_webhook")?
            .faults
            .unsigned_webhook = true;
    } else if let Some(f) = &fault.bad_webhook_signature {
        call_for(loaded, &key, calls, &f.call, "bad_webhook_signature")?
            .faults
            .bad_webhook_signature = true;
    } else if let Some(f) = &fault.unsigned_stream {
        call_for(loaded, &key, calls, &f.call, "unsigned_stream")?
            .faults
            .unsigned_stream = true;
    }
    Ok(())
}

fn call_for<'a>(
    loaded: &LoadedScenario,
    key: &str,
    calls: &'a mut [CallPlan],
    name: &str,
    field: &str,
) -> Result<&'a mut CallPlan, ScenarioError> {
    let known: Vec<String> = calls.iter().map(|c| c.name.clone()).collect();
    calls.iter_mut().find(|c| c.name == name).ok_or_else(|| {
        loaded.error_at(
            &format!("{key}.{field}.call"),
            &["faults:", &format!("call: {name}")],
            format!("unknown call `{name}` (calls: {})", known.join(", ")),
        )
    })
}
