//! The HTTP client of the fakes and the runner, over either transport.
//!
//! Over TCP it is reqwest. Over the memory network it is hyper's HTTP/1.1 client on one pipe per
//! request, so a request is still encoded and parsed by hyper on both ends. Both read the whole
//! response, up to [`MAX_BODY`], and both answer [`HttpResponse`]; the builder mirrors the part
//! of reqwest's API the call sites use.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{MemoryNet, Network};

/// The largest response body read: a call server's answers are TwiML and small JSON documents,
/// so anything bigger is a misbehaving target, not something to buffer.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why a request got no usable response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built (a bad URL or header).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// No connection, or it broke before the response was complete.
    #[error("{0}")]
    Connection(String),
    /// The request's timeout expired.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The response body is larger than [`MAX_BODY`].
    #[error("response body larger than {MAX_BODY} bytes")]
    TooLarge,
    /// The body is not the JSON expected.
    #[error("response is not the JSON expected: {0}")]
    Json(String),
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl HttpResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as text (invalid UTF-8 replaced, as a browser would show it).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Json(e.to_string()))
    }
}

/// An HTTP client over one network.
#[derive(Debug, Clone)]
pub struct HttpClient {
    carrier: Carrier,
    timeout: Option<Duration>,
}

/// What carries the requests.
#[derive(Debug, Clone)]
enum Carrier {
    /// reqwest over TCP (no redirects: Twilio does not follow them on webhooks).
    Tcp(reqwest::Client),
    /// hyper over memory pipes.
    Memory(MemoryNet),
}

impl HttpClient {
    /// A client for `network`, without a timeout.
    pub fn new(network: &Network) -> HttpClient {
        let carrier = match network {
            Network::Tcp => Carrier::Tcp(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_default(),
            ),
            Network::Memory(net) => Carrier::Memory(net.clone()),
        };
        HttpClient {
            carrier,
            timeout: None,
        }
    }

    /// This client with a timeout on every request (a request may set its own).
    #[must_use]
    pub fn with_timeout(mut self, limit: Duration) -> HttpClient {
        self.timeout = Some(limit);
        self
    }

    /// A `GET` request.
    pub fn get(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A `POST` request.
    pub fn post(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A `PUT` request.
    pub fn put(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A request with any method.
    pub fn request(&self, method: Method, url: impl Into<String>) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: Vec::new(),
            timeout: self.timeout,
            invalid: None,
        }
    }
}

/// A request being built.
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    client: HttpClient,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Vec<u8>,
    timeout: Option<Duration>,
    invalid: Option<String>,
}

impl RequestBuilder {
    /// Adds a header (repeated names are kept in order).
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => self.invalid = Some(format!("header `{name}` is not valid HTTP")),
        }
        self
    }

    /// `Authorization: Bearer TOKEN`.
    pub fn bearer_auth(self, token: &str) -> Self {
        self.header(AUTHORIZATION, format!("Bearer {token}"))
    }

    /// A JSON body.
    pub fn json<T: Serialize>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.body = body;
                self.header(CONTENT_TYPE, "application/json")
            }
            Err(e) => {
                self.invalid = Some(format!("JSON body: {e}"));
                self
            }
        }
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Fails the request when no complete response arrived within `limit`.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Sends the request and reads the whole response.
    pub async fn send(self) -> Result<HttpResponse, HttpError> {
        if let Some(why) = self.invalid {
            return Err(HttpError::Invalid(why));
        }
        let limit = self.timeout;
        let exchange = async move {
            match &self.client.carrier {
                Carrier::Tcp(client) => {
                    send_tcp(client, self.method, &self.url, self.headers, self.body).await
                }
                Carrier::Memory(net) => {
                    send_memory(net, self.method, &self.url, self.headers, self.body).await
                }
            }
        };
        match limit {
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .unwrap_or(Err(HttpError::Timeout(limit))),
            None => exchange.await,
        }
    }
}

