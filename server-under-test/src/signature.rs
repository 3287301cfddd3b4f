//! `X-Twilio-Signature` computation and validation.
//!
//! The signed data is the full URL followed by every parameter name and value, sorted by name
//! (then value), concatenated without separators. The HMAC-SHA1 of that data keyed with the auth
//! token is base64-encoded. Like Twilio's official validators, a request is accepted when the
//! signature matches the URL either with or without an explicit default port, because Twilio is
//! inconsistent about including `:443`/`:80`.
//!
//! This module is only the algorithm; [`crate::twilio_request`] applies it to the requests the
//! server receives.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// Name of the header carrying the signature.
pub const HEADER: &str = "x-twilio-signature";

fn mac_over(token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here; the fallback to an
    // empty key only exists to avoid a panic path.
    let mut mac = HmacSha1::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| <HmacSha1 as Mac>::new(&Default::default()));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// Computes the base64 signature Twilio would send for `url` and `params`.
pub fn compute(token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac_over(token, url, params).finalize().into_bytes())
}

/// Returns true when `signature` is valid for `url` (with or without its default port).
///
/// The comparison is constant-time (`Mac::verify_slice`).
pub fn validate(token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    url_variants(url).iter().any(|candidate| {
        mac_over(token, candidate, params)
            .verify_slice(&expected)
            .is_ok()
    })
}

/// The URL as given, without any port, and with the scheme's default port.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // Only strip a port that follows the host (an IPv6 host has colons inside brackets).
    let host = match authority.rfind(':') {
        Some(idx) if !authority[idx..].contains(']') => &authority[..idx],
        _ => authority,
    };
    let without_port = format!("{scheme}://{host}{tail}");
    let default_port = match scheme {
        "https" | "wss" => Some(443),
        "http" | "ws" => Some(80),
        _ => None,
    };
    if !variants.contains(&without_port) {
        variants.push(without_port);
    }
    if let Some(port) = default_port {
        let with_port = format!("{scheme}://{host}:{port}{tail}");
        if !variants.contains(&with_port) {
            variants.push(with_port);
        }
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn known_vector_without_port() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute("12345", url, &vector_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(validate(
            "12345",
            url,
            &vector_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn known_vector_with_port() {
        let url = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute("12345", url, &vector_params()),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        // Either form of the signature validates against either form of the URL.
        assert!(validate(
            "12345",
            url,
            &vector_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(validate(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &vector_params(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
    }

    #[test]
    fn param_order_does_not_matter() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let mut params = vector_params();
        params.reverse();
        assert_eq!(
            compute("12345", url, &params),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }

    #[test]
    fn wrong_token_params_or_garbage_are_rejected() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(!validate("54321", url, &vector_params(), sig));
        let mut params = vector_params();
        params[2].1 = "9999".to_owned();
        assert!(!validate("12345", url, &params, sig));
        assert!(!validate("12345", url, &vector_params(), "not base64!"));
        assert!(!validate("12345", url, &vector_params(), ""));
    }

    #[test]
    fn websocket_urls_get_port_variants() {
        let variants = url_variants("wss://callsim.test/ws/media");
        assert_eq!(
            variants,
            vec![
                "wss://callsim.test/ws/media",
                "wss://callsim.test:443/ws/media"
            ]
        );
        let variants = url_variants("http://127.0.0.1:8080/x");
        assert!(variants.contains(&"http://127.0.0.1/x".to_owned()));
        assert!(variants.contains(&"http://127.0.0.1:80/x".to_owned()));
    }
}
