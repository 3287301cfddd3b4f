//! What each load call plays: a scenario call's caller timeline rendered once into 20 ms frames
//! (base64 payloads shared by every call), and the weighted pick of a template for call `n`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::audio::FRAME_BYTES;
use crate::run::Endpoints;
use crate::scenario::plan::{CallPlan, Plan, ResolveBy};
use crate::twilio::caller_cursor::CallerCursor;

/// Longest timeline rendered per template: 30 minutes of frames (a longer `--hold` repeats it).
const MAX_TEMPLATE_FRAMES: usize = 30 * 60 * 50;

/// One 20 ms caller frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Base64 of the 160 µ-law bytes.
    pub payload: Arc<str>,
    /// An audio step of the timeline starts in this frame (the caller starts speaking).
    pub speech_start: bool,
    /// An audio step ended just before this frame (the caller stopped speaking).
    pub speech_end: bool,
    /// Keys pressed at the start of this frame.
    pub digits: Vec<char>,
}

/// A scenario call as a load call plays it.
#[derive(Debug)]
pub struct CallTemplate {
    /// `scenario/call`.
    pub label: String,
    /// The voice webhook path (slug or by number).
    pub webhook_path: String,
    /// `From`.
    pub from: String,
    /// `To`.
    pub to: String,
    /// The caller's frames, at least one.
    pub frames: Vec<Frame>,
}

impl CallTemplate {
    /// Renders `call` of `plan` against `endpoints`' paths.
    pub fn new(plan: &Plan, call: &CallPlan, endpoints: &Endpoints) -> CallTemplate {
        let webhook_path = match call.resolve_by {
            ResolveBy::Slug => endpoints.incoming_path.replace("{tenant}", &call.tenant),
            ResolveBy::Number => endpoints.incoming_by_number_path.clone(),
        };
        CallTemplate {
            label: format!("{}/{}", plan.name, call.name),
            webhook_path,
            from: call.from.clone(),
            to: call.to.clone(),
            frames: render(call),
        }
    }

    /// The frame played at position `k` (the timeline repeats under `--hold`).
    pub fn frame(&self, k: u64) -> &Frame {
        let len = self.frames.len() as u64;
        // `frames` is never empty; `max(1)` keeps the modulo total anyway.
        &self.frames[usize::try_from(k % len.max(1)).unwrap_or(0)]
    }
}

fn render(call: &CallPlan) -> Vec<Frame> {
    let silence: Arc<str> = Arc::from(B64.encode([0xFFu8; FRAME_BYTES]));
    let mut cursor = CallerCursor::new(&crate::run::caller_script(call));
    let mut frames = Vec::new();
    let mut ends = Vec::new();
    let mut starts = Vec::new();
    while !cursor.should_hang_up() && frames.len() < MAX_TEMPLATE_FRAMES {
        let tick = cursor.next_tick();
        for span in &tick.finished_audio {
            starts.push(span.from_byte / FRAME_BYTES as u64);
            ends.push(span.to_byte.div_ceil(FRAME_BYTES as u64));
        }
        let payload = if tick.frame.iter().all(|b| *b == 0xFF) {
            Arc::clone(&silence)
        } else {
            Arc::from(B64.encode(tick.frame))
        };
        frames.push(Frame {
            payload,
            speech_start: false,
            speech_end: false,
            digits: tick.digits,
        });
    }
    if frames.is_empty() {
        frames.push(Frame {
            payload: silence,
            speech_start: false,
            speech_end: false,
            digits: Vec::new(),
        });
    }
    let n = frames.len();
    for s in starts {
        frames[usize::try_from(s).unwrap_or(0).min(n - 1)].speech_start = true;
    }
    for e in ends {
        // Speech that runs to the very end of the timeline ends where the call does.
        if let Some(f) = usize::try_from(e).ok().and_then(|i| frames.get_mut(i)) {
            f.speech_end = true;
        }
    }
    frames
}

/// A scenario file given on the command line, with its weight (`path.yaml:3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedPath {
    /// The file.
    pub path: PathBuf,
    /// Its weight among the files (default 1).
    pub weight: u32,
}

impl WeightedPath {
    /// Parses `PATH` or `PATH:WEIGHT` (a suffix counts as a weight only if the file without it
    /// exists and the suffix is a whole number from 1).
    pub fn parse(text: &str) -> Result<WeightedPath, String> {
        if let Some((path, weight)) = text.rsplit_once(':')
            && let Ok(weight) = weight.parse::<u32>()
            && Path::new(path).is_file()
        {
            if weight == 0 {
                return Err(format!("{text}: a weight must be at least 1"));
            }
            return Ok(WeightedPath {
                path: PathBuf::from(path),
                weight,
            });
        }
        Ok(WeightedPath {
            path: PathBuf::from(text),
            weight: 1,
        })
    }
}

/// Every template with its weight; call `n` gets a seeded weighted pick.
#[derive(Debug)]
pub struct Templates {
    entries: Vec<(Arc<CallTemplate>, u64)>,
    total: u64,
    seed: u64,
}

impl Templates {
    /// Templates of every call of every plan; a plan's weight is shared evenly among its
    /// calls (weights are scaled by the least common multiple of the call counts to stay whole).
    pub fn new(plans: &[(Plan, u32)], endpoints: &Endpoints, seed: u64) -> Result<Self, String> {
        let mut scale = 1u64;
        for (plan, _) in plans {
            if plan.calls.is_empty() {
                return Err(format!(
                    "{}: the scenario has no calls to play",
                    plan.file.display()
                ));
            }
            scale = lcm(scale, plan.calls.len() as u64);
        }
        let mut entries = Vec::new();
        for (plan, weight) in plans {
            let per_call = u64::from(*weight) * scale / plan.calls.len() as u64;
            for call in &plan.calls {
                entries.push((Arc::new(CallTemplate::new(plan, call, endpoints)), per_call));
            }
        }
        let total = entries.iter().map(|(_, w)| *w).sum();
        Ok(Templates {
            entries,
            total,
            seed,
        })
    }

    /// One template for every call.
    pub fn single(template: CallTemplate) -> Self {
        Templates {
            entries: vec![(Arc::new(template), 1)],
            total: 1,
            seed: 0,
        }
    }

    /// The template of call `n`.
    pub fn pick(&self, n: u64) -> Arc<CallTemplate> {
        let mut x = mix(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % self.total.max(1);
        for (t, w) in &self.entries {
            if x < *w {
                return Arc::clone(t);
            }
            x -= w;
        }
        Arc::clone(&self.entries[0].0)
    }

    /// Frames of the longest template (a call's length without `--hold`).
    pub fn longest_frames(&self) -> u32 {
        let longest = self.entries.iter().map(|(t, _)| t.frames.len()).max();
        u32::try_from(longest.unwrap_or(0)).unwrap_or(u32::MAX)
    }

    /// The labels, for the report.
    pub fn labels(&self) -> Vec<String> {
        self.entries.iter().map(|(t, _)| t.label.clone()).collect()
    }
}

fn lcm(a: u64, b: u64) -> u64 {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x.max(1) * b
}

/// SplitMix64's finaliser: call ids and picks from a seed and a call number.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
