//! The HTML report opened in a real headless Chromium.
//!
//! The fixture `tests/fixtures/legacy-seed-report.json` is a hand-written run report of the
//! legacy server: one passed outbound scenario and one failed inbound scenario whose call got
//! the tenant's OUTBOUND prompt (the seed bug). The page must load with no console message at
//! all: it has no script, and its Content-Security-Policy (`default-src 'none'`) turns any
//! external load into a console error, so a clean console also proves self-containment.
//!
//! When `/usr/bin/chromium` is missing the browser tests print "skipping: chromium not installed"
//! and return, unless `CALLSIM_REQUIRE_CHROMIUM=1` (set by CI after installing it), in which case
//! they fail. Set `CALLSIM_HTML_REPORT_DIR=<dir>` to keep the rendered page and the screenshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sim::report::RunReport;
use sim::report::html::{CallAudio, render_html};

const CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
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

/// True when Chromium can be used; fails the test when it is required but missing.
fn chromium_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    assert!(
        std::env::var("CALLSIM_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
        "CALLSIM_REQUIRE_CHROMIUM=1 but {CHROMIUM} is missing: install it with \
         `apt-get install -y chromium`"
    );
    println!("skipping: chromium not installed");
    false
}

/// Runs headless Chromium on a page with a fresh profile, bounded by [`BROWSER_TIMEOUT`];
/// returns stdout and stderr.
async fn chromium(dir: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let mut cmd = tokio::process::Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=2000",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    // Dropping the wait future on timeout drops the child, which kills the browser.
    .kill_on_drop(true);
    let child = cmd.spawn().unwrap();
    let output = match tokio::time::timeout(BROWSER_TIMEOUT, child.wait_with_output()).await {
        Ok(result) => result.unwrap(),
        Err(_) => panic!("chromium did not finish within {BROWSER_TIMEOUT:?}; it was killed"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "chromium exited with {}:\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// Copies an artifact to `CALLSIM_HTML_REPORT_DIR` when that is set, for humans and CI uploads.
fn keep(path: &Path) {
    if let Ok(dir) = std::env::var("CALLSIM_HTML_REPORT_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(path, Path::new(&dir).join(path.file_name().unwrap())).unwrap();
    }
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

#[test]
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

#[tokio::test]
async fn report_opens_in_headless_chromium_with_a_clean_console() {
    if !chromium_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = write_report(dir.path());
    keep(&page);
    let (dom, stderr) = chromium(dir.path(), &page, &["--dump-dom".to_owned()]).await;

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

    // The page has no script: any console line is a CSP violation (an external load) or an
    // error, so none is allowed.
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
}

#[tokio::test]
async fn report_screenshot_is_rendered() {
    if !chromium_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = write_report(dir.path());
    let shot = dir.path().join("report.png");
    let args = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1280,2000".to_owned(),
        "--hide-scrollbars".to_owned(),
    ];
    chromium(dir.path(), &page, &args).await;
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // IHDR holds the width and height as big-endian u32s at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2000));
    // A blank page compresses to a few KB; a rendered report with text and a timeline does not.
    assert!(
        png.len() > 50_000,
        "screenshot is suspiciously small: {} bytes",
        png.len()
    );
    keep(&shot);
}

/// The report of a real run: the seed pack against the legacy reference server, rendered by
/// `callsim run --html`, must open cleanly and highlight the wrong prompt.
#[tokio::test]
async fn legacy_seed_run_report_highlights_the_wrong_prompt_in_chromium() {
    if !chromium_available() {
        return;
    }
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
    let (dom, stderr) = chromium(dir.path(), &page, &["--dump-dom".to_owned()]).await;
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
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
}
