//! The message log of a call (webhooks, media stream, status callbacks, AI session traffic)
//! and its embedded audio players.

use std::fmt::Write as _;

use base64::Engine as _;

use super::records::call_sessions;
use super::text::{escape, fmt_ms, opt, w};
use crate::transcript::model::{CallSummary, SessionSummary, Transcript};

/// Audio to embed per call: µ-law 8 kHz bytes, embedded as WAV `data:` URLs.
#[derive(Debug, Clone, Default)]
pub struct CallAudio {
    /// What the caller heard (the server's audio).
    pub heard_by_caller: Vec<u8>,
    /// What the mock AI received from the server.
    pub received_by_ai: Vec<u8>,
}

pub(super) fn render_message_log(out: &mut String, t: &Transcript, call: &CallSummary) {
    out.push_str("<div class=\"message-log\">\n<h4>Message log</h4>\n");
    render_webhooks(out, call);
    render_stream(out, call);
    w!(
        out,
        "<p class=\"callbacks\">Status callbacks: {}</p>\n",
        if call.status_callbacks.is_empty() {
            "none".to_owned()
        } else {
            escape(&call.status_callbacks.join(", "))
        }
    );
    if !call.errors.is_empty() {
        let errors: Vec<String> = call.errors.iter().map(u32::to_string).collect();
        w!(
            out,
            "<p class=\"flag\">Twilio errors: {}</p>\n",
            errors.join(", ")
        );
    }
    for s in call_sessions(t, call) {
        render_session(out, s);
    }
    out.push_str("</div>\n");
}

/// Every webhook attempt of the call, in a table.
fn render_webhooks(out: &mut String, call: &CallSummary) {
    if !call.webhooks.is_empty() {
        out.push_str("<table class=\"webhooks\"><tr><th>at</th><th>webhook</th><th>fallback</th><th>signed</th><th>HTTP</th><th>error</th></tr>\n");
        for wh in &call.webhooks {
            w!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                fmt_ms(wh.at_ms),
                escape(&wh.url),
                if wh.fallback { "yes" } else { "no" },
                if wh.signed { "yes" } else { "no" },
                opt(wh.http_status),
                opt(wh.error_code)
            );
        }
        out.push_str("</table>\n");
    }
}

/// The call's media stream, in a table.
fn render_stream(out: &mut String, call: &CallSummary) {
    match &call.stream {
        Some(st) => {
            let params: Vec<String> = st
                .custom_parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let clears: Vec<String> = st.clears_at_ms.iter().map(|&ms| fmt_ms(ms)).collect();
            let warnings: Vec<String> = st.warnings.iter().map(u32::to_string).collect();
            w!(
                out,
                "<table class=\"stream\"><tr><th>stream</th><td><code>{}</code> <code>{}</code></td></tr>\
                 <tr><th>parameters</th><td>{}</td></tr>\
                 <tr><th>handshake</th><td>{}</td></tr>\
                 <tr><th>connected / ended</th><td>{} / {} by {}</td></tr>\
                 <tr><th>marks sent / echoed</th><td>{} / {}</td></tr>\
                 <tr><th>clears</th><td>{}</td></tr>\
                 <tr><th>audio heard</th><td>{}</td></tr>\
                 <tr><th>warnings</th><td>{}</td></tr></table>\n",
                escape(&st.stream_sid),
                escape(&st.url),
                escape(&params.join(", ")),
                opt(st.handshake_status),
                st.connected_at_ms.map_or("–".to_owned(), fmt_ms),
                st.ended_at_ms.map_or("–".to_owned(), fmt_ms),
                escape(st.ended_by.as_deref().unwrap_or("–")),
                st.marks_sent,
                st.marks_echoed,
                if clears.is_empty() {
                    "none".to_owned()
                } else {
                    clears.join(", ")
                },
                fmt_ms(st.audio_heard_ms),
                if warnings.is_empty() {
                    "none".to_owned()
                } else {
                    warnings.join(", ")
                }
            );
        }
        None => out.push_str("<p>No media stream.</p>\n"),
    }
}

/// One AI session: its configurations, context appends (Live), truncates, the errors the mock
/// sent and the audio it received.
fn render_session(out: &mut String, s: &SessionSummary) {
    if !s.updates.is_empty() {
        w!(
            out,
            "<table class=\"updates\"><caption>AI session #{} <code>session.update</code>s</caption>\
             <tr><th>at</th><th>result</th><th>prompt source</th><th>input</th><th>output</th></tr>\n",
            s.index
        );
        for u in &s.updates {
            let result = if u.accepted {
                "accepted".to_owned()
            } else {
                format!(
                    "<span class=\"flag\">rejected: {}</span>",
                    escape(u.error.as_deref().unwrap_or("?"))
                )
            };
            w!(
                out,
                "<tr><td>{}</td><td>{result}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                fmt_ms(u.at_ms),
                escape(&u.prompt_source),
                escape(&u.input_format),
                escape(&u.output_format)
            );
        }
        out.push_str("</table>\n");
    }
    render_appends(out, s);
    render_truncates(out, s);
    if !s.errors_sent.is_empty() {
        w!(
            out,
            "<p class=\"flag\">AI session #{} errors sent by the mock: {}</p>\n",
            s.index,
            escape(&s.errors_sent.join(", "))
        );
    }
    w!(
        out,
        "<p>AI session #{} received {} of audio.</p>\n",
        s.index,
        fmt_ms(s.audio_received_s * 1000)
    );
}

