//! The `expect:` section: each assertion parsed, its tenant references resolved, and its path
//! checked to be one a transcript of this scenario can have.

use std::collections::BTreeMap;

use crate::scenario::ScenarioError;
use crate::scenario::expect::{Expectation, Op, parse_expectation};
use crate::scenario::expect_shape::{Names, check_path};
use crate::scenario::load::LoadedScenario;
use crate::scenario::plan::{CallPlan, TenantPlan};
use crate::transcript::invariants::{INVARIANTS, is_known};

/// Every expectation, in file order.
pub(super) fn expectations(
    loaded: &LoadedScenario,
    tenants: &BTreeMap<String, TenantPlan>,
    calls: &[CallPlan],
) -> Result<Vec<Expectation>, ScenarioError> {
    let raw = &loaded.raw;
    let call_names: Vec<String> = calls.iter().map(|c| c.name.clone()).collect();
    let tenant_slugs: Vec<String> = tenants.keys().cloned().collect();
    let names = Names {
        calls: &call_names,
        tenants: &tenant_slugs,
    };
    let mut expectations = Vec::new();
    for (i, entry) in raw.expect.iter().enumerate() {
        if entry.len() != 1 {
            return Err(loaded.error_at(
                &format!("expect[{i}]"),
                &["expect:"],
                "each expectation is one `path: matcher` pair (start each with `- `)",
            ));
        }
        for (path, matcher) in entry {
            let exp = parse_expectation(path, matcher, tenants)
                .and_then(|exp| check_paths(&exp, &names).map(|()| exp))
                .map_err(|message| {
                    loaded.error_at(&format!("expect[{i}]"), &["expect:", path], message)
                })?;
            expectations.push(exp);
        }
    }
    Ok(expectations)
}

/// Checks the expectation's path and every transcript path its matchers refer to.
fn check_paths(exp: &Expectation, names: &Names<'_>) -> Result<(), String> {
    check_path(&exp.segments, names)?;
    for op in &exp.ops {
        if let Op::SameAsPath(reference, segments) = op {
            check_path(segments, names).map_err(|e| format!("`same_as: {reference}`: {e}"))?;
        }
    }
    Ok(())
}

/// The `waive:` section: each key a built-in invariant, each value a reason.
pub(super) fn waivers(loaded: &LoadedScenario) -> Result<BTreeMap<String, String>, ScenarioError> {
    for (id, reason) in &loaded.raw.waive {
        let key = format!("waive.{id}");
        if !is_known(id) {
            let known: Vec<&str> = INVARIANTS.iter().map(|(id, _)| *id).collect();
            return Err(loaded.error_at(
                &key,
                &["waive:", id],
                format!("unknown invariant `{id}` (known: {})", known.join(", ")),
            ));
        }
        if reason.trim().is_empty() {
            return Err(loaded.error_at(
                &key,
                &["waive:", id],
                "a waiver needs a reason: say why this scenario may break the invariant",
            ));
        }
    }
    Ok(loaded.raw.waive.clone())
}
