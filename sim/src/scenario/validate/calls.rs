//! The `calls:` section: each call's direction, numbers (its tenant's own under
//! `resolve_by: number`) and timeline, its audio rendered within the scenario's audio budget and
//! its timeline checked against `hangup_at` and Twilio's limits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::exactly_one;
use super::numbers::tenant_side_number;
use crate::scenario::ScenarioError;
use crate::scenario::duration::format_duration;
use crate::scenario::limits::{AudioBudget, MAX_CALLER_CLIP, MAX_CALLS, MAX_STEPS, check_timeline};
use crate::scenario::load::LoadedScenario;
use crate::scenario::model::{RawAnswer, RawCall, RawDirection, RawResolveBy, RawStep};
use crate::scenario::plan::{
    Answer, CallDirection, CallFaultPlan, CallPlan, ResolveBy, StepPlan, TenantPlan,
};

/// Every call of the scenario, in file order.
pub(super) fn calls(
    loaded: &LoadedScenario,
    dir: &Path,
    seed: u64,
    tenants: &BTreeMap<String, TenantPlan>,
    budget: &mut AudioBudget,
) -> Result<Vec<CallPlan>, ScenarioError> {
    let raw = &loaded.raw;
    if raw.calls.is_empty() {
        return Err(loaded.error_at("calls", &["calls:"], "a scenario needs at least one call"));
    }
    if raw.calls.len() > MAX_CALLS {
        return Err(loaded.error_at(
            "calls",
            &["calls:"],
            format!(
                "{} calls; a scenario may place at most {MAX_CALLS}",
                raw.calls.len()
            ),
        ));
    }
    let mut calls = Vec::new();
    let mut names = BTreeSet::new();
    for (i, call) in raw.calls.iter().enumerate() {
        let planned = call_plan(loaded, dir, seed, i, call, tenants, budget)?;
        if !names.insert(planned.name.clone()) {
            return Err(loaded.error_at(
                &format!("calls[{i}].name"),
                &[&format!("name: {}", planned.name)],
                format!("duplicate call name `{}`", planned.name),
            ));
        }
        calls.push(planned);
    }
    distinct_outbound_numbers(loaded, &calls)?;
    Ok(calls)
}

/// One call: its tenant and direction checked, its timeline rendered and checked.
fn call_plan(
    loaded: &LoadedScenario,
    dir: &Path,
    seed: u64,
    i: usize,
    call: &RawCall,
    tenants: &BTreeMap<String, TenantPlan>,
    budget: &mut AudioBudget,
) -> Result<CallPlan, ScenarioError> {
    let name = call.name.clone().unwrap_or_else(|| format!("call-{i}"));
    let key = format!("calls[{i}]");
    if !tenants.contains_key(&call.tenant) {
        return Err(loaded.error_at(
            &format!("{key}.tenant"),
            &[&format!("tenant: {}", call.tenant)],
            format!(
                "unknown tenant `{}` (declare it under `tenants:`)",
                call.tenant
            ),
        ));
    }
    let direction = match call.direction {
        RawDirection::Inbound => CallDirection::Inbound,
        RawDirection::Outbound => CallDirection::Outbound,
    };
    if direction == CallDirection::Inbound && (call.answer.is_some() || call.ring.is_some()) {
        return Err(loaded.error_at(
            &format!("{key}.answer"),
            &[&format!("tenant: {}", call.tenant), "answer"],
            "`answer` and `ring` only apply to outbound calls",
        ));
    }
    let steps = timeline(loaded, dir, seed, i, call, budget)?;
    let resolve_by = match call.resolve_by {
        None | Some(RawResolveBy::Slug) => ResolveBy::Slug,
        Some(RawResolveBy::Number) => ResolveBy::Number,
    };
    let (default_from, default_to) = match direction {
        CallDirection::Inbound => (
            format!("+1415555{:04}", 100 + i),
            "+15005550006".to_string(),
        ),
        CallDirection::Outbound => (
            "+15005550006".to_string(),
            format!("+1415555{:04}", 100 + i),
        ),
    };
    let mut from = call.from.clone().unwrap_or(default_from);
    let mut to = call.to.clone().unwrap_or(default_to);
    if resolve_by == ResolveBy::Number {
        let number = tenant_side_number(loaded, i, call, direction, tenants)?;
        match direction {
            CallDirection::Inbound => to = number,
            CallDirection::Outbound => from = number,
        }
    }
    Ok(CallPlan {
        name,
        tenant: call.tenant.clone(),
        direction,
        start: call.start.map(|d| d.get()).unwrap_or_default(),
        from,
        to,
        connect_delay: call.connect_delay.map(|d| d.get()).unwrap_or_default(),
        steps,
        hangup_at: call.hangup_at.map(|d| d.get()),
        answer: match call.answer {
            None | Some(RawAnswer::Answer) => Answer::Answer,
            Some(RawAnswer::Busy) => Answer::Busy,
            Some(RawAnswer::NoAnswer) => Answer::NoAnswer,
        },
        ring: call.ring.map(|d| d.get()).unwrap_or(Duration::from_secs(2)),
        faults: CallFaultPlan::default(),
        resolve_by,
    })
}

