//! The document skeleton: head, inline CSS, the run summary and one section per scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::ledger::{is_wrong_prompt, render_prompt_ledger};
use super::log::{CallAudio, render_audio, render_message_log};
use super::text::{escape, fmt_ms, opt, slug, w};
use super::timeline::render_timeline;
use crate::report::run_report::{Outcome, RunReport, ScenarioReport};
use crate::transcript::model::{SessionSummary, Transcript};

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:16px 24px;color:#1d2330;background:#f6f7f9}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:0 0 4px}h3{font-size:15px;margin:16px 0 6px}h4{font-size:13px;margin:10px 0 4px;color:#444}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #dde;padding:6px 8px;margin:4px 0}
table{border-collapse:collapse;margin:4px 0 8px;background:#fff}td,th{border:1px solid #dde;padding:2px 8px;text-align:left;vertical-align:top}th{background:#eef0f4}
#summary,.scenario{background:#fff;border:1px solid #d4d8e0;border-radius:6px;padding:12px 16px;margin:0 0 16px}
.counts span{display:inline-block;margin-right:14px;font-weight:600}
.badge{display:inline-block;padding:0 8px;border-radius:9px;font-size:12px;font-weight:600;color:#fff}
.badge-passed{background:#2e7d32}.badge-failed{background:#c62828}.badge-error{background:#ad5d00}.badge-skipped{background:#757575}
.scenario[data-outcome=failed]{border-left:6px solid #c62828}.scenario[data-outcome=passed]{border-left:6px solid #2e7d32}
.scenario[data-outcome=error]{border-left:6px solid #ad5d00}.scenario[data-outcome=skipped]{border-left:6px solid #757575}
.meta{color:#555}.tag{display:inline-block;background:#e8eaf6;border-radius:4px;padding:0 6px;margin-right:4px;font-size:12px}
.failed-assertions{background:#fff5f5;border:1px solid #f0b8b8;padding:8px 12px;margin:8px 0}
.failed-assertions li{margin-bottom:6px}.harness-error{background:#fff8e1;border:1px solid #f0d48a;padding:8px 12px}.warnings{background:#f5f5f5;border:1px solid #ccc;padding:8px 12px}
.call{border-top:1px solid #dde;margin-top:12px;padding-top:4px}
.wrong-prompt{background:#c62828;color:#fff;font-weight:700;padding:8px 12px;border-radius:4px;margin:6px 0}
.wrong-prompt code{color:#fff}.flag{color:#c62828;font-weight:700}
.prompt-mismatch{background:#fff3e0;border:1px solid #f0b070;padding:6px 10px;margin:6px 0}
.prompt-ok{color:#2e7d32;font-weight:600}
.diff{white-space:pre-wrap;background:#fff;border:1px solid #dde;padding:6px 8px;font:12px/1.5 ui-monospace,Menlo,Consolas,monospace}
.diff del{background:#ffd7d5;color:#82071e}.diff ins{background:#ccffd8;color:#055d20;text-decoration:none}
.timeline svg{width:100%;height:auto;background:#fff;border:1px solid #dde}
.legend span{display:inline-block;margin-right:12px;font-size:12px}.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
.audio label{display:inline-block;width:150px}.audio audio{vertical-align:middle;height:36px}
caption{text-align:left;font-weight:600;padding:2px 0}
.only-failed{margin:8px 0}
body:has(#only-failed:checked) .scenario[data-outcome=passed],body:has(#only-failed:checked) .scenario[data-outcome=skipped]{display:none}
"#;

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}

/// Renders the whole run as one self-contained HTML page.
pub fn render_html(report: &RunReport, audio: &BTreeMap<(String, String), CallAudio>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; media-src data:; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    w!(
        out,
        "<title>callsim report: {}</title>\n",
        escape(&report.target)
    );
    w!(out, "<style>{CSS}</style>\n</head>\n<body>\n");

    // Slugs are made unique up front so the summary links and the section ids agree.
    let mut used = BTreeSet::new();
    let slugs: Vec<String> = report
        .scenarios
        .iter()
        .map(|s| {
            let base = slug(&s.name);
            let mut candidate = base.clone();
            let mut n = 2;
            while !used.insert(candidate.clone()) {
                candidate = format!("{base}-{n}");
                n += 1;
            }
            candidate
        })
        .collect();

    render_summary(&mut out, report, &slugs);
    for (scenario, slug) in report.scenarios.iter().zip(&slugs) {
        render_scenario(&mut out, scenario, slug, audio);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn render_summary(out: &mut String, report: &RunReport, slugs: &[String]) {
    let (passed, failed, errors, skipped) = report.counts();
    out.push_str("<header id=\"summary\">\n<h1>callsim run report</h1>\n");
    w!(
        out,
        "<div class=\"meta\">target <code>{}</code> · callsim {} · {} scenario(s)</div>\n",
        escape(&report.target),
        escape(&report.callsim_version),
        report.scenarios.len()
    );
    w!(
        out,
        "<p class=\"counts\"><span class=\"count-passed\">{passed} passed</span>\
         <span class=\"count-failed\">{failed} failed</span>\
         <span class=\"count-error\">{errors} errors</span>\
         <span class=\"count-skipped\">{skipped} skipped</span></p>\n"
    );
    out.push_str(
        "<label class=\"only-failed\"><input type=\"checkbox\" id=\"only-failed\"> \
         show only failed and errored scenarios</label>\n",
    );
    out.push_str(
        "<table class=\"scenario-list\">\n<tr><th>outcome</th><th>scenario</th><th>title</th>\
         <th>runs passed</th><th>notes</th></tr>\n",
    );
    for (s, slug) in report.scenarios.iter().zip(slugs) {
        let word = outcome_word(s.outcome);
        let wrong: Vec<&str> = s
            .transcript
            .iter()
            .flat_map(|t| t.calls.iter())
            .filter(|c| is_wrong_prompt(c))
            .map(|c| c.name.as_str())
            .collect();
        let notes = if wrong.is_empty() {
            String::new()
        } else {
            format!(
                "<span class=\"flag\">wrong prompt: {}</span>",
                escape(&wrong.join(", "))
            )
        };
        w!(
            out,
            "<tr data-outcome=\"{word}\"><td><span class=\"badge badge-{word}\">{word}</span></td>\
             <td><a href=\"#scenario-{slug}\">{}</a></td><td>{}</td><td>{}/{}</td><td>{notes}</td></tr>\n",
            escape(&s.name),
            escape(&s.title),
            s.passed_runs,
            s.runs
        );
    }
    out.push_str("</table>\n</header>\n");
}

fn render_scenario(
    out: &mut String,
    s: &ScenarioReport,
    slug: &str,
    audio: &BTreeMap<(String, String), CallAudio>,
) {
    let word = outcome_word(s.outcome);
    w!(
        out,
        "<section class=\"scenario\" id=\"scenario-{slug}\" data-outcome=\"{word}\">\n\
         <h2><span class=\"badge badge-{word}\">{word}</span> {}</h2>\n",
        escape(&s.title)
    );
    w!(
        out,
        "<div class=\"meta\"><code>{}</code> · file <code>{}</code> · runs {}/{} passed",
        escape(&s.name),
        escape(&s.file),
        s.passed_runs,
        s.runs
    );
    if let Some(t) = &s.transcript {
        w!(
            out,
            " · seed {} · simulated {}",
            t.seed,
            fmt_ms(t.simulated_ms)
        );
    }
    out.push_str("</div>\n<div class=\"tags\">");
    for tag in &s.tags {
        w!(out, "<span class=\"tag\">{}</span>", escape(tag));
    }
    out.push_str("</div>\n");

    render_verdict(out, s);
    if let Some(t) = &s.transcript {
        render_transcript(out, s, t, slug, audio);
    }
    out.push_str("</section>\n");
}

/// Why the scenario ended as it did: the causes, the warnings, the failed assertions first, the
/// harness error, then the passed assertions folded.
fn render_verdict(out: &mut String, s: &ScenarioReport) {
    // A call's root cause comes before the assertions that only show its consequences, as on
    // the terminal; warnings follow it, since they fail nothing.
    for (class, title, lines) in [
        ("harness-error", "Cause", &s.causes),
        ("warnings", "Warning", &s.warnings),
    ] {
        if !lines.is_empty() {
            w!(out, "<div class=\"{class}\"><h3>{title}</h3><ul>\n");
            for line in lines {
                w!(out, "<li>{}</li>\n", escape(line));
            }
            out.push_str("</ul></div>\n");
        }
    }
    // Failed assertions come first: they are why anyone opens the report.
    let failed: Vec<_> = s.assertions.iter().filter(|a| !a.passed).collect();
    if !failed.is_empty() {
        out.push_str("<div class=\"failed-assertions\">\n<h3>Failed assertions</h3>\n<ol>\n");
        for a in failed {
            w!(
                out,
                "<li><code class=\"path\">{}</code> expected {}<pre>{}</pre></li>\n",
                escape(&a.path),
                escape(&a.expected),
                escape(&a.message)
            );
        }
        out.push_str("</ol>\n</div>\n");
    }
    if let Some(err) = &s.error {
        w!(
            out,
            "<div class=\"harness-error\"><h3>Error</h3><pre>{}</pre></div>\n",
            escape(err)
        );
    }
    let passed: Vec<_> = s.assertions.iter().filter(|a| a.passed).collect();
    if !passed.is_empty() {
        w!(
            out,
            "<details class=\"passed-assertions\"><summary>{} passed assertion(s)</summary><ul>\n",
            passed.len()
        );
        for a in passed {
            w!(
                out,
                "<li><code>{}</code> {}</li>\n",
                escape(&a.path),
                escape(&a.expected)
            );
        }
        out.push_str("</ul></details>\n");
    }
}

fn render_transcript(
    out: &mut String,
    s: &ScenarioReport,
    t: &Transcript,
    slug: &str,
    audio: &BTreeMap<(String, String), CallAudio>,
) {
    if !t.tenant_changes.is_empty() {
        out.push_str("<h3>Tenant edits</h3>\n<table><tr><th>at</th><th>tenant</th><th>revision</th><th>HTTP</th></tr>\n");
        for c in &t.tenant_changes {
            w!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                fmt_ms(c.at_ms),
                escape(&c.tenant),
                c.revision,
                opt(c.http_status)
            );
        }
        out.push_str("</table>\n");
    }
    for call in &t.calls {
        let call_slug = format!("{slug}-{}", self::slug(&call.name));
        w!(
            out,
            "<div class=\"call\" id=\"call-{call_slug}\">\n<h3>Call <code>{}</code>: {} to tenant <code>{}</code> · {} · <code>{}</code></h3>\n",
            escape(&call.name),
            escape(&call.direction),
            escape(&call.tenant),
            escape(&call.status),
            escape(&call.call_sid)
        );
        render_timeline(out, t, call);
        render_prompt_ledger(out, t, call);
        render_message_log(out, t, call);
        if let Some(a) = audio.get(&(s.name.clone(), call.name.clone())) {
            render_audio(out, a);
        }
        out.push_str("</div>\n");
    }
    let orphans: Vec<&SessionSummary> = t.ai.sessions.iter().filter(|x| x.call.is_none()).collect();
    if !orphans.is_empty() || t.ai.open_sessions > 0 {
        w!(
            out,
            "<h3>AI sessions not tied to a call</h3>\n<p>{} session(s) without a call; {} still open after every call ended.</p>\n",
            orphans.len(),
            t.ai.open_sessions
        );
    }
    if !t.server.residual_state.is_null() && t.server.residual_state != "none" {
        let pretty = serde_json::to_string_pretty(&t.server.residual_state).unwrap_or_default();
        w!(
            out,
            "<h3>Server residual state</h3>\n<pre class=\"residual\">{}</pre>\n",
            escape(&pretty)
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::fixtures::legacy_report;
    use super::*;

    /// Every `src="…"` and `href="…"` attribute value in the page.
    fn url_attributes(html: &str) -> Vec<&str> {
        let mut found = Vec::new();
        for attr in ["src=\"", "href=\""] {
            for (i, _) in html.match_indices(attr) {
                let rest = &html[i + attr.len()..];
                found.push(&rest[..rest.find('"').unwrap()]);
            }
        }
        found
    }

    #[test]
    fn legacy_mixup_shows_wrong_prompt_banner_and_failed_assertion() {
        let html = render_html(&legacy_report(), &BTreeMap::new());
        assert!(html.contains("class=\"wrong-prompt\""));
        assert!(
            html.contains(
                "Inbound call <code>caller</code> received tenant acme's OUTBOUND prompt"
            )
        );
        assert!(html.contains("the tenant's inbound prompt is empty"));
        assert!(html.contains("class=\"failed-assertions\""));
        assert!(html.contains("calls.caller.prompt_source"));
        assert!(html.contains("got `acme.outbound_prompt`"));
        // Failed assertions precede the call details.
        let failed_at = html.find("class=\"failed-assertions\"").unwrap();
        assert!(failed_at < html.find("class=\"timeline\"").unwrap());
        assert!(html.contains("id=\"summary\""));
        assert!(html.contains("href=\"#scenario-seed-inbound-empty-ai-prompt\""));
        assert!(html.contains(
            "<section class=\"scenario\" id=\"scenario-seed-inbound-empty-ai-prompt\" data-outcome=\"failed\">"
        ));
        assert!(html.contains("<span class=\"flag\">wrong prompt: caller</span>"));
        for class in ["prompt-ledger", "message-log", "timeline"] {
            assert!(html.contains(&format!("class=\"{class}\"")), "{class}");
        }
        // The delivered prompt is escaped, and shows up as inserted against an empty expectation.
        assert!(html.contains("<ins>&lt;sales&gt;</ins>"));
        assert!(!html.contains("<sales>"));
        // The errored scenario renders its error only.
        assert!(html.contains("data-outcome=\"error\""));
        assert!(html.contains("server did not start: &lt;timeout&gt;"));
        assert!(html.contains("1 failed") && html.contains("1 errors"));
        // No audio was given, so no players.
        assert!(!html.contains("<audio"));
    }

    #[test]
    fn causes_precede_the_failed_assertions_and_warnings_are_shown() {
        let mut report = legacy_report();
        report.scenarios[0].causes =
            vec!["call `caller`: <webhook> returned 404 (Twilio 11200)".into()];
        report.scenarios[0].warnings = vec!["call `caller`: status callback returned 404".into()];
        let html = render_html(&report, &BTreeMap::new());
        let cause = html
            .find("&lt;webhook&gt; returned 404")
            .expect("cause shown, escaped");
        let failed = html
            .find("Failed assertions")
            .expect("failed assertions shown");
        assert!(cause < failed, "the cause comes first");
        assert!(html.contains("<div class=\"warnings\"><h3>Warning</h3>"));
        assert!(html.contains("status callback returned 404"));
    }

    #[test]
    fn no_external_urls() {
        let audio = BTreeMap::from([(
            (
                "seed/inbound-empty-ai-prompt".to_owned(),
                "caller".to_owned(),
            ),
            CallAudio {
                heard_by_caller: vec![0xFF; 160],
                received_by_ai: vec![],
            },
        )]);
        let html = render_html(&legacy_report(), &audio);
        let urls = url_attributes(&html);
        assert!(urls.len() >= 3, "{urls:?}");
        for url in urls {
            assert!(
                url.starts_with('#') || url.starts_with("data:"),
                "external URL {url}"
            );
        }
        // Webhook URLs appear as text, never as links.
        assert!(html.contains("https://server.test/twiml/incoming/acme?x=1&amp;y=2"));
        assert!(html.contains("content=\"default-src 'none';"));
        assert!(!html.contains("http://") && !html.contains("<script"));
    }

    #[test]
    fn render_is_deterministic() {
        let r = legacy_report();
        assert_eq!(
            render_html(&r, &BTreeMap::new()),
            render_html(&r, &BTreeMap::new())
        );
    }
}
