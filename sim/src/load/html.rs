//! The HTML report: one self-contained file (no scripts, no external resources, and a
//! Content-Security-Policy that refuses any) with the verdict, the warnings, a table per step
//! and two inline SVG charts: latency over time (one point per interval) and the histogram of
//! turn latency.

use std::fmt::Write as _;

use super::metrics::Metric;
use super::report::{LoadReport, StepReport, decode};
use crate::report::html::escape;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const PAD: f64 = 40.0;

/// The HTML text.
pub fn render(report: &LoadReport) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    // As the scenario report: anything that would load from elsewhere is refused (and logged),
    // so the page is provably self-contained.
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
    h.push_str("<title>callsim load report</title><style>");
    h.push_str("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.warn{background:#fff3cd;padding:8px;border:1px solid #e0c36c}.ok{color:#1a7f37}.bad{color:#b42318}svg{border:1px solid #ddd;background:#fff}");
    h.push_str("</style></head><body>");
    let _ = write!(
        h,
        "<h1>callsim load report</h1><p>Target: {}<br>Mode: {} · shape {} · rate {}/s · shards {} · seed {}</p><p>Scenarios: {}</p>",
        escape(&report.target),
        escape(&report.mode),
        escape(&report.config.shape),
        report.config.rate,
        report.config.shards,
        report.config.seed,
        escape(&report.scenarios.join(", "))
    );
    verdict(&mut h, report);
    for w in &report.warnings {
        let _ = write!(h, "<p class=\"warn\">{}</p>", escape(w));
    }
    h.push_str("<h2>Steps</h2>");
    steps_table(&mut h, report);
    h.push_str("<h2>Latency over time</h2>");
    h.push_str(&over_time(report));
    h.push_str("<h2>Turn latency histogram (whole run)</h2>");
    h.push_str(&histogram(&report.total));
    h.push_str("</body></html>\n");
    h
}

fn verdict(h: &mut String, report: &LoadReport) {
    let Some(c) = &report.capacity else {
        h.push_str("<p>No capacity verdict: not a ladder run.</p>");
        return;
    };
    match (&c.withheld, c.capacity_calls) {
        (Some(why), _) => {
            let _ = write!(
                h,
                "<p class=\"bad\" id=\"verdict\">No capacity verdict: {}</p>",
                escape(why)
            );
        }
        (None, Some(calls)) => {
            let _ = write!(
                h,
                "<p class=\"ok\" id=\"verdict\">Capacity: <strong>{calls}</strong> concurrent calls meet the rule (failed &lt; {} %, p95 turn latency ≤ {} × baseline)</p>",
                c.rule.max_failed_pct, c.rule.max_p95_ratio
            );
        }
        (None, None) => {
            h.push_str("<p class=\"bad\" id=\"verdict\">Capacity: not even the baseline step meets the rule</p>");
        }
    }
}

fn steps_table(h: &mut String, report: &LoadReport) {
    h.push_str(
        "<table><tr><th>step</th><th>calls</th><th>started</th><th>completed</th><th>failed %</th>",
    );
    for m in [
        Metric::Webhook,
        Metric::StreamConnect,
        Metric::FirstAudio,
        Metric::TurnLatency,
        Metric::BargeIn,
        Metric::MarkRoundTrip,
        Metric::FrameLateness,
        Metric::EchoRtt,
    ] {
        let _ = write!(h, "<th>{} p50/p95/p99/max ms</th>", m.name());
    }
    h.push_str("<th>generator CPU share</th><th>meets rule</th></tr>");
    let rows = report.steps.iter().chain(std::iter::once(&report.total));
    for (i, s) in rows.enumerate() {
        row(
            h,
            s,
            report
                .capacity
                .as_ref()
                .and_then(|c| c.steps.get(i))
                .map(|j| (j.meets, j.reason.clone())),
        );
    }
    h.push_str("</table>");
}

fn row(h: &mut String, s: &StepReport, judged: Option<(bool, Option<String>)>) {
    let _ = write!(
        h,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td>",
        escape(&s.label),
        s.target_calls,
        s.counts.started,
        s.counts.completed,
        s.failed_pct
    );
    for m in Metric::ALL {
        match s.latency_ms.get(m.name()) {
            Some(x) => {
                let _ = write!(
                    h,
                    "<td>{:.1}/{:.1}/{:.1}/{:.1}</td>",
                    x.p50, x.p95, x.p99, x.max
                );
            }
            None => h.push_str("<td>–</td>"),
        }
    }
    let cpu = s
        .generator
        .iter()
        .map(|g| format!("{:.2}", g.cpu_share))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(h, "<td>{}</td>", escape(&cpu));
    match judged {
        Some((true, _)) => h.push_str("<td class=\"ok\">yes</td></tr>"),
        Some((false, reason)) => {
            let _ = write!(
                h,
                "<td class=\"bad\">no: {}</td></tr>",
                escape(&reason.unwrap_or_default())
            );
        }
        None => h.push_str("<td></td></tr>"),
    }
}