/// A call's timeline: every step rendered, then the whole checked against `hangup_at` and
/// Twilio's maximum call length.
fn timeline(
    loaded: &LoadedScenario,
    dir: &Path,
    seed: u64,
    i: usize,
    call: &RawCall,
    budget: &mut AudioBudget,
) -> Result<Vec<StepPlan>, ScenarioError> {
    let key = format!("calls[{i}]");
    let call_needle = match &call.name {
        Some(name) => format!("name: {name}"),
        None => format!("tenant: {}", call.tenant),
    };
    if call.timeline.len() > MAX_STEPS {
        return Err(loaded.error_at(
            &format!("{key}.timeline"),
            &[&call_needle, "timeline:"],
            format!(
                "{} steps; a timeline may have at most {MAX_STEPS}",
                call.timeline.len()
            ),
        ));
    }
    let mut steps = Vec::new();
    for (j, step) in call.timeline.iter().enumerate() {
        let step_key = format!("{key}.timeline[{j}]");
        let step_seed = seed ^ (i as u64) << 8 ^ j as u64;
        steps.push(step_plan(loaded, dir, &step_key, step, step_seed, budget)?);
    }
    let lengths: Vec<(Duration, bool)> = steps
        .iter()
        .map(|s| {
            (
                steps_len(std::slice::from_ref(s)),
                matches!(s, StepPlan::Hangup),
            )
        })
        .collect();
    if let Err(problem) = check_timeline(&lengths, call.hangup_at.map(|d| d.get())) {
        return Err(match problem.step {
            Some(j) => {
                // Each `- ` after `timeline:` is one step; the j-th one is the culprit.
                let mut needles = vec![call_needle.as_str(), "timeline:"];
                needles.extend(std::iter::repeat_n("- ", j + 1));
                loaded.error_at(&format!("{key}.timeline[{j}]"), &needles, problem.message)
            }
            None => loaded.error_at(
                &format!("{key}.hangup_at"),
                &[&call_needle, "hangup_at"],
                problem.message,
            ),
        });
    }
    Ok(steps)
}

/// Each outbound call dials its own number, so the fake Twilio knows which callee answers.
fn distinct_outbound_numbers(
    loaded: &LoadedScenario,
    calls: &[CallPlan],
) -> Result<(), ScenarioError> {
    let mut outbound_numbers = BTreeSet::new();
    for call in calls
        .iter()
        .filter(|c| c.direction == CallDirection::Outbound)
    {
        if !outbound_numbers.insert(call.to.clone()) {
            return Err(loaded.error_at(
                "calls",
                &[&call.to],
                format!(
                    "two outbound calls dial `{}`; give each outbound call its own `to` number so \
                     the fake Twilio knows which callee answers",
                    call.to
                ),
            ));
        }
    }
    Ok(())
}

/// Total length of a timeline.
pub(super) fn steps_len(steps: &[StepPlan]) -> Duration {
    steps
        .iter()
        .map(|s| match s {
            StepPlan::Audio { mulaw, .. } => Duration::from_millis(mulaw.len() as u64 / 8),
            StepPlan::Silence(d) => *d,
            StepPlan::Dtmf(digits) => Duration::from_millis(digits.len() as u64 * 200),
            StepPlan::Hangup => Duration::ZERO,
        })
        .sum()
}

