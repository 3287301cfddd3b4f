//! `build_full_business_prompt`: the seed's `server/services/realtime_prompt_builder.py`.
//!
//! The business prompt is wrapped as `"Business: {name}\n\n{prompt}"`. The wrapper deliberately
//! avoids the words "inbound" and "outbound", because the legacy mismatch heuristic in the media
//! session looks for "outbound" in the prompt text and the wrapper must not influence it.
//!
//! The cross-direction fallback (RCA root cause #1) is [`Bug::CrossDirectionFallback`]: the
//! legacy profile has it, and `--inject-bug cross-direction-fallback` adds it to the fixed one.

use serde::{Deserialize, Serialize};

use crate::bugs::Bug;
use crate::direction::Direction;
use crate::regressions::Regressions;
use crate::tenants::Tenant;

/// A finished system prompt and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltPrompt {
    /// The instructions sent to the Realtime API.
    pub text: String,
    /// The direction the prompt was built for.
    pub direction: Direction,
    /// True when the content came from the other direction's prompt (legacy fallback).
    pub used_fallback: bool,
    /// The tenant version the prompt was built from.
    pub tenant_version: i64,
}

/// The tenant's own prompt for `direction`, if it has non-blank content.
fn prompt_for(tenant: &Tenant, direction: Direction) -> Option<&str> {
    let raw = match direction {
        Direction::Inbound => tenant.inbound_prompt.as_deref(),
        Direction::Outbound => tenant.outbound_prompt.as_deref(),
    };
    raw.filter(|text| !text.trim().is_empty())
}

/// The built-in default for a direction when the builder does not fall back; it names the
/// business.
pub fn direction_default(business_name: &str, direction: Direction) -> String {
    match direction {
        Direction::Inbound => format!(
            "You are the receptionist for {business_name}. Greet the caller, find out what they need and help them politely."
        ),
        Direction::Outbound => format!(
            "You are calling on behalf of {business_name}. Introduce yourself and state the reason for the call politely."
        ),
    }
}

/// The falling-back builder's last-resort default, which ignores the direction like the seed did.
fn legacy_generic_default(business_name: &str) -> String {
    format!("You are a helpful phone assistant for {business_name}. Be polite and concise.")
}

fn wrap(business_name: &str, body: &str) -> String {
    format!("Business: {business_name}\n\n{body}")
}

