//! `Slug`: the one rule for tenant slugs that arrive from outside (no seed counterpart; the seed
//! trusted its URL segments).
//!
//! A slug is 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `-` and `_`. The rule keeps NUL bytes,
//! path separators (`../`), bidirectional overrides (U+202E) and unbounded lengths out of the
//! database, the logs and the URLs the server builds from a slug (TwiML parameters, the outbound
//! call's webhook URL). Every place a slug enters the server goes through [`Slug::parse`]:
//! [`TenantPath`] for the `{tenant}` path segment, `serde` for JSON bodies, and the media
//! stream's `start` parameters.

use std::fmt;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The longest slug accepted, in characters (all of them ASCII, so also in bytes).
pub const MAX_LEN: usize = 64;

/// The rule in words, quoted by every rejection.
pub const RULE: &str = "a tenant slug is 1 to 64 characters from A-Z, a-z, 0-9, '-' and '_'";

/// Name of the path parameter that carries the tenant slug in the router (`{tenant}`).
pub const PATH_PARAM: &str = "tenant";

/// How much of a rejected slug an error message quotes; an attacker's 1 MB path segment should
/// not be echoed back or logged whole.
const QUOTED_CHARS: usize = MAX_LEN + 8;

/// A validated tenant slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

/// A slug that breaks [`RULE`]; renders as a plain-text 400 (what Twilio-facing routes answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tenant slug {quoted}: {RULE}")]
pub struct InvalidSlug {
    /// The offending value, debug-escaped (so NUL and U+202E show as escapes) and shortened.
    quoted: String,
}

impl InvalidSlug {
    fn new(raw: &str) -> InvalidSlug {
        let shown: String = raw.chars().take(QUOTED_CHARS).collect();
        let ellipsis = if shown.len() < raw.len() { "..." } else { "" };
        InvalidSlug {
            quoted: format!("{shown:?}{ellipsis}"),
        }
    }
}

fn is_slug_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'
}

impl Slug {
    /// Validates `raw` against [`RULE`].
    pub fn parse(raw: &str) -> Result<Slug, InvalidSlug> {
        if raw.is_empty() || raw.len() > MAX_LEN || !raw.chars().all(is_slug_char) {
            return Err(InvalidSlug::new(raw));
        }
        Ok(Slug(raw.to_owned()))
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = InvalidSlug;

    fn try_from(raw: String) -> Result<Slug, InvalidSlug> {
        Slug::parse(&raw)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> String {
        slug.0
    }
}

impl IntoResponse for InvalidSlug {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, self.to_string()).into_response()
    }
}

/// Extracts the `{tenant}` path segment as a [`Slug`].
///
/// A route without the segment (such as `/twiml/incoming/`, registered so an empty slug gets the
/// slug rule rather than a bare 404) yields the empty string, which the rule refuses. Handlers
/// take `Result<TenantPath, InvalidSlug>` so they can authenticate the request before judging its
/// slug, and so each route family chooses how the refusal is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPath(pub Slug);

impl<S> FromRequestParts<S> for TenantPath
where
    S: Send + Sync,
{
    type Rejection = InvalidSlug;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => {
                let raw = params
                    .iter()
                    .find(|(name, _)| *name == PATH_PARAM)
                    .map_or("", |(_, value)| value);
                Slug::parse(raw).map(TenantPath)
            }
            // Percent-decoding produced bytes that are not UTF-8: certainly not a slug.
            Err(_) => Err(InvalidSlug {
                quoted: "(not UTF-8)".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_digits_dash_and_underscore() {
        for good in ["acme", "Acme-Dental_2", "a", "_", "-", &"x".repeat(MAX_LEN)] {
            assert_eq!(
                Slug::parse(good).map(|s| s.to_string()),
                Ok(good.to_owned())
            );
        }
    }

    #[test]
    fn refuses_everything_else() {
        let long = "x".repeat(MAX_LEN + 1);
        for bad in [
            "",
            "a\0b",
            "../..",
            "a/b",
            "acme\u{202e}",
            "a b",
            "café",
            "a.b",
            &long,
        ] {
            let err = Slug::parse(bad).expect_err(bad);
            assert!(err.to_string().contains(RULE), "{err}");
        }
    }

    #[test]
    fn rejection_escapes_and_shortens_the_value() {
        let err = Slug::parse("a\0\u{202e}").expect_err("control characters");
        assert!(err.to_string().contains(r#""a\0\u{202e}""#), "{err}");
        let err = Slug::parse(&"y".repeat(10_000)).expect_err("too long");
        assert!(err.to_string().len() < 300, "{err}");
        assert!(err.to_string().contains("..."), "{err}");
    }

    #[test]
    fn serde_validates_through_the_same_rule() {
        let ok: Slug = serde_json::from_str(r#""acme""#).expect("valid slug");
        assert_eq!(ok.as_str(), "acme");
        assert_eq!(
            serde_json::to_string(&ok).ok(),
            Some(r#""acme""#.to_owned())
        );
        let err = serde_json::from_str::<Slug>(r#""../x""#).expect_err("invalid slug");
        assert!(err.to_string().contains(RULE), "{err}");
    }
}
