//! The prompt ledger: which prompt each call's AI got, diffed against the tenant's prompt for
//! the call's direction, with the red wrong-prompt banner for the seed bug.

use std::fmt::Write as _;

use super::records::{call_responses, call_sessions};
use super::text::{escape, fmt_ms, opt, w};
use crate::transcript::model::{CallSummary, Transcript};

/// The other call direction, for naming the wrong prompt.
fn other_direction(direction: &str) -> Option<&'static str> {
    match direction {
        "inbound" => Some("outbound"),
        "outbound" => Some("inbound"),
        _ => None,
    }
}

/// True when the call got the other direction's tenant prompt.
pub(super) fn is_wrong_prompt(call: &CallSummary) -> bool {
    call.direction_mixup
        || other_direction(&call.direction)
            .is_some_and(|other| call.prompt_source == format!("{}.{other}_prompt", call.tenant))
}

/// Whether the instructions carry the expected prompt's text. Judged on the text, not on the
/// prompt's name: a prompt the target declares has a name of its own, and a later revision
/// that extends the first still carries it.
fn carries(instructions: Option<&str>, expected: &str) -> bool {
    !expected.trim().is_empty() && instructions.is_some_and(|got| got.contains(expected))
}

/// A word diff of the expected and the delivered prompt, as HTML.
fn word_diff(expected: &str, delivered: &str) -> String {
    if expected == delivered {
        return format!(
            "<p class=\"prompt-ok\">matches the expected prompt</p><pre>{}</pre>",
            escape(delivered)
        );
    }
    let mut out = String::from(
        "<p class=\"diff-legend\"><del>only in the expected prompt</del> <ins>only in what the AI got</ins></p>",
    );
    if expected.trim().is_empty() {
        out.push_str("<p class=\"empty-expected\">The expected prompt is empty.</p>");
    }
    out.push_str("<div class=\"diff\">");
    let diff = similar::TextDiff::from_words(expected, delivered);
    for change in diff.iter_all_changes() {
        let text = escape(change.value());
        match change.tag() {
            similar::ChangeTag::Equal => out.push_str(&text),
            similar::ChangeTag::Delete => w!(out, "<del>{text}</del>"),
            similar::ChangeTag::Insert => w!(out, "<ins>{text}</ins>"),
        }
    }
    out.push_str("</div>");
    out
}

pub(super) fn render_prompt_ledger(out: &mut String, t: &Transcript, call: &CallSummary) {
    out.push_str("<div class=\"prompt-ledger\">\n<h4>Prompt ledger</h4>\n");
    let tenant = t.tenants.get(&call.tenant);
    let expected = tenant.and_then(|ts| match call.direction.as_str() {
        "inbound" => Some(ts.inbound_prompt.as_str()),
        "outbound" => Some(ts.outbound_prompt.as_str()),
        _ => None,
    });
    let own_source = format!("{}.{}_prompt", call.tenant, call.direction);
    render_banner(out, call, expected);
    render_expected(out, call, expected, tenant.is_some(), &own_source);
    w!(
        out,
        "<h4>What the caller talked to (source <code>{}</code>)</h4>\n",
        escape(&call.prompt_source)
    );
    match (&call.instructions, expected) {
        (Some(got), Some(exp)) => out.push_str(&word_diff(exp, got)),
        (Some(got), None) => w!(out, "<pre>{}</pre>", escape(got)),
        (None, _) => out.push_str("<p>No instructions reached the AI.</p>"),
    }
    out.push('\n');
    render_sessions(out, t, call, expected);
    render_responses(out, t, call);
    out.push_str("</div>\n");
}

/// The red banner for the seed bug (the other direction's prompt), or a plain note when the
/// call talked to some other prompt than its own.
fn render_banner(out: &mut String, call: &CallSummary, expected: Option<&str>) {
    if is_wrong_prompt(call) {
        let other = other_direction(&call.direction).unwrap_or("other direction's");
        let mut direction = call.direction.clone();
        if let Some(first) = direction.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        w!(
            out,
            "<div class=\"wrong-prompt\" role=\"alert\">{direction} call <code>{}</code> received tenant {}'s {} prompt (prompt source <code>{}</code>)",
            escape(&call.name),
            escape(&call.tenant),
            other.to_ascii_uppercase(),
            escape(&call.prompt_source)
        );
        if expected.is_some_and(|e| e.trim().is_empty()) {
            w!(
                out,
                "; the tenant's {} prompt is empty",
                escape(&call.direction)
            );
        }
        out.push_str(".</div>\n");
    } else if let Some(expected) = expected
        && !carries(call.instructions.as_deref(), expected)
    {
        w!(
            out,
            "<div class=\"prompt-mismatch\">Call <code>{}</code> did not talk to tenant {}'s {} prompt: prompt source <code>{}</code>.</div>\n",
            escape(&call.name),
            escape(&call.tenant),
            escape(&call.direction),
            escape(&call.prompt_source)
        );
    }
}

