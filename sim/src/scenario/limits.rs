//! The limits every scenario is held to, checked when the plan is built so that a bad file is an
//! input error of that scenario and never an allocation that takes the whole run down.
//!
//! Each limit is far above what a realistic scenario needs and far below what would hurt the
//! machine; `scenarios/README.md` lists them.

use std::time::Duration;

use crate::audio::SAMPLE_RATE;
use crate::twilio::MAX_CALL;

/// The longest duration a scenario may write anywhere: a scenario simulates at most a day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// The longest a call can last: Twilio ends every call after 4 hours (its maximum time limit), so
/// a timeline or a `hangup_at` beyond it could never play.
pub const MAX_CALL_LENGTH: Duration = MAX_CALL;

/// The longest single caller audio step (`say`, `speech`, `tone`).
pub const MAX_CALLER_CLIP: Duration = Duration::from_secs(3600);

/// The longest audio of one scripted model reply; a real model turn lasts seconds.
pub const MAX_REPLY_AUDIO: Duration = Duration::from_secs(10 * 60);

/// All audio one scenario may hold in memory (caller clips and reply WAVs together): four hours
/// at 8 kHz µ-law, about 115 MB.
pub const MAX_SCENARIO_AUDIO: Duration = Duration::from_secs(4 * 3600);

/// The longest `latency` or `jitter` a faulty link may add: a connection slower than a minute
/// is a dead one, which `stall_at` and `drop_at` say plainly.
pub const MAX_LINK_DELAY: Duration = Duration::from_secs(60);

/// The most calls one scenario may place.
pub const MAX_CALLS: usize = 5_000;

/// The most steps one call's timeline may have.
pub const MAX_STEPS: usize = 10_000;

/// The largest scenario file read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The deepest nesting of YAML collections accepted; real scenarios nest five or six levels.
pub const MAX_NESTING: usize = 64;

/// Audio memory spent so far by one scenario, in 8 kHz samples.
#[derive(Debug, Default)]
pub struct AudioBudget {
    spent_ms: u64,
}

impl AudioBudget {
    /// Reserves `d` of audio; fails with the total when the scenario would exceed
    /// [`MAX_SCENARIO_AUDIO`].
    pub fn spend(&mut self, d: Duration) -> Result<(), String> {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.spent_ms = self.spent_ms.saturating_add(ms);
        let max_ms = u64::try_from(MAX_SCENARIO_AUDIO.as_millis()).unwrap_or(u64::MAX);
        if self.spent_ms > max_ms {
            return Err(format!(
                "the scenario's audio adds up to more than {} s ({} MB at {} Hz µ-law); \
                 use `silence:` for long quiet stretches",
                MAX_SCENARIO_AUDIO.as_secs(),
                max_ms * u64::from(SAMPLE_RATE) / 1000 / 1_000_000,
                SAMPLE_RATE
            ));
        }
        Ok(())
    }
}

