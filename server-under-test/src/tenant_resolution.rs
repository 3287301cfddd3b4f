//! Which tenant a call belongs to: from the slug its webhook URL or its stream's `tenant`
//! parameter names, or from the number the call belongs to (the number called on an inbound
//! call, the caller ID of an outbound one).
//!
//! A known slug or number names its tenant; a missing or unknown one names none, and the call is
//! refused (the slug webhook answers 404, the number webhook `<Reject/>`, the stream is ended).
//! Under [`Bug::DefaultTenantOnUnknown`] the call gets the tenant stored first instead, as the
//! seed's WebSocket handler did with its `business_id = 1` default until 2025-12-12: a
//! cross-tenant leak of that tenant's prompt.

use std::fmt::Debug;

use crate::bugs::Bug;
use crate::state::AppState;
use crate::tenants::Tenant;

/// The tenant `slug` names, or `None` when the call must be refused.
pub fn resolve(state: &AppState, slug: Option<&str>) -> Result<Option<Tenant>, rusqlite::Error> {
    let named = match slug {
        Some(slug) => state.tenants().get(slug)?,
        None => None,
    };
    or_default(state, named, &slug)
}

/// The tenant that has `number`, or `None` when the call must be refused.
pub fn resolve_by_number(
    state: &AppState,
    number: Option<&str>,
) -> Result<Option<Tenant>, rusqlite::Error> {
    let owner = match number {
        Some(number) => state.tenants().owner_of_number(number)?,
        None => None,
    };
    let named = match owner {
        Some(slug) => state.tenants().get(&slug)?,
        None => None,
    };
    or_default(state, named, &number)
}

/// `named`, or, when nothing was named and the server runs with the default-tenant bug, the
/// tenant stored first; `requested` is what the call asked for, for the log.
fn or_default(
    state: &AppState,
    named: Option<Tenant>,
    requested: &dyn Debug,
) -> Result<Option<Tenant>, rusqlite::Error> {
    if named.is_some() || !state.regressions().has(Bug::DefaultTenantOnUnknown) {
        return Ok(named);
    }
    let default = state.tenants().first()?;
    if let Some(default) = &default {
        tracing::warn!(
            ?requested,
            tenant = %default.slug,
            "[TENANT_DEFAULT] tenant not identified; using the first tenant"
        );
    }
    Ok(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::tenants::TenantInput;

    fn state(bug: bool) -> AppState {
        let mut config = Config::in_process("https://h.test", "t", "ws://127.0.0.1:9");
        if bug {
            config.bugs.insert(Bug::DefaultTenantOnUnknown);
        }
        AppState::new(config).expect("test config is valid")
    }

    fn named(name: &str) -> TenantInput {
        TenantInput {
            business_name: name.into(),
            ..TenantInput::default()
        }
    }

    #[test]
    fn a_known_slug_names_its_tenant_with_or_without_the_bug() {
        for bug in [false, true] {
            let state = state(bug);
            state.upsert_tenant("acme", &named("Acme")).unwrap();
            state.upsert_tenant("bobs", &named("Bob's")).unwrap();
            let found = resolve(&state, Some("bobs")).unwrap();
            assert_eq!(found.map(|t| t.slug), Some("bobs".to_owned()));
        }
    }

    #[test]
    fn a_number_names_its_tenant_and_an_unknown_one_is_refused_unless_the_bug_defaults() {
        for bug in [false, true] {
            let state = state(bug);
            state.upsert_tenant("acme", &named("Acme")).unwrap();
            let numbers = ["+15550002222".to_owned()];
            state
                .upsert_tenant_with_numbers("bobs", &named("Bob's"), Some(&numbers))
                .unwrap();
            let found = resolve_by_number(&state, Some("+15550002222")).unwrap();
            assert_eq!(found.map(|t| t.slug), Some("bobs".to_owned()));
            for unknown in [Some("+15550009999"), None] {
                let found = resolve_by_number(&state, unknown).unwrap().map(|t| t.slug);
                let expected = bug.then(|| "acme".to_owned());
                assert_eq!(found, expected, "bug {bug}, {unknown:?}");
            }
        }
    }

    #[test]
    fn an_unknown_or_missing_slug_is_refused_unless_the_bug_defaults_to_the_first_tenant() {
        let fixed = state(false);
        fixed.upsert_tenant("acme", &named("Acme")).unwrap();
        assert_eq!(resolve(&fixed, Some("nobody")).unwrap(), None);
        assert_eq!(resolve(&fixed, None).unwrap(), None);

        let buggy = state(true);
        assert_eq!(
            resolve(&buggy, Some("nobody")).unwrap(),
            None,
            "no tenant at all: nothing to default to"
        );
        buggy.upsert_tenant("acme", &named("Acme")).unwrap();
        buggy.upsert_tenant("bobs", &named("Bob's")).unwrap();
        for slug in [Some("nobody"), None] {
            let found = resolve(&buggy, slug).unwrap();
            assert_eq!(found.map(|t| t.slug), Some("acme".to_owned()), "{slug:?}");
        }
    }
}
