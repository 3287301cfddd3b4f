//! The self-contained HTML report.
//!
//! One HTML5 file with inline CSS and no script at all: it must open from a CI artifact or an
//! e-mail attachment with no network. A Content-Security-Policy meta tag enforces that in the
//! browser (`default-src 'none'`), so a future edit that adds an external URL shows up as a
//! console error instead of a silent leak. Audio is embedded as `data:` URLs.
//!
//! The page is built to make the seed bug obvious: an inbound call that received the tenant's
//! OUTBOUND prompt gets a red `wrong-prompt` banner above its prompt ledger, and its scenario row
//! in the summary is flagged. Rendering is deterministic (no wall clock), so two renders of one
//! report are byte-identical.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use base64::Engine as _;

use super::run_report::{Outcome, RunReport, ScenarioReport};
use super::transcript::{CallSummary, ResponseSummary, SessionSummary, Transcript};

/// Audio to embed per call: µ-law 8 kHz bytes, embedded as WAV `data:` URLs.
#[derive(Debug, Clone, Default)]
pub struct CallAudio {
    /// What the caller heard (the server's audio).
    pub heard_by_caller: Vec<u8>,
    /// What the mock AI received from the server.
    pub received_by_ai: Vec<u8>,
}

/// Appends formatted text to a `String`; writing to a `String` cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

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
.failed-assertions li{margin-bottom:6px}.harness-error{background:#fff8e1;border:1px solid #f0d48a;padding:8px 12px}
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

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML id fragment for a name: ASCII alphanumerics kept (lower-cased), the rest become `-`.
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "x".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A duration on the scenario clock, for humans: `850 ms`, `12.300 s`, `1:02:03.000`.
fn fmt_ms(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{}.{:03} s", ms / 1_000, ms % 1_000)
    } else {
        let (h, m, s, frac) = (
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1_000 % 60,
            ms % 1_000,
        );
        if h > 0 {
            format!("{h}:{m:02}:{s:02}.{frac:03}")
        } else {
            format!("{m}:{s:02}.{frac:03}")
        }
    }
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}

/// The other call direction, for naming the wrong prompt.
fn other_direction(direction: &str) -> Option<&'static str> {
    match direction {
        "inbound" => Some("outbound"),
        "outbound" => Some("inbound"),
        _ => None,
    }
}

/// True when the call got the other direction's tenant prompt.
fn is_wrong_prompt(call: &CallSummary) -> bool {
    call.direction_mixup
        || other_direction(&call.direction)
            .is_some_and(|other| call.prompt_source == format!("{}.{other}_prompt", call.tenant))
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

    if let Some(t) = &s.transcript {
        render_transcript(out, s, t, slug, audio);
    }
    out.push_str("</section>\n");
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

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// The AI sessions that served a call, by the call's index list or by the session's own tag.
fn call_sessions<'a>(t: &'a Transcript, call: &CallSummary) -> Vec<&'a SessionSummary> {
    t.ai.sessions
        .iter()
        .filter(|s| call.ai_sessions.contains(&s.index) || s.call.as_deref() == Some(&call.name))
        .collect()
}

/// The AI responses of a call.
fn call_responses<'a>(t: &'a Transcript, call: &CallSummary) -> Vec<&'a ResponseSummary> {
    t.ai.responses
        .iter()
        .filter(|r| r.call.as_deref() == Some(&call.name) || call.ai_sessions.contains(&r.session))
        .collect()
}

/// Parses a status callback record `event@ms`.
fn parse_callback(record: &str) -> Option<(&str, u64)> {
    let (event, ms) = record.rsplit_once('@')?;
    Some((event, ms.trim().parse().ok()?))
}

const SVG_W: f64 = 1000.0;
const PLOT_X0: f64 = 130.0;
const PLOT_X1: f64 = 985.0;
const ROW_H: f64 = 22.0;
const TOP: f64 = 6.0;

