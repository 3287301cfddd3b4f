//! Validation: turns a raw scenario into a [`Plan`], naming the file, line and key of the first
//! problem.

//!
//! One file per section: `tenants`, `calls` (timelines and their audio), `ai` (replies),
//! `faults` and `expectations`, and `numbers` (tenant numbers and the calls that dial them);
//! this file orders them and assembles the plan.

mod ai;
mod calls;
mod expectations;
mod faults;
mod numbers;
mod tenants;

use std::path::Path;
use std::time::Duration;

use super::error::ScenarioError;
use super::limits::AudioBudget;
use super::load::LoadedScenario;
use super::model::{RawClock, RawPrebuild, RawProfile, RawSnapshotPart};
use super::plan::{
    ClockMode, DEFAULT_SEED, Plan, Prebuild, Profile, ReferenceServerPlan, SnapshotPart,
};
use calls::steps_len;

/// Validates a loaded scenario. `name` is the scenario's name (path relative to the scenarios
/// root, without extension).
pub fn build_plan(loaded: &LoadedScenario, name: &str) -> Result<Plan, ScenarioError> {
    let raw = &loaded.raw;
    let dir = loaded.file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let seed = raw.seed.unwrap_or(DEFAULT_SEED);

    if raw.title.trim().is_empty() {
        return Err(loaded.error_at("title", &["title:"], "title must not be empty"));
    }
    let (tenants, tenant_changes) = tenants::tenants(loaded)?;
    let mut budget = AudioBudget::default();
    let mut calls = calls::calls(loaded, &dir, seed, &tenants, &mut budget)?;
    let (ai_faults, links) = faults::faults(loaded, &mut calls)?;
    let ai = ai::ai(loaded, &dir, ai_faults, &mut budget)?;
    let expectations = expectations::expectations(loaded, &tenants, &calls)?;
    let waivers = expectations::waivers(loaded)?;

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

    let mut snapshot: Vec<SnapshotPart> = match &raw.snapshot {
        None => vec![SnapshotPart::Prompts, SnapshotPart::Calls],
        Some(parts) => parts
            .iter()
            .map(|p| match p {
                RawSnapshotPart::Prompts => SnapshotPart::Prompts,
                RawSnapshotPart::Calls => SnapshotPart::Calls,
                RawSnapshotPart::Server => SnapshotPart::Server,
            })
            .collect(),
    };
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
        fails_under: raw
            .fails_under
            .iter()
            .map(|p| match p {
                RawProfile::Legacy => Profile::Legacy,
                RawProfile::Fixed => Profile::Fixed,
            })
            .collect(),
        tenants,
        tenant_changes,
        calls,
        ai,
        snapshot,
        expectations,
        waivers,
        reference_server: ReferenceServerPlan {
            prebuild: match raw.reference_server.prebuild {
                None | Some(RawPrebuild::Normal) => Prebuild::Normal,
                Some(RawPrebuild::Late) => Prebuild::Late,
                Some(RawPrebuild::Absent) => Prebuild::Absent,
            },
        },
        links,
    })
}

pub(super) fn exactly_one(
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
