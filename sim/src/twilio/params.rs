//! The standard call parameters Twilio sends on every voice webhook and status callback.

use super::spec::Direction;

/// Identity of one call, shared by every request about it.
#[derive(Debug, Clone)]
pub struct CallIdentity {
    /// `AC…`.
    pub account_sid: String,
    /// `CA…`.
    pub call_sid: String,
    /// Inbound or outbound-api.
    pub direction: Direction,
    /// Caller number.
    pub from: String,
    /// Callee number.
    pub to: String,
    /// Opaque `CallToken` (inbound only), drawn from the call's id fork.
    pub call_token: String,
}

impl CallIdentity {
    /// The standard parameters with this `CallStatus`.
    ///
    /// Geo lookups are simulated as Twilio returns them for numbers it cannot place: empty
    /// City/State/Zip, and Country "US" for +1 numbers (empty otherwise).
    pub fn params(&self, call_status: &str) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = Vec::with_capacity(32);
        let mut put = |k: &str, v: &str| p.push((k.to_owned(), v.to_owned()));
        put("AccountSid", &self.account_sid);
        put("ApiVersion", "2010-04-01");
        put("CallSid", &self.call_sid);
        put("CallStatus", call_status);
        put("Direction", self.direction.as_str());
        put("From", &self.from);
        put("To", &self.to);
        put("Caller", &self.from);
        put("Called", &self.to);
        for (prefix, number) in [
            ("From", &self.from),
            ("Caller", &self.from),
            ("To", &self.to),
            ("Called", &self.to),
        ] {
            put(&format!("{prefix}City"), "");
            put(&format!("{prefix}State"), "");
            put(&format!("{prefix}Zip"), "");
            put(
                &format!("{prefix}Country"),
                if number.starts_with("+1") { "US" } else { "" },
            );
        }
        p
    }

    /// The full parameter set of a voice webhook (adds `CallToken` and `StirVerstat` inbound).
    pub fn voice_params(&self, call_status: &str) -> Vec<(String, String)> {
        let mut p = self.params(call_status);
        if self.direction == Direction::Inbound {
            p.push(("CallToken".into(), self.call_token.clone()));
            p.push(("StirVerstat".into(), "TN-Validation-Passed-A".into()));
        }
        p
    }
}

/// Adds or replaces a parameter.
pub fn set(params: &mut Vec<(String, String)>, key: &str, value: &str) {
    params.retain(|(k, _)| k != key);
    params.push((key.to_owned(), value.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_voice_params_match_the_captured_key_set() {
        let id = CallIdentity {
            account_sid: "AC1".into(),
            call_sid: "CA1".into(),
            direction: Direction::Inbound,
            from: "+14155551234".into(),
            to: "+15005550006".into(),
            call_token: "tok".into(),
        };
        let mut keys: Vec<String> = id
            .voice_params("ringing")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        let expected = "AccountSid ApiVersion CallSid CallStatus CallToken Called CalledCity CalledCountry \
                        CalledState CalledZip Caller CallerCity CallerCountry CallerState CallerZip Direction \
                        From FromCity FromCountry FromState FromZip StirVerstat To ToCity ToCountry ToState ToZip";
        assert_eq!(keys.join(" "), expected);
        let outbound = CallIdentity {
            direction: Direction::OutboundApi,
            ..id
        };
        let p = outbound.voice_params("in-progress");
        assert!(p.iter().all(|(k, _)| k != "CallToken"));
        assert!(p.contains(&("Direction".into(), "outbound-api".into())));
    }
}
