//! Validation: turns a raw scenario into a [`Plan`], naming the file, line and key of the first
//! problem.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::duration::format_duration;
use super::error::ScenarioError;
use super::expect::parse_expectation;
use super::expect_shape::{Names, check_path};
use super::limits::{
    AudioBudget, MAX_CALLER_CLIP, MAX_CALLS, MAX_REPLY_AUDIO, MAX_STEPS, check_timeline,
};
use super::load::LoadedScenario;
use super::model::{RawAnswer, RawClock, RawDirection, RawReply, RawSnapshotPart, RawStep};
use super::plan::{
    AiFaultPlan, AiPlan, Answer, CallDirection, CallFaultPlan, CallPlan, ClockMode, DEFAULT_SEED,
    ErrorPlan, Plan, ReplyAudioPlan, ReplyPlan, StepPlan, TenantChange, TenantPlan, WebhookFault,
};

/// Validates a loaded scenario. `name` is the scenario's name (path relative to the scenarios
/// root, without extension).
pub fn build_plan(loaded: &LoadedScenario, name: &str) -> Result<Plan, ScenarioError> {
    let raw = &loaded.raw;
    let dir = loaded.file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let seed = raw.seed.unwrap_or(DEFAULT_SEED);

    if raw.title.trim().is_empty() {
        return Err(loaded.error_at("title", &["title:"], "title must not be empty"));
    }
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
        tenants.insert(
            slug.clone(),
            TenantPlan {
                business_name: t.business_name.clone(),
                inbound_prompt: t.inbound_prompt.clone(),
                outbound_prompt: t.outbound_prompt.clone(),
                greeting: t.greeting.clone(),
                voice: t.voice.clone(),
            },
        );
    }

    let mut current = tenants.clone();
    let mut changes: Vec<(usize, &super::model::RawTenantChange)> =
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
    let mut budget = AudioBudget::default();
    let mut calls = Vec::new();
    let mut names = BTreeSet::new();
    for (i, call) in raw.calls.iter().enumerate() {
        let name = call.name.clone().unwrap_or_else(|| format!("call-{i}"));
        let key = format!("calls[{i}]");
        if !names.insert(name.clone()) {
            return Err(loaded.error_at(
                &format!("{key}.name"),
                &[&format!("name: {name}")],
                format!("duplicate call name `{name}`"),
            ));
        }
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
            steps.push(step_plan(
                loaded,
                &dir,
                &step_key,
                step,
                seed ^ (i as u64) << 8 ^ j as u64,
                &mut budget,
            )?);
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
        calls.push(CallPlan {
            name,
            tenant: call.tenant.clone(),
            direction,
            start: call.start.map(|d| d.get()).unwrap_or_default(),
            from: call.from.clone().unwrap_or(default_from),
            to: call.to.clone().unwrap_or(default_to),
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
        });
    }
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

    let mut ai_faults = Vec::new();
    for (i, fault) in raw.faults.iter().enumerate() {
        apply_fault(loaded, i, fault, &mut calls, &mut ai_faults)?;
    }

    let ai = AiPlan {
        max_session: raw
            .ai
            .max_session
            .map(|d| d.get())
            .unwrap_or(Duration::from_secs(3600)),
        replies: raw
            .ai
            .replies
            .iter()
            .enumerate()
            .map(|(i, r)| reply_plan(loaded, &dir, &format!("ai.replies[{i}]"), r, &mut budget))
            .collect::<Result<_, _>>()?,
        default_reply: raw
            .ai
            .default_reply
            .as_ref()
            .map(|r| reply_plan(loaded, &dir, "ai.default_reply", r, &mut budget))
            .transpose()?,
        faults: ai_faults,
    };
    if ai.max_session < Duration::from_secs(1) {
        return Err(loaded.error_at("ai.max_session", &["max_session"], "must be at least 1s"));
    }

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
            let exp = parse_expectation(path, matcher, &tenants)
                .and_then(|exp| check_path(&exp.segments, &names).map(|()| exp))
                .map_err(|message| {
                    loaded.error_at(&format!("expect[{i}]"), &["expect:", path], message)
                })?;
            expectations.push(exp);
        }
    }

    let last_event = calls
        .iter()
        .map(|c| {
            c.start + c.connect_delay + c.ring + c.hangup_at.unwrap_or_else(|| steps_len(&c.steps))
        })
        .max()
        .unwrap_or_default();
    let timeout = raw
        .timeout
        .map(|d| d.get())
        .unwrap_or(last_event + Duration::from_secs(120));

    let mut snapshot = raw
        .snapshot
        .clone()
        .unwrap_or_else(|| vec![RawSnapshotPart::Prompts, RawSnapshotPart::Calls]);
    snapshot.sort();
    snapshot.dedup();

    Ok(Plan {
        file: loaded.file.clone(),
        name: name.to_string(),
        title: raw.title.clone(),
        description: raw.description.clone(),
        tags: raw.tags.clone(),
        seed,
        clock: match raw.clock {
            Some(RawClock::Real) => ClockMode::Real,
            _ => ClockMode::Virtual,
        },
        timeout,
        fails_under: raw.fails_under.clone(),
        tenants,
        tenant_changes,
        calls,
        ai,
        snapshot,
        expectations,
    })
}

