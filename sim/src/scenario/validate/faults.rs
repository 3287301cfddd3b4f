//! The `faults:` section: each fault attached to the call it names, to the AI script, or to a
//! network link.

use std::time::Duration;

use super::exactly_one;
use crate::scenario::ScenarioError;
use crate::scenario::duration::{HumanDuration, format_duration};
use crate::scenario::limits::MAX_LINK_DELAY;
use crate::scenario::load::LoadedScenario;
use crate::scenario::model::{RawFault, RawLinkFault};
use crate::scenario::plan::{
    AiFaultPlan, CallPlan, ErrorPlan, LinkFaultPlan, LinkFaultsPlan, WebhookFault,
};

/// Applies every fault to its call; answers the AI faults and the link faults.
pub(super) fn faults(
    loaded: &LoadedScenario,
    calls: &mut [CallPlan],
) -> Result<(Vec<AiFaultPlan>, LinkFaultsPlan), ScenarioError> {
    let raw = &loaded.raw;
    let mut ai_faults = Vec::new();
    let mut links = LinkFaultsPlan::default();
    for (i, fault) in raw.faults.iter().enumerate() {
        let key = format!("faults[{i}]");
        one_kind(loaded, &key, fault)?;
        if let Some(f) = &fault.ai_link {
            links.ai = Some(link_fault(loaded, &key, "ai_link", f, links.ai.is_some())?);
        } else if let Some(f) = &fault.twilio_link {
            let twilio = link_fault(loaded, &key, "twilio_link", f, links.twilio.is_some())?;
            links.twilio = Some(twilio);
        } else {
            apply_fault(loaded, &key, fault, calls, &mut ai_faults)?;
        }
    }
    Ok((ai_faults, links))
}

/// Each fault entry is a map with exactly one key.
fn one_kind(loaded: &LoadedScenario, key: &str, fault: &RawFault) -> Result<(), ScenarioError> {
    exactly_one(
        loaded,
        key,
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
            ("ai_link", fault.ai_link.is_some()),
            ("twilio_link", fault.twilio_link.is_some()),
        ],
    )
}

fn apply_fault(
    loaded: &LoadedScenario,
    key: &str,
    fault: &RawFault,
    calls: &mut [CallPlan],
    ai_faults: &mut Vec<AiFaultPlan>,
) -> Result<(), ScenarioError> {
    if let Some(f) = &fault.webhook_error {
        if !(100..=599).contains(&f.status) || (200..300).contains(&f.status) {
            return Err(loaded.error_at(
                &format!("{key}.webhook_error.status"),
                &["faults:", "status"],
                "status must be an HTTP error status (not 2xx)",
            ));
        }
        call_for(loaded, key, calls, &f.call, "webhook_error")?
            .faults
            .webhook = Some((WebhookFault::Status(f.status), f.fallback.unwrap_or(true)));
    } else if let Some(f) = &fault.webhook_timeout {
        call_for(loaded, key, calls, &f.call, "webhook_timeout")?
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
        call_for(loaded, key, calls, &f.call, "stream_drop")?
            .faults
            .stream_drop_at = Some(f.at.get());
    } else if let Some(f) = &fault.unsigned_webhook {
        call_for(loaded, key, calls, &f.call, "unsigned_webhook")?
            .faults
            .unsigned_webhook = true;
    } else if let Some(f) = &fault.bad_webhook_signature {
        call_for(loaded, key, calls, &f.call, "bad_webhook_signature")?
            .faults
            .bad_webhook_signature = true;
    } else if let Some(f) = &fault.unsigned_stream {
        call_for(loaded, key, calls, &f.call, "unsigned_stream")?
            .faults
            .unsigned_stream = true;
    }
    Ok(())
}

/// One link's faults, checked key by key; `seen` says the scenario already has an entry for
/// this link.
fn link_fault(
    loaded: &LoadedScenario,
    key: &str,
    link: &str,
    raw: &RawLinkFault,
    seen: bool,
) -> Result<LinkFaultPlan, ScenarioError> {
    let error = |field: &str, message: String| {
        let needle = format!("{field}:");
        let (key, needles) = if field.is_empty() {
            (format!("{key}.{link}"), vec!["faults:", link])
        } else {
            (
                format!("{key}.{link}.{field}"),
                vec!["faults:", link, &needle],
            )
        };
        loaded.error_at(&key, &needles, message)
    };
    if seen {
        return Err(loaded.error_at(
            &format!("{key}.{link}"),
            &["faults:", link, link],
            format!("at most one `{link}` entry per scenario; put all of its keys in one entry"),
        ));
    }
    let get = |d: Option<HumanDuration>| d.map(HumanDuration::get);
    let (latency, jitter) = (get(raw.latency), get(raw.jitter));
    let (stall_at, stall_for, drop_at) = (get(raw.stall_at), get(raw.stall_for), get(raw.drop_at));
    if [latency, jitter, stall_at, stall_for, drop_at]
        .iter()
        .all(Option::is_none)
    {
        return Err(error(
            "",
            "a link fault needs at least one of latency, jitter, stall_at (with for), drop_at"
                .into(),
        ));
    }
    for (field, value) in [("latency", latency), ("jitter", jitter)] {
        if let Some(d) = value
            && d > MAX_LINK_DELAY
        {
            return Err(error(
                field,
                format!(
                    "{field} {} is over the limit of {}: a connection that slow is a dead one \
                     (use stall_at and for, or drop_at)",
                    format_duration(d),
                    format_duration(MAX_LINK_DELAY)
                ),
            ));
        }
    }
    let stall = stall(stall_at, stall_for).map_err(|(field, message)| error(field, message))?;
    if drop_at == Some(Duration::ZERO) {
        return Err(error(
            "drop_at",
            "drop_at 0s cuts nothing: no connection is open at the scenario start".into(),
        ));
    }
    Ok(LinkFaultPlan {
        latency: latency.unwrap_or_default(),
        jitter: jitter.unwrap_or_default(),
        stall,
        drop_at,
    })
}

