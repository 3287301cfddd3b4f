//! HTTP requests to a [`TestApp`]: signed Twilio webhooks, the fixture API and outbound calls.
//!
//! Each request returns an [`Answer`] (status, content type, body) instead of asserting success,
//! so a test states what it expects; only [`TestApp::put_tenant`], a test's setup, asserts.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use server_under_test::signature;

use super::app::{FIXTURE_TOKEN, PUBLIC_URL, TOKEN, TestApp};

/// How long [`TestApp::wait_for_state`] polls before it gives up.
const STATE_WAIT: Duration = Duration::from_secs(30);

/// A response's status, content type and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) text: String,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap();
        Answer {
            status,
            content_type,
            text,
        }
    }

    /// The body as JSON; panics (failing the test) when it is not JSON.
    pub(crate) fn json(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "expected a JSON body, got {:?}: {}",
            self.content_type,
            self.text
        );
        serde_json::from_str(&self.text).unwrap()
    }
}

/// The signature Twilio would send for a POST to `path` with `params`.
pub(crate) fn sign(path: &str, params: &[(String, String)]) -> String {
    signature::compute(TOKEN, &format!("{PUBLIC_URL}{path}"), params)
}

/// Owned form parameters.
pub(crate) fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl TestApp {
    /// A form POST to `path` with `signature` as its `X-Twilio-Signature`, if any.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Answer {
        let mut request = self.client.post(self.url(path)).form(params);
        if let Some(signature) = signature {
            request = request.header("X-Twilio-Signature", signature);
        }
        Answer::read(request.send().await.unwrap()).await
    }

    /// A POST to `path` with `params`, signed the way Twilio signs it (over the path as written).
    pub(crate) async fn post_signed(&self, path: &str, params: &[(String, String)]) -> Answer {
        self.post_form(path, params, Some(&sign(path, params)))
            .await
    }

    /// A POST to `path` with `params` and no signature.
    pub(crate) async fn post_unsigned(&self, path: &str, params: &[(String, String)]) -> Answer {
        self.post_form(path, params, None).await
    }

    /// A GET of `path` with `bearer` as its bearer token, if any.
    pub(crate) async fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Answer::read(request.send().await.unwrap()).await
    }

    /// A PUT of `body` as it is (no content type) to `path` with `bearer` as its bearer token.
    pub(crate) async fn put_raw(&self, path: &str, bearer: &str, body: &'static str) -> Answer {
        let request = self
            .client
            .put(self.url(path))
            .bearer_auth(bearer)
            .body(body);
        Answer::read(request.send().await.unwrap()).await
    }

    /// `PUT /fixtures/tenants/{raw_slug}` with `body`; `raw_slug` goes into the URL as written, so
    /// percent-escapes reach the server unchanged.
    pub(crate) async fn fixture_put(&self, raw_slug: &str, body: &Value) -> Answer {
        let request = self
            .client
            .put(self.url(&format!("/fixtures/tenants/{raw_slug}")))
            .bearer_auth(FIXTURE_TOKEN)
            .json(body);
        Answer::read(request.send().await.unwrap()).await
    }

    /// `GET /fixtures/tenants/{raw_slug}`.
    pub(crate) async fn fixture_get(&self, raw_slug: &str) -> Answer {
        self.get(
            &format!("/fixtures/tenants/{raw_slug}"),
            Some(FIXTURE_TOKEN),
        )
        .await
    }

    /// Stores a tenant through the fixture API and returns the stored row; fails the test unless
    /// the server answers 200.
    pub(crate) async fn put_tenant(&self, slug: &str, body: Value) -> Value {
        let answer = self.fixture_put(slug, &body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()
    }

    /// `PUT /fixtures/tenants/{tenant}/contacts/{raw_phone}` with `body`; `raw_phone` goes into
    /// the URL as written.
    pub(crate) async fn fixture_put_contact(
        &self,
        tenant: &str,
        raw_phone: &str,
        body: &Value,
    ) -> Answer {
        let path = format!("/fixtures/tenants/{tenant}/contacts/{raw_phone}");
        let request = self
            .client
            .put(self.url(&path))
            .bearer_auth(FIXTURE_TOKEN)
            .json(body);
        Answer::read(request.send().await.unwrap()).await
    }

    /// Stores the notes `tenant` keeps about the caller at `phone`; fails the test unless the
    /// server answers 200.
    pub(crate) async fn put_contact(&self, tenant: &str, phone: &str, notes: &str) {
        let body = serde_json::json!({ "notes": notes });
        let answer = self.fixture_put_contact(tenant, phone, &body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }

    /// `GET /fixtures/state`: the residual-state counters.
    pub(crate) async fn fixture_state(&self) -> Value {
        self.get("/fixtures/state", Some(FIXTURE_TOKEN))
            .await
            .json()
    }

    /// Polls `/fixtures/state` until `done` holds for it (or 30 s pass) and returns the last one.
    pub(crate) async fn wait_for_state(&self, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + STATE_WAIT;
        loop {
            let state = self.fixture_state().await;
            if done(&state) || tokio::time::Instant::now() >= deadline {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `GET /fixtures/status-callbacks`: every recorded status callback, oldest first.
    pub(crate) async fn status_callbacks(&self) -> Value {
        self.get("/fixtures/status-callbacks", Some(FIXTURE_TOKEN))
            .await
            .json()
    }

    /// `POST /calls/outbound` with a JSON body.
    pub(crate) async fn place_call(&self, body: &Value) -> Answer {
        let request = self.client.post(self.url("/calls/outbound")).json(body);
        Answer::read(request.send().await.unwrap()).await
    }
}
