//! Translating a plan into what the fakes take: caller scripts and call specs for the fake
//! Twilio, callee behaviours for its REST API, and the mock AI's script.

use super::target::Endpoints;
use crate::realtime::{self, AiFault, AiFaultKind, Script};
use crate::scenario::plan::{
    AiFaultPlan, Answer, CallPlan, Plan, ReplyAudioPlan, ReplyPlan, ResolveBy, StepPlan,
    WebhookFault,
};
use crate::twilio;

/// Public base of callsim's own fault endpoint (answers an error status or never answers).
pub(crate) const FAULTS_PUBLIC_URL: &str = "https://faults.callsim.test";

fn path_for(template: &str, tenant: &str) -> String {
    template.replace("{tenant}", tenant)
}

pub(crate) fn caller_script(call: &CallPlan) -> twilio::CallerScript {
    twilio::CallerScript {
        steps: call
            .steps
            .iter()
            .map(|s| match s {
                StepPlan::Audio { label, mulaw } => twilio::CallerStep::Audio {
                    mulaw: mulaw.clone(),
                    label: label.clone(),
                },
                StepPlan::Silence(d) => twilio::CallerStep::Silence(*d),
                StepPlan::Dtmf(d) => twilio::CallerStep::Dtmf(d.clone()),
                StepPlan::Hangup => twilio::CallerStep::Hangup,
            })
            .collect(),
        hangup_at: call.hangup_at,
    }
}

fn call_faults(call: &CallPlan) -> twilio::CallFaults {
    twilio::CallFaults {
        unsigned_webhook: call.faults.unsigned_webhook,
        bad_webhook_signature: call.faults.bad_webhook_signature,
        unsigned_stream: call.faults.unsigned_stream,
        drop_stream_at: call.faults.stream_drop_at,
    }
}

pub(crate) fn inbound_spec(call: &CallPlan, endpoints: &Endpoints) -> twilio::CallSpec {
    // By number, the URL names no tenant: the server must find it from the signed `To`.
    let path = match call.resolve_by {
        ResolveBy::Slug => path_for(&endpoints.incoming_path, &call.tenant),
        ResolveBy::Number => endpoints.incoming_by_number_path.clone(),
    };
    let real = format!("{}{path}", endpoints.public_url);
    let (voice_url, fallback_url) = match call.faults.webhook {
        None => (real, None),
        Some((fault, fallback)) => {
            let bad = match fault {
                WebhookFault::Status(code) => format!("{FAULTS_PUBLIC_URL}/status/{code}"),
                WebhookFault::Timeout => format!("{FAULTS_PUBLIC_URL}/hang"),
            };
            (bad, fallback.then_some(real))
        }
    };
    twilio::CallSpec {
        label: call.name.clone(),
        call_sid: None,
        direction: twilio::Direction::Inbound,
        from: call.from.clone(),
        to: call.to.clone(),
        voice_url,
        voice_method: twilio::HttpMethod::Post,
        fallback_url,
        // Like a Twilio number, a call has status callbacks only when the target asks for them
        // (an external server that has no such route would answer 404 to every one).
        status_callback: endpoints.status_callback_path.as_ref().map(|path| {
            twilio::StatusCallbackConfig {
                url: format!("{}{path}", endpoints.public_url),
                method: twilio::HttpMethod::Post,
                events: vec![
                    twilio::CallEvent::Initiated,
                    twilio::CallEvent::Ringing,
                    twilio::CallEvent::Answered,
                    twilio::CallEvent::Completed,
                ],
            }
        }),
        caller: caller_script(call),
        stream_connect_delay: call.connect_delay,
        faults: call_faults(call),
    }
}

pub(crate) fn callee_for(call: &CallPlan) -> twilio::CalleeBehaviour {
    twilio::CalleeBehaviour {
        label: call.name.clone(),
        ring: call.ring,
        answer: match call.answer {
            Answer::Answer => twilio::CalleeAnswer::Answer,
            Answer::Busy => twilio::CalleeAnswer::Busy,
            Answer::NoAnswer => twilio::CalleeAnswer::NoAnswer,
        },
        script: caller_script(call),
        stream_connect_delay: call.connect_delay,
        faults: call_faults(call),
    }
}

fn reply_for(r: &ReplyPlan) -> realtime::Reply {
    realtime::Reply {
        text: r.text.clone(),
        audio: match &r.audio {
            ReplyAudioPlan::None => realtime::ReplyAudio::None,
            ReplyAudioPlan::Tone(d) => realtime::ReplyAudio::Tone {
                ms: u32::try_from(d.as_millis()).unwrap_or(u32::MAX),
                hz: 660.0,
            },
            ReplyAudioPlan::Filler(d) => realtime::ReplyAudio::Filler {
                ms: u32::try_from(d.as_millis()).unwrap_or(u32::MAX),
            },
            ReplyAudioPlan::Pcm8k(samples) => realtime::ReplyAudio::Pcm8k(samples.clone()),
        },
        tool_call: r
            .tool_call
            .as_ref()
            .map(|(name, arguments)| realtime::ToolCall {
                name: name.clone(),
                arguments: arguments.clone(),
            }),
        fail: r.fail.as_ref().map(|e| realtime::ResponseFailure {
            code: e.code.clone(),
            message: e.message.clone(),
        }),
        error: r.error.as_ref().map(|e| realtime::InjectedError {
            code: e.code.clone(),
            message: e.message.clone(),
            error_type: e.error_type.clone(),
        }),
    }
}

pub(crate) fn script_for(plan: &Plan) -> Script {
    Script {
        replies: plan.ai.replies.iter().map(reply_for).collect(),
        default_reply: plan.ai.default_reply.as_ref().map(reply_for),
        faults: plan
            .ai
            .faults
            .iter()
            .map(|f| match f {
                AiFaultPlan::Error { session, at, error } => AiFault {
                    session: *session,
                    at: *at,
                    kind: AiFaultKind::ErrorEvent {
                        code: error.code.clone(),
                        message: error.message.clone(),
                        error_type: error.error_type.clone(),
                    },
                },
                AiFaultPlan::Drop { session, at } => AiFault {
                    session: *session,
                    at: *at,
                    kind: AiFaultKind::DropSocket,
                },
            })
            .collect(),
    }
}
