//! The call engine: plays one call end to end and returns its record.
//!
//! Lifecycle: `initiated` and `ringing` callbacks → ring (outbound) → answer → first document
//! (voice URL with fallback, or inline TwiML) → TwiML execution → terminal callback.
//! When no first document can be obtained (voice URL and fallback both failed, or inline TwiML
//! is invalid) the call ends with status `failed` — Twilio would play "an application error has
//! occurred" and hang up; `failed` makes that visible in the record. A `completed`-event
//! callback with that `CallStatus` is still sent. Every wait is bounded: the whole call is
//! limited to Twilio's default 4 h `TimeLimit`.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{sleep, timeout};

use super::call_record::CallRecord;
use super::call_store::ControlCmd;
use super::caller_cursor::CallerCursor;
use super::context::CallContext;
use super::env::TwilioEnv;
use super::executor::Executor;
use super::params::CallIdentity;
use super::spec::{CallEvent, CallSpec, CalleeAnswer, Direction};
use super::status::call_status;
use super::twiml::{Twiml, Verb, parse};
use super::webhook::fetch_with_fallback;

/// Twilio's default maximum call length (`TimeLimit`).
pub const MAX_CALL: Duration = Duration::from_secs(4 * 3600);

/// A call plus what only outbound calls have.
#[derive(Debug, Clone)]
pub struct CallSetup {
    /// The call.
    pub spec: CallSpec,
    /// Inline TwiML (REST `Twiml`) instead of fetching `voice_url`.
    pub inline_twiml: Option<String>,
    /// Ring time before the callee answers (outbound).
    pub ring: Duration,
    /// How the callee reacts (inbound calls are always answered by TwiML).
    pub answer: CalleeAnswer,
}

impl CallSetup {
    /// A plan for an inbound call (no ring delay).
    pub fn from_spec(spec: CallSpec) -> Self {
        Self {
            spec,
            inline_twiml: None,
            ring: Duration::ZERO,
            answer: CalleeAnswer::Answer,
        }
    }
}

/// Plays one call; never panics, never hangs; errors end up in the record.
pub async fn play_call(env: &TwilioEnv, spec: CallSpec) -> CallRecord {
    let (ctx, control) = begin_call(env, &spec);
    drive_call(ctx, CallSetup::from_spec(spec), control).await
}

/// Registers a call in the recorder (so it is visible and controllable at once).
pub fn begin_call(
    env: &TwilioEnv,
    spec: &CallSpec,
) -> (CallContext, UnboundedReceiver<ControlCmd>) {
    let ids = env.ids.fork(&spec.label);
    let call_sid = spec
        .call_sid
        .clone()
        .unwrap_or_else(|| ids.twilio_sid("CA"));
    let call_token = format!(
        "{{\"parentCallInfoToken\":\"{}\",\"identityHeaderTokens\":[]}}",
        ids.alnum(48)
    );
    let mut record = CallRecord::new(
        &spec.label,
        &call_sid,
        spec.direction,
        &spec.from,
        &spec.to,
        env.clock.elapsed_ms(),
    );
    if spec.direction == Direction::Inbound {
        record.status = "ringing".into();
    }
    let (handle, control) = env.recorder.begin(record);
    let ctx = CallContext {
        env: env.clone(),
        ids,
        identity: CallIdentity {
            account_sid: env.account_sid.clone(),
            call_sid,
            direction: spec.direction,
            from: spec.from.clone(),
            to: spec.to.clone(),
            call_token,
        },
        record: handle,
        faults: spec.faults.clone(),
        status_callback: spec.status_callback.clone(),
        callback_seq: AtomicU32::new(0),
    };
    (ctx, control)
}

/// Runs a registered call to its end, sends the terminal callback and returns the record.
pub async fn drive_call(
    ctx: CallContext,
    plan: CallSetup,
    mut control: UnboundedReceiver<ControlCmd>,
) -> CallRecord {
    let status = match timeout(MAX_CALL, lifecycle(&ctx, &plan, &mut control)).await {
        Ok(status) => status,
        Err(_) => {
            ctx.error(
                13230,
                format!("call exceeded the {}s time limit", MAX_CALL.as_secs()),
            );
            "completed".to_owned()
        }
    };
    let end_ms = ctx.now_ms();
    let duration = ctx.record.update(|r| {
        r.ended_at_ms = Some(end_ms);
        r.status.clone_from(&status);
        r.duration_secs = r
            .answered_at_ms
            .map(|a| (end_ms.saturating_sub(a) + 500) / 1000);
        r.duration_secs
    });
    let secs = duration.unwrap_or(0);
    let extra = vec![
        ("CallDuration".to_owned(), secs.to_string()),
        ("Duration".to_owned(), secs.div_ceil(60).to_string()),
    ];
    call_status(&ctx, CallEvent::Completed, &status, &extra).await;
    ctx.env.recorder.finish(&ctx.identity.call_sid);
    ctx.record.snapshot()
}

fn mark_answered(ctx: &CallContext) {
    let at = ctx.now_ms();
    ctx.record.update(|r| {
        r.answered_at_ms = Some(at);
        r.status = "in-progress".into();
    });
}

async fn lifecycle(
    ctx: &CallContext,
    plan: &CallSetup,
    control: &mut UnboundedReceiver<ControlCmd>,
) -> String {
    let spec = &plan.spec;
    call_status(ctx, CallEvent::Initiated, "initiated", &[]).await;
    ctx.record.update(|r| r.status = "ringing".into());
    call_status(ctx, CallEvent::Ringing, "ringing", &[]).await;
    let ring = match plan.answer {
        CalleeAnswer::Busy => Duration::ZERO,
        _ => plan.ring,
    };
    // A REST update while ringing cancels the call.
    // Biased: a REST update due at the very end of the ring wins on every run, not at random.
    tokio::select! {
        biased;
        Some(_) = control.recv() => return "canceled".into(),
        () = sleep(ring) => {}
    }
    match plan.answer {
        CalleeAnswer::Busy => return "busy".into(),
        CalleeAnswer::NoAnswer => return "no-answer".into(),
        CalleeAnswer::Answer => {}
    }
    let outbound = spec.direction == Direction::OutboundApi;
    if outbound {
        mark_answered(ctx);
        call_status(ctx, CallEvent::Answered, "in-progress", &[]).await;
    }
    let first: Result<(Twiml, Option<String>), ()> = match &plan.inline_twiml {
        Some(xml) => parse(xml).map(|d| (d, None)).map_err(|e| {
            ctx.error(12100, format!("Document parse failure: inline TwiML: {e}"));
        }),
        None => {
            let params =
                ctx.identity
                    .voice_params(if outbound { "in-progress" } else { "ringing" });
            fetch_with_fallback(
                ctx,
                &spec.voice_url,
                spec.voice_method,
                spec.fallback_url.as_deref(),
                &params,
            )
            .await
            .map(|(d, url)| (d, Some(url)))
            .map_err(|_| ())
        }
    };
    let Ok((doc, doc_url)) = first else {
        return "failed".into();
    };
    if !outbound && !matches!(doc.verbs.first(), Some(Verb::Reject { .. })) {
        mark_answered(ctx);
        call_status(ctx, CallEvent::Answered, "in-progress", &[]).await;
    }
    let mut caller = CallerCursor::new(&spec.caller);
    let mut executor = Executor::new(ctx, control, &mut caller, spec.stream_connect_delay);
    executor.run(doc, doc_url).await
}
