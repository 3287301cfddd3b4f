//! Signed HTTP requests as Twilio sends them (form POST or GET with a query string).

use tokio::time::timeout;

use super::env::TwilioEnv;
use super::signature::sign;
use super::spec::HttpMethod;
use crate::capture::CaptureEvent;

/// Twilio's webhook User-Agent.
pub const USER_AGENT: &str = "TwilioProxy/1.1";

/// The region Twilio's webhooks say they come from (`X-Home-Region`); `us1` is the default
/// region of every account.
pub const HOME_REGION: &str = "us1";

/// The `Host` header Twilio sends for `url`: the public URL's host (with its port when the URL
/// names one), never the address callsim really dials, so a server behind a proxy that rebuilds
/// the signed URL from `Host` sees what it would see in production.
pub fn public_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

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

/// The headers of a Twilio webhook or callback, in the order Twilio sends them: `Host` is the
/// public URL's, whatever address the request is really sent to.
fn twilio_headers(
    env: &TwilioEnv,
    method: HttpMethod,
    signed_url: &str,
    body_params: &[(String, String)],
    signing: Signing,
    idempotency_token: &str,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, value: String| headers.push((name.to_owned(), value));
    if let Some(host) = public_host(signed_url) {
        add("Host", host);
    }
    if method == HttpMethod::Post {
        add("Content-Type", "application/x-www-form-urlencoded".into());
    }
    add("User-Agent", USER_AGENT.into());
    add("Accept", "*/*".into());
    add("I-Twilio-Idempotency-Token", idempotency_token.into());
    add("X-Home-Region", HOME_REGION.into());
    let token = match signing {
        Signing::Valid => Some(env.auth_token.clone()),
        Signing::Wrong => Some(format!("{}-wrong", env.auth_token)),
        Signing::Missing => None,
    };
    if let Some(token) = token {
        add("X-Twilio-Signature", sign(&token, signed_url, body_params));
    }
    headers
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
    let headers = twilio_headers(
        env,
        method,
        &signed_url,
        body_params,
        signing,
        idempotency_token,
    );
    let mut request = match method {
        HttpMethod::Get => env.http.get(&actual),
        HttpMethod::Post => {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(body_params)
                .finish();
            env.http.post(&actual).body(body)
        }
    };
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    env.capture.record(&CaptureEvent::HttpRequest {
        url: signed_url.clone(),
        sent_to: actual.clone(),
        method: method.as_str().to_owned(),
        params: body_params.to_vec(),
        headers,
    });
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
