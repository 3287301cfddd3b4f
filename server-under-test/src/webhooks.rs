//! Voice webhooks `/twiml/incoming/{tenant}` and `/twiml/outbound/{tenant}`, and their slug-less
//! forms `/twiml/incoming` and `/twiml/outbound` (the seed's `server/routes_twilio.py`).
//!
//! The route fixes the call direction. After answering with `<Connect><Stream>` TwiML, the
//! webhook starts the prompt's pre-build ([`crate::prebuild`]). The tenant is resolved by
//! [`crate::tenant_resolution`]: from the slug in the path, or, on a slug-less route, from the
//! tenant's number in the signed form (`To` inbound, `From` outbound). The TwiML's `tenant`
//! parameter carries the slug the stream side resolves again: the one Twilio asked for, or the
//! one the number resolved to.
//!
//! An unknown slug is a 404. An unknown number is refused the way Twilio users refuse calls to
//! numbers they do not serve: `<Reject/>` (see [`refusal_twiml`]), which never answers the call,
//! never bills it and raises no 11200 error in the Twilio debugger.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::direction::Direction;
use crate::error::AppError;
use crate::slug::{InvalidSlug, TenantPath};
use crate::state::AppState;
use crate::tenants::Tenant;
use crate::{caller_context, prebuild, tenant_resolution, twilio_request};

/// Escapes a value for an XML attribute.
fn xml_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

/// The `<Connect><Stream>` TwiML for a call.
pub fn connect_stream_twiml(
    public_url: &str,
    public_ws_url: &str,
    tenant: &str,
    direction: Direction,
    call_sid: &str,
) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect>"#,
            r#"<Stream url="{ws}/ws/media" statusCallback="{http}/status/stream">"#,
            r#"<Parameter name="tenant" value="{tenant}"/>"#,
            r#"<Parameter name="direction" value="{direction}"/>"#,
            r#"<Parameter name="call_sid" value="{call_sid}"/>"#,
            r#"</Stream></Connect><Hangup/></Response>"#
        ),
        ws = xml_attr(public_ws_url),
        http = xml_attr(public_url),
        tenant = xml_attr(tenant),
        direction = direction.as_str(),
        call_sid = xml_attr(call_sid),
    )
}

/// `POST /twiml/incoming/{tenant}`: an inbound call.
pub async fn incoming(
    State(state): State<AppState>,
    slug: Result<TenantPath, InvalidSlug>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let lookup = Lookup::Slug(slug);
    answer(&state, lookup, Direction::Inbound, &uri, &headers, &body)
}

/// `POST /twiml/outbound/{tenant}`: the answered leg of an outbound call.
pub async fn outbound(
    State(state): State<AppState>,
    slug: Result<TenantPath, InvalidSlug>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let lookup = Lookup::Slug(slug);
    answer(&state, lookup, Direction::Outbound, &uri, &headers, &body)
}

/// `POST /twiml/incoming`: an inbound call to the tenant whose number was called (`To`).
pub async fn incoming_by_number(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    answer(
        &state,
        Lookup::Number,
        Direction::Inbound,
        &uri,
        &headers,
        &body,
    )
}

/// `POST /twiml/outbound`: the answered leg of an outbound call placed from the tenant's own
/// number (`From`).
pub async fn outbound_by_number(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    answer(
        &state,
        Lookup::Number,
        Direction::Outbound,
        &uri,
        &headers,
        &body,
    )
}

/// How a webhook route names its tenant.
enum Lookup {
    /// The `{tenant}` path segment.
    Slug(Result<TenantPath, InvalidSlug>),
    /// The tenant's number in the signed form: `To` inbound, `From` outbound.
    Number,
}

/// The tenant a webhook is for, and the slug its TwiML hands the stream; or the answer that
/// refuses the call.
enum Resolved {
    Tenant(Tenant, String),
    Refused(Response),
}

/// The number of the tenant's side of a call: the number called on an inbound call, the caller
/// ID the tenant called from on an outbound one.
fn tenant_number(params: &[(String, String)], direction: Direction) -> Option<&str> {
    let name = match direction {
        Direction::Inbound => "To",
        Direction::Outbound => "From",
    };
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The TwiML that refuses a call no tenant has: `<Reject/>` for an inbound call, so Twilio
/// never answers it (and does not bill it), and `<Hangup/>` for an outbound leg, which Twilio
/// has already answered and where `<Reject>` does not apply.
pub fn refusal_twiml(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => {
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Reject/></Response>"#
        }
        Direction::Outbound => {
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#
        }
    }
}

fn resolve(
    state: &AppState,
    lookup: Lookup,
    direction: Direction,
    params: &[(String, String)],
) -> Result<Resolved, AppError> {
    match lookup {
        Lookup::Slug(slug) => {
            // Judged after the signature so unauthenticated requests learn nothing; refused in
            // plain text because the caller is Twilio, which logs the body in its debugger.
            let valid = match slug {
                Ok(TenantPath(valid)) => valid,
                Err(err) => return Ok(Resolved::Refused(err.into_response())),
            };
            let slug = valid.as_str();
            match tenant_resolution::resolve(state, Some(slug))? {
                // The TwiML repeats the slug Twilio asked for, as the seed's did.
                Some(tenant) => Ok(Resolved::Tenant(tenant, slug.to_owned())),
                None => Err(AppError::NotFound(format!("tenant \"{slug}\""))),
            }
        }
        Lookup::Number => {
            let number = tenant_number(params, direction);
            match tenant_resolution::resolve_by_number(state, number)? {
                Some(tenant) => {
                    let slug = tenant.slug.clone();
                    Ok(Resolved::Tenant(tenant, slug))
                }
                None => {
                    tracing::warn!(?number, %direction, "no tenant has this number; call refused");
                    let twiml = refusal_twiml(direction);
                    Ok(Resolved::Refused(
                        ([(header::CONTENT_TYPE, "text/xml")], twiml).into_response(),
                    ))
                }
            }
        }
    }
}

