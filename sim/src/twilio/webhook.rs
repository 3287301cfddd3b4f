//! The voice webhook: signed request, TwiML response checks, fallback URL.
//!
//! Error codes: a non-2xx status is 11200; a connection failure and a timeout are both 11205
//! (Twilio's "HTTP connection failure" covers exchanges that do not complete within the 15 s
//! total limit); a `Content-Type` other than `text/xml` / `application/xml` is 12300; a body that
//! is not XML or whose root is not `<Response>` (or that contains an unknown verb) is 12100.

use std::collections::BTreeMap;

use super::call_record::{TwilioError, WebhookExchange};
use super::context::CallContext;
use super::http::{HttpFailure, Signing, send_signed};
use super::spec::HttpMethod;
use super::twiml::{Twiml, parse};

/// Largest response body kept in the record.
const MAX_RECORDED_BODY: usize = 64 * 1024;

/// Requests a TwiML document once and records the exchange.
pub async fn fetch_twiml(
    ctx: &CallContext,
    url: &str,
    method: HttpMethod,
    params: &[(String, String)],
    fallback: bool,
) -> Result<Twiml, TwilioError> {
    let at_ms = ctx.now_ms();
    let signing = ctx.webhook_signing();
    let token = ctx.ids.uuid();
    let result = send_signed(&ctx.env, url, method, params, signing, &token).await;
    let mut exchange = WebhookExchange {
        at_ms,
        url: url.to_owned(),
        method: method.as_str().to_owned(),
        params: params.iter().cloned().collect::<BTreeMap<_, _>>(),
        signed: signing != Signing::Missing,
        http_status: None,
        content_type: None,
        body: None,
        error: None,
        fallback,
    };
    let outcome = match result {
        Err(failure) => {
            let message = match &failure {
                HttpFailure::Timeout => format!(
                    "HTTP connection failure: no response from {url} within {:?}",
                    ctx.env.webhook_timeout
                ),
                HttpFailure::Connection(e) => format!("HTTP connection failure: {url}: {e}"),
            };
            Err((11205, message))
        }
        Ok(reply) => {
            exchange.http_status = Some(reply.status);
            exchange.content_type.clone_from(&reply.content_type);
            let mut body = reply.body;
            let classified = classify(url, reply.status, reply.content_type.as_deref(), &body);
            if body.len() > MAX_RECORDED_BODY {
                let mut cut = MAX_RECORDED_BODY;
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut);
            }
            exchange.body = Some(body);
            classified
        }
    };
    match outcome {
        Ok(doc) => {
            ctx.record.update(|r| r.webhooks.push(exchange));
            Ok(doc)
        }
        Err((code, message)) => {
            let err = TwilioError {
                at_ms,
                code,
                message,
            };
            exchange.error = Some(err.clone());
            ctx.record.update(|r| {
                r.webhooks.push(exchange);
                r.errors.push(err.clone());
            });
            Err(err)
        }
    }
}

fn classify(
    url: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<Twiml, (u32, String)> {
    if !(200..300).contains(&status) {
        return Err((
            11200,
            format!("HTTP retrieval failure: {url} returned {status}"),
        ));
    }
    let mime = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if mime != "text/xml" && mime != "application/xml" {
        return Err((
            12300,
            format!(
                "Invalid Content-Type: {url} returned {:?}",
                content_type.unwrap_or("")
            ),
        ));
    }
    parse(body).map_err(|e| (12100, format!("Document parse failure: {url}: {e}")))
}

/// Requests the voice URL, then the fallback URL (with `ErrorCode`/`ErrorUrl`) if it fails.
/// Returns the document and the URL it came from.
pub async fn fetch_with_fallback(
    ctx: &CallContext,
    url: &str,
    method: HttpMethod,
    fallback_url: Option<&str>,
    params: &[(String, String)],
) -> Result<(Twiml, String), TwilioError> {
    let first = fetch_twiml(ctx, url, method, params, false).await;
    let err = match first {
        Ok(doc) => return Ok((doc, url.to_owned())),
        Err(err) => err,
    };
    let Some(fallback) = fallback_url else {
        return Err(err);
    };
    let mut fallback_params = params.to_vec();
    fallback_params.push(("ErrorCode".into(), err.code.to_string()));
    fallback_params.push(("ErrorUrl".into(), url.to_owned()));
    // Twilio requests the fallback with POST.
    let doc = fetch_twiml(ctx, fallback, HttpMethod::Post, &fallback_params, true).await?;
    Ok((doc, fallback.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_twilio_error_codes() {
        let ok = "<Response><Hangup/></Response>";
        assert!(classify("u", 200, Some("text/xml; charset=utf-8"), ok).is_ok());
        assert!(classify("u", 201, Some("application/xml"), ok).is_ok());
        assert_eq!(
            classify("u", 500, Some("text/xml"), ok).unwrap_err().0,
            11200
        );
        assert_eq!(
            classify("u", 302, Some("text/xml"), ok).unwrap_err().0,
            11200
        );
        assert_eq!(
            classify("u", 200, Some("text/html"), ok).unwrap_err().0,
            12300
        );
        assert_eq!(classify("u", 200, None, ok).unwrap_err().0, 12300);
        assert_eq!(
            classify("u", 200, Some("text/xml"), "<html/>")
                .unwrap_err()
                .0,
            12100
        );
        assert_eq!(
            classify("u", 200, Some("text/xml"), "not xml")
                .unwrap_err()
                .0,
            12100
        );
    }
}
