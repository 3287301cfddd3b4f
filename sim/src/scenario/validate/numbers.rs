//! Phone numbers: the `numbers:` of each tenant (E.164, each number one tenant's) and the number
//! a call with `resolve_by: number` uses for its tenant's side (`to` inbound, `from` outbound).

use std::collections::BTreeMap;

use crate::scenario::ScenarioError;
use crate::scenario::load::LoadedScenario;
use crate::scenario::model::{RawCall, RawTenant};
use crate::scenario::plan::{CallDirection, TenantPlan};

/// `+` followed by 1 to 15 digits, as Twilio writes phone numbers.
pub(super) fn is_e164(phone: &str) -> bool {
    phone
        .strip_prefix('+')
        .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Every tenant's numbers are E.164, and no number is listed twice, on one tenant or on two.
pub(super) fn check_tenant_numbers(
    loaded: &LoadedScenario,
    tenants: &BTreeMap<String, RawTenant>,
) -> Result<(), ScenarioError> {
    let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
    for (slug, tenant) in tenants {
        let slug_key = format!("{slug}:");
        for number in &tenant.numbers {
            let at = |message: String| {
                loaded.error_at(
                    &format!("tenants.{slug}.numbers"),
                    &["tenants:", &slug_key, "numbers:", number],
                    message,
                )
            };
            if !is_e164(number) {
                return Err(at(format!(
                    "number `{number}` is not an E.164 number ('+' and 1 to 15 digits)"
                )));
            }
            match owners.insert(number, slug) {
                Some(owner) if owner == slug => {
                    return Err(at(format!("number `{number}` is listed twice")));
                }
                Some(owner) => {
                    return Err(at(format!(
                        "number `{number}` is on tenants `{owner}` and `{slug}`; a number belongs \
                         to at most one tenant"
                    )));
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// The number of the tenant's side of call `i` under `resolve_by: number`: the call's own `to`
/// (inbound) or `from` (outbound) when it gives one, else its tenant's first number.
///
/// A number the call gives may be one no tenant has (to see the call refused), but not another
/// tenant's: the server would rightly answer it as that tenant's call.
pub(super) fn tenant_side_number(
    loaded: &LoadedScenario,
    i: usize,
    call: &RawCall,
    direction: CallDirection,
    tenants: &BTreeMap<String, TenantPlan>,
) -> Result<String, ScenarioError> {
    let call_needle = match &call.name {
        Some(name) => format!("name: {name}"),
        None => format!("tenant: {}", call.tenant),
    };
    let (field, given) = match direction {
        CallDirection::Inbound => ("to", &call.to),
        CallDirection::Outbound => ("from", &call.from),
    };
    let Some(number) = given else {
        return tenants
            .get(&call.tenant)
            .and_then(|t| t.numbers.first())
            .cloned()
            .ok_or_else(|| {
                loaded.error_at(
                    &format!("calls[{i}].resolve_by"),
                    &[&call_needle, "resolve_by"],
                    format!(
                        "`resolve_by: number` needs a number for the tenant's side of the call: \
                         give tenant `{}` `numbers:`, or this call a `{field}:` (a number no \
                         tenant has, to see the call refused)",
                        call.tenant
                    ),
                )
            });
    };
    let at = |message: String| {
        loaded.error_at(
            &format!("calls[{i}].{field}"),
            &[&call_needle, &format!("{field}:")],
            message,
        )
    };
    if !is_e164(number) {
        return Err(at(format!(
            "`{number}` is not an E.164 number ('+' and 1 to 15 digits); under `resolve_by: \
             number` the server finds the tenant by it"
        )));
    }
    let owner = tenants
        .iter()
        .find(|(_, t)| t.numbers.contains(number))
        .map(|(slug, _)| slug);
    match owner {
        Some(owner) if *owner != call.tenant => Err(at(format!(
            "`{number}` is tenant `{owner}`'s number, so the server answers this call as \
             `{owner}`'s; name `tenant: {owner}` or use a number no tenant has"
        ))),
        _ => Ok(number.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::load::parse_str;
    use crate::scenario::plan::{Plan, ResolveBy};
    use crate::scenario::validate::build_plan;

    const TENANTS: &str = "title: t
tenants:
  acme:
    business_name: Acme
    numbers: [\"+15550001111\", \"+15550001112\"]
  bobs:
    business_name: Bob's
    numbers: [\"+15550002222\"]
  ghost:
    business_name: Ghost
    provision: false
";

    fn plan(text: &str) -> Result<Plan, String> {
        let loaded = parse_str(Path::new("s.yaml"), text.to_owned()).map_err(|e| e.to_string())?;
        build_plan(&loaded, "s").map_err(|e| e.to_string())
    }

    fn with_calls(calls: &str) -> Result<Plan, String> {
        plan(&format!("{TENANTS}calls:\n{calls}"))
    }

    #[test]
    fn resolve_by_number_dials_the_tenants_first_number_or_calls_from_it() {
        let plan = with_calls(
            "  - { name: in, tenant: acme, direction: inbound, resolve_by: number, from: \"+14155550100\" }
  - { name: out, tenant: bobs, direction: outbound, resolve_by: number, to: \"+14155550101\" }
  - { name: slug, tenant: acme, direction: inbound }
  - { name: second, tenant: acme, direction: inbound, resolve_by: number, to: \"+15550001112\" }
  - { name: nobody, tenant: ghost, direction: inbound, resolve_by: number, to: \"+15550009999\" }
",
        )
        .unwrap();
        let sides: Vec<(&str, &str, ResolveBy)> = plan
            .calls
            .iter()
            .map(|c| (c.from.as_str(), c.to.as_str(), c.resolve_by))
            .collect();
        assert_eq!(
            sides,
            [
                ("+14155550100", "+15550001111", ResolveBy::Number),
                ("+15550002222", "+14155550101", ResolveBy::Number),
                ("+14155550102", "+15005550006", ResolveBy::Slug),
                ("+14155550103", "+15550001112", ResolveBy::Number),
                ("+14155550104", "+15550009999", ResolveBy::Number),
            ]
        );
        assert_eq!(
            plan.tenants["acme"].numbers,
            ["+15550001111", "+15550001112"]
        );
    }

    #[test]
    fn a_tenant_number_that_is_not_e164_or_is_listed_twice_names_its_place() {
        let calls = "calls:\n  - { tenant: acme, direction: inbound }\n";
        let bad = "title: t\ntenants:\n  acme:\n    business_name: A\n    numbers: [\"+1555\", \"555-0100\"]\n";
        let err = plan(&format!("{bad}{calls}")).unwrap_err();
        assert!(err.starts_with("s.yaml:5:25"), "{err}");
        assert!(err.contains("tenants.acme.numbers"), "{err}");
        assert!(err.contains("`555-0100` is not an E.164 number"), "{err}");

        let twice = "title: t\ntenants:\n  acme:\n    business_name: A\n    numbers: [\"+1555\", \"+1555\"]\n";
        let err = plan(&format!("{twice}{calls}")).unwrap_err();
        assert!(err.contains("`+1555` is listed twice"), "{err}");
    }

    #[test]
    fn the_same_number_on_two_tenants_is_refused_at_the_second() {
        let text = TENANTS.replace("[\"+15550002222\"]", "[\"+15550001112\"]");
        let err = plan(&format!(
            "{text}calls:\n  - {{ tenant: acme, direction: inbound }}\n"
        ))
        .unwrap_err();
        assert!(err.starts_with("s.yaml:8:"), "{err}");
        assert!(
            err.contains("number `+15550001112` is on tenants `acme` and `bobs`"),
            "{err}"
        );
    }

    #[test]
    fn resolve_by_number_needs_a_number_and_not_another_tenants() {
        let err = with_calls(
            "  - name: lost\n    tenant: ghost\n    direction: inbound\n    resolve_by: number\n",
        )
        .unwrap_err();
        assert!(err.starts_with("s.yaml:16:5"), "{err}");
        assert!(err.contains("calls[0].resolve_by"), "{err}");
        assert!(err.contains("give tenant `ghost` `numbers:`"), "{err}");

        let err = with_calls("  - name: crossed\n    tenant: acme\n    direction: outbound\n    resolve_by: number\n    from: \"+15550002222\"\n")
            .unwrap_err();
        assert!(err.starts_with("s.yaml:17:5"), "{err}");
        assert!(err.contains("calls[0].from"), "{err}");
        assert!(err.contains("tenant `bobs`'s number"), "{err}");

        let err = with_calls("  - name: typo\n    tenant: ghost\n    direction: inbound\n    resolve_by: number\n    to: \"5550009999\"\n")
            .unwrap_err();
        assert!(err.contains("calls[0].to"), "{err}");
        assert!(err.contains("`5550009999` is not an E.164 number"), "{err}");
    }

    #[test]
    fn a_misspelt_resolve_by_value_is_refused() {
        let err = with_calls("  - { tenant: acme, direction: inbound, resolve_by: phone }\n")
            .unwrap_err();
        assert!(err.contains("unknown variant `phone`"), "{err}");
        assert!(err.contains("slug") && err.contains("number"), "{err}");
    }
}