/// A stall from `stall_at` and `for`, which come together; the name of the key at fault
/// otherwise.
fn stall(
    at: Option<Duration>,
    length: Option<Duration>,
) -> Result<Option<(Duration, Duration)>, (&'static str, String)> {
    match (at, length) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err((
            "for",
            "`for` is a stall's length and needs `stall_at`".into(),
        )),
        (Some(_), None) => Err((
            "stall_at",
            "a stall needs its length: add `for` (e.g. `for: 3s`)".into(),
        )),
        (Some(_), Some(Duration::ZERO)) => Err(("for", "a stall must last longer than 0s".into())),
        (Some(at), Some(length)) => Ok(Some((at, length))),
    }
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::scenario::load::parse_str;
    use crate::scenario::plan::{LinkFaultPlan, LinkFaultsPlan};
    use crate::scenario::validate::build_plan;

    const BASE: &str = "title: t\ntenants:\n  acme: { business_name: Acme }\ncalls:\n  - tenant: acme\n    direction: inbound\n    timeline:\n      - silence: 1s\nfaults:\n";

    fn links(faults: &str) -> Result<LinkFaultsPlan, String> {
        let loaded =
            parse_str(Path::new("s.yaml"), format!("{BASE}{faults}")).map_err(|e| e.to_string())?;
        build_plan(&loaded, "s")
            .map(|plan| plan.links)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn link_keys_combine_in_one_entry_per_link() {
        let ms = Duration::from_millis;
        let plan = links(
            "  - ai_link: { latency: 300ms, jitter: 500ms }\n  - twilio_link: { latency: 100ms, jitter: 20ms, stall_at: 5s, for: 2s, drop_at: 30s }\n",
        );
        assert_eq!(
            plan,
            Ok(LinkFaultsPlan {
                ai: Some(LinkFaultPlan {
                    latency: ms(300),
                    jitter: ms(500),
                    stall: None,
                    drop_at: None,
                }),
                twilio: Some(LinkFaultPlan {
                    latency: ms(100),
                    jitter: ms(20),
                    stall: Some((ms(5000), ms(2000))),
                    drop_at: Some(ms(30_000)),
                }),
            })
        );
        assert_eq!(links("  []\n").map(|l| l.any()), Ok(false));
    }

    #[test]
    fn a_bad_link_key_is_named_with_its_place() {
        // Line 10 is the first entry, line 11 the second.
        let cases = [
            (
                "  - ai_link: { for: 3s }\n",
                "s.yaml:10:16",
                "faults[0].ai_link.for",
                "needs `stall_at`",
            ),
            (
                "  - twilio_link: { stall_at: 3s }\n",
                "s.yaml:10:20",
                "faults[0].twilio_link.stall_at",
                "add `for`",
            ),
            (
                "  - ai_link: { stall_at: 3s, for: 0s }\n",
                "s.yaml:10:30",
                "faults[0].ai_link.for",
                "longer than 0s",
            ),
            (
                "  - ai_link: { latency: 2m }\n",
                "s.yaml:10:16",
                "faults[0].ai_link.latency",
                "over the limit of 1m",
            ),
            (
                "  - ai_link: { jitter: 61s }\n",
                "s.yaml:10:16",
                "faults[0].ai_link.jitter",
                "over the limit",
            ),
            (
                "  - ai_link: { drop_at: 0s }\n",
                "s.yaml:10:16",
                "faults[0].ai_link.drop_at",
                "cuts nothing",
            ),
            (
                "  - ai_link: {}\n",
                "s.yaml:10:5",
                "faults[0].ai_link",
                "at least one of",
            ),
            (
                "  - ai_link: { latency: 1s }\n  - ai_link: { drop_at: 9s }\n",
                "s.yaml:11:5",
                "faults[1].ai_link",
                "at most one `ai_link`",
            ),
            (
                "  - twilio_link: { latncy: 1s }\n",
                "s.yaml:10:20",
                "faults[0].twilio_link.latncy",
                "unknown field `latncy`",
            ),
            (
                "  - twilio_link: { latency: 1 }\n",
                "s.yaml:10:",
                "faults[0].twilio_link.latency",
                "missing unit",
            ),
            (
                "  - ai_link: { latency: 1s }\n    ai_drop: { at: 2s }\n",
                "s.yaml:9:1",
                "faults[0]",
                "found ai_drop and ai_link",
            ),
        ];
        for (faults, place, key, message) in cases {
            let err = links(faults).expect_err(faults);
            assert!(err.starts_with(place), "{faults}: {err}");
            assert!(err.contains(&format!("`{key}`")), "{faults}: {err}");
            assert!(err.contains(message), "{faults}: {err}");
        }
    }
}
