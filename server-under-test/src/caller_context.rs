//! What a call's prompt says about its caller: the notes the tenant keeps about the person on
//! the line (the seed's lead notes, added on 2026-01-18).
//!
//! The person on the line is `From` on an inbound call and `To` on an outbound one. The webhook
//! remembers that number in the call's stream-registry entry, so the stream side can look the
//! notes up as well as the pre-build. The notes are appended to the built prompt after the
//! prompt cache, so the cache only ever holds prompts every caller may hear; under
//! [`crate::bugs::Bug::CallerContextLeak`] the cache holds the prompt with the notes in it (see
//! [`crate::prompt_cache`]), as the seed's did from 2026-02-01.

use serde_json::Value;

use crate::direction::Direction;
use crate::prompt_builder::BuiltPrompt;
use crate::state::AppState;

/// Registry key of the phone number of the person on the line.
pub const CALLER_PHONE_KEY: &str = "_caller_phone";

/// The longest E.164 number, in digits.
const MAX_E164_DIGITS: usize = 15;

/// Whether `phone` is an E.164 number: `+` and 1 to 15 digits.
pub fn is_e164(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|digits| {
        (1..=MAX_E164_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The number of the person on the line, from a voice webhook's form: `From` when they called
/// in, `To` when the tenant called them.
pub fn caller_phone(params: &[(String, String)], direction: Direction) -> Option<&str> {
    let name = match direction {
        Direction::Inbound => "From",
        Direction::Outbound => "To",
    };
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Remembers the caller's number for the stream side of `call_sid`.
pub fn remember(state: &AppState, call_sid: &str, phone: &str) {
    state
        .registry()
        .set_metadata(call_sid, CALLER_PHONE_KEY, Value::String(phone.to_owned()));
}

/// The notes `tenant` keeps about the caller at `phone`; a failed lookup is logged and treated
/// as no notes, because a call must not fail over them.
pub fn notes_for(state: &AppState, tenant: &str, phone: Option<&str>) -> Option<String> {
    let phone = phone?;
    match state.tenants().contact_notes(tenant, phone) {
        Ok(notes) => notes.filter(|n| !n.trim().is_empty()),
        Err(err) => {
            tracing::error!(error = %err, tenant, "contact lookup failed; no caller notes");
            None
        }
    }
}

/// The notes about the caller of `call_sid`, whose number the webhook remembered.
pub fn notes_for_call(state: &AppState, tenant: &str, call_sid: &str) -> Option<String> {
    let phone = state.registry().get_metadata(call_sid, CALLER_PHONE_KEY);
    notes_for(state, tenant, phone.as_ref().and_then(Value::as_str))
}

/// `prompt` with the caller's `notes` appended, or unchanged without notes.
pub fn with_caller_notes(mut prompt: BuiltPrompt, notes: Option<&str>) -> BuiltPrompt {
    if let Some(notes) = notes {
        prompt.text = format!("{}\n\nAbout this caller: {notes}", prompt.text);
    }
    prompt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn e164_is_a_plus_and_up_to_fifteen_digits() {
        for good in ["+1", "+14155551234", "+123456789012345"] {
            assert!(is_e164(good), "{good}");
        }
        for bad in [
            "",
            "+",
            "14155551234",
            "+1234567890123456",
            "+1 415",
            "+1/../x",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn the_person_on_the_line_is_from_inbound_and_to_outbound() {
        let form = params(&[("From", "+1555000"), ("To", "+1555999")]);
        assert_eq!(caller_phone(&form, Direction::Inbound), Some("+1555000"));
        assert_eq!(caller_phone(&form, Direction::Outbound), Some("+1555999"));
        assert_eq!(caller_phone(&[], Direction::Inbound), None);
    }

    #[test]
    fn notes_are_appended_only_when_there_are_some() {
        let built = BuiltPrompt {
            text: "Business: Acme\n\nHello.".into(),
            direction: Direction::Inbound,
            used_fallback: false,
            tenant_version: 1,
        };
        assert_eq!(with_caller_notes(built.clone(), None), built);
        let noted = with_caller_notes(built.clone(), Some("Prefers mornings."));
        assert_eq!(
            noted.text,
            "Business: Acme\n\nHello.\n\nAbout this caller: Prefers mornings."
        );
        assert_eq!(noted.tenant_version, built.tenant_version);
    }

    #[test]
    fn notes_for_a_call_come_from_the_number_the_webhook_remembered() {
        let state = AppState::new(Config::in_process(
            "https://h.test",
            "t",
            "ws://127.0.0.1:9",
        ))
        .expect("test config is valid");
        state
            .tenants()
            .upsert_contact("acme", "+1555000", "Prefers mornings.")
            .unwrap();
        assert_eq!(notes_for_call(&state, "acme", "CA1"), None);
        remember(&state, "CA1", "+1555000");
        assert_eq!(
            notes_for_call(&state, "acme", "CA1").as_deref(),
            Some("Prefers mornings.")
        );
        assert_eq!(notes_for_call(&state, "bobs", "CA1"), None);
    }
}