/// The time axis of one timeline: `0..=total_ms` mapped onto the plot width.
struct Axis {
    total_ms: u64,
}

impl Axis {
    fn x(&self, ms: u64) -> f64 {
        let frac = ms.min(self.total_ms) as f64 / self.total_ms as f64;
        PLOT_X0 + frac * (PLOT_X1 - PLOT_X0)
    }

    /// A tick step giving at most ten ticks, from a list of round durations.
    fn tick_step(&self) -> u64 {
        const STEPS: &[u64] = &[
            1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000,
            60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
        ];
        STEPS
            .iter()
            .copied()
            .find(|step| self.total_ms / step <= 10)
            .unwrap_or_else(|| (self.total_ms / 10).div_ceil(3_600_000) * 3_600_000)
    }
}

fn tick_label(ms: u64, step: u64) -> String {
    if ms == 0 {
        "0".to_owned()
    } else if step < 1_000 {
        format!("{ms} ms")
    } else if step < 60_000 {
        format!("{} s", ms / 1_000)
    } else if step >= 3_600_000 {
        format!("{} h", ms / 3_600_000)
    } else {
        format!("{} min", ms / 60_000)
    }
}

/// Point markers grouped by rounded x so a long call never draws more than one element per
/// horizontal unit of the plot.
#[derive(Default)]
struct Points {
    by_x: BTreeMap<i64, (Vec<String>, bool)>,
}

impl Points {
    fn add(&mut self, x: f64, title: String, bad: bool) {
        let entry = self.by_x.entry(x.round() as i64).or_default();
        entry.0.push(title);
        entry.1 |= bad;
    }

    fn render(&self, out: &mut String, y: f64, ok_class: &str) {
        for (x, (titles, bad)) in &self.by_x {
            let class = if *bad { "bad" } else { ok_class };
            let mut title = titles
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
            if titles.len() > 5 {
                w!(title, "\n… and {} more", titles.len() - 5);
            }
            w!(
                out,
                "<circle class=\"{class}\" cx=\"{x}\" cy=\"{y:.1}\" r=\"4.5\"><title>{}</title></circle>",
                escape(&title)
            );
        }
    }
}

/// Vertical ticks drawn as one `<path>`, deduplicated by rounded x.
fn tick_path(out: &mut String, xs: impl Iterator<Item = f64>, y: f64, class: &str, title: &str) {
    let xs: BTreeSet<i64> = xs.map(|x| (x * 2.0).round() as i64).collect();
    if xs.is_empty() {
        return;
    }
    let mut d = String::new();
    for x in &xs {
        w!(d, "M{:.1} {:.1}v14", *x as f64 / 2.0, y - 7.0);
    }
    w!(
        out,
        "<path class=\"{class}\" d=\"{d}\"><title>{}</title></path>",
        escape(title)
    );
}

fn bar(
    out: &mut String,
    axis: &Axis,
    from: u64,
    to: Option<u64>,
    y: f64,
    class: &str,
    title: &str,
) {
    let x0 = axis.x(from);
    let x1 = axis.x(to.unwrap_or(axis.total_ms)).max(x0 + 1.5);
    w!(
        out,
        "<rect class=\"{class}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"12\" rx=\"2\"><title>{}</title></rect>",
        y - 6.0,
        x1 - x0,
        escape(title)
    );
}