/// Polylines of turn p50, turn p95 and lateness p99 per interval (shard 1's rows, or every
/// row when there is one shard).
fn over_time(report: &LoadReport) -> String {
    let rows: Vec<_> = report
        .intervals
        .iter()
        .filter(|r| r.shard == report.intervals.first().map_or(1, |f| f.shard))
        .collect();
    let mut svg = svg_open("latency-over-time");
    if rows.is_empty() {
        svg.push_str("<text x=\"50\" y=\"120\">no intervals</text></svg>");
        return svg;
    }
    let t_max = rows.iter().map(|r| r.t_s).fold(1.0, f64::max);
    let series: [(&str, &str, Vec<f64>); 3] = [
        (
            "turn p50",
            "#2563eb",
            rows.iter().map(|r| r.turn_p50_ms).collect(),
        ),
        (
            "turn p95",
            "#b42318",
            rows.iter().map(|r| r.turn_p95_ms).collect(),
        ),
        (
            "lateness p99",
            "#1a7f37",
            rows.iter().map(|r| r.lateness_p99_ms).collect(),
        ),
    ];
    let y_max = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(1.0, f64::max);
    axes(&mut svg, t_max, "s", y_max, "ms");
    for (i, (name, colour, values)) in series.iter().enumerate() {
        // An interval without a sample has no point (a latency of 0 would be a lie).
        let points: Vec<String> = rows
            .iter()
            .zip(values)
            .filter(|(_, v)| **v > 0.0)
            .map(|(r, v)| format!("{:.1},{:.1}", x_of(r.t_s, t_max), y_of(*v, y_max)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"><title>{name}</title></polyline>",
            points.join(" ")
        );
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"{colour}\" font-size=\"11\">{name}</text>",
            WIDTH - 110.0,
            14.0 + 13.0 * i as f64
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Bars of the turn latency histogram, 40 equal-width buckets from the minimum to the maximum.
fn histogram(total: &StepReport) -> String {
    let mut svg = svg_open("turn-latency-histogram");
    let Some(h) = total
        .histograms
        .get(Metric::TurnLatency.name())
        .and_then(|t| decode(t).ok())
    else {
        svg.push_str("<text x=\"50\" y=\"120\">no turn latency measured</text></svg>");
        return svg;
    };
    let buckets = 40u64;
    let min_us = h.min();
    let max_us = h.max().max(min_us + 1);
    let width_us = (max_us - min_us).div_ceil(buckets).max(1);
    let mut counts = vec![0u64; usize::try_from(buckets).unwrap_or(40)];
    for v in h.iter_recorded() {
        let b = (v.value_iterated_to().saturating_sub(min_us) / width_us).min(buckets - 1);
        counts[usize::try_from(b).unwrap_or(0)] += v.count_at_value();
    }
    let c_max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    axes(&mut svg, max_us as f64 / 1000.0, "ms", c_max, "calls");
    let _ = write!(
        svg,
        "<text x=\"{PAD}\" y=\"{:.1}\" font-size=\"11\">{:.1} ms</text>",
        HEIGHT - PAD + 14.0,
        min_us as f64 / 1000.0
    );
    let bar = (WIDTH - 2.0 * PAD) / buckets as f64;
    for (i, c) in counts.iter().enumerate() {
        let y = y_of(*c as f64, c_max);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#2563eb\"><title>{:.0}–{:.0} ms: {c}</title></rect>",
            PAD + bar * i as f64,
            (bar - 1.0).max(0.5),
            HEIGHT - PAD - y,
            (min_us + i as u64 * width_us) as f64 / 1000.0,
            (min_us + (i as u64 + 1) * width_us) as f64 / 1000.0
        );
    }
    svg.push_str("</svg>");
    svg
}

fn svg_open(id: &str) -> String {
    format!(
        "<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">"
    )
}

fn axes(svg: &mut String, x_max: f64, x_unit: &str, y_max: f64, y_unit: &str) {
    let _ = write!(
        svg,
        "<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/><line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{b}\" stroke=\"#888\"/>\
         <text x=\"{r}\" y=\"{t}\" font-size=\"11\" text-anchor=\"end\">{x_max:.1} {x_unit}</text>\
         <text x=\"2\" y=\"{PAD}\" font-size=\"11\">{y_max:.1} {y_unit}</text>",
        b = HEIGHT - PAD,
        r = WIDTH - PAD,
        t = HEIGHT - PAD + 14.0
    );
}

fn x_of(v: f64, max: f64) -> f64 {
    PAD + (WIDTH - 2.0 * PAD) * (v / max)
}

fn y_of(v: f64, max: f64) -> f64 {
    HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (v / max)
}
