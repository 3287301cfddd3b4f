//! `callsim load`'s HTML report opened in a real headless Chromium.
//!
//! The page comes from a real run: a two-step ladder (2, then 4 calls, 4 s each) of
//! `scenarios/seed/both-prompts-set.yaml` against the bundled reference server, so the charts
//! carry real intervals and real turn latencies. It must load with no console message at all:
//! it has no script, and its Content-Security-Policy (`default-src 'none'`) turns any external
//! load into a console error, so a clean console also proves self-containment.
//!
//! Finding and running the browser, and when its tests are ignored or fail without it, is
//! `common/browser.rs`.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/callsim.rs"]
mod callsim_binary;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use browser::{Browser, assert_clean_console, assert_screenshot_rendered, chromium, keep};
use callsim_binary::callsim;
use libtest_mimic::{Arguments, Trial};
use sim::load::LoadReport;

/// The real run's report, as JSON and as the HTML page.
struct Rendered {
    report: LoadReport,
    page: PathBuf,
}

/// Runs the ladder once for every test of this binary (they run in parallel; the others wait).
fn rendered() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("load_html_report");
        std::fs::create_dir_all(&dir).unwrap();
        let (json, page) = (dir.join("load.json"), dir.join("load.html"));
        let output = callsim()
            .args(["-q", "load", "scenarios/seed/both-prompts-set.yaml"])
            .args([
                "--ladder", "2,4", "--step", "4s", "--hold", "6s", "--rate", "20",
            ])
            .arg("--json")
            .arg(&json)
            .arg("--html")
            .arg(&page)
            .output()
            .unwrap();
        // Exit 1 is a ladder without a verdict (a slow debug build may be judged unhealthy):
        // the report is written all the same, and the page must render either way.
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "callsim load failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = std::fs::read_to_string(&json).expect("the JSON report was written");
        let report = serde_json::from_str(&text).expect("the JSON report parses");
        keep(&page);
        Rendered { report, page }
    })
}

fn page_is_self_contained_with_both_charts() {
    let r = rendered();
    let html = std::fs::read_to_string(&r.page).unwrap();
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    ));
    for external in ["<script", " src=", " href=", "<link", "url("] {
        assert!(!html.contains(external), "{external} in the page");
    }
    assert!(html.contains("<svg id=\"latency-over-time\""));
    assert!(html.contains("<svg id=\"turn-latency-histogram\""));
    assert_eq!(r.report.steps.len(), 2);
}

async fn load_report_opens_in_headless_chromium_with_a_clean_console(browser: PathBuf) {
    let r = rendered();
    let dir = tempfile::tempdir().unwrap();
    let (dom, stderr) = chromium(&browser, dir.path(), &r.page, &["--dump-dom".to_owned()]).await;

    assert!(dom.contains("<h1>callsim load report</h1>"), "no title");
    // Chromium's DOM holds both charts as SVG elements, with their marks.
    assert_eq!(dom.matches("<svg id=").count(), 2);
    assert!(dom.contains("<svg id=\"latency-over-time\""));
    assert!(dom.contains("<svg id=\"turn-latency-histogram\""));
    assert_eq!(
        dom.matches("<polyline").count(),
        3,
        "turn p50, turn p95 and lateness p99 over time"
    );
    // Lateness is measured on every interval with a frame, so its line has points.
    assert!(
        !dom.contains("points=\"\"><title>lateness p99"),
        "the lateness line is empty"
    );
    let turns = r
        .report
        .total
        .latency_ms
        .get("turn_latency")
        .map(|t| t.count);
    if turns.is_some_and(|n| n > 0) {
        assert_eq!(
            dom.matches("<rect").count(),
            40,
            "one bar per histogram bucket"
        );
    } else {
        assert!(dom.contains("no turn latency measured"));
    }
    // The step table: one row per step and the total, with the run's own counts.
    for (i, step) in r.report.steps.iter().enumerate() {
        let label = format!("<td>step {} ({} calls)</td>", i + 1, step.target_calls);
        assert!(dom.contains(&label), "no row {label}");
    }
    let total = &r.report.total;
    let row = format!(
        "<td>total</td><td>{}</td><td>{}</td><td>{}</td>",
        total.target_calls, total.counts.started, total.counts.completed
    );
    assert!(dom.contains(&row), "no total row {row}");
    assert!(
        dom.contains("id=\"verdict\""),
        "a ladder's page states its verdict"
    );
    assert_clean_console(&stderr);
}

async fn load_report_screenshot_is_rendered(browser: PathBuf) {
    let r = rendered();
    let dir = tempfile::tempdir().unwrap();
    // A blank page compresses to a few KB; the table and two charts do not.
    let size = (1280, 1200);
    assert_screenshot_rendered(&browser, dir.path(), &r.page, "load.png", size, 30_000).await;
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let browser = Browser::detect();
    browser.note(&args);
    let trials = vec![
        Trial::test("page_is_self_contained_with_both_charts", || {
            page_is_self_contained_with_both_charts();
            Ok(())
        }),
        browser.trial(
            "load_report_opens_in_headless_chromium_with_a_clean_console",
            load_report_opens_in_headless_chromium_with_a_clean_console,
        ),
        browser.trial(
            "load_report_screenshot_is_rendered",
            load_report_screenshot_is_rendered,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}
