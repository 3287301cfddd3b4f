//! The bundled certification packs: each profile's manifest and scenarios, embedded in the
//! binary, and the SHA-256 over a pack that every result carries.
//!
//! A pack is read-only once released: `scenarios/certification/vN/` is its source, and a changed
//! file changes its hash, so a result always says exactly what was run.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::run::Declarations;

/// File name of a pack's manifest.
pub const MANIFEST_FILE: &str = "profile.yaml";
/// The profile `callsim certify` runs unless told otherwise (see docs/certification.md for why
/// the default stays v1).
pub const DEFAULT_PROFILE_ID: &str = "twilio-media-streams-realtime/v1";
/// Every bundled profile id, oldest first.
pub const PROFILE_IDS: &[&str] = &[
    "twilio-media-streams-realtime/v1",
    "twilio-media-streams-realtime/v2",
    "twilio-media-streams-live/v1",
];

macro_rules! pack_files {
    ($dir:literal: $($name:literal),+ $(,)?) => {
        &[$((
            $name,
            include_str!(concat!("../../../scenarios/certification/", $dir, "/", $name)),
        )),+]
    };
}

/// The files of profile v1, manifest first. Frozen: its hash must never change.
const V1: &[(&str, &str)] = pack_files!("v1":
    "profile.yaml",
    "signatures-webhook.yaml",
    "signatures-stream.yaml",
    "twiml-connect-stream.yaml",
    "realtime-ga-session.yaml",
    "prompt-direction.yaml",
    "prompt-no-fallback.yaml",
    "barge-in.yaml",
    "session-expiry.yaml",
    "cleanup.yaml",
    "benign-errors.yaml",
    "outbound-direction.yaml",
);

/// The files of profile v2, manifest first.
const V2: &[(&str, &str)] = pack_files!("v2":
    "profile.yaml",
    "signatures-webhook.yaml",
    "signatures-stream.yaml",
    "twiml-connect-stream.yaml",
    "realtime-ga-session.yaml",
    "prompt-direction.yaml",
    "prompt-no-fallback.yaml",
    "tenant-isolation.yaml",
    "unresolvable-tenant.yaml",
    "per-direction-cache.yaml",
    "prompt-freshness.yaml",
    "caller-context.yaml",
    "one-configuration.yaml",
    "audio-formats.yaml",
    "barge-in.yaml",
    "session-expiry.yaml",
    "cleanup.yaml",
    "benign-errors.yaml",
    "long-call.yaml",
    "outbound-direction.yaml",
);

const LIVE_V1: &[(&str, &str)] = pack_files!("live-v1":
    "profile.yaml",
    "signatures-webhook.yaml",
    "signatures-stream.yaml",
    "twiml-connect-stream.yaml",
    "live-session.yaml",
    "prompt-direction.yaml",
    "prompt-no-fallback.yaml",
    "tenant-isolation.yaml",
    "unresolvable-tenant.yaml",
    "per-direction-cache.yaml",
    "prompt-freshness.yaml",
    "caller-context.yaml",
    "one-configuration.yaml",
    "audio-formats.yaml",
    "barge-in.yaml",
    "session-expiry.yaml",
    "cleanup.yaml",
    "benign-errors.yaml",
    "long-call.yaml",
    "outbound-direction.yaml",
);

/// How a profile treats the built-in invariants' findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum InvariantPolicy {
    /// Findings stay in the transcript and do not change a verdict (v1, which predates them).
    #[default]
    Informational,
    /// A finding fails the requirement whose scenario produced it.
    Enforced,
}

/// A capability a requirement needs of the target; without it the requirement is not checked
/// and the result says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// The server places outbound calls (`declares.outbound`).
    Outbound,
    /// The server puts a caller's notes into that caller's prompt (`declares.caller_context`).
    CallerContext,
    /// The fixture API, to provision and edit tenants during the run (`fixtures:`).
    Fixtures,
}

impl Capability {
    /// Why a target without this capability cannot be judged, or `None` when it has it.
    pub fn missing_in(self, declared: &Declarations) -> Option<&'static str> {
        match self {
            Capability::Outbound if !declared.outbound => Some(
                "outbound not supported: the target file does not declare `declares: { outbound: true }`",
            ),
            Capability::CallerContext if !declared.caller_context => Some(
                "caller context not supported: the target file does not declare `declares: { caller_context: true }`",
            ),
            Capability::Fixtures if !declared.fixtures => Some(
                "not checkable: the target has no fixture API (`fixtures:` in the target file), so callsim cannot edit a tenant during the run",
            ),
            _ => None,
        }
    }
}

/// The manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Profile id without the version.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Title.
    pub title: String,
    /// Whether invariant findings fail a requirement (absent in v1: informational).
    #[serde(default)]
    pub invariants: InvariantPolicy,
    /// Requirements in order.
    pub requirements: Vec<Requirement>,
}

/// One requirement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id, e.g. `prompt.direction`.
    pub id: String,
    /// What it demands.
    pub title: String,
    /// Whether certification needs it (when the target has what it needs).
    pub mandatory: bool,
    /// The scenario file in the pack.
    pub scenario: String,
    /// What the target must have for the requirement to be checked.
    #[serde(default)]
    pub needs: Vec<Capability>,
}

/// A loaded pack.
#[derive(Debug, Clone)]
pub struct Pack {
    /// `id/vN`.
    pub profile_id: String,
    /// The manifest.
    pub manifest: Manifest,
    /// (file name, text) of every file.
    pub files: Vec<(String, String)>,
}

impl Pack {
    /// The bundled pack for a profile id (`twilio-media-streams-realtime/v2`).
    pub fn bundled(profile_id: &str) -> Result<Pack, String> {
        let files = match profile_id {
            "twilio-media-streams-realtime/v1" => V1,
            "twilio-media-streams-realtime/v2" => V2,
            "twilio-media-streams-live/v1" => LIVE_V1,
            _ => {
                return Err(format!(
                    "unknown certification profile `{profile_id}` (this callsim bundles {})",
                    PROFILE_IDS
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        };
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
            .collect();
        let manifest: Manifest = serde_norway::from_str(&files[0].1)
            .map_err(|e| format!("bundled manifest is invalid (a callsim bug): {e}"))?;
        if format!("{}/v{}", manifest.id, manifest.version) != profile_id {
            return Err(format!(
                "bundled manifest of `{profile_id}` names `{}/v{}` (a callsim bug)",
                manifest.id, manifest.version
            ));
        }
        for r in &manifest.requirements {
            if !files.iter().any(|(n, _)| *n == r.scenario) {
                return Err(format!(
                    "requirement `{}` names a missing scenario `{}`",
                    r.id, r.scenario
                ));
            }
        }
        Ok(Pack {
            profile_id: profile_id.to_string(),
            manifest,
            files,
        })
    }

    /// The text of a requirement's scenario.
    pub fn scenario_text(&self, requirement: &Requirement) -> Option<&str> {
        self.files
            .iter()
            .find(|(n, _)| *n == requirement.scenario)
            .map(|(_, t)| t.as_str())
    }

    /// SHA-256 over every file name and text, in pack order.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for (name, text) in &self.files {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
            h.update([0]);
        }
        hex(&h.finalize())
    }
}

/// Lower-case hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