/// Builds the full system prompt for a call to or from `tenant`.
///
/// With [`Bug::CrossDirectionFallback`]: the direction's own prompt, else the other direction's
/// prompt (logged as `[PROMPT FALLBACK]`, `used_fallback = true`), else a generic default.
/// Without it: the direction's own prompt, else the built-in default for that direction.
pub fn build_full_business_prompt(
    tenant: &Tenant,
    direction: Direction,
    regressions: Regressions,
) -> BuiltPrompt {
    let name = tenant.business_name.as_str();
    let falls_back = regressions.has(Bug::CrossDirectionFallback);
    let (body, used_fallback) = match (prompt_for(tenant, direction), falls_back) {
        (Some(own), _) => (own.to_owned(), false),
        (None, true) => match prompt_for(tenant, direction.other()) {
            Some(other) => {
                tracing::warn!(
                    tenant = %tenant.slug,
                    "[PROMPT FALLBACK] Using {} prompt as fallback for {direction} tenant={}",
                    direction.other(),
                    tenant.slug
                );
                (other.to_owned(), true)
            }
            None => (legacy_generic_default(name), false),
        },
        (None, false) => {
            tracing::info!(tenant = %tenant.slug, "[PROMPT_DEFAULT] no {direction} prompt configured; using the built-in {direction} default");
            (direction_default(name, direction), false)
        }
    };
    BuiltPrompt {
        text: wrap(name, &body),
        direction,
        used_fallback,
        tenant_version: tenant.version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    const SALES: &str = "You are calling the customer for a sales pitch. Be persuasive.";
    const RECEPTION: &str = "You answer calls for Acme Plumbing.";

    fn tenant(inbound: Option<&str>, outbound: Option<&str>) -> Tenant {
        Tenant {
            slug: "acme".into(),
            business_name: "Acme".into(),
            inbound_prompt: inbound.map(str::to_owned),
            outbound_prompt: outbound.map(str::to_owned),
            greeting: None,
            voice: None,
            version: 3,
            updated_at: None,
        }
    }

    /// Seed test B case 1: each direction uses its own prompt when present (both profiles).
    #[test]
    fn test_b_prompt_selection_uses_own_direction() {
        let t = tenant(Some(RECEPTION), Some(SALES));
        for profile in [Profile::Legacy, Profile::Fixed] {
            let inbound = build_full_business_prompt(&t, Direction::Inbound, profile.into());
            assert_eq!(inbound.text, format!("Business: Acme\n\n{RECEPTION}"));
            assert!(!inbound.used_fallback);
            assert_eq!(inbound.tenant_version, 3);
            let outbound = build_full_business_prompt(&t, Direction::Outbound, profile.into());
            assert!(outbound.text.contains(SALES));
            assert_eq!(outbound.direction, Direction::Outbound);
        }
    }

    /// Seed test B case 2: legacy inbound with an empty inbound prompt falls back to outbound.
    #[test]
    fn test_b_legacy_inbound_falls_back_to_outbound_prompt() {
        for empty in [None, Some(""), Some("   ")] {
            let built = build_full_business_prompt(
                &tenant(empty, Some(SALES)),
                Direction::Inbound,
                Profile::Legacy.into(),
            );
            assert!(built.text.contains(SALES), "{built:?}");
            assert!(built.used_fallback);
            assert_eq!(built.direction, Direction::Inbound);
        }
    }

    /// Seed test B case 3: legacy outbound with an empty outbound prompt falls back to inbound.
    #[test]
    fn test_b_legacy_outbound_falls_back_to_inbound_prompt() {
        let built = build_full_business_prompt(
            &tenant(Some(RECEPTION), Some("")),
            Direction::Outbound,
            Profile::Legacy.into(),
        );
        assert!(built.text.contains(RECEPTION));
        assert!(built.used_fallback);
    }

    /// Legacy with neither prompt: a generic default that names the business, no fallback flag.
    #[test]
    fn test_b_legacy_generic_default() {
        let built = build_full_business_prompt(
            &tenant(None, Some("")),
            Direction::Inbound,
            Profile::Legacy.into(),
        );
        assert!(built.text.contains("phone assistant for Acme"));
        assert!(!built.used_fallback);
    }

    /// Seed test B with the fix: the fixed profile never uses the other direction's prompt.
    #[test]
    fn test_b_fixed_never_falls_back_across_directions() {
        let inbound = build_full_business_prompt(
            &tenant(Some(""), Some(SALES)),
            Direction::Inbound,
            Profile::Fixed.into(),
        );
        assert!(inbound.text.contains("receptionist for Acme"));
        assert!(!inbound.text.contains("sales"));
        assert!(!inbound.used_fallback);
        let outbound = build_full_business_prompt(
            &tenant(Some(RECEPTION), None),
            Direction::Outbound,
            Profile::Fixed.into(),
        );
        assert!(outbound.text.contains("calling on behalf of Acme"));
        assert!(!outbound.text.contains(RECEPTION));
        assert!(!outbound.used_fallback);
    }

    /// The fallback is the bug, not the profile: injected into the fixed profile it behaves as
    /// under legacy, and the fixed profile without it never crosses directions.
    #[test]
    fn cross_direction_fallback_is_switched_by_the_bug() {
        let t = tenant(Some(""), Some(SALES));
        let fixed = build_full_business_prompt(&t, Direction::Inbound, Regressions::NONE);
        assert!(!fixed.text.contains(SALES), "{fixed:?}");
        let injected = Regressions::NONE.with(Bug::CrossDirectionFallback);
        let buggy = build_full_business_prompt(&t, Direction::Inbound, injected);
        assert!(buggy.text.contains(SALES), "{buggy:?}");
        assert!(buggy.used_fallback);
        assert_eq!(
            buggy,
            build_full_business_prompt(&t, Direction::Inbound, Profile::Legacy.into())
        );
        // Another bug does not switch the fallback on.
        let other = Regressions::NONE.with(Bug::DuplicateSessionUpdate);
        assert_eq!(
            build_full_business_prompt(&t, Direction::Inbound, other),
            fixed
        );
    }

    /// The wrapper and the defaults never contain the word the legacy mismatch heuristic looks for.
    #[test]
    fn wrapper_and_defaults_do_not_mention_outbound() {
        for direction in [Direction::Inbound, Direction::Outbound] {
            for profile in [Profile::Legacy, Profile::Fixed] {
                let built =
                    build_full_business_prompt(&tenant(None, None), direction, profile.into());
                assert!(!built.text.to_lowercase().contains("outbound"), "{built:?}");
            }
        }
    }

    #[test]
    fn direction_round_trips() {
        assert_eq!(Direction::parse("inbound"), Some(Direction::Inbound));
        assert_eq!(
            Direction::parse(Direction::Outbound.as_str()),
            Some(Direction::Outbound)
        );
        assert_eq!(Direction::parse("outbound-api"), None);
        assert_eq!(
            serde_json::to_string(&Direction::Inbound).unwrap(),
            "\"inbound\""
        );
    }
}
