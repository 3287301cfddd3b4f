//! Signed HTTP requests as Twilio sends them (form POST or GET with a query string).

use tokio::time::timeout;

use super::env::TwilioEnv;
use super::signature::sign;
use super::spec::HttpMethod;

/// Twilio's webhook User-Agent.
pub const USER_AGENT: &str = "TwilioProxy/1.1";

/// How the request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// A correct `X-Twilio-Signature`.
    Valid,
    /// No signature header.
    Missing,
    /// A signature computed with the wrong token.
    Wrong,
}

/// A response that arrived (any status).
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body as text.
    pub body: String,
}

/// Why no response arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// The total timeout expired.
    Timeout,
    /// The connection could not be made or broke.
    Connection(String),
}

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out"),
            Self::Connection(e) => write!(f, "connection failed: {e}"),
        }
    }
}

/// Appends form parameters to a URL as a query string.
pub fn with_query(url: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return url.to_owned();
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

/// Sends a request the way Twilio does: signed over the public URL, sent to the mapped URL,
/// bounded by `env.webhook_timeout` in total.
pub async fn send_signed(
    env: &TwilioEnv,
    public_url: &str,
    method: HttpMethod,
    params: &[(String, String)],
    signing: Signing,
    idempotency_token: &str,
) -> Result<HttpReply, HttpFailure> {
    // With GET the parameters live in the URL, so the signature covers the URL alone.
    let (signed_url, body_params): (String, &[(String, String)]) = match method {
        HttpMethod::Get => (with_query(public_url, params), &[]),
        HttpMethod::Post => (public_url.to_owned(), params),
    };
    let actual = env.url_map.resolve(&signed_url);
    let mut request = match method {
        HttpMethod::Get => env.http.get(&actual),
        HttpMethod::Post => {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(body_params)
                .finish();
            env.http
                .post(&actual)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        }
    };
    request = request
        .header("user-agent", USER_AGENT)
        .header("accept", "*/*")
        .header("I-Twilio-Idempotency-Token", idempotency_token);
    match signing {
        Signing::Valid => {
            request = request.header(
                "X-Twilio-Signature",
                sign(&env.auth_token, &signed_url, body_params),
            );
        }
        Signing::Wrong => {
            let wrong_token = format!("{}-wrong", env.auth_token);
            request = request.header(
                "X-Twilio-Signature",
                sign(&wrong_token, &signed_url, body_params),
            );
        }
        Signing::Missing => {}
    }
    let exchange = async {
        let response = request
            .send()
            .await
            .map_err(|e| HttpFailure::Connection(e.to_string()))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text();
        Ok(HttpReply {
            status,
            content_type,
            body,
        })
    };
    match timeout(env.webhook_timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(HttpFailure::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_form_encoded_and_appended() {
        let p = vec![
            ("From".to_owned(), "+1 555".to_owned()),
            ("A".to_owned(), "x&y".to_owned()),
        ];
        assert_eq!(
            with_query("https://h/v", &p),
            "https://h/v?From=%2B1+555&A=x%26y"
        );
        assert_eq!(
            with_query("https://h/v?t=1", &p[..1]),
            "https://h/v?t=1&From=%2B1+555"
        );
        assert_eq!(with_query("https://h/v", &[]), "https://h/v");
    }
}
