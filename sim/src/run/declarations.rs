//! What a target declares about itself: the capabilities certification may demand of it and the
//! bounds the built-in invariants hold it to.
//!
//! A vendor declares these in the target file's `declares:` section; the bundled reference
//! server declares everything it does. A declaration is a promise that is checked: a server that
//! declares outbound support must pass the outbound requirements, and a declared prompt
//! freshness is the grace the freshness invariant allows after a tenant edit.

use std::time::Duration;

use serde::Serialize;

/// The longest prompt freshness a target may declare: the certification pack's freshness
/// requirement starts its last call this long after the edit, so a slower promise could not be
/// checked at all.
pub(super) const MAX_PROMPT_FRESHNESS: Duration = Duration::from_secs(10);
/// The longest bound a target may declare for opening its AI session: a caller who hears
/// silence for longer than this has hung up.
pub(super) const MAX_SESSION_OPEN_WITHIN: Duration = Duration::from_secs(10);
/// The prompt freshness assumed when a target declares none: the fixture API answers before an
/// edit is visible to a call that is being set up at that very instant.
const DEFAULT_PROMPT_FRESHNESS: Duration = Duration::from_secs(1);
/// The session-open bound assumed when a target declares none.
const DEFAULT_SESSION_OPEN_WITHIN: Duration = Duration::from_secs(3);

/// A target's declared capabilities and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Declarations {
    /// The server places outbound calls through the Twilio REST API (`paths.place_call`).
    pub outbound: bool,
    /// The server puts a caller's notes (the fixture API's contacts) into that caller's prompt.
    pub caller_context: bool,
    /// The server has the fixture API, so tenants can be provisioned and edited during a run.
    pub fixtures: bool,
    /// How soon after a tenant edits its prompt new AI sessions carry the edited prompt.
    #[serde(serialize_with = "as_millis")]
    pub prompt_freshness: Duration,
    /// How soon after the Twilio stream's `start` the AI session opens.
    #[serde(serialize_with = "as_millis")]
    pub session_open_within: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Declarations {
    /// What the bundled reference server declares: every capability, the default bounds.
    pub const REFERENCE: Declarations = Declarations {
        outbound: true,
        caller_context: true,
        fixtures: true,
        prompt_freshness: DEFAULT_PROMPT_FRESHNESS,
        session_open_within: DEFAULT_SESSION_OPEN_WITHIN,
    };

    /// What a target file without `declares:` means: no optional capability, the default bounds.
    pub fn undeclared(fixtures: bool) -> Declarations {
        Declarations {
            outbound: false,
            caller_context: false,
            fixtures,
            prompt_freshness: DEFAULT_PROMPT_FRESHNESS,
            session_open_within: DEFAULT_SESSION_OPEN_WITHIN,
        }
    }

    /// The prompt freshness in ms.
    pub fn prompt_freshness_ms(&self) -> u64 {
        u64::try_from(self.prompt_freshness.as_millis()).unwrap_or(u64::MAX)
    }

    /// The session-open bound in ms.
    pub fn session_open_within_ms(&self) -> u64 {
        u64::try_from(self.session_open_within.as_millis()).unwrap_or(u64::MAX)
    }
}