fn answer(
    state: &AppState,
    lookup: Lookup,
    direction: Direction,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    let config = state.config();
    let params = twilio_request::verified_form(config, uri, headers, body)?;
    let (tenant, slug) = match resolve(state, lookup, direction, &params)? {
        Resolved::Tenant(tenant, slug) => (tenant, slug),
        Resolved::Refused(response) => return Ok(response),
    };
    let Some(call_sid) = params
        .iter()
        .find(|(name, _)| name == "CallSid")
        .map(|(_, value)| value.clone())
    else {
        return Err(AppError::BadRequest("missing CallSid".to_owned()));
    };
    tracing::info!(%call_sid, tenant = slug, %direction, "voice webhook");
    let twiml = connect_stream_twiml(
        &config.public_url,
        &config.public_ws_url(),
        &slug,
        direction,
        &call_sid,
    );

    let caller = caller_context::caller_phone(&params, direction);
    if let Some(phone) = caller {
        caller_context::remember(state, &call_sid, phone);
    }
    let notes = caller_context::notes_for(state, &tenant.slug, caller);
    // Pre-built in the background like the seed, so the TwiML answer is not delayed.
    prebuild::start(state, &call_sid, tenant, direction, notes);
    Ok(([(header::CONTENT_TYPE, "text/xml")], twiml).into_response())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{Config, Profile};
    use crate::signature;
    use crate::tenants::TenantInput;

    const TOKEN: &str = "secret";

    async fn spawn(profile: Profile) -> (AppState, String) {
        let mut config = Config::in_process("https://callsim.test", TOKEN, "ws://127.0.0.1:9");
        config.profile = profile;
        let state = AppState::new(config).unwrap();
        let input = TenantInput {
            business_name: "Acme".into(),
            inbound_prompt: Some("Answer for Acme.".into()),
            outbound_prompt: Some("Sell for Acme.".into()),
            ..TenantInput::default()
        };
        state.upsert_tenant("acme", &input).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(crate::app::serve_with_state(
            listener,
            state.clone(),
            std::future::pending(),
        ));
        (state, format!("http://{addr}"))
    }

    async fn post_signed(base: &str, path: &str, call_sid: &str) -> (u16, String) {
        let params = vec![
            ("CallSid".to_owned(), call_sid.to_owned()),
            ("From".to_owned(), "+15550001".to_owned()),
        ];
        let sig = signature::compute(TOKEN, &format!("https://callsim.test{path}"), &params);
        let response = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header("X-Twilio-Signature", sig)
            .form(&params)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn prebuilt_direction(state: &AppState, call_sid: &str) -> Option<Direction> {
        state
            .registry()
            .wait_prebuilt(call_sid, Duration::from_secs(2))
            .await
            .and_then(|p| p.direction)
    }

    /// Seed test E: each webhook route fixes its own direction, in the TwiML and in the pre-build.
    #[tokio::test]
    async fn test_e_webhook_routes_fix_the_direction() {
        for profile in [Profile::Legacy, Profile::Fixed] {
            let (state, base) = spawn(profile).await;
            let (status, body) = post_signed(&base, "/twiml/incoming/acme", "CAin").await;
            assert_eq!(status, 200, "{body}");
            assert!(
                body.contains(r#"<Parameter name="direction" value="inbound"/>"#),
                "{body}"
            );
            assert!(body.contains(r#"<Parameter name="call_sid" value="CAin"/>"#));
            assert!(body.contains(r#"<Stream url="wss://callsim.test/ws/media" statusCallback="https://callsim.test/status/stream">"#));
            assert_eq!(
                prebuilt_direction(&state, "CAin").await,
                Some(Direction::Inbound)
            );
            let (status, body) = post_signed(&base, "/twiml/outbound/acme", "CAout").await;
            assert_eq!(status, 200);
            assert!(
                body.contains(r#"<Parameter name="direction" value="outbound"/>"#),
                "{body}"
            );
            assert_eq!(
                prebuilt_direction(&state, "CAout").await,
                Some(Direction::Outbound)
            );
            let prebuilt = state.registry().prebuilt("CAout").unwrap();
            assert!(prebuilt.text.contains("Sell for Acme."));
        }
    }

    #[tokio::test]
    async fn unknown_tenant_is_404_and_missing_call_sid_is_400() {
        let (_state, base) = spawn(Profile::Fixed).await;
        assert_eq!(
            post_signed(&base, "/twiml/incoming/nobody", "CA1").await.0,
            404
        );
        let sig = signature::compute(TOKEN, "https://callsim.test/twiml/incoming/acme", &[]);
        let response = reqwest::Client::new()
            .post(format!("{base}/twiml/incoming/acme"))
            .header("X-Twilio-Signature", sig)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
    }

    #[test]
    fn twiml_escapes_attribute_values() {
        let twiml =
            connect_stream_twiml("https://h", "wss://h", "a\"b", Direction::Inbound, "CA<1>");
        assert!(twiml.contains(r#"value="a&quot;b""#));
        assert!(twiml.contains(r#"value="CA&lt;1&gt;""#));
        assert!(twiml.ends_with("</Stream></Connect><Hangup/></Response>"));
    }
}