/// A call timeline that cannot play as written, with the index of the step concerned.
#[derive(Debug, PartialEq, Eq)]
pub struct TimelineProblem {
    /// The step concerned (`None` for the timeline as a whole).
    pub step: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Checks a call's timeline against its `hangup_at` and Twilio's maximum call length.
///
/// `steps` are each step's length and whether it is an explicit `hangup`. A `hangup_at` past
/// [`MAX_CALL_LENGTH`] would be cut short by Twilio, and one that falls at or before the start
/// of a step means that step never plays; both are mistakes the author must hear about.
pub fn check_timeline(
    steps: &[(Duration, bool)],
    hangup_at: Option<Duration>,
) -> Result<(), TimelineProblem> {
    let format = super::duration::format_duration;
    if let Some(at) = hangup_at
        && at > MAX_CALL_LENGTH
    {
        return Err(TimelineProblem {
            step: None,
            message: format!(
                "hangup_at {} is past Twilio's maximum call length of {}: Twilio would end \
                 the call first",
                format(at),
                format(MAX_CALL_LENGTH)
            ),
        });
    }
    let mut start = Duration::ZERO;
    for (i, &(length, is_hangup)) in steps.iter().enumerate() {
        if let Some(at) = hangup_at
            && !is_hangup
            && start >= at
        {
            return Err(TimelineProblem {
                step: Some(i),
                message: format!(
                    "this step starts at {} but hangup_at {} ends the call first, so it never \
                     plays; move hangup_at past {} or remove the step",
                    format(start),
                    format(at),
                    format(start)
                ),
            });
        }
        start += length;
        if hangup_at.is_none() && start > MAX_CALL_LENGTH {
            return Err(TimelineProblem {
                step: Some(i),
                message: format!(
                    "the timeline reaches {} here, past Twilio's maximum call length of {}",
                    format(start),
                    format(MAX_CALL_LENGTH)
                ),
            });
        }
    }
    Ok(())
}

/// The deepest nesting of flow (`[`, `{`) and block (indentation) collections in YAML text,
/// estimated without parsing: deep nesting makes the YAML parser's work grow far faster than the
/// file, so it is refused before parsing.
pub fn yaml_nesting(source: &str) -> usize {
    let mut deepest = 0;
    let mut flow: usize = 0;
    for line in source.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        // Two spaces (or one `- `) per block level is the common YAML style; counting every
        // two columns of indentation as a level over-estimates, which errs on the safe side.
        let indent = line.len() - trimmed.len();
        let dashes = trimmed.split_whitespace().take_while(|w| *w == "-").count();
        let mut in_quote: Option<char> = None;
        for c in trimmed.chars() {
            match (in_quote, c) {
                (Some(q), c) if c == q => in_quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => in_quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => {
                    flow += 1;
                    deepest = deepest.max(flow + indent / 2 + dashes);
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
        deepest = deepest.max(indent / 2 + dashes + flow);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audio_budget_refuses_the_clip_that_crosses_the_limit() {
        let mut budget = AudioBudget::default();
        assert!(budget.spend(Duration::from_secs(3 * 3600)).is_ok());
        assert!(budget.spend(Duration::from_secs(3600)).is_ok());
        let err = budget.spend(Duration::from_millis(20)).unwrap_err();
        assert!(err.contains("more than 14400 s"), "{err}");
    }

    #[test]
    fn a_hangup_before_a_step_or_past_four_hours_is_a_problem_naming_the_step() {
        let secs = Duration::from_secs;
        let steps = [(secs(5), false), (secs(3), false)];
        assert_eq!(check_timeline(&steps, Some(secs(6))), Ok(()));
        assert_eq!(check_timeline(&steps, None), Ok(()));
        let early = check_timeline(&steps, Some(secs(2))).unwrap_err();
        assert_eq!(early.step, Some(1));
        assert!(
            early.message.contains("starts at 5s but hangup_at 2s"),
            "{early:?}"
        );
        let zero = check_timeline(&steps, Some(Duration::ZERO)).unwrap_err();
        assert_eq!(zero.step, Some(0));
        let late = check_timeline(&steps, Some(secs(10 * 3600))).unwrap_err();
        assert_eq!(late.step, None);
        assert!(late.message.contains("hangup_at 10h is past"), "{late:?}");
        let long = [(secs(3 * 3600), false), (secs(2 * 3600), false)];
        assert_eq!(check_timeline(&long, None).unwrap_err().step, Some(1));
        // An explicit hangup step after hangup_at is harmless: the call ends either way.
        assert_eq!(
            check_timeline(&[(secs(5), false), (Duration::ZERO, true)], Some(secs(5))),
            Ok(())
        );
    }

    #[test]
    fn nesting_counts_flow_and_block_collections() {
        assert_eq!(yaml_nesting("a: 1\nb: 2\n"), 0);
        assert_eq!(yaml_nesting("a:\n  b:\n    c: 1\n"), 2);
        assert_eq!(yaml_nesting("a: [[[1]]]\n"), 3);
        assert_eq!(yaml_nesting("a: \"[[[[\"  # [[[[\n"), 0);
        let deep = format!("a: {}{}\n", "[".repeat(500), "]".repeat(500));
        assert!(yaml_nesting(&deep) > MAX_NESTING);
    }

    #[test]
    fn every_bundled_scenario_is_well_within_the_nesting_limit() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut stack = vec![root];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    assert!(yaml_nesting(&text) < MAX_NESTING / 4, "{}", path.display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 10, "found only {seen} scenario files");
    }
}