/// Which prompt the call should have talked to, or why there is none.
fn render_expected(
    out: &mut String,
    call: &CallSummary,
    expected: Option<&str>,
    tenant_known: bool,
    own_source: &str,
) {
    match (expected, tenant_known) {
        (Some(_), _) => w!(
            out,
            "<p>Expected: tenant <code>{}</code>'s {} prompt (<code>{}</code>).</p>\n",
            escape(&call.tenant),
            escape(&call.direction),
            escape(own_source)
        ),
        (None, false) => w!(
            out,
            "<p>Tenant <code>{}</code> is not in the transcript; no expected prompt.</p>\n",
            escape(&call.tenant)
        ),
        (None, true) => w!(
            out,
            "<p>Unknown direction <code>{}</code>; no expected prompt.</p>\n",
            escape(&call.direction)
        ),
    }
}

/// Each AI session of the call with its instructions, diffed against the expected prompt.
fn render_sessions(out: &mut String, t: &Transcript, call: &CallSummary, expected: Option<&str>) {
    let sessions = call_sessions(t, call);
    if sessions.is_empty() {
        out.push_str("<p>No AI session served this call.</p>\n");
    }
    for s in &sessions {
        w!(
            out,
            "<div class=\"session\"><h4>AI session #{}: opened {}, closed {} by {} (code {}), source <code>{}</code>, {} response(s)</h4>\n",
            s.index,
            fmt_ms(s.opened_at_ms),
            s.closed_at_ms.map_or("–".to_owned(), fmt_ms),
            escape(s.closed_by.as_deref().unwrap_or("–")),
            opt(s.close_code),
            escape(&s.prompt_source),
            s.responses
        );
        match expected {
            Some(exp) => out.push_str(&word_diff(exp, &s.instructions)),
            None => w!(out, "<pre>{}</pre>", escape(&s.instructions)),
        }
        out.push_str("</div>\n");
    }
}

/// Every response of the call and the prompt behind it, the other direction's flagged.
fn render_responses(out: &mut String, t: &Transcript, call: &CallSummary) {
    let responses = call_responses(t, call);
    if !responses.is_empty() {
        out.push_str("<table class=\"responses\"><tr><th>at</th><th>session</th><th>trigger</th><th>prompt source</th><th>status</th></tr>\n");
        for r in responses {
            let class = if other_direction(&call.direction)
                .is_some_and(|o| r.prompt_source == format!("{}.{o}_prompt", call.tenant))
            {
                " class=\"flag\""
            } else {
                ""
            };
            w!(
                out,
                "<tr><td>{}</td><td>#{}</td><td>{}</td><td{class}>{}</td><td>{}</td></tr>\n",
                fmt_ms(r.at_ms),
                r.session,
                escape(&r.trigger),
                escape(&r.prompt_source),
                escape(&r.status)
            );
        }
        out.push_str("</table>\n");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::fixtures::{OUTBOUND, call, legacy_report, session, transcript};
    use super::super::page::render_html;
    use super::*;
    use crate::report::run_report::Outcome;

    #[test]
    fn correct_prompt_has_no_banner_and_diff_matches() {
        let good = "Answer the inbound caller.";
        let mut t = transcript(
            vec![call("caller", "acme.inbound_prompt", false, good)],
            vec![session(0, "caller", good, "acme.inbound_prompt")],
        );
        if let Some(tenant) = t.tenants.get_mut("acme") {
            tenant.inbound_prompt = good.into();
        }
        let mut report = legacy_report();
        report.scenarios[0].outcome = Outcome::Passed;
        report.scenarios[0].assertions[0].passed = true;
        report.scenarios[0].transcript = Some(t);
        let html = render_html(&report, &BTreeMap::new());
        assert!(!html.contains("class=\"wrong-prompt\""));
        assert!(!html.contains("class=\"failed-assertions\""));
        assert!(!html.contains("class=\"prompt-mismatch\""));
        assert!(html.contains("matches the expected prompt"));
    }

    #[test]
    fn prompt_source_alone_flags_the_other_direction() {
        // Even when the transcript builder did not set `direction_mixup`, a source naming the
        // other direction's prompt is the seed bug.
        let c = call("caller", "acme.outbound_prompt", false, OUTBOUND);
        assert!(is_wrong_prompt(&c));
        let c = call("caller", "openai-default", false, "default");
        assert!(!is_wrong_prompt(&c));
        let mut report = legacy_report();
        report.scenarios[0].transcript = Some(transcript(vec![c], vec![]));
        let html = render_html(&report, &BTreeMap::new());
        assert!(html.contains("class=\"prompt-mismatch\""));
        assert!(html.contains("No AI session served this call."));
    }

    #[test]
    fn a_prompt_the_target_declares_is_judged_by_its_text_not_its_name() {
        // A server with a built-in prompt declared as `sample`: the call's source is that name,
        // and the tenant's prompt is that text, so nothing is amiss.
        let sample = "You are a helpful assistant.";
        let mut t = transcript(
            vec![call("caller", "sample", false, &format!("Hi. {sample}"))],
            vec![session(0, "caller", sample, "sample")],
        );
        if let Some(tenant) = t.tenants.get_mut("acme") {
            tenant.inbound_prompt = sample.into();
        }
        let mut report = legacy_report();
        report.scenarios[0].transcript = Some(t.clone());
        let html = render_html(&report, &BTreeMap::new());
        assert!(!html.contains("class=\"prompt-mismatch\""), "{html}");
        // The same call without the text is a mismatch, whatever its source is named.
        t.calls[0].instructions = Some("Something else entirely.".into());
        report.scenarios[0].transcript = Some(t);
        let html = render_html(&report, &BTreeMap::new());
        assert!(html.contains("class=\"prompt-mismatch\""));
    }
}
