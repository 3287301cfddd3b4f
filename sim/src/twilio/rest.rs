//! The fake REST API (axum): create, fetch and update calls.
//!
//! `POST /2010-04-01/Accounts/{AC}/Calls.json` answers 201 with the Call resource (`queued`,
//! `outbound-api`) and plays the call in a spawned task against the simulated callee chosen by
//! `To`. `GET …/Calls/{CA}.json` fetches it; `POST …/Calls/{CA}.json` updates it (`Status`,
//! `Url`/`Method`, `Twiml`); updating a call that is no longer live is 400 / 21220. Errors use
//! Twilio's JSON shape `{code, message, more_info, status}`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use super::call_engine::{CallSetup, begin_call, drive_call};
use super::call_record::CallRecord;
use super::call_store::{ControlCmd, TwimlSource};
use super::env::TwilioEnv;
use super::spec::{
    CallEvent, CallSpec, CalleeBehaviour, Direction, HttpMethod, StatusCallbackConfig,
};
use crate::net::NetListener;

/// What the REST fake needs: the environment and the simulated callees.
#[derive(Debug, Clone)]
pub struct RestState {
    /// The fake Twilio environment (account, clock, ids, recorder).
    pub env: TwilioEnv,
    /// Callee behaviour by `To` number.
    pub callees: BTreeMap<String, CalleeBehaviour>,
    /// Behaviour of any other number.
    pub default_callee: CalleeBehaviour,
}

#[derive(Debug)]
struct Shared {
    state: RestState,
    labels: Mutex<BTreeMap<String, u32>>,
}

type App = Arc<Shared>;

/// The REST API router.
pub fn router(state: RestState) -> Router {
    let shared = Arc::new(Shared {
        state,
        labels: Mutex::new(BTreeMap::new()),
    });
    Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Calls.json",
            post(create_call),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{call}",
            post(update_call).get(fetch_call),
        )
        .with_state(shared)
}

/// Serves the REST API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: NetListener,
    state: RestState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

fn authenticate(app: &Shared, headers: &HeaderMap, account: &str) -> Result<(), Box<Response>> {
    let env = &app.state.env;
    let ok = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .is_some_and(|pair| pair == format!("{}:{}", env.account_sid, env.auth_token));
    if ok && account == env.account_sid {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            20003,
            "Authenticate",
        )))
    }
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn first<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

fn is_http_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.scheme() == "http" || u.scheme() == "https")
}

async fn create_call(
    State(app): State<App>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authenticate(&app, &headers, &account) {
        return *r;
    }
    let params = form(&body);
    let bad = |code, msg: &str| error(StatusCode::BAD_REQUEST, code, msg);
    let Some(to) = first(&params, "To") else {
        return bad(21201, "No 'To' number is specified");
    };
    let Some(from) = first(&params, "From") else {
        return bad(21213, "No 'From' number is specified");
    };
    let url = first(&params, "Url");
    let twiml = first(&params, "Twiml");
    match (url, twiml) {
        (None, None) => return bad(21205, "Url parameter is required (or Twiml)"),
        (Some(u), _) if !is_http_url(u) => {
            return bad(21205, &format!("Url is not a valid URL: {u}"));
        }
        _ => {}
    }
    if let Some(f) = first(&params, "FallbackUrl")
        && !is_http_url(f)
    {
        return bad(21205, &format!("FallbackUrl is not a valid URL: {f}"));
    }
    let status_callback = match status_callback(&params) {
        Ok(config) => config,
        Err(word) => return bad(21626, &format!("Invalid StatusCallbackEvent: {word}")),
    };
    let callee = app
        .state
        .callees
        .get(to)
        .unwrap_or(&app.state.default_callee)
        .clone();
    let label = next_label(&app, &callee.label);
    let spec = CallSpec {
        label,
        call_sid: None,
        direction: Direction::OutboundApi,
        from: from.to_owned(),
        to: to.to_owned(),
        // With inline TwiML the URL is unused; if both are sent Twilio ignores Twiml.
        voice_url: url.unwrap_or_default().to_owned(),
        voice_method: first(&params, "Method").map_or(HttpMethod::Post, HttpMethod::parse),
        fallback_url: first(&params, "FallbackUrl").map(str::to_owned),
        status_callback,
        caller: callee.script.clone(),
        stream_connect_delay: callee.stream_connect_delay,
        faults: callee.faults.clone(),
    };
    let plan = CallSetup {
        inline_twiml: if url.is_none() {
            twiml.map(str::to_owned)
        } else {
            None
        },
        ring: callee.ring,
        answer: callee.answer,
        spec: spec.clone(),
    };
    let env = app.state.env.clone();
    let (ctx, control) = begin_call(&env, &spec);
    let phone_sid = ctx.ids.twilio_sid("PN");
    let record = ctx.record.snapshot();
    tokio::spawn(drive_call(ctx, plan, control));
    (
        StatusCode::CREATED,
        axum::Json(call_json(&env, &record, &phone_sid)),
    )
        .into_response()
}