fn render_timeline(out: &mut String, t: &Transcript, call: &CallSummary) {
    let sessions = call_sessions(t, call);
    let responses = call_responses(t, call);
    let callbacks: Vec<(&str, u64)> = call
        .status_callbacks
        .iter()
        .filter_map(|c| parse_callback(c))
        .collect();
    // The axis is the scenario's, stretched if some record lies beyond `simulated_ms`.
    let latest = [
        Some(t.simulated_ms),
        call.ended_at_ms,
        call.stream.as_ref().and_then(|s| s.ended_at_ms),
        sessions.iter().filter_map(|s| s.closed_at_ms).max(),
        responses.iter().map(|r| r.at_ms).max(),
        callbacks.iter().map(|c| c.1).max(),
        call.webhooks.iter().map(|w| w.at_ms).max(),
    ];
    let axis = Axis {
        total_ms: latest.into_iter().flatten().max().unwrap_or(0).max(1),
    };
    let rows = [
        "call",
        "webhooks",
        "media stream",
        "AI sessions",
        "AI responses",
        "clears",
        "status callbacks",
    ];
    let row_y = |i: usize| TOP + ROW_H * i as f64 + ROW_H / 2.0;
    let height = TOP + ROW_H * rows.len() as f64 + 26.0;

    out.push_str("<div class=\"timeline\">\n<h4>Timeline</h4>\n");
    w!(
        out,
        "<svg viewBox=\"0 0 {SVG_W} {height:.0}\" role=\"img\" aria-label=\"timeline of call {}\">",
        escape(&call.name)
    );
    out.push_str(
        "<style>text{font:11px sans-serif;fill:#333}.grid{stroke:#e4e6ec}.axis{stroke:#888}\
         .call{fill:#cfd4dc}.ok{fill:#2e7d32}.bad{fill:#c62828}.stream{fill:#64b5f6}\
         .session{fill:#9575cd}.resp{stroke:#1b5e20;stroke-width:1.5}.clear{stroke:#ef6c00;stroke-width:1.5}\
         .cb{fill:#546e7a}.label{fill:#fff;font-size:10px}</style>",
    );
    // Grid and axis labels first so markers paint over them.
    let step = axis.tick_step();
    let axis_y = TOP + ROW_H * rows.len() as f64;
    let mut tick = 0;
    while tick <= axis.total_ms {
        let x = axis.x(tick);
        // A label centred on the last tick would be clipped by the right edge.
        let anchor = if x > PLOT_X1 - 20.0 { "end" } else { "middle" };
        w!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{axis_y:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            axis_y + 16.0,
            tick_label(tick, step)
        );
        tick += step;
    }
    w!(
        out,
        "<line class=\"axis\" x1=\"{PLOT_X0}\" y1=\"{axis_y:.1}\" x2=\"{PLOT_X1}\" y2=\"{axis_y:.1}\"/>"
    );
    for (i, name) in rows.iter().enumerate() {
        w!(
            out,
            "<text x=\"4\" y=\"{:.1}\">{name}</text>",
            row_y(i) + 4.0
        );
    }

    bar(
        out,
        &axis,
        call.started_at_ms,
        call.ended_at_ms,
        row_y(0),
        "call",
        &format!(
            "call {} {} → {}",
            call.name,
            fmt_ms(call.started_at_ms),
            call.ended_at_ms.map_or("(no end)".to_owned(), fmt_ms)
        ),
    );

    let mut hooks = Points::default();
    for wh in &call.webhooks {
        let ok = wh.http_status.is_some_and(|s| (200..300).contains(&s)) && wh.error_code.is_none();
        hooks.add(
            axis.x(wh.at_ms),
            format!(
                "{} webhook {} → {} at {}",
                if wh.fallback { "fallback" } else { "primary" },
                wh.url,
                opt(wh.http_status),
                fmt_ms(wh.at_ms)
            ),
            !ok,
        );
    }
    hooks.render(out, row_y(1), "ok");

    if let Some(st) = &call.stream
        && let Some(from) = st.connected_at_ms
    {
        bar(
            out,
            &axis,
            from,
            st.ended_at_ms,
            row_y(2),
            "stream",
            &format!(
                "stream {} connected {} ended {} by {}",
                st.stream_sid,
                fmt_ms(from),
                st.ended_at_ms.map_or("–".to_owned(), fmt_ms),
                st.ended_by.as_deref().unwrap_or("–")
            ),
        );
    }

    for s in &sessions {
        bar(
            out,
            &axis,
            s.opened_at_ms,
            s.closed_at_ms,
            row_y(3),
            "session",
            &format!(
                "AI session #{} {} → {} ({})",
                s.index,
                fmt_ms(s.opened_at_ms),
                s.closed_at_ms.map_or("still open".to_owned(), fmt_ms),
                s.prompt_source
            ),
        );
        let x0 = axis.x(s.opened_at_ms);
        let x1 = axis.x(s.closed_at_ms.unwrap_or(axis.total_ms));
        if x1 - x0 > 24.0 {
            w!(
                out,
                "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\">#{}</text>",
                x0 + 3.0,
                row_y(3) + 4.0,
                s.index
            );
        }
    }

    tick_path(
        out,
        responses.iter().map(|r| axis.x(r.at_ms)),
        row_y(4),
        "resp",
        &format!("{} AI response(s)", responses.len()),
    );
    if let Some(st) = &call.stream {
        tick_path(
            out,
            st.clears_at_ms.iter().map(|&ms| axis.x(ms)),
            row_y(5),
            "clear",
            &format!("{} clear(s)", st.clears_at_ms.len()),
        );
    }

    let mut cbs = Points::default();
    for (event, ms) in &callbacks {
        cbs.add(axis.x(*ms), format!("{event} at {}", fmt_ms(*ms)), false);
    }
    cbs.render(out, row_y(6), "cb");

    out.push_str(
        "</svg>\n<div class=\"legend\">\
        <span><i style=\"background:#cfd4dc\"></i>call</span>\
        <span><i style=\"background:#2e7d32\"></i>webhook 2xx</span>\
        <span><i style=\"background:#c62828\"></i>webhook failed</span>\
        <span><i style=\"background:#64b5f6\"></i>media stream</span>\
        <span><i style=\"background:#9575cd\"></i>AI session</span>\
        <span><i style=\"background:#1b5e20\"></i>AI response</span>\
        <span><i style=\"background:#ef6c00\"></i>clear</span>\
        <span><i style=\"background:#546e7a\"></i>status callback</span></div>\n</div>\n",
    );
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

fn render_prompt_ledger(out: &mut String, t: &Transcript, call: &CallSummary) {
    out.push_str("<div class=\"prompt-ledger\">\n<h4>Prompt ledger</h4>\n");
    let tenant = t.tenants.get(&call.tenant);
    let expected = tenant.and_then(|ts| match call.direction.as_str() {
        "inbound" => Some(ts.inbound_prompt.as_str()),
        "outbound" => Some(ts.outbound_prompt.as_str()),
        _ => None,
    });
    let own_source = format!("{}.{}_prompt", call.tenant, call.direction);
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
    } else if expected.is_some() && call.prompt_source != own_source {
        w!(
            out,
            "<div class=\"prompt-mismatch\">Call <code>{}</code> did not talk to tenant {}'s {} prompt: prompt source <code>{}</code>.</div>\n",
            escape(&call.name),
            escape(&call.tenant),
            escape(&call.direction),
            escape(&call.prompt_source)
        );
    }
    match (expected, tenant) {
        (Some(_), _) => w!(
            out,
            "<p>Expected: tenant <code>{}</code>'s {} prompt (<code>{}</code>).</p>\n",
            escape(&call.tenant),
            escape(&call.direction),
            escape(&own_source)
        ),
        (None, None) => w!(
            out,
            "<p>Tenant <code>{}</code> is not in the transcript; no expected prompt.</p>\n",
            escape(&call.tenant)
        ),
        (None, Some(_)) => w!(
            out,
            "<p>Unknown direction <code>{}</code>; no expected prompt.</p>\n",
            escape(&call.direction)
        ),
    }
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
    out.push_str("</div>\n");
}

