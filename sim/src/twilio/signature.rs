//! `X-Twilio-Signature`: HMAC-SHA1 over the URL plus the sorted POST parameters.
//!
//! The fake Twilio signs the URL exactly as configured (no port added), which validates against
//! every official validator. [`validate`] mirrors twilio-python ≥ 7: it accepts the URL as given,
//! with the default port added and with any port removed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Computes the signature Twilio would send for a request to `url` with form `params`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Byte-wise sort by name, then by value for repeated names, as the official validators do.
    sorted.sort();
    let mut data = String::with_capacity(url.len() + params.len() * 24);
    data.push_str(url);
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    hmac_sha1_base64(auth_token, &data)
}

/// Whether `signature` is valid for the request, accepting the URL with or without its port.
pub fn validate(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let candidates = [url.to_owned(), with_default_port(url), without_port(url)];
    candidates.iter().any(|candidate| {
        constant_time_eq(
            sign(auth_token, candidate, params).as_bytes(),
            signature.as_bytes(),
        )
    })
}

/// Signs a JSON body the way Twilio does: appends `bodySHA256=<hex>` to the URL and signs that
/// URL with no params. Returns `(url_with_hash, signature)`.
pub fn sign_json_body(auth_token: &str, url: &str, body: &[u8]) -> (String, String) {
    let hash = Sha256::digest(body);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    let full = format!("{url}{separator}bodySHA256={hex}");
    let signature = sign(auth_token, &full, &[]);
    (full, signature)
}

fn hmac_sha1_base64(key: &str, data: &str) -> String {
    // HMAC accepts keys of any length, so this never fails; the fallback keeps the API total.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits `url` into (prefix up to and including "://", authority, rest).
fn split_authority(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((&url[..scheme_end], &rest[..auth_end], &rest[auth_end..]))
}

/// Index in `authority` where an explicit `:port` starts, if there is one.
fn port_start(authority: &str) -> Option<usize> {
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host = &authority[host_start..];
    let search_from = host.rfind(']').unwrap_or(0);
    let colon = host[search_from..].rfind(':')? + search_from;
    let digits = &host[colon + 1..];
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(host_start + colon)
}

fn with_default_port(url: &str) -> String {
    let Some((prefix, authority, rest)) = split_authority(url) else {
        return url.to_owned();
    };
    if port_start(authority).is_some() {
        return url.to_owned();
    }
    let port = match prefix.to_ascii_lowercase().as_str() {
        "https://" | "wss://" => "443",
        "http://" | "ws://" => "80",
        _ => return url.to_owned(),
    };
    format!("{prefix}{authority}:{port}{rest}")
}

fn without_port(url: &str) -> String {
    let Some((prefix, authority, rest)) = split_authority(url) else {
        return url.to_owned();
    };
    match port_start(authority) {
        Some(i) => format!("{prefix}{}{rest}", &authority[..i]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    #[test]
    fn reference_vector_without_port() {
        assert_eq!(sign(TOKEN, URL, &params()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    }

    #[test]
    fn reference_vector_with_port() {
        let url = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(sign(TOKEN, url, &params()), "kvajT1Ptam85bY51eRf/AJRuM3w=");
    }

    #[test]
    fn param_order_does_not_matter() {
        let mut reversed = params();
        reversed.reverse();
        assert_eq!(sign(TOKEN, URL, &reversed), sign(TOKEN, URL, &params()));
    }

    #[test]
    fn validate_accepts_either_port_form() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert!(validate(
            TOKEN,
            URL,
            &params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        // Signed with the port, validated without it, and the other way round.
        assert!(validate(
            TOKEN,
            URL,
            &params(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        assert!(validate(
            TOKEN,
            with_port,
            &params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(!validate(
            TOKEN,
            URL,
            &params(),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
        ));
        assert!(!validate(
            "other",
            URL,
            &params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let mut tampered = params();
        tampered[2].1 = "9999".into();
        assert!(!validate(
            TOKEN,
            URL,
            &tampered,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn json_body_vector() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let (url, sig) = sign_json_body(TOKEN, URL, body);
        assert_eq!(
            url,
            "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=\
             0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        assert_eq!(sig, "a9nBmqA0ju/hNViExpshrM61xv4=");
    }

    #[test]
    fn websocket_upgrade_is_signed_over_the_wss_url() {
        let wss = "wss://callsim.test/ws/media";
        let sig = sign(TOKEN, wss, &[]);
        assert!(validate(TOKEN, wss, &[], &sig));
        assert!(validate(
            TOKEN,
            "wss://callsim.test:443/ws/media",
            &[],
            &sig
        ));
        // Validators that rebuild the URL as https:// fail (twilio-labs/twilio-aspnet#162).
        assert!(!validate(TOKEN, "https://callsim.test/ws/media", &[], &sig));
    }

    #[test]
    fn port_helpers_handle_userinfo_and_ipv6() {
        assert_eq!(with_default_port("http://u:p@h/x"), "http://u:p@h:80/x");
        assert_eq!(without_port("https://[::1]:8443/x?q"), "https://[::1]/x?q");
        assert_eq!(with_default_port("https://[::1]/x"), "https://[::1]:443/x");
        assert_eq!(without_port("not a url"), "not a url");
    }
}
