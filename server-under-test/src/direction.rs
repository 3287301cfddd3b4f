//! `Direction`: inbound or outbound, the fact every prompt decision depends on.
//!
//! The webhook route that answers a call fixes its direction, the TwiML carries it to the media
//! stream as a `<Parameter>`, and the media session locks it. The type has its own module
//! because the webhooks, the prompt builder, the cache, the registry and the session all use it,
//! and none of them owns it.

use serde::{Deserialize, Serialize};

/// Direction of a call, fixed by the webhook route that answered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The caller dialled the business (`/twiml/incoming/{tenant}`).
    Inbound,
    /// The business called out (`/twiml/outbound/{tenant}`).
    Outbound,
}

impl Direction {
    /// The lowercase wire name (`inbound` / `outbound`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    /// Parses the lowercase wire name.
    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            _ => None,
        }
    }

    /// The opposite direction (the legacy fallback reads the other direction's prompt).
    pub(crate) fn other(self) -> Direction {
        match self {
            Direction::Inbound => Direction::Outbound,
            Direction::Outbound => Direction::Inbound,
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_nothing_else_parses() {
        for direction in [Direction::Inbound, Direction::Outbound] {
            assert_eq!(Direction::parse(direction.as_str()), Some(direction));
            assert_eq!(direction.other().other(), direction);
        }
        assert_eq!(Direction::parse("Inbound"), None);
        assert_eq!(Direction::parse("sideways"), None);
    }
}
