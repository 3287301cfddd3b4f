//! The `ai:` section: the mock model's replies (with their audio within the limits), session
//! length and dialect; and the AI faults the `faults:` section adds.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::exactly_one;
use crate::scenario::ScenarioError;
use crate::scenario::duration::format_duration;
use crate::scenario::limits::{AudioBudget, MAX_REPLY_AUDIO};
use crate::scenario::load::LoadedScenario;
use crate::scenario::model::{RawAiDialect, RawReply};
use crate::scenario::plan::{AiDialect, AiFaultPlan, AiPlan, ErrorPlan, ReplyAudioPlan, ReplyPlan};

/// The paces `ai.audio_pace` may take. Below a tenth of real time a ten-second reply would take
/// over a minute and a half to stream, which no real model does; above a hundred times real time
/// the mock's 100 ms chunks would come faster than one per millisecond of scenario time, which
/// the millisecond-resolution records could no longer tell apart.
const AUDIO_PACE_RANGE: std::ops::RangeInclusive<f64> = 0.1..=100.0;

/// The AI script.
pub(super) fn ai(
    loaded: &LoadedScenario,
    dir: &Path,
    ai_faults: Vec<AiFaultPlan>,
    budget: &mut AudioBudget,
) -> Result<AiPlan, ScenarioError> {
    let raw = &loaded.raw;
    let audio_pace = raw
        .ai
        .audio_pace
        .map(|p| audio_pace(loaded, p))
        .transpose()?;
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
            .map(|(i, r)| reply_plan(loaded, dir, &format!("ai.replies[{i}]"), r, budget))
            .collect::<Result<_, _>>()?,
        default_reply: raw
            .ai
            .default_reply
            .as_ref()
            .map(|r| reply_plan(loaded, dir, "ai.default_reply", r, budget))
            .transpose()?,
        faults: ai_faults,
        audio_pace,
        dialect: match raw.ai.dialect {
            None | Some(RawAiDialect::Realtime) => AiDialect::Realtime,
            Some(RawAiDialect::Live) => AiDialect::Live,
        },
    };
    if ai.max_session < Duration::from_secs(1) {
        return Err(loaded.error_at("ai.max_session", &["max_session"], "must be at least 1s"));
    }
    Ok(ai)
}

/// `ai.audio_pace`: a finite pace within [`AUDIO_PACE_RANGE`].
fn audio_pace(loaded: &LoadedScenario, pace: f64) -> Result<f64, ScenarioError> {
    if AUDIO_PACE_RANGE.contains(&pace) {
        return Ok(pace);
    }
    Err(loaded.error_at(
        "ai.audio_pace",
        // Anchored at the top-level `ai:` key, so that a description mentioning the key is
        // not taken for it.
        &["\nai:", "audio_pace:"],
        format!(
            "{pace} is out of range: the pace is seconds of reply audio per second of scenario \
             time (1.0 is real time) and must lie between {} and {}",
            AUDIO_PACE_RANGE.start(),
            AUDIO_PACE_RANGE.end()
        ),
    ))
}

pub(super) fn error_plan(e: &crate::scenario::model::RawError, default_type: &str) -> ErrorPlan {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::load::parse_str;
    use crate::scenario::validate::build_plan;

    const BASE: &str = "title: t\ntenants:\n  acme: { business_name: Acme }\ncalls:\n  - tenant: acme\n    direction: inbound\n    timeline:\n      - silence: 1s\n";

    fn pace_of(ai: &str) -> Result<Option<f64>, String> {
        let loaded =
            parse_str(Path::new("s.yaml"), format!("{BASE}{ai}")).map_err(|e| e.to_string())?;
        build_plan(&loaded, "s")
            .map(|plan| plan.ai.audio_pace)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn audio_pace_is_absent_by_default_and_kept_when_in_range() {
        assert_eq!(pace_of(""), Ok(None));
        assert_eq!(pace_of("ai:\n  audio_pace: 1.0\n"), Ok(Some(1.0)));
        assert_eq!(pace_of("ai:\n  audio_pace: 2\n"), Ok(Some(2.0)));
        assert_eq!(pace_of("ai:\n  audio_pace: 0.1\n"), Ok(Some(0.1)));
        assert_eq!(pace_of("ai:\n  audio_pace: 100\n"), Ok(Some(100.0)));
    }

    #[test]
    fn audio_pace_out_of_range_names_the_key_and_its_place() {
        for bad in ["0", "-1", "0.05", "100.5", ".nan", ".inf"] {
            let ai = format!("description: \"audio_pace: {bad}\"\nai:\n  audio_pace: {bad}\n");
            let err = pace_of(&ai).expect_err("out of range");
            assert!(err.starts_with("s.yaml:11:3"), "{bad}: {err}");
            assert!(err.contains("ai.audio_pace"), "{bad}: {err}");
            assert!(err.contains("between 0.1 and 100"), "{bad}: {err}");
        }
    }
}
