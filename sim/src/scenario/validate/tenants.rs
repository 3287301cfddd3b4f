//! The `tenants:` and `tenant_changes:` sections: slugs, contacts and numbers checked, each
//! change applied to the tenant's settings so the plan holds the full settings after every edit,
//! in time order.

use std::collections::BTreeMap;

use super::super::load::LoadedScenario;
use super::super::plan::{TenantChange, TenantPlan};
use super::numbers::{check_tenant_numbers, is_e164};
use crate::scenario::ScenarioError;

/// The provisioned tenants and every edit, sorted by time.
pub(super) fn tenants(
    loaded: &LoadedScenario,
) -> Result<(BTreeMap<String, TenantPlan>, Vec<TenantChange>), ScenarioError> {
    let raw = &loaded.raw;
    check_tenant_numbers(loaded, &raw.tenants)?;
    let mut tenants = BTreeMap::new();
    for (slug, t) in &raw.tenants {
        if !slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(loaded.error_at(
                &format!("tenants.{slug}"),
                &[slug],
                "tenant slugs may only use letters, digits, `-` and `_` (they appear in URLs)",
            ));
        }
        if let Some(phone) = t.contacts.keys().find(|p| !is_e164(p)) {
            return Err(loaded.error_at(
                &format!("tenants.{slug}.contacts"),
                &[slug, "contacts:", phone],
                format!("contact `{phone}` is not an E.164 number ('+' and 1 to 15 digits)"),
            ));
        }
        tenants.insert(
            slug.clone(),
            TenantPlan {
                business_name: t.business_name.clone(),
                inbound_prompt: t.inbound_prompt.clone(),
                outbound_prompt: t.outbound_prompt.clone(),
                greeting: t.greeting.clone(),
                voice: t.voice.clone(),
                provision: t.provision.unwrap_or(true),
                contacts: t.contacts.clone(),
                numbers: t.numbers.clone(),
            },
        );
    }

    let mut current = tenants.clone();
    let mut changes: Vec<(usize, &crate::scenario::model::RawTenantChange)> =
        raw.tenant_changes.iter().enumerate().collect();
    changes.sort_by_key(|(i, c)| (c.at, *i));
    let mut tenant_changes = Vec::new();
    for (i, change) in changes {
        let key = format!("tenant_changes[{i}].tenant");
        let Some(t) = current.get_mut(&change.tenant) else {
            return Err(loaded.error_at(
                &key,
                &["tenant_changes:", &format!("tenant: {}", change.tenant)],
                format!(
                    "unknown tenant `{}` (declare it under `tenants:`)",
                    change.tenant
                ),
            ));
        };
        if let Some(v) = &change.business_name {
            t.business_name.clone_from(v);
        }
        if let Some(v) = &change.inbound_prompt {
            t.inbound_prompt.clone_from(v);
        }
        if let Some(v) = &change.outbound_prompt {
            t.outbound_prompt.clone_from(v);
        }
        if change.greeting.is_some() {
            t.greeting.clone_from(&change.greeting);
        }
        if change.voice.is_some() {
            t.voice.clone_from(&change.voice);
        }
        tenant_changes.push(TenantChange {
            at: change.at.get(),
            tenant: change.tenant.clone(),
            after: t.clone(),
        });
    }
    Ok((tenants, tenant_changes))
}