/// The error and its sources in one line (reqwest's own message hides the cause).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn send_tcp(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: Vec<u8>,
) -> Result<HttpResponse, HttpError> {
    let response = client
        .request(method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError::Connection(chain(&e)))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpError::Connection(chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResponse {
        status,
        headers,
        body: Bytes::from(body),
    })
}

async fn send_memory(
    net: &MemoryNet,
    method: Method,
    url: &str,
    mut headers: HeaderMap,
    body: Vec<u8>,
) -> Result<HttpResponse, HttpError> {
    let parsed = url::Url::parse(url).map_err(|e| HttpError::Invalid(format!("{url}: {e}")))?;
    if parsed.scheme() != "http" {
        return Err(HttpError::Invalid(format!(
            "{url}: the memory network carries plain http:// only"
        )));
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    let authority = match parsed.port() {
        Some(port) => format!("{}:{port}", parsed.host_str().unwrap_or_default()),
        None => parsed.host_str().unwrap_or_default().to_string(),
    };
    let target = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let pipe = net.connect(port).map_err(|e| {
        HttpError::Connection(format!("error sending request for url ({url}): {e}"))
    })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(pipe))
        .await
        .map_err(|e| HttpError::Connection(chain(&e)))?;
    // The connection task ends when the response is read and the sender dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    if !headers.contains_key(HOST) {
        let host = HeaderValue::from_str(&authority)
            .map_err(|_| HttpError::Invalid(format!("host `{authority}`")))?;
        headers.insert(HOST, host);
    }
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(target)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| HttpError::Invalid(e.to_string()))?;
    *request.headers_mut() = headers;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| HttpError::Connection(chain(&e)))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                HttpError::TooLarge
            } else {
                HttpError::Connection(e.to_string())
            }
        })?
        .to_bytes();
    Ok(HttpResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::Router;
    use axum::routing::post;

    use super::*;
    use crate::net::Transport;

    async fn echo_app(network: &Network) -> u16 {
        let listener = network
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let port = listener.port();
        let app = Router::new()
            .route(
                "/echo",
                post(|headers: HeaderMap, body: String| async move {
                    let host = headers
                        .get(HOST)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let auth = headers
                        .get(AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    format!("{host}|{auth}|{body}")
                }),
            )
            .route("/big", post(|| async { vec![b'x'; MAX_BODY + 1] }));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        port
    }

    #[tokio::test]
    async fn requests_cross_both_transports_the_same_way() {
        for transport in [Transport::Memory, Transport::Tcp] {
            let network = Network::new(transport);
            let port = echo_app(&network).await;
            let client = HttpClient::new(&network);
            let response = client
                .post(format!("http://127.0.0.1:{port}/echo?x=1"))
                .bearer_auth("T")
                .json(&serde_json::json!({"a": 1}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{transport:?}");
            assert_eq!(
                response.text(),
                format!("127.0.0.1:{port}|Bearer T|{{\"a\":1}}"),
                "{transport:?}"
            );
            let missing = client
                .get(format!("http://127.0.0.1:{port}/nope"))
                .send()
                .await
                .unwrap();
            assert_eq!(missing.status(), StatusCode::NOT_FOUND);
            let big = client
                .post(format!("http://127.0.0.1:{port}/big"))
                .send()
                .await;
            assert_eq!(big.unwrap_err(), HttpError::TooLarge, "{transport:?}");
        }
    }

    #[tokio::test]
    async fn a_closed_port_and_a_bad_header_are_errors_not_panics() {
        let network = Network::new(Transport::Memory);
        let client = HttpClient::new(&network);
        let refused = client.get("http://127.0.0.1:9/").send().await.unwrap_err();
        assert!(refused.to_string().contains("nothing listens"), "{refused}");
        let bad = client
            .get("http://127.0.0.1:9/")
            .header("X-Bad", "line\nbreak")
            .send()
            .await
            .unwrap_err();
        assert!(matches!(bad, HttpError::Invalid(_)), "{bad}");
    }
}
