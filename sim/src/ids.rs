//! Seeded identifier generation.
//!
//! Every id that reaches a snapshot or a transcript (Twilio SIDs, OpenAI event, session and item
//! ids, idempotency tokens) comes from an [`IdGen`], so a run with the same seed produces the same
//! bytes. The generator is SplitMix64, written out here rather than taken from a crate because its
//! output must never change with a dependency upgrade: snapshots depend on it.

use std::sync::{Arc, Mutex, PoisonError};

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A deterministic, cloneable id generator; clones share one stream of numbers.
#[derive(Debug, Clone)]
pub struct IdGen {
    state: Arc<Mutex<u64>>,
}

impl IdGen {
    /// Creates a generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Arc::new(Mutex::new(seed)),
        }
    }

    /// Derives an independent generator for one entity (a call, a session), so that the ids of
    /// one call do not depend on how many ids concurrent calls drew before it.
    pub fn fork(&self, label: &str) -> IdGen {
        let base = self.peek_state();
        let mut h = base ^ 0x9E37_79B9_7F4A_7C15;
        for b in label.bytes() {
            h = splitmix(h ^ u64::from(b));
        }
        IdGen::new(h)
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix(*state)
    }

    /// A Twilio SID: two-letter prefix (`AC`, `CA`, `MZ`…) and 32 lowercase hex digits.
    pub fn twilio_sid(&self, prefix: &str) -> String {
        format!("{prefix}{:016x}{:016x}", self.next_u64(), self.next_u64())
    }

    /// An OpenAI-style id: `prefix_` and 21 alphanumerics, e.g. `event_Ct1OXIluGYDuYDr0t7VDt`.
    pub fn openai_id(&self, prefix: &str) -> String {
        let mut out = String::with_capacity(prefix.len() + 22);
        out.push_str(prefix);
        out.push('_');
        out.push_str(&self.alnum(21));
        out
    }

    /// `len` random alphanumeric characters.
    pub fn alnum(&self, len: usize) -> String {
        (0..len)
            .map(|_| {
                let idx = usize::try_from(self.next_u64() % 62).unwrap_or(0);
                char::from(ALNUM[idx])
            })
            .collect()
    }

    /// A version-4-shaped UUID string (used for `I-Twilio-Idempotency-Token`).
    pub fn uuid(&self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    fn peek_state(&self) -> u64 {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids() {
        let a = IdGen::new(7);
        let b = IdGen::new(7);
        assert_eq!(a.twilio_sid("CA"), b.twilio_sid("CA"));
        assert_eq!(a.openai_id("sess"), b.openai_id("sess"));
        assert_ne!(
            IdGen::new(8).twilio_sid("CA"),
            IdGen::new(7).twilio_sid("CA")
        );
    }

    #[test]
    fn shapes_match_the_wire() {
        let g = IdGen::new(1);
        let sid = g.twilio_sid("MZ");
        assert_eq!(sid.len(), 34);
        assert!(
            sid[2..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let id = g.openai_id("event");
        assert_eq!(id.len(), "event_".len() + 21);
        assert!(id[6..].chars().all(|c| c.is_ascii_alphanumeric()));
        let uuid = g.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }

    #[test]
    fn forks_are_independent_of_later_draws() {
        let g = IdGen::new(3);
        let f1 = g.fork("call-1").twilio_sid("CA");
        let h = IdGen::new(3);
        let f2 = h.fork("call-1").twilio_sid("CA");
        assert_eq!(f1, f2);
        assert_ne!(g.fork("call-2").twilio_sid("CA"), f1);
    }
}