fn render_message_log(out: &mut String, t: &Transcript, call: &CallSummary) {
    out.push_str("<div class=\"message-log\">\n<h4>Message log</h4>\n");
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
        if !s.truncates.is_empty() {
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
    out.push_str("</div>\n");
}

/// Longest audio embedded per player. A 16-bit WAV of a whole 25-minute call is 24 MB before
/// base64, which makes the report too heavy to open; the first minutes are what a person
/// listens to when checking a greeting or a barge-in.
const MAX_EMBEDDED_AUDIO_MS: u64 = 120_000;

fn render_audio(out: &mut String, audio: &CallAudio) {
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
    use super::*;
    use crate::report::run_report::ScenarioReport;
    use crate::report::transcript::{
        AiSummary, ServerSummary, StreamSummary, TenantState, TruncateSummary, UpdateSummary,
        WebhookSummary,
    };
    use crate::scenario::expect::AssertionResult;

    const OUTBOUND: &str = "You are calling the customer for a <sales> pitch & \"be persuasive\".";

    fn session(index: usize, call: &str, instructions: &str, source: &str) -> SessionSummary {
        SessionSummary {
            index,
            call: Some(call.to_owned()),
            opened_at_ms: 1_200,
            closed_at_ms: Some(61_000),
            lifetime_ms: Some(59_800),
            closed_by: Some("server".into()),
            close_code: Some(1000),
            instructions: instructions.to_owned(),
            prompt_source: source.to_owned(),
            updates: vec![UpdateSummary {
                at_ms: 1_250,
                accepted: true,
                error: None,
                prompt_source: source.to_owned(),
                input_format: "audio/pcmu".into(),
                output_format: "audio/pcmu".into(),
            }],
            responses: 1,
            truncates: vec![TruncateSummary {
                at_ms: 20_000,
                audio_end_ms: 640,
                item_audio_ms: Some(2_000),
                error: None,
            }],
            errors_sent: vec![],
            audio_received_s: 58,
        }
    }

    fn call(name: &str, source: &str, mixup: bool, instructions: &str) -> CallSummary {
        CallSummary {
            name: name.to_owned(),
            tenant: "acme".into(),
            direction: "inbound".into(),
            call_sid: "CA0123456789abcdef0123456789abcdef".into(),
            status: "completed".into(),
            duration_secs: Some(60),
            started_at_ms: 0,
            ended_at_ms: Some(61_000),
            webhooks: vec![WebhookSummary {
                at_ms: 5,
                url: "https://server.test/twiml/incoming/acme?x=1&y=2".into(),
                fallback: false,
                signed: true,
                http_status: Some(200),
                error_code: None,
            }],
            stream: Some(StreamSummary {
                stream_sid: "MZ01".into(),
                url: "wss://server.test/media".into(),
                custom_parameters: BTreeMap::from([("tenant".to_owned(), "acme".to_owned())]),
                handshake_status: Some(101),
                connected_at_ms: Some(900),
                ended_at_ms: Some(61_000),
                ended_by: Some("twilio".into()),
                marks_sent: 3,
                marks_echoed: 3,
                clears_at_ms: vec![30_000],
                audio_heard_ms: 4_000,
                warnings: vec![],
            }),
            status_callbacks: vec![
                "initiated@0".into(),
                "ringing@2".into(),
                "completed@61000".into(),
            ],
            errors: vec![],
            ai_sessions: vec![0],
            instructions: Some(instructions.to_owned()),
            prompt_source: source.to_owned(),
            direction_mixup: mixup,
        }
    }

    fn transcript(calls: Vec<CallSummary>, sessions: Vec<SessionSummary>) -> Transcript {
        let responses = sessions
            .iter()
            .map(|s| ResponseSummary {
                session: s.index,
                call: s.call.clone(),
                at_ms: 3_000,
                trigger: "vad".into(),
                instructions: s.instructions.clone(),
                prompt_source: s.prompt_source.clone(),
                status: "completed".into(),
            })
            .collect();
        Transcript {
            scenario: "seed/inbound-empty-ai-prompt".into(),
            seed: 7,
            target: "legacy".into(),
            tenants: BTreeMap::from([(
                "acme".to_owned(),
                TenantState {
                    business_name: "Acme".into(),
                    inbound_prompt: String::new(),
                    outbound_prompt: OUTBOUND.into(),
                    greeting: None,
                },
            )]),
            tenant_changes: vec![],
            calls,
            ai: AiSummary {
                sessions,
                responses,
                open_sessions: 0,
            },
            server: ServerSummary {
                residual_state: serde_json::json!("none"),
            },
            simulated_ms: 61_000,
        }
    }

    fn legacy_report() -> RunReport {
        let t = transcript(
            vec![call("caller", "acme.outbound_prompt", true, OUTBOUND)],
            vec![session(0, "caller", OUTBOUND, "acme.outbound_prompt")],
        );
        RunReport {
            callsim_version: "0.1.0".into(),
            target: "legacy <server>".into(),
            scenarios: vec![
                ScenarioReport {
                    name: "seed/inbound-empty-ai-prompt".into(),
                    file: "scenarios/seed/inbound-empty-ai-prompt.yaml".into(),
                    title: "Inbound call, empty inbound prompt".into(),
                    tags: vec!["seed".into()],
                    outcome: Outcome::Failed,
                    assertions: vec![AssertionResult {
                        path: "calls.caller.prompt_source".into(),
                        passed: false,
                        expected: "equals acme.inbound_prompt".into(),
                        message: "got `acme.outbound_prompt`".into(),
                    }],
                    error: None,
                    runs: 1,
                    passed_runs: 0,
                    transcript: Some(t),
                },
                ScenarioReport {
                    name: "seed/broken".into(),
                    file: "scenarios/seed/broken.yaml".into(),
                    title: "Broken".into(),
                    tags: vec![],
                    outcome: Outcome::Error,
                    assertions: vec![],
                    error: Some("server did not start: <timeout>".into()),
                    runs: 1,
                    passed_runs: 0,
                    transcript: None,
                },
            ],
        }
    }

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
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn slugs_and_times_are_readable() {
        assert_eq!(
            slug("seed/inbound-empty-ai-prompt"),
            "seed-inbound-empty-ai-prompt"
        );
        assert_eq!(slug("A b//c"), "a-b-c");
        assert_eq!(slug("///"), "x");
        assert_eq!(fmt_ms(850), "850 ms");
        assert_eq!(fmt_ms(12_300), "12.300 s");
        assert_eq!(fmt_ms(7_203_000), "2:00:03.000");
        assert_eq!(
            parse_callback("completed@61000"),
            Some(("completed", 61_000))
        );
        assert_eq!(parse_callback("garbage"), None);
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
    fn two_hour_call_timeline_stays_small() {
        let mut c = call("caller", "acme.inbound_prompt", false, "x");
        c.ended_at_ms = Some(7_200_000);
        let mut t = transcript(
            vec![c],
            vec![session(0, "caller", "x", "acme.inbound_prompt")],
        );
        t.simulated_ms = 7_200_000;
        t.ai.responses = (0..7_200)
            .map(|i| ResponseSummary {
                session: 0,
                call: Some("caller".into()),
                at_ms: i * 1_000,
                trigger: "vad".into(),
                instructions: "x".into(),
                prompt_source: "acme.inbound_prompt".into(),
                status: "completed".into(),
            })
            .collect();
        let mut out = String::new();
        render_timeline(&mut out, &t, &t.calls[0]);
        // One path for all 7200 responses, at most ten grid lines, hour-scale labels.
        assert_eq!(out.matches("class=\"resp\"").count(), 1);
        assert!(out.matches("<line class=\"grid\"").count() <= 11);
        assert!(
            out.contains(">30 min<") && out.contains(">120 min<"),
            "{out}"
        );
        let path_start = out.find("class=\"resp\" d=\"").unwrap();
        let moves = out[path_start..]
            .split('"')
            .nth(3)
            .unwrap()
            .matches('M')
            .count();
        assert!(moves <= 2 * 860, "{moves} ticks");
        assert!(out.len() < 60_000, "{} bytes", out.len());
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