/// Total length of a timeline.
fn steps_len(steps: &[StepPlan]) -> Duration {
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

fn exactly_one(
    loaded: &LoadedScenario,
    key: &str,
    needle: &str,
    present: &[(&str, bool)],
) -> Result<(), ScenarioError> {
    let set: Vec<&str> = present
        .iter()
        .filter(|(_, p)| *p)
        .map(|(n, _)| *n)
        .collect();
    if set.len() == 1 {
        return Ok(());
    }
    let all: Vec<&str> = present.iter().map(|(n, _)| *n).collect();
    let message = if set.is_empty() {
        format!("expected exactly one of: {}", all.join(", "))
    } else {
        format!(
            "expected exactly one of: {}; found {}",
            all.join(", "),
            set.join(" and ")
        )
    };
    Err(loaded.error_at(key, &[needle], message))
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
        let path = dir.join(file);
        let at =
            |message: String| loaded.error_at(&format!("{key}.say"), &["timeline:", file], message);
        let mulaw = crate::audio::read_wav_mulaw_within(&path, MAX_CALLER_CLIP)
            .map_err(|e| at(e.to_string()))?;
        budget
            .spend(Duration::from_millis(mulaw.len() as u64 / 8))
            .map_err(at)?;
        return Ok(StepPlan::Audio {
            label: file.clone(),
            mulaw: Arc::new(mulaw),
        });
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
        return Ok(StepPlan::Dtmf(digits.clone()));
    }
    Ok(StepPlan::Hangup)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn error_plan(e: &super::model::RawError, default_type: &str) -> ErrorPlan {
    ErrorPlan {
        code: e.code.clone(),
        message: e
            .message
            .clone()
            .unwrap_or_else(|| format!("Injected error: {}", e.code)),
        error_type: e
            .error_type
            .clone()
            .unwrap_or_else(|| default_type.to_string()),
    }
}

fn reply_plan(
    loaded: &LoadedScenario,
    dir: &Path,
    key: &str,
    reply: &RawReply,
    budget: &mut AudioBudget,
) -> Result<ReplyPlan, ScenarioError> {
    let too_long = |field: &str, d: Duration| {
        loaded.error_at(
            &format!("{key}.audio.{field}"),
            &["audio:", &format!("{field}:")],
            format!(
                "{} of reply audio; a reply may last at most {}",
                format_duration(d),
                format_duration(MAX_REPLY_AUDIO)
            ),
        )
    };
    let audio = match &reply.audio {
        None => ReplyAudioPlan::Filler(
            Duration::from_millis(
                // Without explicit audio a reply lasts about as long as its text takes to say.
                60 * reply.text.as_deref().unwrap_or("Okay.").len().max(10) as u64,
            )
            .min(MAX_REPLY_AUDIO),
        ),
        Some(a) => {
            exactly_one(
                loaded,
                &format!("{key}.audio"),
                "audio:",
                &[
                    ("tone", a.tone.is_some()),
                    ("filler", a.filler.is_some()),
                    ("wav", a.wav.is_some()),
                    ("none", a.none.is_some()),
                ],
            )?;
            if let Some(d) = a.tone {
                if d.get() > MAX_REPLY_AUDIO {
                    return Err(too_long("tone", d.get()));
                }
                ReplyAudioPlan::Tone(d.get())
            } else if let Some(d) = a.filler {
                if d.get() > MAX_REPLY_AUDIO {
                    return Err(too_long("filler", d.get()));
                }
                ReplyAudioPlan::Filler(d.get())
            } else if let Some(file) = &a.wav {
                let at = |message: String| {
                    loaded.error_at(&format!("{key}.audio.wav"), &["wav:", file], message)
                };
                let mulaw = crate::audio::read_wav_mulaw_within(dir.join(file), MAX_REPLY_AUDIO)
                    .map_err(|e| at(e.to_string()))?;
                budget
                    .spend(Duration::from_millis(mulaw.len() as u64 / 8))
                    .map_err(at)?;
                ReplyAudioPlan::Pcm8k(Arc::new(crate::audio::decode_all(&mulaw)))
            } else {
                ReplyAudioPlan::None
            }
        }
    };
    let tool_call = reply.tool_call.as_ref().map(|t| {
        let args = if t.arguments.is_null() {
            "{}".to_string()
        } else {
            t.arguments.to_string()
        };
        (t.name.clone(), args)
    });
    Ok(ReplyPlan {
        text: reply.text.clone().unwrap_or_else(|| "Okay.".to_string()),
        audio,
        tool_call,
        fail: reply.fail.as_ref().map(|e| error_plan(e, "server_error")),
        error: reply.error.as_ref().map(|e| error_plan(e, "server_error")),
    })
}

fn apply_fault(
    loaded: &LoadedScenario,
    i: usize,
    fault: &super::model::RawFault,
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