fn step_plan(
    loaded: &LoadedScenario,
    dir: &Path,
    key: &str,
    step: &RawStep,
    seed: u64,
    budget: &mut AudioBudget,
) -> Result<StepPlan, ScenarioError> {
    exactly_one(
        loaded,
        key,
        "timeline:",
        &[
            ("say", step.say.is_some()),
            ("speech", step.speech.is_some()),
            ("tone", step.tone.is_some()),
            ("silence", step.silence.is_some()),
            ("dtmf", step.dtmf.is_some()),
            ("hangup", step.hangup.is_some()),
        ],
    )?;
    if let Some(file) = &step.say {
        return say_plan(loaded, dir, key, file, budget);
    }
    let clip = step.speech.or(step.tone.as_ref().map(|t| t.length));
    if let Some(d) = clip {
        let field = if step.speech.is_some() {
            "speech"
        } else {
            "tone"
        };
        let at = |message: String| {
            loaded.error_at(
                &format!("{key}.{field}"),
                &["timeline:", &format!("{field}:")],
                message,
            )
        };
        if d.get() > MAX_CALLER_CLIP {
            return Err(at(format!(
                "{d} of generated audio; one step may last at most {} (use `silence:` for \
                 quiet stretches, or several steps)",
                format_duration(MAX_CALLER_CLIP)
            )));
        }
        budget.spend(d.get()).map_err(at)?;
    }
    if let Some(d) = step.speech {
        return Ok(StepPlan::Audio {
            label: format!("speech {d}"),
            mulaw: Arc::new(crate::audio::speech_like(ms(d.get()), seed)),
        });
    }
    if let Some(tone) = &step.tone {
        let hz = tone.hz.unwrap_or(440.0);
        if !(20.0..=3900.0).contains(&hz) {
            return Err(loaded.error_at(
                &format!("{key}.tone.hz"),
                &["timeline:", "hz"],
                "tone frequency must be between 20 and 3900 Hz (8 kHz audio)",
            ));
        }
        return Ok(StepPlan::Audio {
            label: format!("tone {hz}Hz {}", tone.length),
            mulaw: Arc::new(crate::audio::tone(hz, ms(tone.length.get()), 0.25)),
        });
    }
    if let Some(d) = step.silence {
        return Ok(StepPlan::Silence(d.get()));
    }
    if let Some(digits) = &step.dtmf {
        return dtmf_plan(loaded, key, digits);
    }
    Ok(StepPlan::Hangup)
}

/// A `say:` step: the WAV file beside the scenario, read as µ-law within the per-clip limit and
/// counted against the call's audio budget.
fn say_plan(
    loaded: &LoadedScenario,
    dir: &Path,
    key: &str,
    file: &str,
    budget: &mut AudioBudget,
) -> Result<StepPlan, ScenarioError> {
    let path = dir.join(file);
    let at =
        |message: String| loaded.error_at(&format!("{key}.say"), &["timeline:", file], message);
    let mulaw = crate::audio::read_wav_mulaw_within(&path, MAX_CALLER_CLIP)
        .map_err(|e| at(e.to_string()))?;
    budget
        .spend(Duration::from_millis(mulaw.len() as u64 / 8))
        .map_err(at)?;
    Ok(StepPlan::Audio {
        label: file.to_owned(),
        mulaw: Arc::new(mulaw),
    })
}

/// A `dtmf:` step: keys a phone has (0-9, *, #, A-D), at least one.
fn dtmf_plan(loaded: &LoadedScenario, key: &str, digits: &str) -> Result<StepPlan, ScenarioError> {
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || "*#ABCD".contains(c))
    {
        return Err(loaded.error_at(
            &format!("{key}.dtmf"),
            &["dtmf"],
            format!("invalid DTMF digits `{digits}` (use 0-9, *, #, A-D)"),
        ));
    }
    Ok(StepPlan::Dtmf(digits.to_owned()))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
