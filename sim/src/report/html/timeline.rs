//! The per-call SVG timeline: call, webhooks, media stream, AI sessions and responses, clears
//! and status callbacks on one time axis.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::records::{call_responses, call_sessions};
use super::text::{escape, fmt_ms, opt, parse_callback, w};
use crate::transcript::model::{CallSummary, SessionSummary, Transcript};

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

/// The rows of the timeline, top to bottom.
const ROWS: [&str; 7] = [
    "call",
    "webhooks",
    "media stream",
    "AI sessions",
    "AI responses",
    "clears",
    "status callbacks",
];

/// The vertical centre of row `i`.
fn row_y(i: usize) -> f64 {
    TOP + ROW_H * i as f64 + ROW_H / 2.0
}

pub(super) fn render_timeline(out: &mut String, t: &Transcript, call: &CallSummary) {
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
    render_frame(out, &axis, &call.name);
    render_call_and_webhooks(out, &axis, call);
    render_stream(out, &axis, call);
    render_sessions(out, &axis, &sessions);
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

/// Opens the timeline: the SVG with its styles, then the grid, the time axis and the row
/// labels, first so that markers paint over them.
fn render_frame(out: &mut String, axis: &Axis, call_name: &str) {
    let height = TOP + ROW_H * ROWS.len() as f64 + 26.0;
    out.push_str("<div class=\"timeline\">\n<h4>Timeline</h4>\n");
    w!(
        out,
        "<svg viewBox=\"0 0 {SVG_W} {height:.0}\" role=\"img\" aria-label=\"timeline of call {}\">",
        escape(call_name)
    );
    out.push_str(
        "<style>text{font:11px sans-serif;fill:#333}.grid{stroke:#e4e6ec}.axis{stroke:#888}\
         .call{fill:#cfd4dc}.ok{fill:#2e7d32}.bad{fill:#c62828}.stream{fill:#64b5f6}\
         .session{fill:#9575cd}.resp{stroke:#1b5e20;stroke-width:1.5}.clear{stroke:#ef6c00;stroke-width:1.5}\
         .cb{fill:#546e7a}.label{fill:#fff;font-size:10px}</style>",
    );
    let step = axis.tick_step();
    let axis_y = TOP + ROW_H * ROWS.len() as f64;
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
    for (i, name) in ROWS.iter().enumerate() {
        w!(
            out,
            "<text x=\"4\" y=\"{:.1}\">{name}</text>",
            row_y(i) + 4.0
        );
    }
}

/// The call's bar and a point per webhook attempt, red when it failed.
fn render_call_and_webhooks(out: &mut String, axis: &Axis, call: &CallSummary) {
    bar(
        out,
        axis,
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
}

/// The media stream's bar, from connection to its end.
fn render_stream(out: &mut String, axis: &Axis, call: &CallSummary) {
    let Some(st) = &call.stream else {
        return;
    };
    let Some(from) = st.connected_at_ms else {
        return;
    };
    bar(
        out,
        axis,
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

/// A bar per AI session, labelled with its index when there is room.
fn render_sessions(out: &mut String, axis: &Axis, sessions: &[&SessionSummary]) {
    for s in sessions {
        bar(
            out,
            axis,
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
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{call, session, transcript};
    use super::*;
    use crate::transcript::model::ResponseSummary;

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
                tool_call: None,
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
}
