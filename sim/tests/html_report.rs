//! The HTML report opened in a real headless Chromium.
//!
//! The fixture `tests/fixtures/legacy-seed-report.json` is a hand-written run report of the
//! legacy server: one passed outbound scenario and one failed inbound scenario whose call got
//! the tenant's OUTBOUND prompt (the seed bug). The page must load with no console message at
//! all: it has no script, and its Content-Security-Policy (`default-src 'none'`) turns any
//! external load into a console error, so a clean console also proves self-containment.
//!
//! Finding and running the browser, and when its tests are ignored or fail without it, is
//! `common/browser.rs`.

#[path = "common/browser.rs"]
mod browser;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use browser::{Browser, assert_clean_console, assert_screenshot_rendered, chromium, keep};
use libtest_mimic::{Arguments, Trial};
use sim::report::RunReport;
use sim::report::html::{CallAudio, render_html};

const FAILED_SCENARIO: &str = "seed/inbound-empty-ai-prompt";
const PASSED_SCENARIO: &str = "seed/outbound-normal";

fn fixture() -> RunReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-seed-report.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn audio() -> BTreeMap<(String, String), CallAudio> {
    [(FAILED_SCENARIO, "caller"), (PASSED_SCENARIO, "callee")]
        .into_iter()
        .map(|(scenario, call)| {
            let audio = CallAudio {
                heard_by_caller: sim::audio::tone(440.0, 1_000, 0.3),
                received_by_ai: sim::audio::speech_like(1_500, 7),
            };
            ((scenario.to_owned(), call.to_owned()), audio)
        })
        .collect()
}

/// Renders the fixture into `dir/report.html`.
fn write_report(dir: &Path) -> PathBuf {
    let path = dir.join("report.html");
    std::fs::write(&path, render_html(&fixture(), &audio())).unwrap();
    path
}

/// Every `src="…"` and `href="…"` attribute value.
fn url_attributes(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for attr in [" src=\"", " href=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            found.push(&rest[..rest.find('"').unwrap()]);
        }
    }
    found
}

fn fixture_renders_self_contained_and_deterministic() {
    let report = fixture();
    assert_eq!(report.counts(), (1, 1, 0, 0));
    let html = render_html(&report, &audio());
    assert_eq!(html, render_html(&report, &audio()));
    let urls = url_attributes(&html);
    assert_eq!(
        urls.iter()
            .filter(|u| u.starts_with("data:audio/wav;base64,"))
            .count(),
        4
    );
    for url in urls {
        assert!(
            url.starts_with('#') || url.starts_with("data:"),
            "external URL in an attribute: {url}"
        );
    }
    // The fixture's target and tenant name carry markup, which must arrive escaped.
    assert!(html.contains("legacy server (seed bug) &lt;http://127.0.0.1:0&gt;"));
    assert!(!html.contains("<Plumbing>"));
}

async fn report_opens_in_headless_chromium_with_a_clean_console(browser: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let page = write_report(dir.path());
    keep(&page);
    let (dom, stderr) = chromium(&browser, dir.path(), &page, &["--dump-dom".to_owned()]).await;

    assert!(
        dom.contains("<header id=\"summary\">"),
        "no summary in the DOM"
    );
    assert!(dom.contains("1 passed") && dom.contains("1 failed"));
    assert!(dom.contains(
        "<section class=\"scenario\" id=\"scenario-seed-inbound-empty-ai-prompt\" data-outcome=\"failed\">"
    ));
    assert!(dom.contains(
        "<section class=\"scenario\" id=\"scenario-seed-outbound-normal\" data-outcome=\"passed\">"
    ));
    assert_eq!(dom.matches("class=\"wrong-prompt\"").count(), 1);
    assert!(
        dom.contains("Inbound call <code>caller</code> received tenant acme's OUTBOUND prompt")
    );
    assert!(dom.contains("calls.caller.direction_mixup"));
    assert_eq!(dom.matches("class=\"timeline\"").count(), 2);
    assert_eq!(dom.matches("<svg").count(), 2);
    assert_eq!(dom.matches("class=\"audio-heard\"").count(), 2);
    assert_eq!(dom.matches("class=\"audio-ai\"").count(), 2);

    assert_clean_console(&stderr);
}

async fn report_screenshot_is_rendered(browser: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let page = write_report(dir.path());
    // A blank page compresses to a few KB; a rendered report with text and a timeline does not.
    let size = (1280, 2000);
    assert_screenshot_rendered(&browser, dir.path(), &page, "report.png", size, 50_000).await;
}

/// The report of a real run: the seed pack against the legacy reference server, rendered by
/// `callsim run --html`, must open cleanly and highlight the wrong prompt.
async fn legacy_seed_run_report_highlights_the_wrong_prompt_in_chromium(browser: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("legacy-seed.html");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args(["-q", "run", "--profile", "legacy", "--html"])
        .arg(&page)
        .args([
            "scenarios/seed/inbound-empty-ai-prompt.yaml",
            "scenarios/seed/outbound-empty-outbound-prompt.yaml",
            "scenarios/seed/both-prompts-set.yaml",
        ])
        .current_dir(&repo)
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    keep(&page);
    let (dom, stderr) = chromium(&browser, dir.path(), &page, &["--dump-dom".to_owned()]).await;
    assert!(dom.contains("<header id=\"summary\">"));
    assert!(
        dom.contains("1 passed") && dom.contains("2 failed"),
        "summary counts"
    );
    assert!(dom.contains("data-outcome=\"failed\""));
    assert!(
        dom.contains("Inbound call <code>caller</code> received tenant acme's OUTBOUND prompt")
    );
    assert!(
        dom.contains("Outbound call <code>callee</code> received tenant acme's INBOUND prompt")
    );
    assert!(
        dom.contains("class=\"audio-heard\""),
        "caller audio is embedded"
    );
    assert_clean_console(&stderr);
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let browser = Browser::detect();
    browser.note(&args);
    let trials = vec![
        Trial::test("fixture_renders_self_contained_and_deterministic", || {
            fixture_renders_self_contained_and_deterministic();
            Ok(())
        }),
        browser.trial(
            "report_opens_in_headless_chromium_with_a_clean_console",
            report_opens_in_headless_chromium_with_a_clean_console,
        ),
        browser.trial(
            "report_screenshot_is_rendered",
            report_screenshot_is_rendered,
        ),
        browser.trial(
            "legacy_seed_run_report_highlights_the_wrong_prompt_in_chromium",
            legacy_seed_run_report_highlights_the_wrong_prompt_in_chromium,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}