/// A Live session's context appends: when, which event, the prompt each carries, and when the
/// model injected it.
fn render_appends(out: &mut String, s: &SessionSummary) {
    if s.appends.is_empty() {
        return;
    }
    w!(
        out,
        "<table class=\"appends\"><caption>AI session #{} context appends</caption>\
         <tr><th>at</th><th>event</th><th>prompt source</th><th>injected</th></tr>\n",
        s.index
    );
    for a in &s.appends {
        let injected = match a.injected_at_ms {
            Some(ms) => fmt_ms(ms),
            None => "<span class=\"flag\">never</span>".to_owned(),
        };
        w!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{injected}</td></tr>\n",
            fmt_ms(a.at_ms),
            escape(&a.source),
            escape(&a.prompt_source)
        );
    }
    out.push_str("</table>\n");
}

/// A session's truncates: when, where they cut, and what the service answered.
fn render_truncates(out: &mut String, s: &SessionSummary) {
    if s.truncates.is_empty() {
        return;
    }
    w!(
        out,
        "<table class=\"truncates\"><caption>AI session #{} truncates</caption>\
         <tr><th>at</th><th>cut at</th><th>item audio</th><th>result</th></tr>\n",
        s.index
    );
    for tr in &s.truncates {
        let result = match &tr.error {
            Some(e) => format!("<span class=\"flag\">{}</span>", escape(e)),
            None => "ok".to_owned(),
        };
        w!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{result}</td></tr>\n",
            fmt_ms(tr.at_ms),
            fmt_ms(tr.audio_end_ms),
            tr.item_audio_ms.map_or("–".to_owned(), fmt_ms)
        );
    }
    out.push_str("</table>\n");
}

/// Longest audio embedded per player. A 16-bit WAV of a whole 25-minute call is 24 MB before
/// base64, which makes the report too heavy to open; the first minutes are what a person
/// listens to when checking a greeting or a barge-in.
const MAX_EMBEDDED_AUDIO_MS: u64 = 120_000;

pub(super) fn render_audio(out: &mut String, audio: &CallAudio) {
    out.push_str("<div class=\"audio\">\n<h4>Audio</h4>\n");
    for (label, class, bytes) in [
        ("Heard by the caller", "audio-heard", &audio.heard_by_caller),
        ("Received by the AI", "audio-ai", &audio.received_by_ai),
    ] {
        if bytes.is_empty() {
            w!(out, "<div><label>{label}</label> no audio</div>\n");
            continue;
        }
        let total_ms = crate::audio::mulaw_ms(bytes.len());
        let keep = bytes
            .len()
            .min(usize::try_from(MAX_EMBEDDED_AUDIO_MS * 8).unwrap_or(usize::MAX));
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(crate::audio::wav_bytes(&bytes[..keep]));
        let note = if keep < bytes.len() {
            format!(
                "{} (first {} embedded)",
                fmt_ms(total_ms),
                fmt_ms(MAX_EMBEDDED_AUDIO_MS)
            )
        } else {
            fmt_ms(total_ms)
        };
        w!(
            out,
            "<div><label>{label}</label><audio controls preload=\"metadata\" class=\"{class}\" src=\"data:audio/wav;base64,{b64}\"></audio> {note}</div>\n"
        );
    }
    out.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::fixtures::legacy_report;
    use super::super::page::render_html;
    use super::*;

    #[test]
    fn audio_players_embed_wav_data_urls_only() {
        let audio = BTreeMap::from([(
            (
                "seed/inbound-empty-ai-prompt".to_owned(),
                "caller".to_owned(),
            ),
            CallAudio {
                heard_by_caller: vec![0xFF; 1_600],
                received_by_ai: vec![0x7F; 800],
            },
        )]);
        let html = render_html(&legacy_report(), &audio);
        assert!(html.contains("class=\"audio-heard\" src=\"data:audio/wav;base64,UklGR"));
        assert!(html.contains("class=\"audio-ai\" src=\"data:audio/wav;base64,UklGR"));
        assert!(html.contains("200 ms"));
    }

    #[test]
    fn a_live_sessions_context_appends_are_listed_with_their_injection() {
        use crate::transcript::model::AppendSummary;
        let mut report = legacy_report();
        let t = report.scenarios[0]
            .transcript
            .as_mut()
            .expect("a transcript");
        t.ai.sessions[0].appends = vec![
            AppendSummary {
                at_ms: 1_200,
                source: "session.instructions.append".into(),
                prompt_source: "acme.inbound_prompt@2".into(),
                injected_at_ms: Some(1_700),
            },
            AppendSummary {
                at_ms: 9_000,
                source: "session.thinking.append".into(),
                prompt_source: "<other>".into(),
                injected_at_ms: None,
            },
        ];
        let html = render_html(&report, &BTreeMap::new());
        assert!(html.contains("context appends</caption>"), "{html}");
        assert!(html.contains(
            "<td><code>session.instructions.append</code></td><td>acme.inbound_prompt@2</td>"
        ));
        assert!(html.contains("&lt;other&gt;</td><td><span class=\"flag\">never</span>"));
    }
}