/// The call's status callback from `StatusCallback`, `StatusCallbackMethod` and every
/// `StatusCallbackEvent` (space-separated words, each once); the word Twilio would refuse.
fn status_callback(params: &[(String, String)]) -> Result<Option<StatusCallbackConfig>, String> {
    let mut events = Vec::new();
    for (_, v) in params.iter().filter(|(k, _)| k == "StatusCallbackEvent") {
        for word in v.split_whitespace() {
            match CallEvent::parse(word) {
                Some(e) if !events.contains(&e) => events.push(e),
                Some(_) => {}
                None => return Err(word.to_owned()),
            }
        }
    }
    Ok(
        first(params, "StatusCallback").map(|cb| StatusCallbackConfig {
            url: cb.to_owned(),
            method: first(params, "StatusCallbackMethod")
                .map_or(HttpMethod::Post, HttpMethod::parse),
            events,
        }),
    )
}

/// The label of a call placed to a callee: its own the first time, then `label#2`, `label#3`…
fn next_label(app: &App, label: &str) -> String {
    let mut labels = app.labels.lock().unwrap_or_else(PoisonError::into_inner);
    let n = labels.entry(label.to_owned()).or_insert(0);
    *n += 1;
    if *n == 1 {
        label.to_owned()
    } else {
        format!("{label}#{n}")
    }
}

fn split_call(call: &str) -> &str {
    call.strip_suffix(".json").unwrap_or(call)
}

fn not_found(account: &str, call: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        20404,
        &format!(
            "The requested resource /2010-04-01/Accounts/{account}/Calls/{call} was not found"
        ),
    )
}

async fn fetch_call(
    State(app): State<App>,
    Path((account, call)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authenticate(&app, &headers, &account) {
        return *r;
    }
    let env = &app.state.env;
    match env.recorder.record(split_call(&call)) {
        Some(record) => {
            axum::Json(call_json(env, &record, &phone_sid_of(env, &record))).into_response()
        }
        None => not_found(&account, &call),
    }
}

async fn update_call(
    State(app): State<App>,
    Path((account, call)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authenticate(&app, &headers, &account) {
        return *r;
    }
    let env = &app.state.env;
    let sid = split_call(&call);
    let Some(record) = env.recorder.record(sid) else {
        return not_found(&account, &call);
    };
    let params = form(&body);
    let Some(control) = env
        .recorder
        .stream_handle(sid)
        .filter(|_| !record.is_finished())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            21220,
            "Call is not in-progress. Cannot redirect.",
        );
    };
    let cmd = if let Some(status) = first(&params, "Status") {
        match status {
            "completed" | "canceled" => ControlCmd::End(status.to_owned()),
            other => {
                return error(
                    StatusCode::BAD_REQUEST,
                    20001,
                    &format!("Invalid Status: {other}"),
                );
            }
        }
    } else if let Some(url) = first(&params, "Url") {
        if !is_http_url(url) {
            return error(
                StatusCode::BAD_REQUEST,
                21205,
                &format!("Url is not a valid URL: {url}"),
            );
        }
        ControlCmd::Redirect(TwimlSource::Url {
            url: url.to_owned(),
            method: first(&params, "Method").map_or(HttpMethod::Post, HttpMethod::parse),
        })
    } else if let Some(twiml) = first(&params, "Twiml") {
        ControlCmd::Redirect(TwimlSource::Inline(twiml.to_owned()))
    } else {
        return error(
            StatusCode::BAD_REQUEST,
            20001,
            "Nothing to update: give Status, Url or Twiml",
        );
    };
    if !control.send(cmd) {
        return error(
            StatusCode::BAD_REQUEST,
            21220,
            "Call is not in-progress. Cannot redirect.",
        );
    }
    let record = env.recorder.record(sid).unwrap_or(record);
    axum::Json(call_json(env, &record, &phone_sid_of(env, &record))).into_response()
}

