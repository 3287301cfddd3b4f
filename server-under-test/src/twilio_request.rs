//! Authenticating the requests Twilio sends to this server: the form it posted, the URL it
//! signed and the `X-Twilio-Signature` check against the configured auth token.
//!
//! The webhooks, the status callbacks and the media stream upgrade all go through this module,
//! so every Twilio-facing route judges a signature the same way. The signature algorithm itself
//! is in [`crate::signature`].

use axum::http::{HeaderMap, Uri};

use crate::config::Config;
use crate::error::AppError;
use crate::signature;

/// Decodes an `application/x-www-form-urlencoded` body into name/value pairs.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The URL Twilio signed for a request to this server: the public URL plus path and query.
pub fn signed_url(base: &str, uri: &Uri) -> String {
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str());
    format!("{base}{path_and_query}")
}

/// Checks a request's `X-Twilio-Signature` against `url` and `params` (403 when missing or wrong).
///
/// Always passes when the server runs with `--insecure-skip-signature-validation`.
pub fn check_signature(
    config: &Config,
    headers: &HeaderMap,
    url: &str,
    params: &[(String, String)],
) -> Result<(), AppError> {
    if config.insecure_skip_signature_validation {
        return Ok(());
    }
    let Some(token) = config.twilio_auth_token.as_deref() else {
        return Err(AppError::Forbidden);
    };
    let Some(signature) = headers.get(signature::HEADER).and_then(|v| v.to_str().ok()) else {
        tracing::warn!(url, "request without X-Twilio-Signature rejected");
        return Err(AppError::Forbidden);
    };
    if signature::validate(token, url, params, signature) {
        Ok(())
    } else {
        tracing::warn!(url, "request with a wrong X-Twilio-Signature rejected");
        Err(AppError::Forbidden)
    }
}

/// The form parameters of a signed POST to the public URL, once its signature has been checked.
pub fn verified_form(
    config: &Config,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, AppError> {
    let params = parse_form(body);
    check_signature(
        config,
        headers,
        &signed_url(&config.public_url, uri),
        &params,
    )?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn config() -> Config {
        Config::in_process("https://callsim.test", "secret", "ws://127.0.0.1:9")
    }

    fn signed_headers(url: &str, params: &[(String, String)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let signature = signature::compute("secret", url, params);
        headers.insert(
            signature::HEADER,
            HeaderValue::from_str(&signature).unwrap(),
        );
        headers
    }

    #[test]
    fn the_signed_url_is_the_public_url_with_the_path_and_query_as_received() {
        let uri: Uri = "/twiml/incoming/acme?x=1&y=%20".parse().unwrap();
        assert_eq!(
            signed_url("https://callsim.test", &uri),
            "https://callsim.test/twiml/incoming/acme?x=1&y=%20"
        );
    }

    #[test]
    fn a_form_is_returned_only_with_a_valid_signature() {
        let uri: Uri = "/status/call".parse().unwrap();
        let body = b"CallSid=CA1&CallStatus=completed";
        let params = parse_form(body);
        let headers = signed_headers("https://callsim.test/status/call", &params);
        let form = verified_form(&config(), &uri, &headers, body).unwrap();
        assert_eq!(form, params);
        let tampered = b"CallSid=CA2&CallStatus=completed";
        assert!(matches!(
            verified_form(&config(), &uri, &headers, tampered),
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            verified_form(&config(), &uri, &HeaderMap::new(), body),
            Err(AppError::Forbidden)
        ));
    }

    #[test]
    fn insecure_mode_skips_the_check() {
        let mut config = config();
        config.insecure_skip_signature_validation = true;
        assert!(check_signature(&config, &HeaderMap::new(), "https://x.test/", &[]).is_ok());
    }
}
