//! `Regressions`: which historical bugs a server runs with, its profile's plus the injected ones.
//!
//! The `legacy` profile is the seed as the RCA found it: the three root causes and the cache that
//! no edit invalidated. The `fixed` profile has none of them. `--inject-bug` adds bugs on top of
//! either profile. Every module that can misbehave asks [`Regressions::has`] about its own bug
//! instead of matching on the profile, so a bug behaves the same under both profiles.

use std::collections::BTreeSet;

use crate::bugs::Bug;
use crate::config::Profile;

/// The bugs the legacy profile has always had.
const LEGACY: [Bug; 4] = [
    Bug::CrossDirectionFallback,
    Bug::PrebuiltPromptUnvalidated,
    Bug::MismatchOnlyLogged,
    Bug::StaleCacheAfterEdit,
];

/// A set of active bugs; cheap to copy into every decision that depends on one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regressions {
    bits: u32,
}

impl Regressions {
    /// No bug at all: the fixed profile without injections.
    pub const NONE: Regressions = Regressions { bits: 0 };

    /// The bugs of `profile` plus the `injected` ones.
    pub fn of(profile: Profile, injected: &BTreeSet<Bug>) -> Regressions {
        injected
            .iter()
            .fold(Regressions::from(profile), |set, &bug| set.with(bug))
    }

    /// This set with `bug` added.
    #[must_use]
    pub fn with(self, bug: Bug) -> Regressions {
        Regressions {
            bits: self.bits | Self::bit(bug),
        }
    }

    /// Whether `bug` is active.
    pub fn has(self, bug: Bug) -> bool {
        self.bits & Self::bit(bug) != 0
    }

    /// The active bugs, in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = Bug> {
        Bug::ALL.iter().copied().filter(move |&bug| self.has(bug))
    }

    fn bit(bug: Bug) -> u32 {
        1 << (bug as u32)
    }
}

impl From<Profile> for Regressions {
    fn from(profile: Profile) -> Regressions {
        match profile {
            Profile::Legacy => LEGACY
                .into_iter()
                .fold(Regressions::NONE, Regressions::with),
            Profile::Fixed => Regressions::NONE,
        }
    }
}

impl std::fmt::Display for Regressions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(Bug::name).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_has_no_bug_and_legacy_has_the_root_causes_and_the_stale_cache() {
        let fixed = Regressions::from(Profile::Fixed);
        assert_eq!(fixed.iter().count(), 0);
        let legacy = Regressions::from(Profile::Legacy);
        assert_eq!(
            legacy.iter().collect::<Vec<_>>(),
            vec![
                Bug::StaleCacheAfterEdit,
                Bug::CrossDirectionFallback,
                Bug::PrebuiltPromptUnvalidated,
                Bug::MismatchOnlyLogged,
            ]
        );
        assert_eq!(
            legacy.to_string(),
            "stale-cache-after-edit,cross-direction-fallback,prebuilt-prompt-unvalidated,mismatch-only-logged"
        );
    }

    #[test]
    fn injected_bugs_add_to_the_profile_one_at_a_time() {
        for &bug in Bug::ALL {
            let set = Regressions::of(Profile::Fixed, &BTreeSet::from([bug]));
            assert_eq!(set.iter().collect::<Vec<_>>(), vec![bug]);
        }
        let legacy_plus = Regressions::of(
            Profile::Legacy,
            &BTreeSet::from([Bug::DuplicateSessionUpdate, Bug::MismatchOnlyLogged]),
        );
        assert!(legacy_plus.has(Bug::DuplicateSessionUpdate));
        assert!(legacy_plus.has(Bug::CrossDirectionFallback));
        assert_eq!(legacy_plus.iter().count(), 5);
    }

    #[test]
    fn every_bug_has_its_own_bit() {
        assert!(Bug::ALL.len() <= 32);
        let all = Bug::ALL
            .iter()
            .copied()
            .fold(Regressions::NONE, Regressions::with);
        assert_eq!(all.iter().count(), Bug::ALL.len());
    }
}