fn phone_sid_of(env: &TwilioEnv, record: &CallRecord) -> String {
    // Re-derive the number SID the create response showed: it is the first draw of the fork.
    let ids = env.ids.fork(&record.label);
    let _call_sid = ids.twilio_sid("CA");
    let _token = ids.alnum(48);
    ids.twilio_sid("PN")
}

fn rfc2822_at(env: &TwilioEnv, ms: u64) -> String {
    let elapsed = i64::try_from(env.clock.elapsed().as_secs()).unwrap_or(0);
    let epoch = env.clock.unix_now() - elapsed;
    let at = epoch + i64::try_from(ms / 1000).unwrap_or(0);
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc2822).ok())
        .unwrap_or_default()
}

fn formatted(number: &str) -> String {
    match number.strip_prefix("+1") {
        Some(d) if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        }
        _ => number.to_owned(),
    }
}

/// The Call resource JSON for a record.
pub fn call_json(env: &TwilioEnv, record: &CallRecord, phone_number_sid: &str) -> Value {
    let base = format!(
        "/2010-04-01/Accounts/{}/Calls/{}",
        env.account_sid, record.call_sid
    );
    let sub = |name: &str| format!("{base}/{name}.json");
    json!({
        "sid": record.call_sid,
        "account_sid": env.account_sid,
        "parent_call_sid": null,
        "to": record.to,
        "to_formatted": formatted(&record.to),
        "from": record.from,
        "from_formatted": formatted(&record.from),
        "phone_number_sid": phone_number_sid,
        "status": record.status,
        "direction": match record.direction { Direction::Inbound => "inbound", Direction::OutboundApi => "outbound-api" },
        "api_version": "2010-04-01",
        "date_created": rfc2822_at(env, record.started_at_ms),
        "date_updated": env.clock.rfc2822_now(),
        "start_time": record.answered_at_ms.map(|ms| rfc2822_at(env, ms)),
        "end_time": record.ended_at_ms.map(|ms| rfc2822_at(env, ms)),
        "duration": record.duration_secs.map(|d| d.to_string()),
        "price": null,
        "price_unit": "USD",
        "answered_by": null,
        "annotation": null,
        "caller_name": null,
        "forwarded_from": null,
        "group_sid": null,
        "trunk_sid": null,
        "queue_time": "0",
        "uri": format!("{base}.json"),
        "subresource_uris": {
            "notifications": sub("Notifications"),
            "recordings": sub("Recordings"),
            "payments": sub("Payments"),
            "events": sub("Events"),
            "siprec": sub("Siprec"),
            "streams": sub("Streams"),
            "transcriptions": sub("Transcriptions"),
            "user_defined_message_subscriptions": sub("UserDefinedMessageSubscriptions"),
            "user_defined_messages": sub("UserDefinedMessages"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_callback_events_are_read_once_each_and_a_wrong_word_is_named() {
        // As the REST fake reads a form body, a repeated parameter kept twice.
        let config = status_callback(&form(
            b"StatusCallback=https%3A%2F%2Fx%2Fstatus&StatusCallbackEvent=initiated+ringing\
              &StatusCallbackEvent=answered+initiated&StatusCallbackMethod=GET",
        ))
        .expect("valid")
        .expect("asked for");
        assert_eq!(config.url, "https://x/status");
        assert_eq!(config.method, HttpMethod::Get);
        assert_eq!(
            config.events,
            vec![
                CallEvent::Initiated,
                CallEvent::Ringing,
                CallEvent::Answered
            ]
        );
        assert_eq!(status_callback(&form(b"To=%2B1")), Ok(None));
        assert_eq!(
            status_callback(&form(b"StatusCallbackEvent=initiated+hungup")),
            Err("hungup".to_owned())
        );
    }
}
